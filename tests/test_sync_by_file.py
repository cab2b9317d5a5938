"""A resync costs what changed, in a fresh process (issue 16 point 1).

Why: syncs run from cron or Kubernetes jobs, each a new process. The parse cache that made a
resync cheap lived in memory (490 MB at 100k entities) and was gone in every new process, so an
unchanged resync parsed the whole catalog again (24-41 s at 100k). Each file's digest, the refs
it holds and its problems are now stored with the catalog: a new process parses only the files
that changed and writes only their entities, and everything a full sync did still holds.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection, delete, event, update
from sqlmodel import col

from catalog.config import Config
from catalog.core import Catalog
from catalog.store.models import Entity, SourceFile
from catalog.sync import files
from catalog.sync.engine import SyncReport, sync_source
from catalog.sync.sources.backstage import BackstageSource
from tests.cli import run_wayfinder
from tests.helpers import active_refs, backstage_config, component, group, related, rows, sync_runs

MakeCatalog = Callable[[Config], Catalog]
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def root(tmp_path: Path) -> Path:
    root = tmp_path / "catalog"
    root.mkdir()
    (root / "teams.yaml").write_text(group("team-a") + "---\n" + group("team-b"), encoding="utf-8")
    (root / "payments.yaml").write_text(component("payments", owner="team-a") + "---\n" + component("ledger", owner="team-a"), encoding="utf-8")
    (root / "search.yaml").write_text(component("search", owner="team-b", extra="  dependsOn: [component:payments]\n"), encoding="utf-8")
    return root


@pytest.fixture
def catalog(make_catalog: MakeCatalog, tmp_path: Path, root: Path) -> Catalog:
    catalog = make_catalog(backstage_config(tmp_path, {"main": root}))
    report = _sync(catalog, root, 0)
    assert (report.added, report.files_parsed, report.files_skipped) == (5, 3, 0)
    return catalog


def _sync(catalog: Catalog, root: Path, minutes: int) -> SyncReport:
    report = sync_source(catalog.factory, BackstageSource("main", root), clock=lambda: T0 + timedelta(minutes=minutes))
    assert report.ok, report.error
    return report


def _updated_at(catalog: Catalog) -> dict[str, datetime]:
    return {ref: row.updated_at.replace(tzinfo=UTC) if row.updated_at.tzinfo is None else row.updated_at for ref, row in rows(catalog, "main").items()}


def test_a_new_process_parses_no_unchanged_file(catalog: Catalog, root: Path, tmp_path: Path) -> None:
    url = catalog.engine.url.render_as_string(hide_password=False)
    code = (
        "import json, sys\n"
        "from pathlib import Path\n"
        "from catalog.store.engine import make_engine, session_factory\n"
        "from catalog.sync.engine import sync_source\n"
        "from catalog.sync.sources.backstage import BackstageSource\n"
        "r = sync_source(session_factory(make_engine(sys.argv[1])), BackstageSource('main', Path(sys.argv[2])))\n"
        "print(json.dumps([r.status, r.added, r.updated, r.removed, r.unchanged, r.files_parsed, r.files_skipped]))\n"
    )
    done = subprocess.run([sys.executable, "-c", code, url, str(root)], capture_output=True, text=True, check=True, cwd=Path(__file__).parent.parent)
    assert json.loads(done.stdout) == ["ok", 0, 0, 0, 5, 0, 3]
    last = sync_runs(catalog, "main")[-1]
    assert (last.files_parsed, last.files_skipped, last.unchanged) == (0, 3, 5)

    shown = run_wayfinder(
        "sync", "status", "--limit", "2", env={"DATABASE_URL": url, "WAYFINDER_CONFIG": str(tmp_path / "wayfinder.yaml"), "COLUMNS": "250"}, cwd=tmp_path
    )
    assert shown.returncode == 0, shown.stderr
    assert "files parsed/skipped" in shown.stdout and "0/3" in shown.stdout and "3/0" in shown.stdout


def test_a_changed_file_writes_only_its_entities(catalog: Catalog, root: Path) -> None:
    before = _updated_at(catalog)
    (root / "payments.yaml").write_text(
        component("payments", owner="team-b") + "---\n" + component("ledger", owner="team-a") + "---\n" + component("refunds", owner="team-a"), encoding="utf-8"
    )
    report = _sync(catalog, root, 5)
    assert (report.added, report.updated, report.removed, report.unchanged) == (1, 1, 0, 4)
    assert (report.files_parsed, report.files_skipped) == (1, 2)
    after = _updated_at(catalog)
    assert {ref for ref in after if after[ref] != before.get(ref)} == {"component:default/payments", "component:default/refunds"}
    assert related(catalog, "component:default/payments", "ownedBy") == {"group:default/team-b"}
    assert related(catalog, "group:default/team-a", "ownerOf") == {"component:default/ledger", "component:default/refunds"}
    assert related(catalog, "component:default/payments", "dependencyOf") == {"component:default/search"}  # from the unchanged file


def test_a_deleted_file_retires_its_entities_and_their_relations(catalog: Catalog, root: Path) -> None:
    (root / "payments.yaml").unlink()
    report = _sync(catalog, root, 5)
    assert (report.removed, report.files_parsed, report.files_skipped) == (2, 0, 2)
    assert active_refs(catalog, "main") == {"group:default/team-a", "group:default/team-b", "component:default/search"}
    assert related(catalog, "group:default/team-a", "ownerOf") == set()
    assert _sync(catalog, root, 6).removed == 0  # and its record is gone: nothing to retire twice


def test_a_file_that_breaks_keeps_its_entities_stale_until_fixed(catalog: Catalog, root: Path) -> None:
    good = (root / "payments.yaml").read_text(encoding="utf-8")
    (root / "payments.yaml").write_text(good + "---\nkind: [unclosed\n", encoding="utf-8")
    report = _sync(catalog, root, 5)
    assert report.removed == 0 and any("invalid YAML" in p.message for p in report.problems)
    (root / "payments.yaml").write_text("kind: [unclosed\n", encoding="utf-8")  # now it yields nothing at all
    report = _sync(catalog, root, 6)
    assert report.removed == 0 and report.files_parsed == 1  # a broken file is read again every run
    kept = rows(catalog, "main")["component:default/payments"]
    assert kept.retired_at is None and kept.broken_since is not None and "invalid YAML" in (kept.broken_reason or "")
    report = _sync(catalog, root, 7)  # unchanged and still broken: still kept, still marked, still reported
    assert report.removed == 0 and any("invalid YAML" in p.message for p in report.problems)
    assert rows(catalog, "main")["component:default/payments"].broken_since is not None

    (root / "payments.yaml").write_text(good, encoding="utf-8")
    _sync(catalog, root, 8)
    assert rows(catalog, "main")["component:default/payments"].broken_since is None
    (root / "payments.yaml").write_text("kind: [unclosed\n", encoding="utf-8")
    _sync(catalog, root, 9)
    (root / "payments.yaml").unlink()  # deleting a broken file retires what it kept
    assert _sync(catalog, root, 10).removed == 2


def test_an_entity_moving_to_another_file_is_not_retired(catalog: Catalog, root: Path) -> None:
    first_seen = rows(catalog, "main")["component:default/ledger"].first_seen_at
    (root / "payments.yaml").write_text(component("payments", owner="team-a"), encoding="utf-8")
    (root / "search.yaml").write_text(
        component("search", owner="team-b", extra="  dependsOn: [component:payments]\n") + "---\n" + component("ledger", owner="team-a"), encoding="utf-8"
    )
    report = _sync(catalog, root, 5)
    assert (report.added, report.removed, report.files_parsed) == (0, 0, 2)
    ledger = rows(catalog, "main")["component:default/ledger"]
    assert ledger.retired_at is None and ledger.first_seen_at == first_seen
    (root / "search.yaml").unlink()  # the new file holds it now
    assert _sync(catalog, root, 6).removed == 2
    assert "component:default/ledger" not in active_refs(catalog, "main")


def test_a_duplicate_in_a_new_file_loses_to_the_unchanged_one_until_it_is_gone(catalog: Catalog, root: Path) -> None:
    (root / "zz-copy.yaml").write_text(component("ledger", owner="team-b"), encoding="utf-8")
    report = _sync(catalog, root, 5)
    [problem] = [p for p in report.problems if "duplicate" in p.message]
    assert problem.file == str(root / "zz-copy.yaml") and str(root / "payments.yaml") in problem.message
    assert related(catalog, "component:default/ledger", "ownedBy") == {"group:default/team-a"}
    assert any("duplicate" in p.message for p in _sync(catalog, root, 6).problems)  # reported again while both exist

    (root / "payments.yaml").write_text(component("payments", owner="team-a"), encoding="utf-8")  # the first definition goes
    report = _sync(catalog, root, 7)
    assert not [p for p in report.problems if "duplicate" in p.message] and report.removed == 0
    assert related(catalog, "component:default/ledger", "ownedBy") == {"group:default/team-b"}


def test_problems_of_unchanged_files_are_reported_on_every_run(catalog: Catalog, root: Path) -> None:
    (root / "orphan.yaml").write_text(component("orphan").replace("  owner: team-a\n", ""), encoding="utf-8")
    (root / "dangling.yaml").write_text(component("dangling", owner="team-nobody"), encoding="utf-8")
    first = _sync(catalog, root, 5)
    assert any("spec.owner is missing" in p.message for p in first.problems)
    assert any("group:default/team-nobody, which does not exist" in p.message for p in first.problems)
    again = _sync(catalog, root, 6)
    assert again.files_parsed == 0 and any("spec.owner is missing" in p.message for p in again.problems)


def test_rows_synced_before_files_were_recorded_are_retired_when_their_file_is_gone(catalog: Catalog, root: Path) -> None:
    with catalog.session() as session:  # a catalog synced by a version that kept no file records
        session.execute(delete(SourceFile))
        session.commit()
    (root / "search.yaml").unlink()
    report = _sync(catalog, root, 5)
    assert (report.removed, report.files_parsed) == (1, 2)
    assert "component:default/search" not in active_refs(catalog, "main")
    assert _sync(catalog, root, 6).files_skipped == 2


def test_a_location_file_is_followed_on_every_run(make_catalog: MakeCatalog, tmp_path: Path) -> None:
    root = tmp_path / "catalog"
    (root / "more").mkdir(parents=True)
    (root / "more" / "extra.yml.txt").write_text(component("extra"), encoding="utf-8")  # not a catalog file by name
    location = "apiVersion: backstage.io/v1alpha1\nkind: Location\nmetadata:\n  name: more\nspec:\n  targets: [./more/*.txt]\n"
    (root / "all.yaml").write_text(location, encoding="utf-8")
    catalog = make_catalog(backstage_config(tmp_path, {"main": root}))
    assert _sync(catalog, root, 0).added == 2
    (root / "more" / "later.txt").write_text(component("later"), encoding="utf-8")  # matched by the unchanged Location's glob
    report = _sync(catalog, root, 1)
    assert report.added == 1 and "component:default/later" in active_refs(catalog, "main")
    assert (report.files_parsed, report.files_skipped) == (2, 1)  # the Location file and the new one; extra.yml.txt skipped


def test_a_renamed_file_moves_its_entities_location_and_breaking_it_keeps_them(catalog: Catalog, root: Path) -> None:
    # Why: the location stayed at the old name (the content hash leaves it out), so breaking the renamed
    # file retired its entities instead of keeping them stale, and hints named a file that was gone.
    before = _updated_at(catalog)
    (root / "payments.yaml").rename(root / "billing.yaml")
    report = _sync(catalog, root, 5)
    assert (report.added, report.updated, report.removed) == (0, 0, 0)
    moved = rows(catalog, "main")
    assert (moved["component:default/payments"].location, moved["component:default/ledger"].location) == (f"{root / 'billing.yaml'}:1", f"{root / 'billing.yaml'}:10")
    assert _updated_at(catalog) == before  # a move is not a change of what the entity says

    (root / "billing.yaml").write_text("kind: [unclosed\n", encoding="utf-8")
    report = _sync(catalog, root, 6)
    assert report.removed == 0
    assert all(rows(catalog, "main")[ref].broken_since is not None for ref in ("component:default/payments", "component:default/ledger"))


def test_lines_added_above_an_entity_move_its_location(catalog: Catalog, root: Path) -> None:
    (root / "search.yaml").write_text("# owned by search\n\n" + (root / "search.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    _sync(catalog, root, 5)
    assert rows(catalog, "main")["component:default/search"].location == f"{root / 'search.yaml'}:3"


def test_a_broken_file_keeps_what_it_held_even_where_the_stored_location_is_stale(catalog: Catalog, root: Path) -> None:
    # Rows relocated by a version that left the location behind: the file's record says what it held.
    with catalog.session() as session:
        session.execute(update(Entity).where(col(Entity.ref) == "component:default/search").values(location="/gone/old-name.yaml:1"))
        session.commit()
    (root / "search.yaml").write_text("kind: [unclosed\n", encoding="utf-8")
    assert _sync(catalog, root, 5).removed == 0
    assert rows(catalog, "main")["component:default/search"].broken_since is not None


def test_on_postgresql_the_whole_source_check_runs_on_one_backend(make_catalog: MakeCatalog, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Why: PostgreSQL scanned the relation table with two parallel workers, three busy backends right after
    # a 50k-entity write, while every replica read its new index; a sync takes no more of the server than that.
    monkeypatch.setattr(files, "WHOLE_SOURCE_CHECK_ABOVE", 1)
    main = tmp_path / "main"
    main.mkdir()
    (main / "x.yaml").write_text(component("x", extra="  dependsOn: [component:ghost]\n"), encoding="utf-8")
    catalog = make_catalog(backstage_config(tmp_path, {"main": main}))
    if catalog.engine.dialect.name != "postgresql":
        pytest.skip("parallel query is PostgreSQL's")

    def workers(conn: Connection) -> str:
        return str(conn.exec_driver_sql("SHOW max_parallel_workers_per_gather").scalar())

    with catalog.engine.connect() as conn:
        usual = workers(conn)
    seen: list[str] = []

    def before(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if " EXCEPT " in statement:
            seen.append(str(cursor.connection.execute("SHOW max_parallel_workers_per_gather").fetchone()[0]))

    event.listen(catalog.engine, "before_cursor_execute", before)
    try:
        report = _sync(catalog, main, 0)
    finally:
        event.remove(catalog.engine, "before_cursor_execute", before)
    assert {p.entity for p in report.problems if "does not exist" in p.message} == {"component:default/x"}
    assert seen == ["0"] and usual != "0"
    with catalog.engine.connect() as conn:
        assert workers(conn) == usual  # for that transaction only: answers and pages keep the server's setting


@pytest.mark.parametrize("whole_source_from", [0, 10**9], ids=["whole source", "by written refs"])
def test_dangling_references_are_those_of_the_written_entities_however_they_are_looked_for(
    make_catalog: MakeCatalog, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, whole_source_from: int
) -> None:
    # Why: a run that writes much of its source (a first sync) asks for the missing targets of the whole
    # source at once, which also finds those of entities the run did not write; only the run's own count.
    monkeypatch.setattr(files, "WHOLE_SOURCE_CHECK_ABOVE", whole_source_from)
    main, other = tmp_path / "main", tmp_path / "other"
    main.mkdir()
    other.mkdir()
    (other / "shared.yaml").write_text(component("shared-db") + "---\n" + component("old-queue"), encoding="utf-8")
    (main / "teams.yaml").write_text(group("team-a"), encoding="utf-8")
    (main / "x.yaml").write_text(component("x", extra="  dependsOn: [component:ghost-1, component:shared-db]\n"), encoding="utf-8")
    (main / "y.yaml").write_text(component("y", owner="team-gone", extra="  dependsOn: [component:old-queue]\n"), encoding="utf-8")
    catalog = make_catalog(backstage_config(tmp_path, {"main": main, "other": other}))
    assert sync_source(catalog.factory, BackstageSource("other", other)).ok
    (other / "shared.yaml").write_text(component("shared-db"), encoding="utf-8")  # old-queue retires: a reference to it dangles
    assert sync_source(catalog.factory, BackstageSource("other", other)).removed == 1

    def dangling(report: SyncReport) -> list[tuple[str | None, str]]:
        return [(p.entity, p.message) for p in report.problems if "does not exist" in p.message]

    assert dangling(_sync(catalog, main, 0)) == [
        ("component:default/x", "dependsOn component:default/ghost-1, which does not exist in the catalog"),
        ("component:default/y", "ownedBy group:default/team-gone, which does not exist in the catalog"),
        ("component:default/y", "dependsOn component:default/old-queue, which does not exist in the catalog"),
    ]
    (main / "x.yaml").write_text(component("x", extra="  dependsOn: [component:ghost-2]\n"), encoding="utf-8")
    report = _sync(catalog, main, 1)
    assert report.updated == 1 and dangling(report) == [("component:default/x", "dependsOn component:default/ghost-2, which does not exist in the catalog")]
    assert [p.file for p in report.problems if "ghost-2" in p.message] == [f"{main / 'x.yaml'}:1"]
