"""The record of each sync run (`sync_run`), and the per-source lease that makes runs exclusive.

Every run of a source, whether scheduled, manual (`wayfinder sync`) or a webhook's resync,
first takes the source's lease (`catalog.store.leases`) and keeps it alive with a heartbeat while it
runs. A second run of the same source meanwhile is skipped, never interleaved. A run whose
holder died (kill -9, a lost machine) leaves a `running` row behind: since only the lease
holder can be running, such a row is closed as failed as soon as its lease has run out and
someone looks (the next run of that source, the scheduler's housekeeping, `sync status`).
"""

from __future__ import annotations

import os
import socket
import uuid
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import and_, exists, literal, select, update
from sqlmodel import Session, col

from catalog.store.engine import SessionFactory, session_scope
from catalog.store.models import JobLease, SourceState, SyncRun

if TYPE_CHECKING:
    from catalog.sync.engine import SyncReport

LEASE_PREFIX = "sync-source:"
# How long a run's lease lasts without a heartbeat: a killed holder blocks its source this long.
LEASE_TTL = timedelta(seconds=60)
ABANDONED = "abandoned: the process running it stopped before it finished (its lease ran out)"


def lease_name(source: str) -> str:
    return LEASE_PREFIX + source


def new_owner() -> str:
    """Who holds a lease, for the logs: host, process and a nonce (one process may run several)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def start(factory: SessionFactory, source: str, source_type: str, now: datetime) -> int:
    """Record a run as `running` (closing any left behind by a dead holder); the caller holds the lease."""
    with session_scope(factory) as session:
        _abandon(session, now, SyncRun.source == source)
        run = SyncRun(source=source, started_at=now)
        session.add(run)
        state = session.get(SourceState, source) or SourceState(name=source, type=source_type)
        state.type, state.last_attempt_at = source_type, now
        session.add(state)
        session.flush()
        assert run.id is not None
        return run.id


def running_since(factory: SessionFactory, source: str) -> datetime | None:
    """When the run in progress for `source` started, if one is recorded."""
    with session_scope(factory) as session:
        return session.scalar(
            select(col(SyncRun.started_at))
            .where(col(SyncRun.source) == source, col(SyncRun.status) == "running")
            .order_by(col(SyncRun.id).desc())
            .limit(1)
        )


def finish(factory: SessionFactory, report: SyncReport, now: datetime) -> None:
    """Close the run with its outcome and update the source's freshness."""
    with session_scope(factory) as session:
        run = session.get(SyncRun, report.run_id)
        assert run is not None
        run.finished_at, run.status = now, report.status
        run.added, run.updated, run.removed, run.unchanged = report.added, report.updated, report.removed, report.unchanged
        run.requests = report.requests
        run.files_parsed, run.files_skipped = report.files_parsed, report.files_skipped
        run.message = _storable(report.error or (f"partial: {report.scope}" if report.scope else None))
        run.errors = [_storable(str(p)) or "" for p in report.problems]
        run.error_count = sum(1 for p in report.problems if p.severity == "error")
        state = session.get(SourceState, report.source)
        assert state is not None
        if not report.ok:
            state.last_error, state.last_error_at, state.last_error_status = run.message, now, report.status
        elif report.scope is None:  # one repository read fine says nothing about the others' freshness
            state.last_success_at = now
        session.add_all([run, state])


def fail(factory: SessionFactory, report: SyncReport, now: datetime) -> None:
    """The least a run's record must say when `finish` itself failed: failed, and why."""
    with session_scope(factory) as session:
        values = {"status": "failed", "finished_at": now, "message": _storable(report.error)}
        session.execute(update(SyncRun).where(SyncRun.id == report.run_id).values(values))  # type: ignore[arg-type]
        state = {"last_error": values["message"], "last_error_at": now, "last_error_status": "failed"}
        session.execute(update(SourceState).where(SourceState.name == report.source).values(state))  # type: ignore[arg-type]


def close_abandoned(session: Session, now: datetime) -> int:
    """Close as failed every `running` run whose source's lease is not held at `now`; returns how many."""
    live = exists().where(and_(col(JobLease.name) == literal(LEASE_PREFIX) + col(SyncRun.source), col(JobLease.expires_at) > now))
    return _abandon(session, now, ~live)


def _abandon(session: Session, now: datetime, condition: object) -> int:
    stmt = update(SyncRun).where(SyncRun.status == "running", condition).values(status="failed", finished_at=now, message=ABANDONED)  # type: ignore[arg-type]
    return int(session.execute(stmt).rowcount or 0)  # type: ignore[attr-defined]


def _storable(text: str | None) -> str | None:
    """Text as every database stores it: PostgreSQL refuses NUL, which a broken file's message may quote."""
    return text.replace("\x00", "\\x00") if text else text
