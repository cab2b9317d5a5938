"""The CLI keeps the resolution index between processes, and never uses one of another catalog state.

Why: `wayfinder ask` is a new process per question; rebuilding the index from every entity took
seconds at 100k entities. A saved index is only worth it if it can never answer from an older
catalog: any change (generation), another database, or a database recreated under the same URL
must rebuild, and a damaged or foreign file must be ignored, not trusted (unpickling runs code).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from catalog.core import Catalog


@pytest.fixture
def open_cli_catalog(example_catalog: Catalog, tmp_path: Path) -> Iterator[Callable[[], Catalog]]:
    """A new `Catalog` per call over the example database, as each `wayfinder ask` process opens one."""
    opened: list[Catalog] = []

    def open_one() -> Catalog:
        opened.append(Catalog(example_catalog.database_url, example_catalog.config, index_dir=tmp_path / "cache"))
        return opened[-1]

    yield open_one
    for catalog in opened:
        catalog.dispose()


def _named(catalog: Catalog, name: str) -> list[str]:
    with catalog.session() as session:
        return [e.ref for e in catalog.index(session).named(name)]


def _sql(catalog: Catalog, statement: str) -> None:
    with catalog.session() as session:
        session.execute(text(statement))


def _rename_without_a_new_generation(catalog: Catalog) -> None:
    """A change the generation does not show, so only an index built from the rows can see it."""
    _sql(catalog, "UPDATE entity SET name = 'renamed-service' WHERE ref = 'component:default/payments-service'")


def test_a_new_process_loads_the_saved_index_until_the_catalog_changes(open_cli_catalog: Callable[[], Catalog], tmp_path: Path) -> None:
    first = open_cli_catalog()
    assert first.ask("who owns payments-service?").answered
    [saved] = (tmp_path / "cache").iterdir()
    assert saved.stat().st_mode & 0o777 == 0o600

    _rename_without_a_new_generation(first)
    assert _named(open_cli_catalog(), "renamed-service") == []  # from the file: the rows were not read

    _sql(first, "UPDATE catalog_state SET generation = generation + 1")  # what every sync that changes something does
    after_change = open_cli_catalog()
    assert _named(after_change, "renamed-service") == ["component:default/payments-service"]


def test_a_recreated_database_under_the_same_url_is_a_miss(open_cli_catalog: Callable[[], Catalog]) -> None:
    first = open_cli_catalog()
    _named(first, "payments-service")
    _rename_without_a_new_generation(first)
    _sql(first, "UPDATE sync_run SET started_at = '2001-01-01 00:00:00'")  # another first sync: another database

    assert _named(open_cli_catalog(), "renamed-service") == ["component:default/payments-service"]


@pytest.mark.parametrize("damage", ["garbage", "group-writable"])
def test_a_damaged_or_foreign_file_is_rebuilt(open_cli_catalog: Callable[[], Catalog], tmp_path: Path, damage: str) -> None:
    first = open_cli_catalog()
    _named(first, "payments-service")
    [saved] = (tmp_path / "cache").iterdir()
    if damage == "garbage":
        saved.write_bytes(b"not a pickle")
    else:
        os.chmod(saved, 0o664)
    _rename_without_a_new_generation(first)

    assert _named(open_cli_catalog(), "renamed-service") == ["component:default/payments-service"]
    assert _named(open_cli_catalog(), "renamed-service") == ["component:default/payments-service"]  # saved again, readable


def test_the_saved_index_answers_a_typo_without_building_anything(open_cli_catalog: Callable[[], Catalog]) -> None:
    """The trigram postings a typo needs are saved with the index: a new process only loads them."""
    assert open_cli_catalog().ask("who owns payments-service?").answered
    later = open_cli_catalog()
    with later.session() as session:
        index = later.index(session)
    assert index._trigram_postings is not None  # loaded, not left for the first typo to build
    assert later.ask("who owns paymnts-service?").answered


def test_the_saved_index_greets_without_reading_the_catalog(open_cli_catalog: Callable[[], Catalog]) -> None:
    """Help's examples name the busiest team and what it owns: saved with the index, not found again by
    reading every entity of the file (at 100k entities a CLI "hi" took 0.4 s for that)."""
    from catalog.store.index_file import Chunks

    first = open_cli_catalog().ask("hi")
    later = open_cli_catalog()
    with later.session() as session:
        index = later.index(session)
    again = later.ask("hi")
    assert again.examples == first.examples and "what does checkout own?" in again.examples, again.examples
    assert isinstance(index.entities, Chunks) and not index.entities._chunks  # not one entity unpickled


def test_the_saved_index_reads_only_what_a_question_needs_and_resolves_as_the_built_one(example_catalog: Catalog, tmp_path: Path) -> None:
    """Loaded piecewise from the file, the index answers every kind of lookup as the index built from the rows:
    exact names and refs, aliases and titles, partial words, typos, absent names, pickers' completions, and a
    walk over every entity (help examples). An exact name reads a small part of the file, not all of it."""
    from catalog.store.index_file import Chunks, IndexFile
    from catalog.store.reads import load_index

    with example_catalog.session() as session:
        built = load_index(session)
    saved = IndexFile(tmp_path, "sqlite:///example")
    saved.save(("k",), built)
    loaded = saved.load(("k",))
    assert loaded is not None and saved.load(("other",)) is None

    entities = loaded.entities
    assert isinstance(entities, Chunks)
    assert loaded.resolve("payments-service").status == "found"
    assert 0 < len(entities._chunks) <= 2 < len(entities._spans)  # one entity's chunk, not the catalog

    names = [e.name for e in built.entities]
    queries = names + [e.ref for e in built.entities] + [e.title for e in built.entities if e.title]
    queries += [n[:-2] + n[-1] for n in names if len(n) > 6]  # a letter dropped
    queries += [" ".join(n.split("-")[:2]) for n in names] + ["ledg", "pay serv", "nothing-like-this", "ui", "x"]
    for q in queries:
        assert loaded.resolve(q) == built.resolve(q), q
        assert loaded.complete(q, allowed=lambda e: True, limit=8) == built.complete(q, allowed=lambda e: True, limit=8), q
        assert loaded.starts_a_word(q[:3]) == built.starts_a_word(q[:3])
    assert list(loaded.entities) == built.entities and len(loaded) == len(built) and loaded.names() == built.names()
