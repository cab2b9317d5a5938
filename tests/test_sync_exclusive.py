"""One run of a source at a time, and every run recorded however it ends.

Why: scheduled, manual and webhook runs of one source used to run side by side, and the second
crashed on `UNIQUE constraint failed: entity.source, entity.ref`; a run killed with -9 stayed
`running` forever; an exception inside apply left its run `running` with no error and stopped
`wayfinder sync` from reaching the other sources. Runs share one lease per source in the
database, renewed by a heartbeat, so a dead holder frees its source within a minute.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, text, update
from sqlmodel import col

from catalog.config import Config
from catalog.core import Catalog
from catalog.store import leases
from catalog.store.models import JobLease, SourceState, SyncRun
from catalog.sync import runs
from catalog.sync.engine import SyncReport, source_lease, sync_source
from catalog.sync.sources.backstage import BackstageSource
from catalog.sync.sources.base import Snapshot
from catalog.sync.status import source_statuses
from tests.helpers import active_refs, backstage_config, component, generation, group, rows
from tests.helpers import sync_runs as runs_of

REPO = Path(__file__).resolve().parents[1]
MakeCatalog = Callable[[Config], Catalog]


def _write(root: Path, n: int, owner: str = "team-a") -> None:
    root.mkdir(parents=True, exist_ok=True)
    (root / "teams.yaml").write_text(group("team-a") + "---\n" + group("team-b"), encoding="utf-8")
    for i in range(n):
        (root / f"svc-{i:02d}.yaml").write_text(component(f"svc-{i:02d}", owner=owner), encoding="utf-8")


@pytest.fixture
def root(tmp_path: Path) -> Path:
    path = tmp_path / "catalog"
    _write(path, 20)
    return path


@pytest.fixture
def catalog(make_catalog: MakeCatalog, tmp_path: Path, root: Path) -> Catalog:
    return make_catalog(backstage_config(tmp_path, {"main": root}))


class _Paused:
    """A Backstage source that stops inside `fetch` until released, so a run can be caught in progress."""

    type = "backstage"

    def __init__(self, name: str, root: Path) -> None:
        self.name, self.inner = name, BackstageSource(name, root)
        self.fetching, self.release = threading.Event(), threading.Event()

    def fetch(self) -> Snapshot:
        self.fetching.set()
        assert self.release.wait(30), "the test never released the paused fetch"
        return self.inner.fetch()


@pytest.fixture
def paused_run(catalog: Catalog, root: Path) -> Iterator[tuple[_Paused, list[SyncReport]]]:
    """A run of `main` in another thread, stopped inside its fetch while it holds the lease."""
    source, done = _Paused("main", root), []
    thread = threading.Thread(target=lambda: done.append(sync_source(catalog.factory, source)))
    thread.start()
    assert source.fetching.wait(30)
    yield source, done
    source.release.set()
    thread.join(30)


def test_a_second_run_while_one_is_in_progress_is_skipped_and_says_so(
    catalog: Catalog, root: Path, paused_run: tuple[_Paused, list[SyncReport]]
) -> None:
    source, done = paused_run
    second = sync_source(catalog.factory, BackstageSource("main", root))
    assert second.status == "skipped" and not second.ok
    assert second.error is not None and "already running" in second.error
    assert [r.status for r in runs_of(catalog, "main")] == ["running"]  # the skipped run records nothing

    source.release.set()
    for _ in range(300):
        if done:
            break
        threading.Event().wait(0.1)
    [first] = done
    assert first.ok and first.added == 22
    assert [r.status for r in runs_of(catalog, "main")] == ["ok"]
    third = sync_source(catalog.factory, BackstageSource("main", root))  # the lease was given back
    assert third.ok and third.unchanged == 22


def test_manual_scheduled_and_webhook_runs_share_the_lease(catalog: Catalog, paused_run: tuple[_Paused, list[SyncReport]]) -> None:
    """`Catalog.sync` (the CLI and the scheduler) goes through the same lease as `sync_source` (webhooks)."""
    [report] = catalog.sync(["main"])
    assert report.status == "skipped"


def test_racing_runs_of_one_source_never_crash(database_url: str, tmp_path: Path, root: Path) -> None:
    """Four processes' worth of engines start the same source's first sync at the same instant."""
    config = backstage_config(tmp_path, {"main": root})
    catalogs = [Catalog(database_url, config) for _ in range(4)]
    start = threading.Barrier(len(catalogs))
    reports: list[SyncReport] = []

    def run(catalog: Catalog) -> None:
        start.wait()
        reports.extend(catalog.sync(["main"]))

    threads = [threading.Thread(target=run, args=(c,)) for c in catalogs]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    try:
        statuses = sorted(r.status for r in reports)
        assert "failed" not in statuses and "ok" in statuses, [(r.status, r.error) for r in reports]
        assert len(active_refs(catalogs[0], "main")) == 22
        assert {r.status for r in runs_of(catalogs[0], "main")} == {"ok"}
    finally:
        for c in catalogs:
            c.dispose()


_HOLDER = textwrap.dedent(
    """
    import sys, threading
    from catalog.core import Catalog
    from catalog.config import Config
    from catalog.sync.engine import SyncReport, sync_source

    class Stuck:
        name, type = "main", "backstage"
        def fetch(self):
            print("fetching", flush=True)
            threading.Event().wait()

    catalog = Catalog(sys.argv[1], Config())
    sync_source(catalog.factory, Stuck())
    """
)


def test_a_holder_killed_with_9_frees_its_source_within_two_minutes(catalog: Catalog, root: Path) -> None:
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLDER, catalog.database_url], cwd=REPO, stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": str(REPO)}
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "fetching"
        assert sync_source(catalog.factory, BackstageSource("main", root)).status == "skipped"
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait(30)
    killed_at = datetime.now(UTC)
    with catalog.session() as session:
        expires = session.scalar(select(col(JobLease.expires_at)).where(col(JobLease.name) == runs.lease_name("main")))
    assert expires is not None
    assert (expires if expires.tzinfo else expires.replace(tzinfo=UTC)) <= killed_at + timedelta(minutes=2)

    # Until the lease runs out the dead holder still counts as running...
    assert sync_source(catalog.factory, BackstageSource("main", root), clock=lambda: killed_at).status == "skipped"
    # ...and once it has, the next run goes ahead and closes the dead one's record as failed.
    later = killed_at + runs.LEASE_TTL + timedelta(seconds=1)
    report = sync_source(catalog.factory, BackstageSource("main", root), clock=lambda: later)
    assert report.ok and report.added == 22
    dead, ok = runs_of(catalog, "main")
    assert (dead.status, dead.message, dead.finished_at is not None) == ("failed", runs.ABANDONED, True)
    assert ok.status == "ok"


def test_sync_status_closes_a_run_whose_holder_is_gone_but_not_one_in_progress(catalog: Catalog, paused_run: tuple[_Paused, list[SyncReport]]) -> None:
    now = datetime.now(UTC)
    with catalog.session() as session:
        session.add(SourceState(name="gone", type="backstage"))
        session.add(SyncRun(source="gone", started_at=now - timedelta(hours=1)))  # its process died long ago
    with catalog.session() as session:
        statuses = {s.name: s for s in source_statuses(session, catalog.config, now=now)}
    assert statuses["main"].last_run is not None and statuses["main"].last_run.status == "running"
    gone = statuses["gone"].last_run
    assert gone is not None and (gone.status, gone.message) == ("failed", runs.ABANDONED)


def test_the_heartbeat_keeps_a_short_lease_alive_and_notices_a_takeover(catalog: Catalog) -> None:
    t0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
    now = [t0]
    ttl = timedelta(seconds=60)
    assert leases.claim(catalog.factory, "job", "me", now=t0, until=t0 + ttl)
    beat = leases.Heartbeat(catalog.factory, "job", "me", ttl=ttl, clock=lambda: now[0])

    now[0] = t0 + timedelta(seconds=45)
    beat.beat()
    assert not leases.claim(catalog.factory, "job", "other", now=t0 + timedelta(seconds=90), until=t0 + timedelta(minutes=5))  # still ours

    assert leases.claim(catalog.factory, "job", "other", now=t0 + timedelta(seconds=106), until=t0 + timedelta(minutes=5))  # we stopped beating
    beat.beat()
    assert beat.lost


def test_the_heartbeat_thread_renews_on_its_own(catalog: Catalog) -> None:
    far = datetime(2030, 1, 1, tzinfo=UTC)
    ttl = timedelta(milliseconds=40)  # beats every 10 ms
    assert leases.claim(catalog.factory, "job", "me", now=far, until=far)
    renewed = threading.Event()
    with leases.Heartbeat(catalog.factory, "job", "me", ttl=ttl, clock=lambda: far):
        for _ in range(500):
            with catalog.session() as session:
                expires = session.scalar(select(col(JobLease.expires_at)).where(col(JobLease.name) == "job"))
            if expires is not None and expires.replace(tzinfo=UTC) == far + ttl:
                renewed.set()
                break
            threading.Event().wait(0.01)
    assert renewed.is_set()


def test_a_write_that_outlasts_its_lease_commits_with_the_lease_still_held(catalog: Catalog) -> None:
    # While a run writes, its heartbeat waits for the write's lock; a run waiting on that lock to claim the
    # source reads the lease as the write committed it. Two minutes of writing must not leave it run out.
    t0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
    now = [t0]
    ttl = timedelta(seconds=60)
    with source_lease(catalog.factory, "main", clock=lambda: now[0], ttl=ttl) as held:
        assert held is not None
        with catalog.session() as session, held.fence(session):
            now[0] = t0 + timedelta(minutes=2)  # the write's statements take two minutes
        assert not leases.claim(catalog.factory, runs.lease_name("main"), "other", now=now[0], until=now[0] + ttl)
        now[0] += ttl + timedelta(seconds=1)  # and once the holder stops renewing it, it runs out as before
        assert leases.claim(catalog.factory, runs.lease_name("main"), "other", now=now[0], until=now[0] + ttl)


def test_a_late_heartbeat_never_moves_the_lease_back(catalog: Catalog) -> None:
    t0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
    ttl = timedelta(seconds=60)
    assert leases.claim(catalog.factory, "job", "me", now=t0, until=t0 + ttl)
    with catalog.session() as session:
        assert leases.renew(session, "job", "me", until=t0 + timedelta(minutes=3))  # a long write's end
    assert leases.hold(catalog.factory, "job", "me", until=t0 + ttl)  # a beat computed before it, landing after it
    assert not leases.claim(catalog.factory, "job", "other", now=t0 + timedelta(minutes=2), until=t0 + timedelta(minutes=5))
    assert leases.claim(catalog.factory, "job", "other", now=t0 + timedelta(minutes=3, seconds=1), until=t0 + timedelta(minutes=5))


class _TakenOver:
    """A fetch during which the run is presumed dead and another run takes its lease over."""

    type = "backstage"

    def __init__(self, catalog: Catalog, root: Path) -> None:
        self.name, self.catalog, self.inner = "main", catalog, BackstageSource("main", root)

    def fetch(self) -> Snapshot:
        name, now = runs.lease_name("main"), datetime.now(UTC)
        with self.catalog.session() as session:
            session.execute(update(JobLease).where(col(JobLease.name) == name).values(expires_at=now - timedelta(seconds=1)))
        assert leases.claim(self.catalog.factory, name, "intruder", now=now, until=now + timedelta(minutes=5))
        return self.inner.fetch()


def test_a_run_that_lost_its_lease_writes_nothing(catalog: Catalog, root: Path) -> None:
    report = sync_source(catalog.factory, _TakenOver(catalog, root))
    assert report.status == "failed" and "took over the lease" in (report.error or "")
    assert active_refs(catalog, "main") == set()
    with catalog.session() as session:
        owner = session.scalar(select(col(JobLease.owner)).where(col(JobLease.name) == runs.lease_name("main")))
    assert owner == "intruder"  # the stale run did not release the new holder's lease


def _refuse_inserts_from(catalog: Catalog, source: str) -> None:
    """A database trigger that fails every entity insert of `source`: an error inside the write transaction."""
    with catalog.engine.begin() as conn:
        if conn.dialect.name == "sqlite":
            conn.execute(
                text(f"CREATE TRIGGER refuse BEFORE INSERT ON entity WHEN NEW.source = '{source}' BEGIN SELECT RAISE(ABORT, 'boom from the test trigger'); END")
            )
        else:
            conn.execute(
                text(
                    "CREATE FUNCTION refuse() RETURNS trigger AS $$ BEGIN "
                    f"IF NEW.source = '{source}' THEN RAISE EXCEPTION 'boom from the test trigger'; END IF; RETURN NEW; END $$ LANGUAGE plpgsql"
                )
            )
            conn.execute(text("CREATE TRIGGER refuse BEFORE INSERT ON entity FOR EACH ROW EXECUTE FUNCTION refuse()"))


def test_an_error_inside_apply_fails_that_run_only_and_rolls_it_back(make_catalog: MakeCatalog, tmp_path: Path) -> None:
    _write(tmp_path / "broken", 3)
    _write(tmp_path / "fine", 3)
    catalog = make_catalog(backstage_config(tmp_path, {"broken": tmp_path / "broken", "fine": tmp_path / "fine"}))
    _refuse_inserts_from(catalog, "broken")
    gen = generation(catalog)

    broken, fine = catalog.sync()

    assert broken.status == "failed" and "boom from the test trigger" in (broken.error or "")
    assert (broken.added, broken.updated) == (0, 0)
    assert fine.ok and fine.added == 5  # the next source still ran
    assert rows(catalog, "broken") == {}  # nothing half-applied
    [run] = runs_of(catalog, "broken")
    assert run.status == "failed" and run.finished_at is not None and "boom from the test trigger" in (run.message or "")
    with catalog.session() as session:
        state = session.get(SourceState, "broken")
        assert state is not None and "boom" in (state.last_error or "") and state.last_success_at is None
        expires = session.scalar(select(col(JobLease.expires_at)).where(col(JobLease.name) == runs.lease_name("broken")))
        assert expires is not None and expires.year == 1970  # the lease was given back
    assert generation(catalog) == gen + 1  # only the fine source's change


def test_housekeeping_and_the_next_run_need_no_help_from_the_dead(catalog: Catalog, root: Path) -> None:
    """A `running` row with no live lease (what kill -9 leaves) is closed by the next run of its source."""
    with catalog.session() as session:
        session.add(SyncRun(source="main", started_at=datetime.now(UTC) - timedelta(minutes=5)))
    assert sync_source(catalog.factory, BackstageSource("main", root)).ok
    assert [r.status for r in runs_of(catalog, "main")] == ["failed", "ok"]

