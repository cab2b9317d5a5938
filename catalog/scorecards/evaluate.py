"""Evaluating every scorecard over the catalog and storing the day's results, in streamed batches.

The catalog is read a page of refs at a time (never the whole of it as Python objects), each page
is merged, checked and written in its own short transaction, so a large evaluation neither holds
memory nor SQLite's write lock for long. Today's row of each (scorecard, entity) is upserted;
comparing it with the previous evaluation's row finds what got worse, which becomes a
`ScorecardAlert` for the owning team (once: a unique key per entity, rule and day).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlmodel import Session

from catalog.config import Config
from catalog.scorecards.checks import CompiledScorecard, Facts
from catalog.scorecards.models import ScorecardAlert, ScorecardExemption, ScorecardResult
from catalog.store.engine import SessionFactory, session_scope, upsert_insert
from catalog.store.facts import ENTITY_FACTS
from catalog.store.merge import merge, source_states
from catalog.store.models import Entity, Relation, SourceState, table_of

PAGE = 2000  # entity rows per batch

_E = table_of(Entity).c
_R = table_of(Relation).c
_COLUMNS = [_E[name] for name in dict.fromkeys((*ENTITY_FACTS, "source", "precedence", "broken_since"))]


def today(config: Config, now: datetime) -> date:
    """The day results are filed under: the date in the digests' time zone."""
    return now.astimezone(ZoneInfo(config.digests.timezone)).date()


@dataclass
class EvaluationReport:
    day: date
    entities: int = 0  # entities at least one scorecard applied to
    results: int = 0  # (scorecard, entity) results written or unchanged
    alerts: int = 0  # new degradation alerts
    levels: dict[str, dict[int, int]] = field(default_factory=dict)  # scorecard -> level -> entities


def evaluate_all(factory: SessionFactory, config: Config, *, now: datetime) -> EvaluationReport:
    """Evaluate every configured scorecard over every active entity and file the results under today."""
    day = today(config, now)
    report = EvaluationReport(day)
    if not config.scorecards:
        return report
    cards = [CompiledScorecard.of(c, now=now) for c in config.scorecards]
    report.levels = {c.config.id: defaultdict(int) for c in cards}
    relation_types = sorted({r.check.relation for c in config.scorecards for r in c.rules if r.check.relation})
    kinds = None if any(c.kinds is None for c in cards) else sorted(set().union(*(c.kinds or () for c in cards)))
    with session_scope(factory) as session:
        states = source_states(session)
        previous_day = {c.config.id: _last_day(session, c.config.id) for c in cards}
        exemptions = _exemptions(session, day)
    after = ""
    while True:
        with session_scope(factory) as session:
            page = _page(session, after, kinds)
            if not page:
                break
            after = page[-1][0].ref
            _evaluate_page(session, page, cards, states, relation_types, previous_day, exemptions, day=day, now=now, report=report)
    report.levels = {k: dict(v) for k, v in report.levels.items()}
    return report


def _last_day(session: Session, scorecard: str) -> date | None:
    return session.scalar(select(func.max(ScorecardResult.day)).where(ScorecardResult.scorecard == scorecard))


def _exemptions(session: Session, day: date) -> dict[tuple[str, str], frozenset[str]]:
    """(scorecard, entity ref) -> rules waived today by an approved, unexpired exemption."""
    found: dict[tuple[str, str], set[str]] = defaultdict(set)
    query = select(ScorecardExemption.scorecard, ScorecardExemption.entity_ref, ScorecardExemption.rule).where(
        ScorecardExemption.status == "approved", ScorecardExemption.expires_on >= day
    )
    for scorecard, ref, rule in session.execute(query):
        found[scorecard, ref].add(rule)
    return {key: frozenset(rules) for key, rules in found.items()}


def _page(session: Session, after: str, kinds: list[str] | None) -> list[list[Any]]:
    """The next refs after `after`, each with all its active rows (highest precedence first)."""
    query = select(*_COLUMNS).where(_E.retired_at.is_(None), _E.ref > after)
    if kinds is not None:
        query = query.where(_E.kind.in_(kinds))
    rows = list(session.execute(query.order_by(_E.ref, _E.precedence.desc(), _E.source).limit(PAGE)))
    if len(rows) == PAGE and rows[0].ref != rows[-1].ref:  # the last ref may continue on the next page: leave it for then
        last = rows[-1].ref
        rows = [r for r in rows if r.ref != last]
    elif len(rows) == PAGE:  # one ref with a page of rows: read all of them
        rows = list(session.execute(select(*_COLUMNS).where(_E.retired_at.is_(None), _E.ref == rows[0].ref)))
    grouped: dict[str, list[Any]] = {}
    for row in rows:
        grouped.setdefault(row.ref, []).append(row)
    return list(grouped.values())


