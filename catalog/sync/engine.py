"""The sync engine every source goes through.

A full snapshot is diffed against the rows that source owns (by content hash) and applied
in one transaction: insert, update, retire. A failed fetch changes nothing; a snapshot that
would retire too much is refused unless explicitly allowed. One run of a source at a time
(`catalog.sync.runs`), and every run is recorded, however it ends.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.exc import DBAPIError, OperationalError, SQLAlchemyError
from sqlmodel import Session, col

from catalog.errors import SourceError, WayfinderError
from catalog.store import leases
from catalog.store.engine import SessionFactory, large_write_cache, session_scope
from catalog.store.models import Entity, SyncRun
from catalog.sync import files, runs, writes
from catalog.sync.apply import (
    DEFAULT_MAX_DELETE_FRACTION,
    ENTITY,
    Existing,
    Fence,
    Limits,
    RelationKey,
    Statements,
    Triple,
    catalog_written,
    chunked,
    entity_rows,
    existing_rows,
    relation_changes,
    relocate_rows,
    retire_rows,
    stored_relations,
)
from catalog.sync.broken_files import spare_broken
from catalog.sync.sources.base import FileSource, Scope, Snapshot, Source
from catalog.sync.sources.descriptor import EntityDoc, Problem, dangling_targets, snapshot_relations

log = logging.getLogger(__name__)


class LeaseLost(WayfinderError):
    """A run's lease ran out and another run took it: the stale run must not write."""


@dataclass
class Plan:
    """What applying a snapshot would do, keyed by ref; entities come with their content hash."""

    add: list[tuple[EntityDoc, str]] = field(default_factory=list)
    update: list[tuple[int, EntityDoc, str]] = field(default_factory=list)
    retire: list[tuple[int, str]] = field(default_factory=list)
    relocate: list[tuple[int, EntityDoc]] = field(default_factory=list)  # unchanged, but read from another place
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
    files_parsed: int | None = None  # a file-based source's files parsed this run, and those skipped as unchanged
    files_skipped: int | None = None

    @property
    def ok(self) -> bool:
        return self.status == "ok"


def plan(desired: list[EntityDoc], existing: Mapping[str, Existing]) -> Plan:
    """Pure diff of the snapshot against the stored rows."""
    result = Plan()
    seen: set[str] = set()
    for doc in desired:
        seen.add(doc.ref)
        row = existing.get(doc.ref)
        digest = doc.content_hash()
        if row is None:
            result.add.append((doc, digest))
        elif row.retired or row.digest != digest:
            result.update.append((row.id, doc, digest))
        else:
            result.unchanged += 1
            if row.moved(doc):
                result.relocate.append((row.id, doc))
    result.retire = [(row.id, ref) for ref, row in existing.items() if ref not in seen and not row.retired]
    return result


def _writes(
    statements: Statements, source: str, p: Plan, snapshot: Snapshot, relations: Mapping[str, list[Triple]], stored: Mapping[RelationKey, list[int]], now: datetime
) -> list[writes.Batch]:
    """Every statement applying `p` with its rows, built and converted before the write transaction starts."""
    result = entity_rows(statements, source, now, p.add, p.update, snapshot.authors)
    result.append((statements.retire, statements.retire.rows(retire_rows(p.retire, now))))
    result.append(relocate_rows(statements, p.relocate))
    gone, new = relation_changes(source, [doc.ref for doc, _ in p.add] + [doc.ref for _, doc, _ in p.update], relations, stored)
    result += [(statements.delete_relations, statements.delete_relations.rows(gone)), (statements.insert_relations, statements.insert_relations.rows(new))]
    return result


def sync_source(
    factory: SessionFactory,
    source: Source | FileSource,
    *,
    allow_large_delete: bool = False,
    max_delete_fraction: float = DEFAULT_MAX_DELETE_FRACTION,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    lease_ttl: timedelta = runs.LEASE_TTL,
) -> SyncReport:
    """Fetch one source and reconcile the catalog with it, unless a run of it is already going on.

    The run holds the source's lease throughout (`source_lease`) and is recorded as a `SyncRun`
    whatever happens in it. A run that finds the lease held is skipped, and records nothing.
    """
    with source_lease(factory, source.name, clock=clock, ttl=lease_ttl) as held:
        if held is None:
            return skipped(factory, source.name)
        return held.run(source, allow_large_delete=allow_large_delete, max_delete_fraction=max_delete_fraction)


