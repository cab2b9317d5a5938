"""Evaluating every scorecard over the catalog and recording what changed, in streamed batches.

The catalog is read a page of refs at a time (never the whole of it as Python objects); each page
is merged, checked and compared with the entities' latest recorded results in its own short
transaction, so a large evaluation neither holds memory nor SQLite's write lock for long. Only a
result that changed (level, failing rules or owner) is written, as today's row of that entity and
scorecard (an upsert); one that got worse becomes a `ScorecardAlert` for the owning team, once (a
unique key per entity, rule and day). An entity that was retired or left a scorecard's scope gets a
`GONE` row, so "as of a day" queries stop counting it.
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
from catalog.scorecards.checks import Compiled, Facts
from catalog.scorecards.models import GONE, ScorecardAlert, ScorecardExemption, ScorecardResult
from catalog.store.engine import SessionFactory, session_scope, upsert_insert
from catalog.store.facts import ENTITY_FACTS
from catalog.store.merge import merge, source_states
from catalog.store.models import Entity, Relation, SourceState, table_of

PAGE = 2000  # entity rows per batch

_E = table_of(Entity).c
_R = table_of(Relation).c
_H = table_of(ScorecardResult).c
COLUMNS = [_E[name] for name in dict.fromkeys((*ENTITY_FACTS, "source", "precedence", "broken_since"))]
Recorded = tuple[int, str, str | None]  # level, failing rule ids (comma-separated), owner: a result as stored


def today(config: Config, now: datetime) -> date:
    """The day results are filed under: the date in the digests' time zone."""
    return now.astimezone(ZoneInfo(config.digests.timezone)).date()


@dataclass
class EvaluationReport:
    day: date
    entities: int = 0  # entities at least one scorecard applied to
    results: int = 0  # (scorecard, entity) results evaluated
    changed: int = 0  # of which were new or changed, and so written
    alerts: int = 0  # new degradation alerts
    levels: dict[str, dict[int, int]] = field(default_factory=dict)  # scorecard -> level -> entities


def evaluate_all(factory: SessionFactory, config: Config, *, now: datetime) -> EvaluationReport:
    """Evaluate every configured scorecard over every active entity; record what changed under today."""
    report = EvaluationReport(today(config, now))
    if not config.scorecards:
        return report
    compiled = Compiled.of(config.scorecards, now=now)
    levels: dict[str, dict[int, int]] = {c.config.id: defaultdict(int) for c in compiled.cards}
    relation_types = sorted({r.check.relation for c in config.scorecards for r in c.rules if r.check.relation})
    kinds = None if any(c.kinds is None for c in compiled.cards) else sorted(set().union(*(c.kinds or () for c in compiled.cards)))
    with session_scope(factory) as session:
        states = source_states(session)
        exemptions = exemptions_on(session, report.day)
    run = _Run(compiled, states, relation_types, exemptions, now, report, levels)
    after = ""
    while True:
        with session_scope(factory) as session:
            page = _page(session, after, kinds)
            upper = page[-1][0].ref if page else None
            run.evaluate_range(session, page, after, upper)
        if upper is None:
            break
        after = upper
    report.levels = {k: dict(v) for k, v in levels.items()}
    return report


def exemptions_on(session: Session, day: date) -> dict[tuple[str, str], frozenset[str]]:
    """(scorecard, entity ref) -> rules waived today by an approved, unexpired exemption."""
    found: dict[tuple[str, str], set[str]] = defaultdict(set)
    x = table_of(ScorecardExemption).c
    query = select(x.scorecard, x.entity_ref, x.rule).where(x.status == "approved", x.expires_on >= day)
    rows: Any = session.execute(query)
    for scorecard, ref, rule in rows:
        found[scorecard, ref].add(rule)
    return {key: frozenset(rules) for key, rules in found.items()}


def _page(session: Session, after: str, kinds: list[str] | None) -> list[list[Any]]:
    """The next refs after `after`, each with all its active rows (highest precedence first)."""
    query = select(*COLUMNS).where(_E.retired_at.is_(None), _E.ref > after)
    if kinds is not None:
        query = query.where(_E.kind.in_(kinds))
    rows = list(session.execute(query.order_by(_E.ref, _E.precedence.desc(), _E.source).limit(PAGE)))
    if len(rows) == PAGE and rows[0].ref != rows[-1].ref:  # the last ref may continue on the next page: leave it for then
        last = rows[-1].ref
        rows = [r for r in rows if r.ref != last]
    elif len(rows) == PAGE:  # one ref with a page of rows: read all of them
        rows = list(session.execute(select(*COLUMNS).where(_E.retired_at.is_(None), _E.ref == rows[0].ref)))
    grouped: dict[str, list[Any]] = {}
    for row in rows:
        grouped.setdefault(row.ref, []).append(row)
    return list(grouped.values())


def synced_at(rows: Sequence[Any], states: dict[str, SourceState]) -> datetime | None:
    oldest: datetime | None = None
    for row in rows:
        state = states.get(row.source)
        if row.broken_since is not None or state is None or state.last_success_at is None:
            return None
        if state.last_error_at and state.last_error_at > state.last_success_at:
            return None
        oldest = state.last_success_at if oldest is None else min(oldest, state.last_success_at)
    return oldest


def _in_range(column: Any, after: str, upper: str | None) -> Any:
    return (column > after) & (column <= upper) if upper is not None else column > after