def _synced_at(rows: Sequence[Any], states: dict[str, SourceState]) -> datetime | None:
    oldest: datetime | None = None
    for row in rows:
        state = states.get(row.source)
        if row.broken_since is not None or state is None or state.last_success_at is None:
            return None
        if state.last_error_at and state.last_error_at > state.last_success_at:
            return None
        oldest = state.last_success_at if oldest is None else min(oldest, state.last_success_at)
    return oldest


def _relation_counts(session: Session, first: str, last: str, types: list[str]) -> dict[str, dict[str, int]]:
    counts: dict[str, dict[str, int]] = defaultdict(dict)
    if not types:
        return counts
    query = (
        select(_R.subject_ref, _R.type, func.count(func.distinct(_R.target_ref)))
        .where(_R.subject_ref >= first, _R.subject_ref <= last, _R.type.in_(types))
        .group_by(_R.subject_ref, _R.type)
    )
    for ref, rel, n in session.execute(query):
        counts[ref][rel] = int(n)
    return counts


def _previous(session: Session, scorecard: str, day: date | None, first: str, last: str) -> dict[str, tuple[int, list[str]]]:
    if day is None:
        return {}
    r = table_of(ScorecardResult).c
    query = select(r.entity_ref, r.level, r.failing).where(r.scorecard == scorecard, r.day == day, r.entity_ref >= first, r.entity_ref <= last)
    return {ref: (level, failing) for ref, level, failing in session.execute(query)}


def _evaluate_page(
    session: Session, page: list[list[Any]], cards: list[CompiledScorecard], states: dict[str, SourceState], relation_types: list[str],
    previous_day: dict[str, date | None], exemptions: dict[tuple[str, str], frozenset[str]], *, day: date, now: datetime, report: EvaluationReport,
) -> None:  # fmt: skip
    first, last = page[0][0].ref, page[-1][0].ref
    relations = _relation_counts(session, first, last, relation_types)
    before = {c.config.id: _previous(session, c.config.id, previous_day[c.config.id], first, last) for c in cards}
    results: list[dict[str, Any]] = []
    alerts: list[dict[str, Any]] = []
    no_exemption: frozenset[str] = frozenset()
    for rows in page:
        entity = rows[0] if len(rows) == 1 else merge(rows, states)  # type: ignore[arg-type]
        facts: Facts | None = None
        for card in cards:
            if not card.applies(entity):
                continue
            if facts is None:
                facts = Facts(entity, relations.get(entity.ref, {}), _synced_at(rows, states))
                report.entities += 1
            sid = card.config.id
            level, failing = card.evaluate(facts, exemptions.get((sid, entity.ref), no_exemption))
            report.levels[sid][level] += 1
            old = before[sid].get(entity.ref)
            if old is not None and previous_day[sid] == day and old == (level, failing):
                report.results += 1
                continue  # today's row already says this
            results.append({"scorecard": sid, "day": day, "entity_ref": entity.ref, "owner_ref": entity.owner_ref, "level": level, "failing": failing, "evaluated_at": now})
            if old is not None and entity.owner_ref:
                alerts += _degradations(sid, entity.ref, entity.owner_ref, old, (level, failing), day=day, now=now)
    report.results += len(results)
    if results:
        insert = upsert_insert(session)(ScorecardResult)
        session.execute(
            insert.on_conflict_do_update(
                index_elements=["scorecard", "day", "entity_ref"],
                set_={name: insert.excluded[name] for name in ("owner_ref", "level", "failing", "evaluated_at")},
            ),
            results,
        )
    if alerts:
        insert = upsert_insert(session)(ScorecardAlert).on_conflict_do_nothing(index_elements=["scorecard", "entity_ref", "rule", "day"])
        report.alerts += sum(1 for _ in (session.execute(insert.returning(table_of(ScorecardAlert).c.id), alerts)))  # type: ignore[union-attr]


def _degradations(
    scorecard: str, ref: str, team: str, old: tuple[int, list[str]], new: tuple[int, list[str]], *, day: date, now: datetime
) -> list[dict[str, Any]]:
    """An alert for the level falling ("" rule) and one per rule that started failing."""
    base = {"scorecard": scorecard, "entity_ref": ref, "team_ref": team, "day": day, "from_level": old[0], "to_level": new[0], "created_at": now}
    found = [base | {"rule": ""}] if new[0] < old[0] else []
    return found + [base | {"rule": rule} for rule in new[1] if rule not in old[1]]
