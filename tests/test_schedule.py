"""Scheduled syncs: a job per scheduled source, and each due run happens once across replicas.

Why: DESIGN.md lets several replicas share one database; each runs the scheduler, so without a
shared claim every sync would run once per replica, racing to write the same rows. Tests call
the job function directly with an injected clock instead of waiting for APScheduler to fire.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from catalog.config import load_config
from catalog.core import Catalog
from catalog.errors import ConfigError
from catalog.store import claims, leases
from catalog.sync import runs as sync_runs_module
from catalog.sync.engine import SyncReport
from catalog.sync.schedule import LEASE_TTL, TAKEOVER_POLL, Scheduler, job_id, start_scheduler
from catalog.sync.triggers import next_fire_after, trigger_for
from tests.helpers import active_refs, component, group, sync_runs

T0 = datetime(2026, 3, 2, 9, 0, 0, 250_000, tzinfo=UTC)  # just after the 09:00 fire, as APScheduler calls jobs


class Clock:
    """A hand-moved clock shared by the 'replicas' of a test."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def config_path(tmp_path: Path) -> Path:
    root = tmp_path / "catalog"
    root.mkdir()
    (root / "org.yaml").write_text(group("team-a") + "---\n" + component("svc-a"), encoding="utf-8")
    path = tmp_path / "wayfinder.yaml"
    path.write_text(
        f"sources:\n"
        f"  - {{name: every15, type: backstage, path: {root}, schedule: 15m}}\n"
        f"  - {{name: nightly, type: backstage, path: {root}, schedule: '30 2 * * 1-5'}}\n"
        f"  - {{name: manual, type: backstage, path: {root}}}\n",
        encoding="utf-8",
    )
    return path


@pytest.fixture
def replicas(database_url: str, config_path: Path) -> Iterator[Callable[[], Catalog]]:
    """Processes sharing one database: each call makes another `Catalog` with its own engine."""
    made: list[Catalog] = []

    def replica() -> Catalog:
        made.append(Catalog(database_url, load_config(config_path)))
        return made[-1]

    yield replica
    for catalog in made:
        catalog.dispose()


def test_each_scheduled_source_gets_one_non_overlapping_coalescing_job(replicas: Callable[[], Catalog]) -> None:
    scheduler = start_scheduler(replicas(), clock=Clock(T0))
    try:
        jobs = {job.id: job for job in scheduler.apscheduler.get_jobs()}
    finally:
        scheduler.stop()

    assert set(jobs) == {"sync:every15", "sync:nightly", "sync-takeover", "housekeeping"}  # `manual` has no schedule
    every15, nightly = jobs["sync:every15"], jobs["sync:nightly"]
    assert isinstance(every15.trigger, IntervalTrigger) and every15.trigger.interval == timedelta(minutes=15)
    assert isinstance(nightly.trigger, CronTrigger)
    assert str(nightly.trigger) == "cron[month='*', day='*', day_of_week='mon,tue,wed,thu,fri', hour='2', minute='30']"
    for job in (every15, nightly):
        assert (job.max_instances, job.coalesce, job.args) == (1, True, (job.id.removeprefix("sync:"),))
    assert every15.misfire_grace_time == 450  # half the period
    assert nightly.misfire_grace_time == 12 * 3600  # half the gap between the next two weekday runs


def test_fire_times_agree_across_replicas_whenever_they_started() -> None:
    """Intervals count from a fixed epoch, not from process start, so replicas fire together."""
    trigger = trigger_for("15m")
    assert next_fire_after(trigger, datetime(2026, 3, 2, 9, 3, 17, tzinfo=UTC)) == datetime(2026, 3, 2, 9, 15, tzinfo=UTC)
    assert next_fire_after(trigger, datetime(2026, 3, 2, 9, 15, tzinfo=UTC)) == datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
    cron = trigger_for("30 2 * * 1-5")
    assert next_fire_after(cron, datetime(2026, 3, 6, 2, 30, tzinfo=UTC)) == datetime(2026, 3, 9, 2, 30, tzinfo=UTC)  # Friday -> Monday


