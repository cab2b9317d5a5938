"""The sync engine: diff a full snapshot against what the source owns, apply it in one go, record every run.

Why: syncs run every few minutes against the whole organisation. Unchanged data must cost no
writes; a source that breaks (or a snapshot that suddenly says "nothing exists") must never wipe
the catalog that people rely on to find owners during an incident.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sqlalchemy.exc import OperationalError

from catalog.config import Config, load_config
from catalog.core import Catalog
from catalog.errors import SourceError
from catalog.sync.engine import SyncReport, sync_source
from catalog.sync.sources.backstage import BackstageSource
from catalog.sync.sources.base import Snapshot
from tests.helpers import FixedSource, active_refs, backstage_config, component, generation, group, owner_of, related, rows, sync_runs

MakeCatalog = Callable[[Config], Catalog]
T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def _at(minutes: int) -> Callable[[], datetime]:
    return lambda: T0 + timedelta(minutes=minutes)


def _same_instant(a: datetime | None, b: datetime) -> bool:
    """SQLite may hand back naive UTC; PostgreSQL aware. Compare the instant."""
    assert a is not None
    return (a if a.tzinfo else a.replace(tzinfo=UTC)) == b


def _write_team(root: Path, n: int, owner: str = "team-a") -> None:
    """`n` components, one file each, plus the owning groups."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "teams.yaml").write_text(group("team-a") + "---\n" + group("team-b"), encoding="utf-8")
    for i in range(n):
        (root / f"svc-{i:02d}.yaml").write_text(component(f"svc-{i:02d}", owner=owner), encoding="utf-8")


@pytest.fixture
def catalog(make_catalog: MakeCatalog, tmp_path: Path) -> Catalog:
    """A catalog with one empty config; tests drive `sync_source` with real sources and a fixed clock."""
    return make_catalog(backstage_config(tmp_path, {"main": tmp_path / "catalog"}))


def _sync(catalog: Catalog, root: Path, minutes: int = 0, name: str = "main", **kw: Any) -> SyncReport:
    return sync_source(catalog.factory, BackstageSource(name, root), clock=_at(minutes), **kw)


def test_second_sync_of_unchanged_data_writes_nothing(catalog: Catalog, tmp_path: Path) -> None:
    root = tmp_path / "catalog"
    _write_team(root, 5)
    first = _sync(catalog, root, 0)
    assert (first.added, first.updated, first.removed, first.unchanged) == (7, 0, 0, 0)
    gen = generation(catalog)
    before = {ref: (e.id, e.updated_at, e.content_hash) for ref, e in rows(catalog, "main").items()}

    second = _sync(catalog, root, 10)
    assert second.ok
    assert (second.added, second.updated, second.removed, second.unchanged) == (0, 0, 0, 7)
    after = {ref: (e.id, e.updated_at, e.content_hash) for ref, e in rows(catalog, "main").items()}
    assert after == before
    assert all(_same_instant(updated, T0) for _, updated, _ in after.values())
    assert generation(catalog) == gen  # caches keyed on the generation stay valid


def test_a_change_updates_only_that_entity_and_its_relations(catalog: Catalog, tmp_path: Path) -> None:
    root = tmp_path / "catalog"
    _write_team(root, 5)
    _sync(catalog, root, 0)
    gen = generation(catalog)
    (root / "svc-03.yaml").write_text(component("svc-03", owner="team-b"), encoding="utf-8")

    report = _sync(catalog, root, 10)
    assert (report.added, report.updated, report.removed, report.unchanged) == (0, 1, 0, 6)
    now = rows(catalog, "main")
    assert _same_instant(now["component:default/svc-03"].updated_at, T0 + timedelta(minutes=10))
    assert _same_instant(now["component:default/svc-03"].first_seen_at, T0)
    assert all(_same_instant(e.updated_at, T0) for ref, e in now.items() if ref != "component:default/svc-03")
    assert generation(catalog) > gen
    # The ownership relations moved with it, in both directions.
    assert related(catalog, "component:default/svc-03", "ownedBy") == {"group:default/team-b"}
    assert "component:default/svc-03" not in related(catalog, "group:default/team-a", "ownerOf")
    assert related(catalog, "group:default/team-b", "ownerOf") == {"component:default/svc-03"}
    assert owner_of(catalog, "svc-03") == "group:default/team-b"


