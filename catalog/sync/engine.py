"""The sync engine every source goes through.

A full snapshot is diffed against the rows that source owns (by content hash) and applied
in one transaction: insert, update, retire. A failed fetch changes nothing; a snapshot that
would retire too much is refused unless explicitly allowed.
"""

from __future__ import annotations

import functools
import gc
import logging
import operator
import time
import weakref
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import bindparam, delete, func, insert, select, update
from sqlmodel import Session

from catalog.sync.broken_files import spare_broken
from catalog.store.engine import SessionFactory, convert_rows, session_scope
from catalog.sync.sources.descriptor import EntityDoc, Problem, dangling_targets, snapshot_relations
from catalog.errors import SourceError
from catalog.store.models import CatalogState, Entity, Relation, SourceState, SyncRun
from catalog.sync.sources.base import Scope, Snapshot, Source

log = logging.getLogger(__name__)

DEFAULT_MAX_DELETE_FRACTION = 0.5
# Below this many entities the fraction guard would only get in the way of small catalogs.
MIN_ENTITIES_FOR_FRACTION_GUARD = 10


@dataclass
class Plan:
    """What applying a snapshot would do, keyed by ref."""

    add: list[EntityDoc] = field(default_factory=list)
    update: list[tuple[int, EntityDoc]] = field(default_factory=list)
    retire: list[tuple[int, str]] = field(default_factory=list)
    unchanged: int = 0


@dataclass
class SyncReport:
    source: str
    status: str  # ok | failed | refused
    added: int = 0
    updated: int = 0
    removed: int = 0
    unchanged: int = 0
    problems: list[Problem] = field(default_factory=list)
    error: str | None = None
    requests: int = 0
    seconds: float = 0.0
    run_id: int | None = None
    scope: str | None = None  # set for a partial run (one repository), which says nothing about the rest

    @property
    def ok(self) -> bool:
        return self.status == "ok"


class _Derived:
    """What the engine derives from one `EntityDoc`, kept while that object lives."""

    __slots__ = ("doc", "content_hash", "problems")

    def __init__(self, doc: weakref.ref[EntityDoc]) -> None:
        self.doc = doc
        self.content_hash: str | None = None
        self.problems: list[Problem] | None = None


# Sources that cache their parsed entities (the Backstage source does) hand the same `EntityDoc`
# objects to every sync, so their content hashes and reference problems are derived once, not on
# every resync. Keyed by object identity and dropped when the object is collected; entities are
# never modified after parsing, so what was derived stays true.
_DERIVED: dict[int, _Derived] = {}


def _derived(doc: EntityDoc) -> _Derived:
    key = id(doc)
    found = _DERIVED.get(key)
    if found is None or found.doc() is not doc:
        found = _DERIVED[key] = _Derived(weakref.ref(doc, functools.partial(_forget, key)))
    return found


def _forget(key: int, ref: weakref.ref[EntityDoc]) -> None:
    found = _DERIVED.get(key)
    if found is not None and found.doc is ref:
        del _DERIVED[key]


def _content_hash(doc: EntityDoc) -> str:
    derived = _derived(doc)
    if derived.content_hash is None:
        derived.content_hash = doc.content_hash()
    return derived.content_hash


class _SnapshotRelations(Mapping[str, list[tuple[str, str, str]]]):
    """`descriptor.snapshot_relations`' relations by origin ref, each derived when first read.

    A resync with nothing to write never reads them; its reference problems come from `_Derived`.
    """

    def __init__(self, docs: list[EntityDoc]) -> None:
        self._list = docs
        self._by_ref: dict[str, EntityDoc] | None = None
        self._triples: dict[str, list[tuple[str, str, str]]] = {}

    @property
    def _docs(self) -> dict[str, EntityDoc]:
        if self._by_ref is None:
            self._by_ref = {doc.ref: doc for doc in self._list}
        return self._by_ref

    def __getitem__(self, ref: str) -> list[tuple[str, str, str]]:
        found = self._triples.get(ref)
        if found is None:
            found = self._triples[ref] = snapshot_relations([self._docs[ref]])[0][ref]
        return found

    def __iter__(self) -> Iterator[str]:
        return iter(self._docs)

    def __len__(self) -> int:
        return len(self._docs)