@pytest.mark.parametrize(
    ("weekdays", "days"),
    [
        ("1-5", "mon,tue,wed,thu,fri"),
        ("0", "sun"),
        ("7", "sun"),
        ("5-7", "sun,fri,sat"),
        ("*/2", "sun,tue,thu,sat"),
        ("sat,sun", "sat,sun"),
        ("*", "*"),
    ],
)
def test_cron_weekdays_mean_what_crontab_means(weekdays: str, days: str) -> None:
    """APScheduler 3 numbers Monday 0; crontab numbers Sunday 0. `1-5` must stay Monday to Friday."""
    assert f"day_of_week='{days}'" in str(trigger_for(f"0 9 * * {weekdays}"))


@pytest.mark.parametrize("schedule", ["61 * * * *", "0 9 * * 5-1", "0 9 * * 8", "0m", "soon"])
def test_a_bad_schedule_is_a_config_error_with_its_line(tmp_path: Path, schedule: str) -> None:
    path = tmp_path / "wayfinder.yaml"
    path.write_text(f"sources:\n  - name: a\n    type: backstage\n    path: .\n    schedule: '{schedule}'\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"wayfinder.yaml:5: sources.0.schedule: "):
        load_config(path)


def test_a_due_run_is_a_real_sync_recorded_in_the_database(replicas: Callable[[], Catalog]) -> None:
    catalog = replicas()
    report = Scheduler(catalog, clock=Clock(T0)).run("every15")

    assert report is not None and report.ok and report.added == 2
    assert active_refs(catalog, "every15") == {"group:default/team-a", "component:default/svc-a"}
    assert [(r.source, r.status) for r in sync_runs(catalog)] == [("every15", "ok")]


def test_two_replicas_firing_for_the_same_slot_sync_once(replicas: Callable[[], Catalog]) -> None:
    clock = Clock(T0)
    a, b = Scheduler(replicas(), clock=clock, owner="a"), Scheduler(replicas(), clock=clock, owner="b")

    assert a.run("every15") is not None
    clock.now = T0 + timedelta(seconds=40)  # b's clock is late, or its thread pool was busy
    assert b.run("every15") is None
    assert len(sync_runs(a.catalog, "every15")) == 1

    clock.now = T0 + timedelta(minutes=15)  # the next slot belongs to whoever fires first
    assert b.run("every15") is not None
    assert a.run("every15") is None
    assert len(sync_runs(a.catalog, "every15")) == 2


def test_replicas_racing_at_the_same_instant_sync_once(replicas: Callable[[], Catalog]) -> None:
    schedulers = [Scheduler(replicas(), clock=Clock(T0), owner=f"replica-{i}") for i in range(4)]
    start = threading.Barrier(len(schedulers))
    results: list[SyncReport | None] = []

    def fire(scheduler: Scheduler) -> None:
        start.wait()
        results.append(scheduler.run("every15"))

    threads = [threading.Thread(target=fire, args=(s,)) for s in schedulers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert sum(r is not None for r in results) == 1
    assert len(sync_runs(schedulers[0].catalog, "every15")) == 1


def test_a_run_still_going_at_the_next_fire_makes_that_fire_a_skipped_run(replicas: Callable[[], Catalog]) -> None:
    clock = Clock(T0)
    catalog = replicas()
    # Replica "a" claimed the 09:00 run and is still syncing: it holds the source's lease (in real time, as runs do).
    source_lease = sync_runs_module.lease_name("every15")
    now = datetime.now(UTC)
    assert leases.claim(catalog.factory, job_id("every15"), "a", now=T0, until=T0 + timedelta(minutes=15))
    assert leases.claim(catalog.factory, source_lease, "a", now=now, until=now + sync_runs_module.LEASE_TTL)
    b = Scheduler(replicas(), clock=clock, owner="b")

    clock.now = T0 + timedelta(minutes=1)
    assert b.run("every15") is None  # the 09:00 slot is taken

    clock.now = T0 + timedelta(minutes=15)  # the next slot, while "a" is still running
    skipped = b.run("every15")
    assert skipped is not None and skipped.status == "skipped" and "already running" in (skipped.error or "")
    assert sync_runs(catalog) == []

    assert leases.abandon(catalog.factory, source_lease, "a", at=now)  # "a" died: its heartbeat stopped and the lease ran out
    clock.now = T0 + timedelta(minutes=30)
    report = b.run("every15")
    assert report is not None and report.ok
    assert not leases.hold(catalog.factory, job_id("every15"), "a", until=T0)  # a late finish from "a" cannot take it back


def test_a_failed_run_keeps_its_slot_and_the_next_slot_retries(replicas: Callable[[], Catalog], config_path: Path) -> None:
    clock = Clock(T0)
    scheduler = Scheduler(replicas(), clock=clock)
    broken = config_path.parent / "catalog"
    broken.rename(config_path.parent / "elsewhere")

    failed = scheduler.run("every15")
    assert failed is not None and failed.status == "failed"
    clock.now = T0 + timedelta(minutes=1)
    assert scheduler.run("every15") is None  # no retry storm within the slot

    (config_path.parent / "elsewhere").rename(broken)
    clock.now = T0 + timedelta(minutes=15)
    retried = scheduler.run("every15")
    assert retried is not None and retried.ok


def test_a_slot_whose_replica_died_mid_run_is_run_again_by_another_within_two_minutes(replicas: Callable[[], Catalog]) -> None:
    clock = Clock(T0)
    catalog = replicas()
    assert leases.claim(catalog.factory, job_id("every15"), "a", now=T0, until=T0 + LEASE_TTL)  # "a" fired, then was killed with -9
    b, c = Scheduler(replicas(), clock=clock, owner="b"), Scheduler(replicas(), clock=clock, owner="c")

    clock.now = T0 + timedelta(seconds=30)
    assert b.take_over_abandoned() == [] and b.run("every15") is None  # "a" may still be alive: its lease holds

    clock.now = T0 + LEASE_TTL + timedelta(seconds=TAKEOVER_POLL)  # the worst case: "a" died at once, b polled just before expiry
    assert LEASE_TTL + timedelta(seconds=TAKEOVER_POLL) <= timedelta(minutes=2)
    [report] = b.take_over_abandoned()
    assert report.ok and active_refs(catalog, "every15") == {"group:default/team-a", "component:default/svc-a"}
    assert c.take_over_abandoned() == [] and c.run("every15") is None  # the slot ran: closed until the next fire
    assert not leases.hold(catalog.factory, job_id("every15"), "a", until=T0)  # "a" cannot take it back
    assert len(sync_runs(catalog, "every15")) == 1

    clock.now = T0 + timedelta(minutes=15)
    assert c.run("every15") is not None


def test_finished_or_failed_slots_are_never_taken_over(replicas: Callable[[], Catalog], config_path: Path) -> None:
    clock = Clock(T0)
    a, b = Scheduler(replicas(), clock=clock, owner="a"), Scheduler(replicas(), clock=clock, owner="b")
    assert a.run("every15") is not None
    (config_path.parent / "catalog").rename(config_path.parent / "elsewhere")
    clock.now = T0 + timedelta(minutes=15)
    failed = a.run("every15")
    assert failed is not None and failed.status == "failed"

    clock.now = T0 + timedelta(minutes=29)  # both leases ran out long ago, released by a living owner
    assert b.take_over_abandoned() == []


def test_a_takeover_waits_for_the_dead_runs_source_lease(replicas: Callable[[], Catalog]) -> None:
    clock = Clock(T0)
    catalog = replicas()
    source_lease, now = sync_runs_module.lease_name("every15"), datetime.now(UTC)  # runs lease their source in real time
    assert leases.claim(catalog.factory, job_id("every15"), "a", now=T0, until=T0 + LEASE_TTL)
    assert leases.claim(catalog.factory, source_lease, "a", now=now, until=now + sync_runs_module.LEASE_TTL)
    b = Scheduler(replicas(), clock=clock, owner="b")

    clock.now = T0 + timedelta(seconds=61)  # the slot's lease ran out a moment before the source's
    [skipped] = b.take_over_abandoned()
    assert skipped.status == "skipped" and sync_runs(catalog) == []

    assert leases.abandon(catalog.factory, source_lease, "a", at=now)  # now the source's lease ran out too
    clock.now = T0 + timedelta(seconds=91)
    [report] = b.take_over_abandoned()
    assert report.ok and len(sync_runs(catalog, "every15")) == 1


def test_housekeeping_forgets_delivery_ids_past_their_retention(replicas: Callable[[], Catalog]) -> None:
    catalog = replicas()
    with catalog.session() as session:
        assert claims.claim(session, "old", now=T0 - claims.RETENTION - timedelta(minutes=1))
        assert claims.claim(session, "recent", now=T0 - timedelta(hours=1))
    assert Scheduler(catalog, clock=Clock(T0)).housekeeping() == 1
    with catalog.session() as session:
        assert claims.claim(session, "old", now=T0)  # forgotten, so claimable again
        assert not claims.claim(session, "recent", now=T0)  # still remembered: a retry is still dropped