def _relation_counts(session: Session, after: str, upper: str | None, types: list[str]) -> dict[str, dict[str, int]]:
    counts: dict[str, dict[str, int]] = defaultdict(dict)
    if not types or upper is None:
        return counts
    query = (
        select(_R.subject_ref, _R.type, func.count(func.distinct(_R.target_ref)))
        .where(_in_range(_R.subject_ref, after, upper), _R.type.in_(types))
        .group_by(_R.subject_ref, _R.type)
    )
    rows: Any = session.execute(query)
    for ref, rel, n in rows:
        counts[ref][rel] = int(n)
    return counts


def latest_results(session: Session, after: str, upper: str | None) -> dict[tuple[str, str], Recorded]:
    """(scorecard, ref) -> the last recorded result, for the refs in (after, upper].

    Read on the DB-API cursor: every column is a plain string or integer, and this is a page of
    rows per scorecard, which SQLAlchemy's per-row result handling would make the evaluation's largest cost.
    """
    query = (
        select(_H.scorecard, _H.entity_ref, _H.level, _H.failing, _H.owner_ref)
        .where(_in_range(_H.entity_ref, after, upper))
        .order_by(_H.entity_ref, _H.scorecard, _H.day)  # the index's order: the last row of each wins
    )
    conn = session.connection()
    compiled = query.compile(dialect=conn.dialect)
    params = compiled.construct_params()
    cursor = conn.connection.cursor()
    try:
        cursor.execute(compiled.string, tuple(params[name] for name in compiled.positiontup or ()) if compiled.positional else params)
        return {(scorecard, ref): (level, failing, owner) for scorecard, ref, level, failing, owner in cursor.fetchall()}
    finally:
        cursor.close()


@dataclass
class _Run:
    compiled: Compiled
    states: dict[str, SourceState]
    relation_types: list[str]
    exemptions: dict[tuple[str, str], frozenset[str]]
    now: datetime
    report: EvaluationReport
    levels: dict[str, dict[int, int]]

    def evaluate_range(self, session: Session, page: list[list[Any]], after: str, upper: str | None) -> None:
        """Evaluate `page` (the active entities in (after, upper]) and record what changed for every ref in that range."""
        relations = _relation_counts(session, after, upper, self.relation_types)
        before = latest_results(session, after, upper)
        changed: list[dict[str, Any]] = []
        alerts: list[dict[str, Any]] = []
        seen: set[tuple[str, str]] = set()
        exemptions, levels, was = self.exemptions, self.levels, before.get  # this loop runs once per entity and scorecard
        for rows in page:
            entity: Any = rows[0] if len(rows) == 1 else merge(rows, self.states)  # a lone row has every fact a merged entity has
            cards = self.compiled.applying(entity)
            if not cards:
                continue
            passed = self.compiled.run_checks(Facts(entity, relations.get(entity.ref, {}), synced_at(rows, self.states)))
            self.report.entities += 1
            ref, owner = entity.ref, entity.owner_ref
            for card in cards:
                key = (card.config.id, ref)
                level, failing = card.evaluate(passed, exemptions.get(key) if exemptions else None)
                seen.add(key)
                levels[key[0]][level] += 1
                new = (level, failing, owner)
                old = was(key)
                if old != new:
                    self._record(key, new, old, changed, alerts)
        self.report.results += len(seen)
        configured = {c.config.id for c in self.compiled.cards}
        for key, old in before.items():
            if key not in seen and key[0] in configured and old[0] != GONE:
                self._record(key, (GONE, "", old[2]), old, changed, alerts)
        self._write(session, changed, alerts)

    def _record(self, key: tuple[str, str], new: Recorded, old: Recorded | None, changed: list[dict[str, Any]], alerts: list[dict[str, Any]]) -> None:
        scorecard, ref = key
        day = self.report.day
        changed.append({"scorecard": scorecard, "day": day, "entity_ref": ref, "owner_ref": new[2], "level": new[0], "failing": new[1], "evaluated_at": self.now})
        if old is None or old[0] == GONE or new[0] == GONE or not new[2]:
            return
        base = {"scorecard": scorecard, "entity_ref": ref, "team_ref": new[2], "day": day, "from_level": old[0], "to_level": new[0], "created_at": self.now}
        if new[0] < old[0]:
            alerts.append(base | {"rule": ""})
        was_failing = set(old[1].split(","))
        alerts += [base | {"rule": rule} for rule in new[1].split(",") if rule and rule not in was_failing]

    def _write(self, session: Session, changed: list[dict[str, Any]], alerts: list[dict[str, Any]]) -> None:
        self.report.changed += len(changed)
        conn = session.connection()
        if changed:
            insert = upsert_insert(session)(table_of(ScorecardResult))
            update = {name: insert.excluded[name] for name in ("owner_ref", "level", "failing", "evaluated_at")}
            conn.execute(insert.on_conflict_do_update(index_elements=["scorecard", "day", "entity_ref"], set_=update), changed)
        if alerts:
            insert = upsert_insert(session)(table_of(ScorecardAlert)).on_conflict_do_nothing(index_elements=["scorecard", "entity_ref", "rule", "day"])
            self.report.alerts += len(conn.execute(insert.returning(table_of(ScorecardAlert).c.id), alerts).all())
