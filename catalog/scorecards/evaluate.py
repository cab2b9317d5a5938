"""Evaluating every scorecard over the catalog and recording what changed, in streamed batches.

The catalog is read a page of refs at a time (never the whole of it as Python objects), first only
the columns that fingerprint each entity's inputs (`_Inputs`): an entity whose fingerprint is the one
stored at its last evaluation cannot have a different result, and is skipped, so re-evaluating an
unchanged catalog reads no JSON and no results. The rest are read in full, merged, checked and
compared with their latest recorded results, each page in its own short transaction, so a large
evaluation neither holds memory nor SQLite's write lock for long. Only a
result that changed (level, failing rules or owner) is written, as today's row of that entity and
scorecard (an upsert); one that got worse becomes a `ScorecardAlert` for the owning team, once (a
unique key per entity, rule and day). An entity that was retired or left a scorecard's scope gets a
`GONE` row, so "as of a day" queries stop counting it. A changed result records who made the
entity change it followed (`Entity.changed_by`), when that change came after the last evaluation.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

from sqlalchemy import delete, func, select
from sqlmodel import Session

from catalog.config import Config
from catalog.scorecards.checks import Compiled, Facts
from catalog.scorecards.config import duration
from catalog.scorecards.models import GONE, ScorecardAlert, ScorecardExemption, ScorecardInput, ScorecardResult, ScorecardState
from catalog.store.engine import SessionFactory, session_scope, upsert_insert
from catalog.store.facts import ENTITY_FACTS
from catalog.store.merge import merge, source_states
from catalog.store.models import Entity, Relation, SourceState, as_utc, table_of
from catalog.store.raw import raw_rows
from catalog.sync.apply import chunked

PAGE = 2000  # entity rows per batch

_E = table_of(Entity).c
_R = table_of(Relation).c
_H = table_of(ScorecardResult).c
_I = table_of(ScorecardInput).c
_S = table_of(ScorecardState).c
# What an entity's inputs are fingerprinted from: no JSON column, so an unchanged entity costs a few strings.
INPUT_COLUMNS = [_E[name] for name in ("ref", "source", "precedence", "content_hash", "location", "broken_since")]
COLUMNS = [_E[name] for name in dict.fromkeys((*ENTITY_FACTS, "source", "precedence", "broken_since", "updated_at", "changed_by"))]
Recorded = tuple[int, str, str | None]  # level, failing rule ids (comma-separated), owner: a result as stored


def today(config: Config, now: datetime) -> date:
    """The day results are filed under: the date in the digests' time zone."""
    return now.astimezone(ZoneInfo(config.digests.timezone)).date()


@dataclass
class EvaluationReport:
    day: date
    entities: int = 0  # entities evaluated (their inputs changed) that at least one scorecard applied to
    results: int = 0  # (scorecard, entity) results evaluated
    changed: int = 0  # of which were new or changed, and so written
    alerts: int = 0  # new degradation alerts
    unchanged: int = 0  # entities whose inputs had not changed since their last evaluation: not evaluated again
    levels: dict[str, dict[int, int]] = field(default_factory=dict)  # scorecard -> level -> entities evaluated


def evaluate_all(factory: SessionFactory, config: Config, *, now: datetime) -> EvaluationReport:
    """Evaluate every configured scorecard over every active entity whose inputs changed; record what changed under today."""
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
        previous = session.execute(select(_S.evaluated_at).where(_S.id == 1)).scalar()
    inputs = _Inputs.of(config, relation_types, exemptions, now)
    run = _Run(compiled, states, relation_types, exemptions, inputs, as_utc(previous) if previous else None, now, report, levels)
    after = ""
    while True:
        with session_scope(factory) as session:
            page = _page(session, after, kinds)
            upper = page[-1][0].ref if page else None
            run.evaluate_range(session, page, after, upper)
        if upper is None:
            break
        after = upper
    with session_scope(factory) as session:
        upsert = upsert_insert(session)(table_of(ScorecardState)).values(id=1, evaluated_at=now)
        session.execute(upsert.on_conflict_do_update(index_elements=["id"], set_={"evaluated_at": now}))
    report.levels = {k: dict(v) for k, v in levels.items()}
    return report


