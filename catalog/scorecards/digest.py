"""The weekly digest's content, per team and for leadership: pure read models, built from the recorded results.

Built for every team in one pass (each scorecard's results are read once per day compared, then
grouped by owner), so a thousand digests cost a handful of queries, not a thousand times a handful.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterator
from datetime import date, datetime, timedelta

from pydantic import BaseModel, ConfigDict, Field
from sqlmodel import Session

from catalog.answers.card import SLACK_CHANNEL_ID, SLACK_USER_ID
from catalog.config import Config
from catalog.scorecards.config import ScorecardConfig
from catalog.scorecards.evaluate import today
from catalog.scorecards.history import Result, as_of, as_of_days
from catalog.scorecards.report import entity_score, level_label, rule_result, rule_results
from catalog.scorecards.scores import EntityScore, RuleResult, TeamLevels
from catalog.store.reads import get_entities, users_by_login

TREND_WEEKS = 6  # weeks of history in the chart
TOP_FIXES = 3


class Fixer(BaseModel):
    """Who fixed a rule: the author of the change that fixed it, as the source named them (`github:<login>`)."""

    # This module's models are built on first use, not at import (`defer_build`): a server starts without them.
    model_config = ConfigDict(defer_build=True)

    rule: str  # the rule's title, as in `Movement.fixed`
    author: str  # `github:<login>`
    login: str | None = None  # the GitHub login, for `@login`
    user_ref: str | None = None  # the catalog User with that login, when there is one
    slack_user_id: str | None = None  # that User's Slack id, for a mention

    @property
    def handle(self) -> str:
        return f"@{self.login}" if self.login else self.author


class Movement(BaseModel):
    """An entity whose level or rules changed since last week."""

    model_config = ConfigDict(defer_build=True)

    ref: str
    scorecard_title: str
    from_level: str
    to_level: str
    fixed: list[str] = Field(default_factory=list)  # rules passing now that failed a week ago
    broke: list[str] = Field(default_factory=list)  # rules failing now that passed a week ago
    fixed_by: list[Fixer] = Field(default_factory=list)  # of `fixed`, those whose fixer is known (a GitHub push named them)

    @property
    def name(self) -> str:
        return self.ref.rpartition("/")[2]


class TopFix(BaseModel):
    """One rule, and the entities that fixing it would raise a level (it is all that stands in their way)."""

    model_config = ConfigDict(defer_build=True)

    scorecard: str
    scorecard_title: str
    rule: RuleResult
    raises: list[str]  # entity names


class InitiativeProgress(BaseModel):
    model_config = ConfigDict(defer_build=True)

    id: str
    title: str
    scorecard_title: str
    target_level: str
    deadline: date
    days_left: int
    at_target: int
    total: int

    @property
    def on_track(self) -> bool:
        return self.total == 0 or self.at_target == self.total


class TrendLine(BaseModel):
    model_config = ConfigDict(defer_build=True)

    scorecard_title: str
    levels: list[str]
    days: list[date]
    average: list[float | None]  # the average level index of the team's entities on each day

    @property
    def moved(self) -> bool:
        known = [a for a in self.average if a is not None]
        return len(known) >= 2 and max(known) != min(known)


class TeamDigest(BaseModel):
    model_config = ConfigDict(defer_build=True)

    team_ref: str
    team_name: str
    channel: str | None  # the team's Slack channel id, None when the catalog has none
    day: date
    scores: list[EntityScore] = Field(default_factory=list)
    rose: list[Movement] = Field(default_factory=list)
    fell: list[Movement] = Field(default_factory=list)
    top_fixes: list[TopFix] = Field(default_factory=list)
    initiatives: list[InitiativeProgress] = Field(default_factory=list)
    trends: list[TrendLine] = Field(default_factory=list)


class LeadershipDigest(BaseModel):
    model_config = ConfigDict(defer_build=True)

    day: date
    teams: list[TeamLevels] = Field(default_factory=list)
    initiatives: list[InitiativeProgress] = Field(default_factory=list)


def build_team_digests(session: Session, config: Config, *, now: datetime, team: str | None = None) -> Iterator[TeamDigest]:
    """Every owning team's digest (or only `team`'s), one team at a time, each with its entities' levels
    and what changed since a week ago. The results of every day compared are read once per scorecard."""
    day = today(config, now)
    days = [day - timedelta(weeks=k) for k in range(TREND_WEEKS - 1, -1, -1)]
    histories = {card.id: as_of_days(session, card.id, days, owner=team) for card in config.scorecards}
    by_owner: dict[str, dict[str, list[tuple[str, Result]]]] = {}  # scorecard -> owner -> its entities' results today
    averages: dict[str, dict[str, list[float | None]]] = {}  # scorecard -> owner -> average level per day
    for card in config.scorecards:
        grouped: dict[str, list[tuple[str, Result]]] = defaultdict(list)
        for ref, result in histories[card.id][-1].items():
            if result.owner:
                grouped[result.owner].append((ref, result))
        by_owner[card.id] = grouped
        averages[card.id] = _averages(histories[card.id])
    owners = sorted({owner for grouped in by_owner.values() for owner in grouped})
    rules = {card.id: rule_results(card) for card in config.scorecards}
    teams = get_entities(session, owners)
    for owner in owners:
        entity = teams.get(owner)
        digest = TeamDigest(
            team_ref=owner, team_name=(entity.profile("displayName") or entity.display_name) if entity else owner.rpartition("/")[2],
            channel=entity.annotations.get(SLACK_CHANNEL_ID) if entity else None, day=day,
        )  # fmt: skip
        for card in config.scorecards:
            previous = histories[card.id][-2]
            for ref, result in sorted(by_owner[card.id].get(owner, []), key=lambda item: (item[1].level, item[0])):
                before = previous.get(ref)
                digest.scores.append(entity_score(card, ref, result, before, rules[card.id]))
                if before is not None and (before.level != result.level or before.failing != result.failing):
                    _move(digest, card, ref, before, result)
            line = averages[card.id].get(owner)
            if line is not None:
                digest.trends.append(TrendLine(scorecard_title=card.title, levels=list(card.levels), days=days, average=line))
        _name_fixers(session, digest)
        digest.top_fixes = top_fixes(config, digest.scores)
        digest.initiatives = initiative_progress(config, digest.scores, day)
        yield digest


def _move(digest: TeamDigest, card: ScorecardConfig, ref: str, before: Result, now: Result) -> None:
    fixed = [r for r in before.failing if r not in now.failing]
    movement = Movement(
        ref=ref, scorecard_title=card.title, from_level=level_label(card, before.level), to_level=level_label(card, now.level),
        fixed=[_title(card, r) for r in fixed], broke=[_title(card, r) for r in now.failing if r not in before.failing],
        fixed_by=[Fixer(rule=_title(card, r), author=now.fixed_by[r]) for r in fixed if r in now.fixed_by],
    )  # fmt: skip
    better = now.level > before.level or (now.level == before.level and not movement.broke)
    (digest.rose if better else digest.fell).append(movement)


def _name_fixers(session: Session, digest: TeamDigest) -> None:
    """Fill in each fixer's login and, when the catalog knows the person, their Slack id (from the User
    annotated `github.com/user-login`, else `user:default/<login>`); an unknown login stays `@login`."""
    fixers = [f for m in digest.rose + digest.fell for f in m.fixed_by]
    logins = {f.author.removeprefix("github:") for f in fixers if f.author.startswith("github:")}
    if not logins:
        return
    users = users_by_login(session, logins)
    people = get_entities(session, sorted(set(users.values())))
    for fixer in fixers:
        if fixer.author.startswith("github:"):
            fixer.login = fixer.author.removeprefix("github:")
            fixer.user_ref = users.get(fixer.login.lower())
            person = people.get(fixer.user_ref or "")
            fixer.slack_user_id = person.annotations.get(SLACK_USER_ID) if person else None


def _title(card: ScorecardConfig, rule_id: str) -> str:
    rule = card.rule(rule_id)
    return rule.label if rule else rule_id


def _averages(history: list[dict[str, Result]]) -> dict[str, list[float | None]]:
    """owner -> its entities' average level on each day of `history` (one pass over each day's results)."""
    sums: list[dict[str | None, list[int]]] = []
    for snapshot in history:
        per_owner: dict[str | None, list[int]] = defaultdict(lambda: [0, 0])
        for result in snapshot.values():
            totals = per_owner[result.owner]
            totals[0] += result.level
            totals[1] += 1
        sums.append(per_owner)
    owners = {owner for owner in sums[-1] if owner}
    return {owner: [s[owner][0] / s[owner][1] if owner in s else None for s in sums] for owner in owners}


def team_channels(session: Session, config: Config, *, day: date) -> dict[str, str]:
    """team ref -> Slack channel id, for every team that owns something scored on `day` and has a channel."""
    owners = {r.owner for card in config.scorecards for r in as_of(session, card.id, day).values() if r.owner}
    teams = get_entities(session, sorted(owners))
    return {ref: channel for ref, entity in teams.items() if (channel := entity.annotations.get(SLACK_CHANNEL_ID))}


def top_fixes(config: Config, scores: list[EntityScore], limit: int = TOP_FIXES) -> list[TopFix]:
    """The rules that, fixed, would raise the most entities a level: for each entity, only a rule that alone blocks its next level counts."""
    raised: dict[tuple[str, str], list[str]] = defaultdict(list)
    for score in scores:
        blockers = score.next_fixes
        if len(blockers) == 1:
            raised[score.scorecard, blockers[0].id].append(score.name)
    best = sorted(raised.items(), key=lambda item: (-len(item[1]), item[0]))[:limit]
    found = []
    for (scorecard, rule_id), names in best:
        card = config.scorecard(scorecard)
        rule = card.rule(rule_id)
        if rule is not None:
            found.append(TopFix(scorecard=scorecard, scorecard_title=card.title, rule=rule_result(rule), raises=sorted(names)))
    return found


def initiative_progress(config: Config, scores: list[EntityScore], day: date) -> list[InitiativeProgress]:
    found = []
    for initiative in config.initiatives:
        card = config.scorecard(initiative.scorecard)
        target = card.level_index(initiative.target_level)
        mine = [s for s in scores if s.scorecard == card.id]
        found.append(
            InitiativeProgress(
                id=initiative.id,
                title=initiative.title or initiative.id,
                scorecard_title=card.title,
                target_level=card.levels[target - 1],
                deadline=initiative.deadline,
                days_left=(initiative.deadline - day).days,
                at_target=sum(s.level_index >= target for s in mine),
                total=len(mine),
            )  # fmt: skip
        )
    return found


def build_leadership_digest(session: Session, config: Config, *, now: datetime) -> LeadershipDigest:
    """Levels per team and scorecard, and each initiative's progress across the organisation."""
    day = today(config, now)
    teams: list[TeamLevels] = []
    everything: list[EntityScore] = []
    for card in config.scorecards:
        current = as_of(session, card.id, day)
        everything += [entity_score(card, ref, result, None) for ref, result in current.items()]
        per_team: dict[str, Counter[str]] = defaultdict(Counter)
        for result in current.values():
            per_team[result.owner or "(no owner)"][level_label(card, result.level)] += 1
        teams += [TeamLevels(team_ref=owner, team_name=owner.rpartition("/")[2], scorecard_title=card.title, counts=dict(counts)) for owner, counts in per_team.items()]
    teams.sort(key=lambda t: (t.scorecard_title, t.team_name))
    return LeadershipDigest(day=day, teams=teams, initiatives=initiative_progress(config, everything, day))