def _snapshot_relations(docs: list[EntityDoc]) -> tuple[_SnapshotRelations, list[Problem]]:
    """What `snapshot_relations(docs)` returns, computing only what no earlier sync derived."""
    relations = _SnapshotRelations(docs)
    problems: list[Problem] = []
    for doc in docs:
        derived = _derived(doc)
        if derived.problems is None:
            by_origin, derived.problems = snapshot_relations([doc])
            if relations._docs[doc.ref] is doc:
                relations._triples[doc.ref] = by_origin[doc.ref]
        problems += derived.problems
    return relations, problems


def plan(desired: list[EntityDoc], existing: dict[str, tuple[int, str, bool]]) -> Plan:
    """Pure diff: `existing` maps ref -> (row id, content hash, retired)."""
    result = Plan()
    seen: set[str] = set()
    for doc in desired:
        seen.add(doc.ref)
        row = existing.get(doc.ref)
        if row is None:
            result.add.append(doc)
        elif row[2] or row[1] != _content_hash(doc):
            result.update.append((row[0], doc))
        else:
            result.unchanged += 1
    result.retire = [(row_id, ref) for ref, (row_id, _, retired) in existing.items() if ref not in seen and not retired]
    return result


def _guard(p: Plan, active: int, snapshot: Snapshot, allow_large_delete: bool, max_fraction: float) -> str | None:
    """Why this plan must not be applied without `--allow-large-delete`, if it must not."""
    if allow_large_delete or not p.retire:
        return None
    if not snapshot.entities:
        return f"the snapshot is empty and would retire all {active} entities; rerun with --allow-large-delete if that is intended"
    if active >= MIN_ENTITIES_FOR_FRACTION_GUARD and len(p.retire) > max_fraction * active:
        return (
            f"the snapshot would retire {len(p.retire)} of {active} entities (more than {max_fraction:.0%}); "
            "rerun with --allow-large-delete if that is intended"
        )
    return None


def _row(doc: EntityDoc, source: str, now: datetime) -> dict[str, Any]:
    return {
        "source": source,
        "precedence": doc.precedence,
        "ref": doc.ref,
        "kind": doc.kind,
        "namespace": doc.namespace,
        "name": doc.name,
        "title": doc.title,
        "description": doc.description,
        "type": doc.type,
        "lifecycle": doc.lifecycle,
        "owner_ref": doc.owner_ref,
        "system_ref": doc.system_ref,
        "labels": doc.labels,
        "annotations": doc.annotations,
        "tags": doc.tags,
        "links": [link.model_dump(exclude_none=True) for link in doc.links],
        "spec": doc.spec,
        "api_version": doc.api_version,
        "location": doc.location,
        "content_hash": _content_hash(doc),
        "updated_at": now,
        "retired_at": None,
    }


def _existing(session: Session, source: str) -> dict[str, tuple[int, str, bool]]:
    e = _ENTITY_TABLE.c  # plain columns: no ORM row processing, no parsing of every retired_at
    rows = session.execute(select(e.ref, e.id, e.content_hash, e.retired_at.is_not(None)).where(e.source == source))
    return {ref: (row_id, digest, bool(retired)) for ref, row_id, digest, retired in rows}


# A list of parameter sets would otherwise turn an ORM UPDATE into "bulk UPDATE by primary key",
# which rejects the `WHERE id = :_id` form as soon as two or more rows change.
_CORE_EXECUTEMANY = {"synchronize_session": False, "dml_strategy": "core_only"}
_ENTITY_TABLE = Entity.__table__  # type: ignore[attr-defined]
_RELATION_TABLE = Relation.__table__  # type: ignore[attr-defined]