@dataclass(frozen=True)
class _Inputs:
    """Fingerprints an entity's inputs: a changed fingerprint is the only reason to evaluate it again.

    Everything a result depends on is in it: the scorecards' configuration, each row's content
    hash (its facts), source, precedence and location (not in the hash), the counts of the
    relation types checked, which `synced_within` windows the entity is inside now, and its exemptions.
    """

    config_key: str
    relation_types: list[str]
    fresh_since: list[datetime]  # the oldest sync each `synced_within` rule accepts, as of now
    exempt: dict[str, list[str]]  # ref -> "scorecard:rule" waived today, sorted

    @classmethod
    def of(cls, config: Config, relation_types: list[str], exemptions: dict[tuple[str, str], frozenset[str]], now: datetime) -> _Inputs:
        cards = json.dumps([card.model_dump(mode="json") for card in config.scorecards], sort_keys=True)
        windows = sorted({r.check.synced_within for c in config.scorecards for r in c.rules if r.check.synced_within})
        exempt: dict[str, list[str]] = defaultdict(list)
        for (scorecard, ref), rules in sorted(exemptions.items()):
            exempt[ref] += [f"{scorecard}:{rule}" for rule in sorted(rules)]
        return cls(hashlib.sha256(cards.encode()).hexdigest(), relation_types, [now - duration(w) for w in windows], dict(exempt))

    def fingerprint(self, rows: Sequence[Any], relations: dict[str, int], synced: datetime | None) -> str:
        text = "\x1e".join(f"{row.source}\x1f{row.precedence}\x1f{row.content_hash}\x1f{row.location}" for row in rows)
        if self.relation_types:
            text += "\x1d" + ",".join([str(relations.get(t, 0)) for t in self.relation_types])
        if self.fresh_since:
            text += "\x1d" + "".join(["1" if synced is not None and synced >= since else "0" for since in self.fresh_since])
        if self.exempt and (exempt := self.exempt.get(rows[0].ref)):
            text += "\x1d" + ",".join(exempt)
        return hashlib.blake2b(f"{self.config_key}\x1d{text}".encode(), digest_size=16).hexdigest()


def exemptions_on(session: Session, day: date) -> dict[tuple[str, str], frozenset[str]]:
    """(scorecard, entity ref) -> rules waived today by an approved, unexpired exemption."""
    found: dict[tuple[str, str], set[str]] = defaultdict(set)
    x = table_of(ScorecardExemption).c
    query = select(x.scorecard, x.entity_ref, x.rule).where(x.status == "approved", x.expires_on >= day)
    rows: Any = session.execute(query)
    for scorecard, ref, rule in rows:
        found[scorecard, ref].add(rule)
    return {key: frozenset(rules) for key, rules in found.items()}


class InputRow(NamedTuple):
    """One row's `INPUT_COLUMNS` (`broken_since` only tested for NULL, so left as the database gives it)."""

    ref: str
    source: str
    precedence: int
    content_hash: str
    location: str | None
    broken_since: Any


def _page(session: Session, after: str, kinds: list[str] | None) -> list[list[InputRow]]:
    """The next refs after `after`, each with all its active rows (highest precedence first).

    Ordered by ref alone, which the ref index gives without sorting what is left of the table for every page.
    """
    query = select(*INPUT_COLUMNS).where(_E.retired_at.is_(None), _E.ref > after)
    if kinds is not None:
        query = query.where(_E.kind.in_(kinds))
    rows = [InputRow(*row) for row in raw_rows(session, query.order_by(_E.ref).limit(PAGE))]
    if len(rows) == PAGE and rows[0].ref != rows[-1].ref:  # the last ref may continue on the next page: leave it for then
        last = rows[-1].ref
        rows = [r for r in rows if r.ref != last]
    elif len(rows) == PAGE:  # one ref with a page of rows: read all of them
        rows = [InputRow(*row) for row in raw_rows(session, select(*INPUT_COLUMNS).where(_E.retired_at.is_(None), _E.ref == rows[0].ref))]
    return [group if len(group) == 1 else sorted(group, key=_precedence_order) for group in _grouped(rows)]


