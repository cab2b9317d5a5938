"""The sync's write transaction only executes what was prepared before it began (issue 7 point 11).

Why: on SQLite a write transaction locks the whole database, and everything else that writes
(event-id claims, unanswered questions, the identity cache) waits for it. Reading, diffing and
building rows inside it held the lock for seconds during a 50k-entity sync. The transaction now
starts with the lease check and holds nothing but inserts, updates and deletes; an update that
leaves an entity's relations alone rewrites none of them. And the answers in flight when it
commits share one build of the resolution index.
"""

from __future__ import annotations

import gc
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event

from bot.http.app import freeze_heap
from catalog.config import Config
from catalog.core import Catalog
from catalog.search.resolve import CatalogIndex, IndexedEntity
from catalog.store.reads import IndexCache, generation
from catalog.sync.engine import sync_source
from catalog.sync.sources.backstage import BackstageSource
from tests.helpers import backstage_config, component, group, related

WRITES = ("INSERT", "UPDATE", "DELETE", "PRAGMA cache_size")  # SQLite: room for the transaction's pages


def _transactions(catalog: Catalog, run: Callable[[], object]) -> list[list[str]]:
    """The statements of each committed transaction `run` issued, per connection, in order."""
    open_: dict[int, list[str]] = defaultdict(list)
    done: list[list[str]] = []

    def statement(conn: Any, cursor: Any, sql: str, *args: Any) -> None:
        open_[id(conn.connection.dbapi_connection)].append(" ".join(sql.split()))

    def commit(conn: Any) -> None:
        done.append(open_.pop(id(conn.connection.dbapi_connection), []))

    event.listen(catalog.engine, "before_cursor_execute", statement)
    event.listen(catalog.engine, "commit", commit)
    try:
        run()
    finally:
        event.remove(catalog.engine, "before_cursor_execute", statement)
        event.remove(catalog.engine, "commit", commit)
    return done


def test_the_write_transaction_holds_only_prepared_writes(make_catalog: Callable[[Config], Catalog], tmp_path: Path) -> None:
    root = tmp_path / "catalog"
    root.mkdir()
    (root / "teams.yaml").write_text(group("team-a") + "---\n" + group("team-b"), encoding="utf-8")
    for i in range(5):
        (root / f"svc-{i}.yaml").write_text(component(f"svc-{i}"), encoding="utf-8")
    catalog = make_catalog(backstage_config(tmp_path, {"main": root}))
    assert sync_source(catalog.factory, BackstageSource("main", root)).ok

    (root / "svc-0.yaml").write_text(component("svc-0", owner="team-b"), encoding="utf-8")  # relations change
    (root / "svc-1.yaml").write_text(component("svc-1").replace("name: svc-1", "name: svc-1\n  description: new words"), encoding="utf-8")
    (root / "svc-2.yaml").unlink()
    (root / "svc-9.yaml").write_text(component("svc-9"), encoding="utf-8")
    report: list[Any] = []
    transactions = _transactions(catalog, lambda: report.append(sync_source(catalog.factory, BackstageSource("main", root))))

    assert report[0].ok and (report[0].added, report[0].updated, report[0].removed) == (1, 2, 1)
    [write] = [t for t in transactions if any(s.startswith(("INSERT INTO entity", "UPDATE entity")) for s in t)]
    assert write[0].startswith("UPDATE job_lease SET expires_at")  # the lease check comes first
    assert all(s.startswith(WRITES) for s in write), write  # nothing read, nothing computed while the lock is held
    assert related(catalog, "component:default/svc-0", "ownedBy") == {"group:default/team-b"}
    assert related(catalog, "group:default/team-a", "ownerOf") == {
        "component:default/svc-1",
        "component:default/svc-3",
        "component:default/svc-4",
        "component:default/svc-9",
    }


