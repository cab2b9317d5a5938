"""What the answers, the CLI, the pages and the digest show: levels with the fixes that raise them.

Read models (pydantic, the same on every surface) built from the recorded results
(`catalog.scorecards.history`) and the scorecards' config, never by re-evaluating.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta

from sqlmodel import Session

from catalog.config import Config
from catalog.scorecards.config import Rule, ScorecardConfig
from catalog.scorecards.history import Result, as_of, as_of_days
from catalog.scorecards.scores import EntityScore, RuleResult, Scoreboard, TeamLevels


def level_label(card: ScorecardConfig, index: int) -> str:
    return card.level_name(index) or f"below {card.levels[0]}"


def rule_result(rule: Rule) -> RuleResult:
    return RuleResult(id=rule.id, title=rule.label, level=rule.level, fix=rule.fix, fix_url=rule.fix_url)


def rule_results(card: ScorecardConfig) -> dict[str, RuleResult]:
    return {rule.id: rule_result(rule) for rule in card.rules}


def entity_score(card: ScorecardConfig, ref: str, result: Result, week_ago: Result | None, rules: dict[str, RuleResult] | None = None) -> EntityScore:
    """`rules` (`rule_results(card)`) saves rebuilding them per entity when scoring many. (Validating is
    faster than pydantic's `model_construct` here: the rule results are instances, not validated again.)"""
    rules = rules if rules is not None else rule_results(card)
    return EntityScore(
        scorecard=card.id, scorecard_title=card.title, ref=ref, owner_ref=result.owner, level=card.level_name(result.level),
        level_index=result.level, levels=card.levels, week_ago=week_ago.level if week_ago else None,
        failing=[rules[rule_id] for rule_id in result.failing if rule_id in rules],
    )  # fmt: skip


def scoreboard(
    session: Session, config: Config, *, day: date, scope: str, owner: str | None = None, refs: Iterable[str] | None = None,
    scorecards: Iterable[str] | None = None, below: int | None = None, failing: str | None = None,
) -> Scoreboard:  # fmt: skip
    """Scores on `day` with last week's levels beside them: of one owner's entities, of some refs, or
    (with `below`) of every entity under that level, (with `failing`) failing that rule; worst first, then by name."""
    wanted = set(scorecards) if scorecards is not None else None
    refs = list(refs) if refs is not None else None
    scores: list[EntityScore] = []
    for card in config.scorecards:
        if wanted is not None and card.id not in wanted:
            continue
        before, now = as_of_days(session, card.id, [day - timedelta(days=7), day], owner=owner, refs=refs)  # one read for both days
        if below is not None:
            now = {ref: r for ref, r in now.items() if r.level < below}
        if failing is not None:
            now = {ref: r for ref, r in now.items() if failing in r.failing}
        rules = rule_results(card)
        scores += [entity_score(card, ref, result, before.get(ref), rules) for ref, result in now.items()]
    scores.sort(key=lambda s: (s.scorecard, s.level_index, s.ref))
    return Scoreboard(scope=scope, day=day, scores=scores)


def team_levels(session: Session, config: Config, team_ref: str, *, day: date) -> list[TeamLevels]:
    """How many of the team's entities stand at each level of each scorecard (App Home)."""
    found = []
    for card in config.scorecards:
        counts: dict[str, int] = {}
        for result in as_of(session, card.id, day, owner=team_ref).values():
            label = level_label(card, result.level)
            counts[label] = counts.get(label, 0) + 1
        if counts:
            ordered = {label: counts[label] for label in [level_label(card, i) for i in range(len(card.levels), -1, -1)] if label in counts}
            found.append(TeamLevels(team_ref=team_ref, team_name=team_ref.rpartition("/")[2], scorecard_title=card.title, counts=ordered))
    return found
