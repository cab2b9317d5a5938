"""`wayfinder sync status`: how fresh each source is, and why not when it is stale.

Operators ask "can I trust what the bot says about X?"; the answer is per source: when it last
synced fine, what its last run did and cost, and the error that keeps it from syncing now.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlmodel import Session, col

from catalog.answers.freshness import ago
from catalog.config import Config
from catalog.store.merge import source_states
from catalog.store.models import SourceState, SyncRun
from catalog.sync.engine import last_runs
from catalog.sync.runs import close_abandoned
from catalog.sync.triggers import period, trigger_for

# A scheduled source counts as stale once this many scheduled runs in a row brought no success.
MISSED_RUNS_BEFORE_STALE = 2


@dataclass
class SourceStatus:
    name: str
    type: str | None = None
    schedule: str | None = None
    configured: bool = True
    last_success_at: datetime | None = None
    last_attempt_at: datetime | None = None
    last_error: str | None = None
    last_error_at: datetime | None = None
    failed_runs_since_success: int = 0
    last_run: SyncRun | None = None
    stale_reason: str | None = None

    @property
    def stale(self) -> bool:
        return self.stale_reason is not None

    @property
    def seconds(self) -> float | None:
        run = self.last_run
        return (run.finished_at - run.started_at).total_seconds() if run and run.finished_at else None


# Sources the code itself syncs, never named in the config (name -> type): the entities action runs registered.
BUILT_IN_SOURCES = {"actions": "actions"}


def source_statuses(session: Session, config: Config, *, now: datetime) -> list[SourceStatus]:
    """Every configured source, then any source still in the database but gone from the config.

    A run left `running` by a holder that died is closed as failed first, so it never shows as in progress.
    """
    close_abandoned(session, now)
    states = source_states(session)
    latest = {run.source: run for run in last_runs(session, 1)}
    configured = {s.name: s for s in config.sources}
    names = list(configured) + sorted(set(states) - set(configured))
    statuses = []
    for name in names:
        cfg = configured.get(name)
        built_in = BUILT_IN_SOURCES.get(name)
        status = SourceStatus(
            name=name, type=cfg.type if cfg else built_in, schedule=cfg.schedule if cfg else None,
            configured=cfg is not None or built_in is not None, last_run=latest.get(name),
        )  # fmt: skip
        statuses.append(_fill(session, status, states.get(name), now))
    return statuses


def _fill(session: Session, status: SourceStatus, state: SourceState | None, now: datetime) -> SourceStatus:
    name = status.name
    if state is not None:
        status.type, status.last_success_at, status.last_attempt_at = state.type, state.last_success_at, state.last_attempt_at
        status.last_error, status.last_error_at = state.last_error, state.last_error_at
    started = col(SyncRun.started_at)
    failed = select(func.count().label("runs"), func.min(started).label("since")).where(col(SyncRun.source) == name, col(SyncRun.status).in_(["failed", "refused"]))
    if status.last_success_at is not None:
        failed = failed.where(started > status.last_success_at)
    row = session.execute(failed).one()
    status.failed_runs_since_success = row.runs
    status.stale_reason = _stale_reason(status, row.since, now)
    return status


def _stale_reason(status: SourceStatus, failing_since: datetime | None, now: datetime) -> str | None:
    """Why the facts of this source cannot be trusted as current, or None if they can."""
    if status.last_success_at is None:
        return "never synced successfully" if status.last_attempt_at else "never synced"
    if status.failed_runs_since_success and failing_since is not None:
        runs = f"{status.failed_runs_since_success} failed run{'s' if status.failed_runs_since_success > 1 else ''}"
        return f"failing since {failing_since:%Y-%m-%d %H:%M} UTC ({runs})"
    if status.schedule:
        gap = period(trigger_for(status.schedule), status.last_success_at)
        if now - status.last_success_at > MISSED_RUNS_BEFORE_STALE * gap:
            return f"last good sync {ago(status.last_success_at, now)} although scheduled {status.schedule!r}: is a scheduler running?"
    return None