class HeldSource:
    """A source's lease, held: runs of that source one after another, and no other run of it meanwhile."""

    def __init__(self, factory: SessionFactory, name: str, owner: str, clock: Callable[[], datetime], ttl: timedelta) -> None:
        self.factory, self.name, self.owner, self.clock, self.ttl = factory, name, owner, clock, ttl

    def run(
        self, source: Source | FileSource, *, allow_large_delete: bool = False, max_delete_fraction: float = DEFAULT_MAX_DELETE_FRACTION
    ) -> SyncReport:
        """One run, recorded as a `SyncRun` whatever happens in it: any exception ends it as failed with its error and changes nothing."""
        if source.name != self.name:
            raise ValueError(f"the lease on {self.name} does not cover a run of {source.name}")
        started, now = time.perf_counter(), self.clock()
        report = SyncReport(source=source.name, status="ok", run_id=runs.start(self.factory, source.name, source.type, now))
        _run(self.factory, source, report, self.fence, allow_large_delete, max_delete_fraction, now)
        report.seconds = time.perf_counter() - started
        _record(self.factory, report, self.clock())
        return report

    @contextmanager
    def fence(self, session: Session) -> Iterator[None]:
        """Around a run's writes, in their transaction: only a holder that still has the lease may write, and
        the lease is renewed again as their last statement. A write can outlast the lease (its heartbeat waits
        for the write's lock meanwhile); renewed only at its start, it would commit a lease already run out,
        and a run waiting on that lock would take the source the moment it committed."""
        self._renew(session)
        yield
        self._renew(session)

    def _renew(self, session: Session) -> None:
        if not leases.renew(session, runs.lease_name(self.name), self.owner, until=self.clock() + self.ttl):
            raise LeaseLost(f"another run took over the lease on {self.name} (this one was presumed dead); nothing was written")


@contextmanager
def source_lease(
    factory: SessionFactory, name: str, *, clock: Callable[[], datetime] = lambda: datetime.now(UTC), ttl: timedelta = runs.LEASE_TTL
) -> Iterator[HeldSource | None]:
    """The lease on source `name` for the block, renewed by a heartbeat; None when another run holds it."""
    lease, owner, now = runs.lease_name(name), runs.new_owner(), clock()
    if not leases.claim(factory, lease, owner, now=now, until=now + ttl):
        yield None
        return
    try:
        with leases.Heartbeat(factory, lease, owner, ttl=ttl, clock=clock):
            yield HeldSource(factory, name, owner, clock, ttl)
    finally:
        leases.release(factory, lease, owner)


def skipped(factory: SessionFactory, source: str) -> SyncReport:
    """The report of a run that found its source's lease held, naming when the run holding it started."""
    since = runs.running_since(factory, source)
    started = f" (started {since:%Y-%m-%d %H:%M:%S} UTC)" if since else ""
    return SyncReport(source=source, status="skipped", error=f"already running: another sync of {source}{started} holds it; this one did nothing")


def _run(
    factory: SessionFactory, source: Source | FileSource, report: SyncReport, fence: Fence, allow_large_delete: bool, max_fraction: float, now: datetime
) -> None:
    """Fetch and reconcile into `report`; no exception gets out (a bug in one source must not stop the others)."""
    try:
        if isinstance(source, FileSource):
            files.reconcile(factory, source, report, fence, Limits(allow_large_delete, max_fraction), now)
            return
        snapshot = source.fetch()
        report.requests = snapshot.requests
        report.problems = list(snapshot.problems)
        report.scope = snapshot.scope.label if snapshot.scope else None
        _reconcile(factory, source.name, snapshot, report, fence, Limits(allow_large_delete, max_fraction), now)
    except SourceError as exc:
        report.status, report.error = "failed", str(exc)
    except Exception as exc:  # noqa: BLE001 - recorded as the run's error, with the traceback in the log
        if isinstance(exc, OperationalError):  # the database went away (a restart, the network): not a bug to trace
            log.error("sync of %s failed: the database could not be used: %s", source.name, _describe(exc))
        else:  # the statement and its parameters stay out of the log: they hold what the source sent
            log.error("sync of %s crashed: %s", source.name, _describe(exc), exc_info=_without_statement(exc))
        report.status, report.error = "failed", _describe(exc)
        report.added = report.updated = report.removed = report.unchanged = 0


def _without_statement(exc: Exception) -> BaseException:
    """The driver's own error for a database one (its traceback, without SQLAlchemy's echo of the SQL and every parameter)."""
    return exc.orig if isinstance(exc, DBAPIError) and isinstance(exc.orig, BaseException) else exc


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


