"""Scheduled syncs: one APScheduler job per source with a `schedule`, run once across replicas.

Every replica runs the same scheduler, so every replica fires every job. Two things make the
fires agree and only one of them run:

- Fire times are the same everywhere (`catalog.sync.triggers`): cron expressions are evaluated in
  UTC, and intervals count from a fixed epoch rather than from process start, so `15m` fires
  at :00, :15, :30 and :45 on every replica.
- A fire first claims the slot's lease (`catalog.store.leases`), kept alive by a heartbeat while
  the run lasts and released when it ends closed until the next fire time. A replica that fires
  late for the same slot (clock skew, a busy thread pool) finds the lease held and skips. The run
  itself then takes the source's own lease, shared with manual and webhook runs: a run still
  going at the next fire time makes that fire a skipped run.
- A replica killed mid-run leaves the slot's lease unreleased; it runs out within `LEASE_TTL`,
  and every replica's `take_over_abandoned` (every `TAKEOVER_POLL`) lets one of them run the
  slot again: within 90 s, not at the next fire.

Within one process `max_instances=1` stops overlap and `coalesce=True` turns a backlog of missed
fires into one run. Each run is exactly `wayfinder sync --source NAME` (`Catalog.sync`).
"""

from __future__ import annotations

import logging
import os
import socket
import uuid
from collections.abc import Callable
from datetime import UTC, datetime

from apscheduler.schedulers.background import BackgroundScheduler

from catalog.adoption import events, rollup
from catalog.answers import questionlog
from catalog.core import Catalog
from catalog.store import claims, leases
from catalog.sync import runs
from catalog.sync.engine import SyncReport
from catalog.sync.triggers import next_fire_after, period, trigger_for

log = logging.getLogger(__name__)

LEASE_TTL = runs.LEASE_TTL  # a dead run's slot lease runs out this long after its last heartbeat
TAKEOVER_POLL = 30  # seconds: with LEASE_TTL, a killed run's slot is run again within 90 s

Clock = Callable[[], datetime]


def job_id(source: str) -> str:
    return f"sync:{source}"


class Scheduler:
    """The in-process scheduler of one replica; `run` is the job every fire calls."""

    def __init__(self, catalog: Catalog, *, clock: Clock = lambda: datetime.now(UTC), owner: str | None = None) -> None:
        self.catalog = catalog
        self.clock = clock
        self.owner = owner or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.triggers = {s.name: trigger_for(s.schedule) for s in catalog.config.sources if s.schedule}
        self.apscheduler = BackgroundScheduler(timezone=UTC)
        now = clock()
        for name, trigger in self.triggers.items():
            self.apscheduler.add_job(
                self.run,
                trigger,
                args=[name],
                id=job_id(name),
                name=f"sync {name}",
                max_instances=1,
                coalesce=True,
                # A run later than half a period is closer to the next one: let that one run instead.
                misfire_grace_time=max(1, int(period(trigger, now).total_seconds() / 2)),
            )

        self.apscheduler.add_job(self.take_over_abandoned, "interval", seconds=TAKEOVER_POLL, id="sync-takeover", max_instances=1, coalesce=True)
        # Idempotent, so every replica may run it: no lease needed.
        self.apscheduler.add_job(self.housekeeping, "interval", hours=1, id="housekeeping", max_instances=1, coalesce=True)

    def housekeeping(self) -> int:
        """Drop delivery ids, logged questions and usage events past their retention, roll up the usage events, and close runs
        whose holder died; returns how many rows went or changed."""
        with self.catalog.session() as session:
            now = self.clock()
            pruned = claims.prune(session, now=now) + questionlog.prune(session, now=now, policy=self.catalog.config.questions)
            pruned += events.purge(session, now=now, retention_days=self.catalog.config.adoption.retention_days)
            rollup.refresh(session)  # so the next report finds the past hour's days rolled up
            pruned += runs.close_abandoned(session, now)
        return pruned + self.catalog.prune_deliveries(now=now)  # Slack's deliveries, in their own ledger on SQLite

    def start(self) -> None:
        self.apscheduler.start()

    def stop(self) -> None:
        """Stop firing and wait for runs in progress, so their leases and SyncRuns are finished."""
        if self.apscheduler.running:
            self.apscheduler.shutdown(wait=True)

    def run(self, name: str) -> SyncReport | None:
        """Sync `name` if this replica wins its lease for the current slot; None if skipped."""
        now = self.clock()
        if not leases.claim(self.catalog.factory, job_id(name), self.owner, now=now, until=now + LEASE_TTL):
            log.info("sync %s: skipped, another replica ran or is running this slot", name)
            return None
        return self._run_slot(name, now)

    def take_over_abandoned(self) -> list[SyncReport]:
        """Run again each slot whose replica died mid-run (its lease ran out unreleased), if this replica wins it."""
        now, reports = self.clock(), []
        for name in self.triggers:
            if leases.take_over(self.catalog.factory, job_id(name), self.owner, now=now, until=now + LEASE_TTL):
                log.warning("sync %s: the replica running this slot stopped before finishing it; running it here", name)
                reports.append(self._run_slot(name, now, taken_over=True))
        return reports

    def _run_slot(self, name: str, claimed_at: datetime, *, taken_over: bool = False) -> SyncReport:
        """Sync `name` under the slot's claimed lease, then close the slot until the next fire (a failure waits for it too).

        A taken-over run skipped because the source is still leased (the dead run's own lease has
        not run out yet) leaves the slot abandoned, for the next `take_over_abandoned` to retry.
        """
        report: SyncReport | None = None
        try:
            with leases.Heartbeat(self.catalog.factory, job_id(name), self.owner, ttl=LEASE_TTL, clock=self.clock):
                report = self.catalog.sync([name])[0]
        finally:
            if taken_over and report is not None and report.status == "skipped":
                leases.abandon(self.catalog.factory, job_id(name), self.owner, at=claimed_at)
            else:
                leases.release(self.catalog.factory, job_id(name), self.owner, until=next_fire_after(self.triggers[name], claimed_at))
        if report.ok:
            log.info("sync %s: ok (+%d ~%d -%d, %d requests)", name, report.added, report.updated, report.removed, report.requests)
        elif report.status == "skipped":
            log.info("sync %s: %s", name, report.error)
        else:
            log.warning("sync %s: %s: %s", name, report.status, report.error)
        return report


def start_scheduler(catalog: Catalog, *, clock: Clock = lambda: datetime.now(UTC)) -> Scheduler:
    """Start one job per scheduled source in a background thread; call `stop()` on shutdown."""
    scheduler = Scheduler(catalog, clock=clock)
    scheduler.start()
    return scheduler