def apply(session: Session, source: str, p: Plan, relations: Mapping[str, list[tuple[str, str, str]]], now: datetime) -> None:
    """Write a plan; the caller owns the transaction."""
    if p.add:
        added = [_row(doc, source, now) | {"first_seen_at": now} for doc in p.add]
        columns = tuple(added[0])
        values = operator.itemgetter(*columns)
        _insert_tuples(session, _ENTITY_TABLE, columns, [values(row) for row in added])
    if p.update:
        stmt = update(Entity).where(Entity.id == bindparam("_id"))
        session.execute(stmt, [_row(doc, source, now) | {"_id": row_id} for row_id, doc in p.update], execution_options=_CORE_EXECUTEMANY)
    if p.retire:
        stmt = update(Entity).where(Entity.id == bindparam("_id")).values(retired_at=now, updated_at=now)
        session.execute(stmt, [{"_id": row_id} for row_id, _ in p.retire], execution_options=_CORE_EXECUTEMANY)
    stale = [doc.ref for _, doc in p.update] + [ref for _, ref in p.retire]
    for chunk in _chunks(stale, 500):
        session.execute(delete(Relation).where(Relation.source == source, Relation.origin_ref.in_(chunk)))
    fresh = [doc.ref for doc in p.add] + [doc.ref for _, doc in p.update]
    rows = [(source, origin, s, t, o) for origin in fresh for s, t, o in relations.get(origin, ())]
    if rows:
        _insert_tuples(session, _RELATION_TABLE, _RELATION_COLUMNS, rows)
    if p.add or p.update or p.retire:
        session.execute(update(CatalogState).where(CatalogState.id == 1).values(generation=CatalogState.generation + 1))


_RELATION_COLUMNS = ("source", "origin_ref", "subject_ref", "type", "target_ref")
_PLACEHOLDERS = {"qmark": "?", "format": "%s", "pyformat": "%s"}


def _insert_tuples(session: Session, table: Any, columns: tuple[str, ...], rows: list[tuple[Any, ...]]) -> None:
    """INSERT rows with one driver-level executemany, values converted by the columns' own types.

    A first sync writes about nine rows per entity; SQLAlchemy's per-row parameter handling
    cost more than the database's work. The values are exactly what SQLAlchemy would bind (the
    same type processors, e.g. JSON and timestamps). Rows that need converting go this way only
    with `?` placeholders (SQLite); otherwise, and for unknown parameter styles, a Core insert.
    """
    conn = session.connection()
    dialect = conn.dialect
    processors = [table.c[c].type.dialect_impl(dialect).bind_processor(dialect) for c in columns]
    mark = _PLACEHOLDERS.get(dialect.paramstyle)
    if mark is None or (any(processors) and dialect.paramstyle != "qmark"):
        session.execute(insert(table), [dict(zip(columns, row, strict=True)) for row in rows])
        return
    if any(processors):
        rows = convert_rows(rows, processors)
    quote = dialect.identifier_preparer.quote
    sql = f"INSERT INTO {quote(table.name)} ({', '.join(quote(c) for c in columns)}) VALUES ({', '.join([mark] * len(columns))})"
    conn.exec_driver_sql(sql, rows)