def test_a_description_change_rewrites_no_relations(make_catalog: Callable[[Config], Catalog], tmp_path: Path) -> None:
    root = tmp_path / "catalog"
    root.mkdir()
    (root / "org.yaml").write_text(group("team-a") + "---\n" + component("svc", extra="  dependsOn: [component:db]"), encoding="utf-8")
    catalog = make_catalog(backstage_config(tmp_path, {"main": root}))
    assert sync_source(catalog.factory, BackstageSource("main", root)).ok
    (root / "org.yaml").write_text(
        group("team-a") + "---\n" + component("svc", extra="  dependsOn: [component:db]").replace("name: svc", "name: svc\n  description: new words"),
        encoding="utf-8",
    )

    transactions = _transactions(catalog, lambda: sync_source(catalog.factory, BackstageSource("main", root)))

    statements = [s for t in transactions for s in t]
    assert any(s.startswith("UPDATE entity") for s in statements)
    assert not any(s.startswith(("INSERT INTO relation", "DELETE FROM relation")) for s in statements)
    assert related(catalog, "component:default/svc", "dependsOn") == {"component:default/db"}


def _synced_team_and_service(make_catalog: Callable[[Config], Catalog], tmp_path: Path) -> tuple[Catalog, Path]:
    """A catalog synced from one file holding `team-a` and its component `svc`, and the source's root."""
    root = tmp_path / "catalog"
    root.mkdir()
    (root / "org.yaml").write_text(group("team-a") + "---\n" + component("svc"), encoding="utf-8")
    catalog = make_catalog(backstage_config(tmp_path, {"main": root}))
    assert sync_source(catalog.factory, BackstageSource("main", root)).ok
    return catalog, root


def _builds_the_index(sql: str) -> bool:
    """Whether `sql` is `load_index`'s read of every entity row."""
    return "SELECT entity.ref, entity.precedence, entity.kind, entity.name" in " ".join(sql.split())


