"""The sync engine every source goes through.

A full snapshot is diffed against the rows that source owns (by content hash) and applied
in one transaction: insert, update, retire. A failed fetch changes nothing; a snapshot that
would retire too much is refused unless explicitly allowed. One run of a source at a time
(`catalog.sync.runs`), and every run is recorded, however it ends.
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
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlmodel import Session

from catalog.errors import SourceError, WayfinderError
from catalog.store import leases
from catalog.store.engine import SessionFactory, large_write_cache, session_scope
from catalog.store.facts import ENTITY_FACTS
from catalog.store.models import CatalogState, Entity, Relation, SyncRun
from catalog.sync import runs, writes
from catalog.sync.broken_files import spare_broken
from catalog.sync.sources.base import Scope, Snapshot, Source
from catalog.sync.sources.descriptor import EntityDoc, Problem, dangling_targets, snapshot_relations

log = logging.getLogger(__name__)

DEFAULT_MAX_DELETE_FRACTION = 0.5
# Below this many entities the fraction guard would only get in the way of small catalogs.
MIN_ENTITIES_FOR_FRACTION_GUARD = 10


class LeaseLost(WayfinderError):
    """A run's lease ran out and another run took it: the stale run must not write."""


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
    status: str  # ok | failed | refused | skipped (another run of the source was in progress)
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
        **{name: getattr(doc, name) for name in ENTITY_FACTS},
        "links": [link.model_dump(exclude_none=True) for link in doc.links],
        "source": source,
        "precedence": doc.precedence,
        "api_version": doc.api_version,
        "content_hash": _content_hash(doc),
        "updated_at": now,
        "retired_at": None,
    }


def _existing(session: Session, source: str) -> dict[str, tuple[int, str, bool]]:
    e = _ENTITY_TABLE.c  # plain columns: no ORM row processing, no parsing of every retired_at
    rows = session.execute(select(e.ref, e.id, e.content_hash, e.retired_at.is_not(None)).where(e.source == source))
    return {ref: (row_id, digest, bool(retired)) for ref, row_id, digest, retired in rows}


_ENTITY_TABLE = Entity.__table__  # type: ignore[attr-defined]
_RELATION_TABLE = Relation.__table__  # type: ignore[attr-defined]
_RELATION_COLUMNS = ("source", "origin_ref", "subject_ref", "type", "target_ref")
# An update rewrites a row in place by id: its source and ref cannot change, so their indexes are left alone.
_UNCHANGING = ("source", "ref")

Triple = tuple[str, str, str]


def _run_writes(session: Session, p: Plan, planned: list[writes.Write]) -> None:
    """Apply a plan's prepared writes; the caller owns the transaction."""
    for write in planned:
        write.run(session)
    if p.add or p.update or p.retire:
        session.execute(update(CatalogState).where(CatalogState.id == 1).values(generation=CatalogState.generation + 1))


def _stored_relations(session: Session, source: str, p: Plan) -> dict[tuple[str, str, str, str], list[int]]:
    """Row ids of the stored relations of the entities `p` updates or retires, by (origin, subject, type, target)."""
    r = _RELATION_TABLE.c
    refs = [doc.ref for _, doc in p.update] + [ref for _, ref in p.retire]
    stored: dict[tuple[str, str, str, str], list[int]] = {}
    for chunk in _chunks(refs, 500):
        query = select(r.id, r.origin_ref, r.subject_ref, r.type, r.target_ref).where(r.source == source, r.origin_ref.in_(chunk))
        for row_id, *key in session.execute(query):
            stored.setdefault(tuple(key), []).append(row_id)  # type: ignore[arg-type]
    return stored