def test_removed_file_retires_its_entities_and_readding_revives_them(catalog: Catalog, tmp_path: Path) -> None:
    root = tmp_path / "catalog"
    _write_team(root, 5)
    _sync(catalog, root, 0)
    original = rows(catalog, "main")["component:default/svc-04"]
    body = (root / "svc-04.yaml").read_text(encoding="utf-8")
    (root / "svc-04.yaml").unlink()

    report = _sync(catalog, root, 10)
    assert (report.added, report.updated, report.removed, report.unchanged) == (0, 0, 1, 6)
    retired = rows(catalog, "main")["component:default/svc-04"]  # soft delete: the row is still there
    assert _same_instant(retired.retired_at, T0 + timedelta(minutes=10))
    assert "component:default/svc-04" not in active_refs(catalog)
    assert "component:default/svc-04" not in related(catalog, "group:default/team-a", "ownerOf")
    gone = catalog.ask("who owns svc-04")
    assert gone.subject is None or gone.subject.ref != "component:default/svc-04"

    (root / "svc-04.yaml").write_text(body, encoding="utf-8")
    report = _sync(catalog, root, 20)
    assert (report.added, report.updated, report.removed) == (0, 1, 0)  # revived, not re-created
    revived = rows(catalog, "main")["component:default/svc-04"]
    assert revived.retired_at is None and revived.id == original.id
    assert _same_instant(revived.first_seen_at, T0)
    assert owner_of(catalog, "svc-04") == "group:default/team-a"


class _CrashingSource:
    """A source whose client library blows up with something that is not a SourceError."""

    type = "backstage"

    def __init__(self, name: str) -> None:
        self.name = name

    def fetch(self) -> Snapshot:
        raise KeyError("page_token")


class _LostDatabaseSource:
    """A source whose run loses the database mid-write (a restart, the network), with what it sent in the statement."""

    type = "backstage"

    def __init__(self, name: str) -> None:
        self.name = name

    def fetch(self) -> Snapshot:
        lost = psycopg.OperationalError("consuming input failed: server closed the connection unexpectedly")
        raise OperationalError("INSERT INTO raw_entity ...", {"body": "what-the-source-sent"}, lost)


class _IncompleteSource:
    """A source that could read only part of its data (e.g. one API page failed)."""

    type = "backstage"

    def __init__(self, name: str, snapshot: Snapshot) -> None:
        self.name, self.snapshot = name, snapshot

    def fetch(self) -> Snapshot:
        self.snapshot.complete = False
        return self.snapshot


@pytest.mark.parametrize("failure", ["source_error", "unexpected"])
def test_failing_source_retires_nothing_and_records_a_failed_run(catalog: Catalog, tmp_path: Path, failure: str) -> None:
    root = tmp_path / "catalog"
    _write_team(root, 5)
    _sync(catalog, root, 0)
    before = rows(catalog, "main")
    gen = generation(catalog)

    if failure == "source_error":
        report = _sync(catalog, tmp_path / "gone", 10)
        assert report.error and "does not exist" in report.error
    else:
        report = sync_source(catalog.factory, _CrashingSource("main"), clock=_at(10))
        assert report.error == "KeyError: 'page_token'"
    assert report.status == "failed" and not report.ok
    assert (report.added, report.updated, report.removed) == (0, 0, 0)
    after = rows(catalog, "main")
    assert {r: (e.updated_at, e.retired_at) for r, e in after.items()} == {r: (e.updated_at, e.retired_at) for r, e in before.items()}
    assert len(active_refs(catalog)) == 7 and generation(catalog) == gen
    run = sync_runs(catalog)[-1]
    assert run.status == "failed" and run.message == report.error
    assert run.finished_at is not None
    # Answers still work and say the data is stale.
    answer = catalog.ask("who owns svc-01")
    assert answer.owner is not None and answer.owner.ref == "group:default/team-a"
    assert answer.sources[0].stale and "unreachable since" in answer.text