def _precedence_order(row: Any) -> tuple[int, str]:
    return -row.precedence, row.source


def _grouped(rows: Iterable[Any]) -> list[list[Any]]:
    grouped: dict[str, list[Any]] = {}
    for row in rows:
        grouped.setdefault(row.ref, []).append(row)
    return list(grouped.values())


def _full_rows(session: Session, refs: list[str]) -> list[list[Any]]:
    """Every fact of the active rows of `refs`, grouped by ref (highest precedence first)."""
    rows = (row for chunk in chunked(refs) for row in session.execute(select(*COLUMNS).where(_E.retired_at.is_(None), _E.ref.in_(chunk))))
    return [sorted(group, key=_precedence_order) for group in _grouped(rows)]


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
    for ref, rel, n in raw_rows(session, query):
        counts[ref][rel] = int(n)
    return counts


def latest_results(session: Session, after: str, upper: str | None, refs: list[str] | None = None) -> dict[tuple[str, str], Recorded]:
    """(scorecard, ref) -> the last recorded result, for the refs in (after, upper], or only `refs` of them."""
    query = select(_H.scorecard, _H.entity_ref, _H.level, _H.failing, _H.owner_ref).where(_in_range(_H.entity_ref, after, upper))
    order = (_H.entity_ref, _H.scorecard, _H.day)  # the index's order: the last row of each wins
    queries = [query.order_by(*order)] if refs is None else [query.where(_H.entity_ref.in_(chunk)).order_by(*order) for chunk in chunked(refs)]
    return {(scorecard, ref): (level, failing, owner) for q in queries for scorecard, ref, level, failing, owner in raw_rows(session, q)}