def _chunks(items: list[str], size: int) -> list[list[str]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


def _writes(
    dialect: Dialect, source: str, p: Plan, relations: Mapping[str, list[Triple]], stored: Mapping[tuple[str, str, str, str], list[int]], now: datetime
) -> list[writes.Write]:
    """Every statement applying `p`, built and converted before the write transaction starts.

    Relations are diffed against those stored for the changed entities, so an update that leaves
    an entity's relations as they were (a new description) rewrites none of them.
    """
    result: list[writes.Write] = []
    if p.add:
        added = [_row(doc, source, now) | {"first_seen_at": now} for doc in p.add]
        columns = tuple(added[0])
        result.append(writes.insert_rows(dialect, _ENTITY_TABLE, columns, map(operator.itemgetter(*columns), added)))
    if p.update:
        changed = [_row(doc, source, now) | {"_id": row_id} for row_id, doc in p.update]
        columns = tuple(c for c in changed[0] if c not in _UNCHANGING and c != "_id")
        result.append(writes.update_rows(dialect, _ENTITY_TABLE, columns, map(operator.itemgetter(*columns, "_id"), changed)))
    if p.retire:
        result.append(writes.update_rows(dialect, _ENTITY_TABLE, ("retired_at", "updated_at"), [(now, now, row_id) for row_id, _ in p.retire]))
    fresh = [doc.ref for doc in p.add] + [doc.ref for _, doc in p.update]
    wanted = dict.fromkeys((origin, *triple) for origin in fresh for triple in relations.get(origin, ()))
    gone = [(row_id,) for key, ids in stored.items() for row_id in (ids if key not in wanted else ids[1:])]
    result.append(writes.delete_rows(dialect, _RELATION_TABLE, ("id",), gone))
    result.append(writes.insert_rows(dialect, _RELATION_TABLE, _RELATION_COLUMNS, [(source, *key) for key in wanted if key not in stored]))
    return result


def sync_source(
    factory: SessionFactory,
    source: Source,
    *,
    allow_large_delete: bool = False,
    max_delete_fraction: float = DEFAULT_MAX_DELETE_FRACTION,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    lease_ttl: timedelta = runs.LEASE_TTL,
) -> SyncReport:
    """Fetch one source and reconcile the catalog with it, unless a run of it is already going on.

    The run holds the source's lease throughout (renewed by a heartbeat) and is recorded as a
    `SyncRun` whatever happens in it: any exception ends it as failed with its error and changes
    nothing in the catalog. A run that finds the lease held is skipped, and records nothing.
    """
    started = time.perf_counter()
    now = clock()
    name, owner = runs.lease_name(source.name), runs.new_owner()
    if not leases.claim(factory, name, owner, now=now, until=now + lease_ttl):
        return _skipped(factory, source.name)
    try:
        with leases.Heartbeat(factory, name, owner, ttl=lease_ttl, clock=clock):
            report = SyncReport(source=source.name, status="ok", run_id=runs.start(factory, source.name, source.type, now))

            def fence(session: Session) -> None:
                if not leases.renew(session, name, owner, until=clock() + lease_ttl):
                    raise LeaseLost(f"another run took over the lease on {source.name} (this one was presumed dead); nothing was written")

            _run(factory, source, report, fence, allow_large_delete, max_delete_fraction, now)
            report.seconds = time.perf_counter() - started
            _record(factory, report, clock())
            return report
    finally:
        leases.release(factory, name, owner)


def _skipped(factory: SessionFactory, source: str) -> SyncReport:
    since = runs.running_since(factory, source)
    started = f" (started {since:%Y-%m-%d %H:%M:%S} UTC)" if since else ""
    return SyncReport(source=source, status="skipped", error=f"already running: another sync of {source}{started} holds it; this one did nothing")


def _run(
    factory: SessionFactory, source: Source, report: SyncReport, fence: Callable[[Session], None], allow_large_delete: bool, max_fraction: float, now: datetime
) -> None:
    """Fetch and reconcile into `report`; no exception gets out (a bug in one source must not stop the others)."""
    try:
        snapshot = source.fetch()
        report.requests = snapshot.requests
        report.problems = list(snapshot.problems)
        report.scope = snapshot.scope.label if snapshot.scope else None
        with _gc_frozen():
            _reconcile(factory, source.name, snapshot, report, fence, allow_large_delete, max_fraction, now)
    except SourceError as exc:
        report.status, report.error = "failed", str(exc)
    except Exception as exc:  # noqa: BLE001 - recorded as the run's error, with the traceback in the log
        log.exception("sync of %s crashed", source.name)
        report.status, report.error = "failed", _describe(exc)
        report.added = report.updated = report.removed = report.unchanged = 0


def _describe(exc: Exception) -> str:
    """An error as a run's message: the database's own words, not SQLAlchemy's echo of every parameter."""
    cause = exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc
    return f"{type(cause).__name__}: {str(cause).strip()}"


def _record(factory: SessionFactory, report: SyncReport, now: datetime) -> None:
    """Close the run; if even that fails (the database went away, a value it refuses), say failed at least."""
    try:
        runs.finish(factory, report, now)
    except SQLAlchemyError as exc:
        log.exception("could not record the run of %s", report.source)
        report.status, report.error = "failed", f"could not record the run: {_describe(exc)}"
        try:
            runs.fail(factory, report, now)
        except SQLAlchemyError:
            log.exception("could not record the failure of %s either; the next run closes it", report.source)


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
    fence: Callable[[Session], None],
    allow_large_delete: bool,
    max_fraction: float,
    now: datetime,
) -> None:
    """Diff and write. Everything is read and built first; the write transaction only executes
    prepared statements (on SQLite it holds the database's one write lock, which event-id claims
    and answers wait for). Reading outside it is safe: only the lease holder writes this source's rows."""
    relations, problems = _snapshot_relations(snapshot.entities)
    report.problems += problems
    with session_scope(factory) as session:
        desired, existing = snapshot.entities, _existing(session, source)
        mine = {ref for ref, (_, _, retired) in existing.items() if not retired}
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
        if not (p.add or p.update or p.retire):
            report.unchanged = p.unchanged
            return
        planned = _writes(session.get_bind().dialect, source, p, relations, _stored_relations(session, source, p), now)
        known = _active_refs_of_others(session, source) | (mine - {ref for _, ref in p.retire}) | {doc.ref for doc in desired}
    report.problems += dangling_targets(desired, relations, known.__contains__)  # type: ignore[arg-type]
    with session_scope(factory) as session:
        fence(session)
        with large_write_cache(session):
            _run_writes(session, p, planned)
    report.added, report.updated, report.removed, report.unchanged = len(p.add), len(p.update), len(p.retire), p.unchanged


def _active_refs_of_others(session: Session, source: str) -> set[str]:
    e = _ENTITY_TABLE.c
    return set(session.scalars(select(e.ref).where(e.retired_at.is_(None), e.source != source).distinct()))


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


def last_runs(session: Session, limit_per_source: int = 1) -> list[SyncRun]:
    """Most recent runs, newest first, at most `limit_per_source` per source (picked in SQL, not from all history)."""
    newest_first = (SyncRun.started_at.desc(), SyncRun.id.desc())  # type: ignore[attr-defined, union-attr]
    ranked = select(SyncRun.id, func.row_number().over(partition_by=SyncRun.source, order_by=newest_first).label("n")).subquery()
    query = select(SyncRun).join(ranked, SyncRun.id == ranked.c.id).where(ranked.c.n <= limit_per_source).order_by(*newest_first)
    return list(session.scalars(query))