def _chunks(items: list[str], size: int) -> list[list[str]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


def _known_refs(session: Session) -> set[str]:
    return set(session.scalars(select(Entity.ref).where(Entity.retired_at.is_(None)).distinct()))  # type: ignore[union-attr]


def sync_source(
    factory: SessionFactory,
    source: Source,
    *,
    allow_large_delete: bool = False,
    max_delete_fraction: float = DEFAULT_MAX_DELETE_FRACTION,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> SyncReport:
    """Fetch one source and reconcile the catalog with it; records a `SyncRun` either way."""
    started = time.perf_counter()
    now = clock()
    with session_scope(factory) as session:
        run = SyncRun(source=source.name, started_at=now)
        session.add(run)
        state = session.get(SourceState, source.name) or SourceState(name=source.name, type=source.type)
        state.type, state.last_attempt_at = source.type, now
        session.add(state)
        session.flush()
        run_id = run.id
    report = SyncReport(source=source.name, status="ok", run_id=run_id)
    try:
        snapshot = source.fetch()
    except SourceError as exc:
        report.status, report.error = "failed", str(exc)
    except Exception as exc:  # a bug or an unexpected library error in a source must not take the others down
        log.exception("source %s crashed", source.name)
        report.status, report.error = "failed", f"{type(exc).__name__}: {exc}"
    else:
        report.requests = snapshot.requests
        report.problems = list(snapshot.problems)
        report.scope = snapshot.scope.label if snapshot.scope else None
        with _gc_frozen():
            _reconcile(factory, source.name, snapshot, report, allow_large_delete, max_delete_fraction, now)
    report.seconds = time.perf_counter() - started
    _finish(factory, report, clock())
    return report


@contextmanager
def _gc_frozen() -> Iterator[None]:
    """Keep the cyclic garbage collector off the objects that existed before reconciling.

    A large snapshot (and a source's parse cache) is millions of long-lived objects; every full
    collection triggered by the rows being built would walk them all again, a fifth of a 100k
    entity first sync. New objects are still collected. A process that froze objects itself is
    left alone.
    """
    if gc.get_freeze_count():
        yield
        return
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def _reconcile(
    factory: SessionFactory,
    source: str,
    snapshot: Snapshot,
    report: SyncReport,
    allow_large_delete: bool,
    max_fraction: float,
    now: datetime,
) -> None:
    relations, problems = _snapshot_relations(snapshot.entities)
    report.problems += problems
    with session_scope(factory) as session:
        desired, existing = snapshot.entities, _existing(session, source)
        if snapshot.scope is not None:
            desired, existing, conflicts = _narrow(session, source, snapshot.scope, desired, existing)
            report.problems += conflicts
        p = plan(desired, existing)
        p.retire, kept = spare_broken(session, source, p.retire, existing, snapshot, now)
        report.problems += kept
        if not snapshot.complete:
            p.retire = []
        active = sum(1 for _, _, retired in existing.values() if not retired)
        refusal = _guard(p, active, snapshot, allow_large_delete, max_fraction)
        if refusal:
            report.status, report.error = "refused", refusal
            return
        apply(session, source, p, relations, now)
        report.added, report.updated, report.removed, report.unchanged = len(p.add), len(p.update), len(p.retire), p.unchanged
        if p.add or p.update or p.retire:
            known = _known_refs(session)
            report.problems += dangling_targets(desired, relations, known.__contains__)  # type: ignore[arg-type]


def _narrow(
    session: Session, source: str, scope: Scope, desired: list[EntityDoc], existing: dict[str, tuple[int, str, bool]]
) -> tuple[list[EntityDoc], dict[str, tuple[int, str, bool]], list[Problem]]:
    """Confine a partial snapshot to its scope.

    It may retire only rows in the scope, and may take a ref another part of the source holds
    only with a higher precedence (a descriptor over an inferred entity), the way a full
    snapshot would have resolved the same conflict.
    """
    held = {ref: (location, prec) for ref, location, prec in session.execute(select(Entity.ref, Entity.location, Entity.precedence).where(Entity.source == source))}
    kept: list[EntityDoc] = []
    problems: list[Problem] = []
    for doc in desired:
        row = existing.get(doc.ref)
        location, precedence = held.get(doc.ref, (None, 0))
        if row is not None and not row[2] and not scope.contains(location) and precedence >= doc.precedence:
            problems.append(Problem(file=doc.location, entity=doc.ref, message=f"duplicate entity, already defined at {location}; skipped"))
        else:
            kept.append(doc)
    wanted = {doc.ref for doc in kept}
    return kept, {ref: row for ref, row in existing.items() if ref in wanted or scope.contains(held[ref][0])}, problems


def _finish(factory: SessionFactory, report: SyncReport, now: datetime) -> None:
    with session_scope(factory) as session:
        run = session.get(SyncRun, report.run_id)
        assert run is not None
        run.finished_at, run.status = now, report.status
        run.added, run.updated, run.removed, run.unchanged = report.added, report.updated, report.removed, report.unchanged
        run.requests, run.message = report.requests, report.error or (f"partial: {report.scope}" if report.scope else None)
        run.errors = [str(p) for p in report.problems]
        run.error_count = sum(1 for p in report.problems if p.severity == "error")
        state = session.get(SourceState, report.source)
        assert state is not None
        if not report.ok:
            state.last_error, state.last_error_at = report.error, now
        elif report.scope is None:  # one repository read fine says nothing about the others' freshness
            state.last_success_at = now
        session.add_all([run, state])


def last_runs(session: Session, limit_per_source: int = 1) -> list[SyncRun]:
    """Most recent runs, newest first, at most `limit_per_source` per source (picked in SQL, not from all history)."""
    newest_first = (SyncRun.started_at.desc(), SyncRun.id.desc())  # type: ignore[attr-defined, union-attr]
    ranked = select(SyncRun.id, func.row_number().over(partition_by=SyncRun.source, order_by=newest_first).label("n")).subquery()
    query = select(SyncRun).join(ranked, SyncRun.id == ranked.c.id).where(ranked.c.n <= limit_per_source).order_by(*newest_first)
    return list(session.scalars(query))