def _reconcile(
    factory: SessionFactory, source: str, snapshot: Snapshot, report: SyncReport, fence: Fence, limits: Limits, now: datetime
) -> None:
    """Diff and write. Everything is read and built first; the write transaction only executes
    prepared statements (on SQLite it holds the database's one write lock, which event-id claims
    and answers wait for). Reading outside it is safe: only the lease holder writes this source's rows."""
    relations, problems = snapshot_relations(snapshot.entities)
    report.problems += problems
    with session_scope(factory) as session:
        desired, existing = snapshot.entities, existing_rows(session, source)
        mine = {ref for ref, row in existing.items() if not row.retired}
        if snapshot.scope is not None:
            desired, existing, conflicts = _narrow(session, source, snapshot.scope, desired, existing)
            report.problems += conflicts
        p = plan(desired, existing)
        in_scope = {row.id for row in existing.values()}
        p.retire, kept, _ = spare_broken(session, source, p.retire, in_scope, snapshot.broken, snapshot.complete, now)
        report.problems += kept
        if not snapshot.complete:
            p.retire = []
        orphans = _orphans(session, source, p.retire) if snapshot.enriches else 0
        active = sum(1 for row in existing.values() if not row.retired)
        refused = limits.refusal(len(p.retire) - orphans, active - orphans, not snapshot.entities)
        if refused:
            report.status, report.error = "refused", refused
            return
        if not (p.add or p.update or p.retire or p.relocate):
            report.unchanged = p.unchanged
            return
        changed = [doc.ref for _, doc, _ in p.update] + [ref for _, ref in p.retire]
        planned = _writes(Statements.of(session.get_bind().dialect), source, p, snapshot, relations, stored_relations(session, source, changed), now)
        known = _active_refs_of_others(session, source) | (mine - {ref for _, ref in p.retire}) | {doc.ref for doc in desired}
    report.problems += dangling_targets(desired, relations, known.__contains__)
    with session_scope(factory) as session, fence(session), large_write_cache(session):
        for statement, rows in planned:
            statement.run(session, rows)
        catalog_written(session, len(p.add) + len(p.update) + len(p.retire))
    report.added, report.updated, report.removed, report.unchanged = len(p.add), len(p.update), len(p.retire), p.unchanged


def _orphans(session: Session, source: str, retire: list[tuple[int, str]]) -> int:
    """How many of an enriching source's retirements are of entities no other source defines any more.

    Their defining source retired them (perhaps with `--allow-large-delete`); the rows that only
    annotated them go too, and must not count against this source's large-delete guard, or the
    guard would refuse this source on every run until someone allowed the same delete twice.
    """
    refs = {ref for _, ref in retire}
    e = ENTITY.c
    for chunk in chunked(sorted(refs)):
        refs -= set(session.scalars(select(e.ref).where(e.ref.in_(chunk), e.source != source, e.retired_at.is_(None))))
    return len(refs)


def _active_refs_of_others(session: Session, source: str) -> set[str]:
    e = ENTITY.c
    return set(session.scalars(select(e.ref).where(e.retired_at.is_(None), e.source != source).distinct()))


def _narrow(
    session: Session, source: str, scope: Scope, desired: list[EntityDoc], existing: dict[str, Existing]
) -> tuple[list[EntityDoc], dict[str, Existing], list[Problem]]:
    """Confine a partial snapshot to its scope.

    It may retire only rows in the scope, and may take a ref another part of the source holds
    only with a higher precedence (a descriptor over an inferred entity), the way a full
    snapshot would have resolved the same conflict.
    """
    query = select(col(Entity.ref), col(Entity.location), col(Entity.precedence)).where(col(Entity.source) == source)
    found: Iterable[tuple[str, str | None, int]] = session.execute(query)
    held = {ref: (location, prec) for ref, location, prec in found}
    kept: list[EntityDoc] = []
    problems: list[Problem] = []
    for doc in desired:
        row = existing.get(doc.ref)
        location, precedence = held.get(doc.ref, (None, 0))
        if row is not None and not row.retired and not scope.contains(location) and precedence >= doc.precedence:
            problems.append(Problem(file=doc.location, entity=doc.ref, message=f"duplicate entity, already defined at {location}; skipped"))
        else:
            kept.append(doc)
    wanted = {doc.ref for doc in kept}
    return kept, {ref: row for ref, row in existing.items() if ref in wanted or scope.contains(held[ref][0])}, problems


def last_runs(session: Session, limit_per_source: int = 1) -> list[SyncRun]:
    """Most recent runs, newest first, at most `limit_per_source` per source (picked in SQL, not from all history)."""
    newest_first = (col(SyncRun.started_at).desc(), col(SyncRun.id).desc())
    ranked = select(col(SyncRun.id), func.row_number().over(partition_by=col(SyncRun.source), order_by=newest_first).label("n")).subquery()
    query = select(SyncRun).join(ranked, col(SyncRun.id) == ranked.c.id).where(ranked.c.n <= limit_per_source).order_by(*newest_first)
    return list(session.scalars(query))