def test_a_run_that_loses_the_database_logs_one_line_without_the_statement(catalog: Catalog, caplog: pytest.LogCaptureFixture) -> None:
    """It printed 72 lines: two tracebacks, then the SQL with every parameter (the bodies GitHub had sent)."""
    report = sync_source(catalog.factory, _LostDatabaseSource("main"), clock=_at(10))

    assert report.status == "failed" and report.error == "OperationalError: consuming input failed: server closed the connection unexpectedly"
    [logged] = [r for r in caplog.records if r.name == "catalog.sync.engine"]
    assert logged.getMessage() == f"sync of main failed: the database could not be used: {report.error}" and logged.exc_info is None
    assert "what-the-source-sent" not in caplog.text and "INSERT" not in caplog.text


def test_source_error_is_a_wayfinder_error_with_the_path() -> None:
    with pytest.raises(SourceError, match="does not exist"):
        BackstageSource("main", Path("/nonexistent/wayfinder/catalog")).fetch()


def test_incomplete_snapshot_adds_and_updates_but_retires_nothing(catalog: Catalog, tmp_path: Path) -> None:
    root = tmp_path / "catalog"
    _write_team(root, 5)
    _sync(catalog, root, 0)
    partial = BackstageSource("main", root).fetch()
    partial.entities = [e for e in partial.entities if e.name in ("team-a", "svc-00")]
    extra = tmp_path / "extra"
    extra.mkdir()
    (extra / "new.yaml").write_text(component("svc-new"), encoding="utf-8")
    partial.entities += BackstageSource("x", extra).fetch().entities

    report = sync_source(catalog.factory, _IncompleteSource("main", partial), clock=_at(10))
    assert report.ok and (report.added, report.removed) == (1, 0)
    assert len(active_refs(catalog)) == 8


def test_empty_snapshot_is_refused_unless_allowed(catalog: Catalog, tmp_path: Path) -> None:
    root = tmp_path / "catalog"
    _write_team(root, 3)
    _sync(catalog, root, 0)
    for f in root.iterdir():
        f.unlink()  # e.g. a checkout that came back empty

    refused = _sync(catalog, root, 10)
    assert refused.status == "refused" and not refused.ok
    assert "empty" in (refused.error or "") and "--allow-large-delete" in (refused.error or "")
    assert len(active_refs(catalog)) == 5
    assert sync_runs(catalog)[-1].status == "refused"

    allowed = _sync(catalog, root, 20, allow_large_delete=True)
    assert allowed.ok and allowed.removed == 5
    assert active_refs(catalog) == set()
    assert all(e.retired_at is not None for e in rows(catalog, "main").values())


@pytest.mark.parametrize(("total", "remove", "refused"), [(10, 6, True), (10, 5, False), (12, 7, True), (9, 7, False)])
def test_fraction_guard(catalog: Catalog, tmp_path: Path, total: int, remove: int, refused: bool) -> None:
    """More than half of a source's entities vanishing at once is refused, once it has at least 10."""
    root = tmp_path / "catalog"
    _write_team(root, total - 2)  # `total` entities including the two groups
    _sync(catalog, root, 0)
    for i in range(remove):
        (root / f"svc-{i:02d}.yaml").unlink()

    report = _sync(catalog, root, 10)
    if refused:
        assert report.status == "refused"
        assert f"retire {remove} of {total} entities" in (report.error or "")
        assert len(active_refs(catalog)) == total
        assert _sync(catalog, root, 20, allow_large_delete=True).removed == remove
    else:
        assert report.ok and report.removed == remove
    assert len(active_refs(catalog)) == total - remove


def test_configured_max_delete_fraction_is_honoured(make_catalog: MakeCatalog, tmp_path: Path) -> None:
    root = tmp_path / "catalog"
    _write_team(root, 10)
    config = tmp_path / "strict.yaml"
    config.write_text(f"sources:\n  - name: main\n    type: backstage\n    path: {root}\n    max_delete_fraction: 0.2\n", encoding="utf-8")
    catalog = make_catalog(load_config(config))
    assert catalog.sync()[0].ok
    for i in range(3):  # 3 of 12 = 25% > 20%
        (root / f"svc-{i:02d}.yaml").unlink()
    [report] = catalog.sync()
    assert report.status == "refused" and "more than 20%" in (report.error or "")
    assert catalog.sync(allow_large_delete=True)[0].removed == 3