def test_after_a_sync_one_thread_rebuilds_the_index_for_all_answers_in_flight(make_catalog: Callable[[Config], Catalog], tmp_path: Path) -> None:
    """A 50k-entity index built once per answer in flight starved acks and /healthz of the GIL after each big sync."""
    catalog, _ = _synced_team_and_service(make_catalog, tmp_path)
    builds: list[str] = []

    def count(conn: Any, cursor: Any, sql: str, *args: Any) -> None:
        if _builds_the_index(sql):
            builds.append(sql)

    start = threading.Barrier(8)

    def answer() -> None:
        start.wait()
        catalog.ask("who owns svc?")

    event.listen(catalog.engine, "before_cursor_execute", count)
    try:
        threads = [threading.Thread(target=answer) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
    finally:
        event.remove(catalog.engine, "before_cursor_execute", count)
    assert len(builds) == 1


@pytest.mark.parametrize("big", ["index", "catalog"])
def test_after_a_sync_of_a_big_catalog_no_answer_waits_for_the_index(make_catalog: Callable[[Config], Catalog], tmp_path: Path, big: str) -> None:
    """At 20k entities the rebuild took the answer that noticed the new generation 1 s of CPU (11 s wall at load 15).
    A first big import into a small catalog counts as big: the catalog's size decides, not the old index's."""
    catalog, root = _synced_team_and_service(make_catalog, tmp_path)
    with catalog.session() as session:
        before = len(catalog.index(session))
    cache = IndexCache(background_above=0 if big == "index" else before)  # big already, or made big by the sync below
    with catalog.session() as session:
        assert cache.get(session).named("svc-two") == []
    (root / "more.yaml").write_text(component("svc-two"), encoding="utf-8")
    assert sync_source(catalog.factory, BackstageSource("main", root)).ok
    gate, building = threading.Event(), threading.Event()

    def hold_the_build(conn: Any, cursor: Any, sql: str, *args: Any) -> None:
        if _builds_the_index(sql) and threading.current_thread() is not threading.main_thread():
            building.set()
            assert gate.wait(30)

    event.listen(catalog.engine, "before_cursor_execute", hold_the_build)
    try:
        with catalog.session() as session:
            assert cache.get(session).named("svc-two") == []  # answered at once, from the previous index
        assert building.wait(30)
        with catalog.session() as session:
            assert cache.get(session).named("svc-two") == []  # still building: not a second build either
        gate.set()
        assert _eventually_named(catalog, cache, "svc-two") == ["component:default/svc-two"]  # the next question gets the new index
    finally:
        gate.set()
        event.remove(catalog.engine, "before_cursor_execute", hold_the_build)


def test_a_background_rebuild_sets_off_no_collection_until_its_index_is_built(make_catalog: Callable[[Config], Catalog], tmp_path: Path) -> None:
    """Allocating a 50k-entity index set off two or three full collections of it during each build (22-54 ms each with
    the GIL held, every request in flight waiting): the collector waits for the built index, and then runs as before."""
    catalog, root = _synced_team_and_service(make_catalog, tmp_path)
    cache = IndexCache(background_above=0)
    with catalog.session() as session:
        cache.get(session)
    (root / "more.yaml").write_text(component("svc-two"), encoding="utf-8")
    assert sync_source(catalog.factory, BackstageSource("main", root)).ok
    seen: list[tuple[str, bool]] = []
    cache.after_rebuild = lambda: seen.append(("built", gc.isenabled()))

    def building(conn: Any, cursor: Any, sql: str, *args: Any) -> None:
        if _builds_the_index(sql) and threading.current_thread().name == "wayfinder-index":
            seen.append(("reading the rows", gc.isenabled()))

    event.listen(catalog.engine, "before_cursor_execute", building)
    try:
        assert gc.isenabled()
        assert _eventually_named(catalog, cache, "svc-two") == ["component:default/svc-two"]
        for thread in threading.enumerate():
            if thread.name == "wayfinder-index":
                thread.join(30)
    finally:
        event.remove(catalog.engine, "before_cursor_execute", building)
    assert seen == [("reading the rows", False), ("built", False)]
    assert gc.isenabled()


def test_replicas_start_their_background_rebuilds_at_random_moments_of_a_spread(make_catalog: Callable[[Config], Catalog], tmp_path: Path) -> None:
    """Replicas see a sync's generation at once; started together, their index reads and rebuilds all overlapped.
    Until its moment comes, a replica answers with the index it has; the first build waits for nothing."""
    catalog, root = _synced_team_and_service(make_catalog, tmp_path)
    cache = IndexCache(background_above=0)
    cache.rebuild_spread = 2.0
    picked: list[tuple[float, float]] = []
    waited: list[float] = []
    moment = threading.Event()

    def pick(low: float, high: float) -> float:
        picked.append((low, high))
        return 1.25

    def wait(seconds: float) -> None:
        waited.append(seconds)
        moment.wait(30)

    cache.pick, cache.wait = pick, wait
    with catalog.session() as session:
        assert cache.get(session).named("svc")
    assert not picked and not waited
    (root / "more.yaml").write_text(component("svc-two"), encoding="utf-8")
    assert sync_source(catalog.factory, BackstageSource("main", root)).ok
    try:
        with catalog.session() as session:
            assert cache.get(session).named("svc-two") == []  # the rebuild's thread is waiting for its moment
        deadline = time.monotonic() + 30
        while not waited and time.monotonic() < deadline:
            threading.Event().wait(0.01)
        assert picked == [(0.0, 2.0)] and waited == [1.25]
        with catalog.session() as session:
            assert cache.get(session).named("svc-two") == []
    finally:
        moment.set()
    assert _eventually_named(catalog, cache, "svc-two") == ["component:default/svc-two"]


def test_a_background_rebuild_brings_the_typo_postings_if_the_index_it_replaces_needed_them(
    make_catalog: Callable[[Config], Catalog], tmp_path: Path
) -> None:
    """Else a replica's first typo after each big sync built them in its own answer: about 270 ms of CPU at
    50k names, with the GIL mostly held. A replica that has had no typo builds nothing it has not needed."""
    catalog, root = _synced_team_and_service(make_catalog, tmp_path)
    typo, exact = IndexCache(background_above=0), IndexCache(background_above=0)
    with catalog.session() as session:
        assert [m.entity.ref for m in typo.get(session).resolve("tema-a").matches] == ["group:default/team-a"]
        assert exact.get(session).resolve("team-a").best is not None
        assert typo.get(session).lazy_parts_built and not exact.get(session).lazy_parts_built
    (root / "more.yaml").write_text(component("billing-gateway"), encoding="utf-8")
    assert sync_source(catalog.factory, BackstageSource("main", root)).ok
    for cache in (typo, exact):
        assert _eventually_named(catalog, cache, "billing-gateway") == ["component:default/billing-gateway"]
    rebuilt, plain = typo.cached(), exact.cached()
    assert rebuilt is not None and plain is not None
    assert rebuilt.lazy_parts_built and not plain.lazy_parts_built
    assert [m.entity.ref for m in rebuilt.resolve("biling-gateway").matches] == ["component:default/billing-gateway"]


def test_the_server_keeps_every_rebuilt_index_out_of_full_garbage_collections(make_catalog: Callable[[Config], Catalog], tmp_path: Path) -> None:
    """Each full collection walked the index: 25 ms with the GIL held at 10k entities, 250 ms at 100k, every few seconds under load."""
    catalog, root = _synced_team_and_service(make_catalog, tmp_path)
    catalog.after_index_rebuild(freeze_heap)  # as `wayfinder serve` does

    def collected(index: object) -> bool:
        return any(o is index for o in gc.get_objects())  # what a full collection walks; frozen objects are not listed

    try:
        with catalog.session() as session:
            first = catalog.index(session)
        assert first.named("svc") and not collected(first)
        (root / "more.yaml").write_text(component("svc-two"), encoding="utf-8")
        assert sync_source(catalog.factory, BackstageSource("main", root)).ok
        with catalog.session() as session:
            rebuilt = catalog.index(session)  # a small catalog's index is rebuilt by the answer that notices
        assert rebuilt is not first and rebuilt.named("svc-two") and not collected(rebuilt)
    finally:
        gc.unfreeze()  # this test process goes on collecting as before


def test_an_index_gives_the_collector_no_object_per_name_or_word() -> None:
    """The collection after each rebuild walks every object the new index made, with the GIL held; a
    list per name and per word was 181k objects at 50k entities, every replica at once after a big sync."""
    entities = [
        IndexedEntity(f"component:default/svc-{i}", "component", f"svc-{i}", f"Service {i}", "group:default/team-a", other_names=("Billing",))
        for i in range(2_000)
    ]
    gc.collect()
    before = len(gc.get_objects())
    index = CatalogIndex(entities, 1)
    made = len(gc.get_objects()) - before
    assert made < 20, made  # the index, its few lists, and the postings of what many share ("svc", "billing")
    assert [e.ref for e in index.named("svc-7")] == ["component:default/svc-7"]
    assert len(index.named("billing")) == 2_000


def _eventually_named(catalog: Catalog, cache: IndexCache, name: str) -> list[str]:
    """What the cache's index calls `name` once it has one built after every sync so far (waits for a rebuild in progress)."""
    deadline = time.monotonic() + 30
    while True:
        with catalog.session() as session:
            index = cache.get(session)
            if index.generation >= generation(session) or time.monotonic() > deadline:
                return [e.ref for e in index.named(name)]
        threading.Event().wait(0.01)


def test_a_sync_between_two_questions_is_seen_by_the_second(make_catalog: Callable[[Config], Catalog], tmp_path: Path) -> None:
    """An answer resolves names with the index it has and checks its generation afterwards, with the subject's read (one
    round trip); an answer that finds the generation moved is made again with the rebuilt index, never given stale."""
    catalog, root = _synced_team_and_service(make_catalog, tmp_path)
    titled = "name: svc\n  title: Checkout"
    (root / "org.yaml").write_text(group("team-a") + "---\n" + group("team-b") + "---\n" + component("svc").replace("name: svc", titled), encoding="utf-8")
    assert sync_source(catalog.factory, BackstageSource("main", root)).ok
    first = catalog.ask("who owns Checkout?")
    assert first.subject is not None and first.subject.ref == "component:default/svc"
    moved = component("svc-b", owner="team-b").replace("name: svc-b", titled.replace("svc", "svc-b"))
    (root / "org.yaml").write_text(group("team-a") + "---\n" + group("team-b") + "---\n" + component("svc") + "---\n" + moved, encoding="utf-8")
    assert sync_source(catalog.factory, BackstageSource("main", root)).ok
    second = catalog.ask("who owns Checkout?")  # the previous index still calls svc "Checkout", and svc is still there
    assert second.subject is not None and second.subject.ref == "component:default/svc-b"
    assert second.owner is not None and second.owner.ref == "group:default/team-b"
    (root / "more.yaml").write_text(component("svc-c"), encoding="utf-8")
    assert sync_source(catalog.factory, BackstageSource("main", root)).ok
    third = catalog.ask("who owns svc-c?")  # a name the previous index lacks: no subject read, the generation read alone
    assert third.status == "answered" and third.subject is not None and third.subject.ref == "component:default/svc-c"