@dataclass
class _Run:
    compiled: Compiled
    states: dict[str, SourceState]
    relation_types: list[str]
    exemptions: dict[tuple[str, str], frozenset[str]]
    inputs: _Inputs
    previous: datetime | None  # when the last evaluation ran: an entity changed since then was changed by its `changed_by`
    now: datetime
    report: EvaluationReport
    levels: dict[str, dict[int, int]]

    def evaluate_range(self, session: Session, page: list[list[Any]], after: str, upper: str | None) -> None:
        """Evaluate the entities of `page` (the active ones in (after, upper], as `INPUT_COLUMNS`) whose inputs
        changed, and record what changed for every ref in that range (a ref no longer active is `GONE`)."""
        relations = _relation_counts(session, after, upper, self.relation_types)
        stored = self._fingerprints(session, after, upper)
        fresh: dict[str, str] = {}
        for rows in page:
            ref = rows[0].ref
            digest = self.inputs.fingerprint(rows, relations.get(ref, {}), synced_at(rows, self.states))
            if stored.pop(ref, None) == digest:
                self.report.unchanged += 1
            else:
                fresh[ref] = digest
        gone = list(stored)  # fingerprinted before, no longer active (what is left of `stored`)
        if not fresh and not gone:
            return
        most = len(fresh) + len(gone) > len(page) // 2  # then the range is one read, not many `IN` lists
        before = latest_results(session, after, upper, None if most else [*fresh, *gone])
        changed: list[dict[str, Any]] = []
        alerts: list[dict[str, Any]] = []
        seen: set[tuple[str, str]] = set()
        exemptions, levels, was = self.exemptions, self.levels, before.get  # this loop runs once per entity and scorecard
        for rows in _full_rows(session, list(fresh)):
            entity: Any = rows[0] if len(rows) == 1 else merge(rows, self.states)  # a lone row has every fact a merged entity has
            ref, owner = entity.ref, entity.owner_ref
            cards = self.compiled.applying(entity)
            if not cards:
                continue
            passed = self.compiled.run_checks(Facts(entity, relations.get(ref, {}), synced_at(rows, self.states)))
            self.report.entities += 1
            author = self._author(rows)
            for card in cards:
                key = (card.config.id, ref)
                level, failing = card.evaluate(passed, exemptions.get(key) if exemptions else None)
                seen.add(key)
                self.report.results += 1
                levels[key[0]][level] += 1
                new = (level, failing, owner)
                old = was(key)
                if old != new:
                    self._record(key, new, old, author, changed, alerts)
        configured = {c.config.id for c in self.compiled.cards}
        for key, old in before.items():
            if key not in seen and key[0] in configured and old[0] != GONE and (key[1] in fresh or key[1] in stored):
                self._record(key, (GONE, "", old[2]), old, None, changed, alerts)
        self._write(session, changed, alerts, fresh, gone)

    def _fingerprints(self, session: Session, after: str, upper: str | None) -> dict[str, str]:
        return dict(raw_rows(session, select(_I.entity_ref, _I.fingerprint).where(_in_range(_I.entity_ref, after, upper))))

    def _author(self, rows: Sequence[Any]) -> str | None:
        """Who made the entity's newest change, if it came after the last evaluation (so it is what this one sees) and the source knew."""
        if self.previous is None:  # the first evaluation: there is nothing to compare with, so nobody changed anything
            return None
        newest = max(rows, key=lambda row: as_utc(row.updated_at))
        return newest.changed_by if as_utc(newest.updated_at) > self.previous else None

    def _record(
        self, key: tuple[str, str], new: Recorded, old: Recorded | None, author: str | None, changed: list[dict[str, Any]], alerts: list[dict[str, Any]]
    ) -> None:
        scorecard, ref = key
        day = self.report.day
        changed.append({
            "scorecard": scorecard, "day": day, "entity_ref": ref, "owner_ref": new[2], "level": new[0], "failing": new[1], "evaluated_at": self.now,
            "changed_by": author if old is not None else None,
        })  # fmt: skip
        if old is None or old[0] == GONE or new[0] == GONE or not new[2]:
            return
        base = {"scorecard": scorecard, "entity_ref": ref, "team_ref": new[2], "day": day, "from_level": old[0], "to_level": new[0], "created_at": self.now}
        if new[0] < old[0]:
            alerts.append(base | {"rule": ""})
        was_failing = set(old[1].split(","))
        alerts += [base | {"rule": rule} for rule in new[1].split(",") if rule and rule not in was_failing]

    def _write(self, session: Session, changed: list[dict[str, Any]], alerts: list[dict[str, Any]], fresh: dict[str, str], gone: list[str]) -> None:
        self.report.changed += len(changed)
        conn = session.connection()
        upsert = upsert_insert(session)
        if changed:
            insert = upsert(table_of(ScorecardResult))
            update = {name: insert.excluded[name] for name in ("owner_ref", "level", "failing", "evaluated_at")}
            update["changed_by"] = func.coalesce(insert.excluded.changed_by, _H.changed_by)  # a later change the same day by nobody known keeps the author
            conn.execute(insert.on_conflict_do_update(index_elements=["scorecard", "day", "entity_ref"], set_=update), changed)
        if alerts:
            insert = upsert(table_of(ScorecardAlert)).on_conflict_do_nothing(index_elements=["scorecard", "entity_ref", "rule", "day"])
            self.report.alerts += len(conn.execute(insert.returning(table_of(ScorecardAlert).c.id), alerts).all())
        if fresh:
            insert = upsert(table_of(ScorecardInput))
            rows = [{"entity_ref": ref, "fingerprint": digest} for ref, digest in fresh.items()]
            conn.execute(insert.on_conflict_do_update(index_elements=["entity_ref"], set_={"fingerprint": insert.excluded.fingerprint}), rows)
        for chunk in chunked(gone):
            conn.execute(delete(table_of(ScorecardInput)).where(_I.entity_ref.in_(chunk)))