def test_every_run_is_recorded_with_times_counts_and_errors(catalog: Catalog, tmp_path: Path) -> None:
    root = tmp_path / "catalog"
    _write_team(root, 2)
    (root / "broken.yaml").write_text("kind: [", encoding="utf-8")
    _sync(catalog, root, 0)
    (root / "svc-00.yaml").write_text(component("svc-00", owner="team-b"), encoding="utf-8")
    _sync(catalog, root, 5)
    _sync(catalog, tmp_path / "missing", 10)

    runs = sync_runs(catalog, "main")
    assert [r.status for r in runs] == ["ok", "ok", "failed"]
    assert [(r.added, r.updated, r.removed, r.unchanged) for r in runs] == [(4, 0, 0, 0), (0, 1, 0, 3), (0, 0, 0, 0)]
    for minutes, run in zip((0, 5, 10), runs, strict=True):
        assert _same_instant(run.started_at, T0 + timedelta(minutes=minutes))
        assert run.finished_at is not None
    assert runs[0].error_count == 1 and any("broken.yaml:" in e and "invalid YAML" in e for e in runs[0].errors)
    assert runs[2].message and "does not exist" in runs[2].message


def test_each_source_retires_only_its_own_rows(catalog: Catalog, tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    (a / "teams.yaml").write_text(group("team-a") + "---\n" + group("team-b"), encoding="utf-8")
    (a / "shared.yaml").write_text(component("shared-svc"), encoding="utf-8")
    (a / "only-a.yaml").write_text(component("only-a"), encoding="utf-8")
    (b / "shared.yaml").write_text(component("shared-svc"), encoding="utf-8")
    (b / "only-b.yaml").write_text(component("only-b", owner="team-b"), encoding="utf-8")
    assert _sync(catalog, a, 0, name="source-a").added == 4
    assert _sync(catalog, b, 0, name="source-b").added == 2

    (a / "shared.yaml").unlink()
    (a / "only-a.yaml").unlink()
    report = _sync(catalog, a, 10, name="source-a")
    assert report.removed == 2
    assert active_refs(catalog, "source-b") == {"component:default/shared-svc", "component:default/only-b"}
    assert active_refs(catalog, "source-a") == {"group:default/team-a", "group:default/team-b"}
    # source-b still asserts shared-svc, so people can still find it and its owner.
    answer = catalog.ask("who owns shared-svc")
    assert answer.owner is not None and answer.owner.ref == "group:default/team-a"
    assert [s.source for s in answer.sources][0] == "source-b"
    gone = catalog.ask("who owns only-a")
    assert gone.subject is None or gone.subject.ref != "component:default/only-a"

    # An empty snapshot from one source is judged against that source's rows only.
    (b / "shared.yaml").unlink()
    (b / "only-b.yaml").unlink()
    assert _sync(catalog, b, 20, name="source-b").status == "refused"
    assert _sync(catalog, b, 30, name="source-b", allow_large_delete=True).removed == 2
    assert active_refs(catalog) == {"group:default/team-a", "group:default/team-b"}


def test_catalog_sync_runs_every_configured_source(make_catalog: MakeCatalog, tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    _write_team(a, 1)
    b.mkdir()
    (b / "x.yaml").write_text(component("from-b"), encoding="utf-8")
    catalog = make_catalog(backstage_config(tmp_path, {"alpha": a, "beta": b}))
    reports = catalog.sync()
    assert [(r.source, r.status, r.added) for r in reports] == [("alpha", "ok", 3), ("beta", "ok", 1)]
    only = catalog.sync(["beta"])
    assert [(r.source, r.unchanged) for r in only] == [("beta", 1)]


def test_a_full_snapshot_moves_the_location_of_an_unchanged_entity_without_rewriting_it(catalog: Catalog, tmp_path: Path) -> None:
    # Why: the content hash leaves the location out, so a descriptor read from a renamed file kept the old one.
    root = tmp_path / "catalog"
    _write_team(root, 1)
    snapshot = BackstageSource("x", root).fetch()
    assert sync_source(catalog.factory, FixedSource("main", snapshot), clock=_at(0)).added == 3
    gen = generation(catalog)
    for doc in snapshot.entities:
        doc.location = f"renamed/{doc.name}.yaml:4"
    report = sync_source(catalog.factory, FixedSource("main", snapshot), clock=_at(10))
    assert (report.added, report.updated, report.unchanged) == (0, 0, 3)
    svc = rows(catalog, "main")["component:default/svc-00"]
    assert svc.location == "renamed/svc-00.yaml:4" and _same_instant(svc.updated_at, T0)
    assert generation(catalog) > gen
