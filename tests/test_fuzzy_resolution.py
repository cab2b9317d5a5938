"""Typo-tolerant resolution: typos are answered, names with words added and shared prefixes are not."""

from __future__ import annotations

import random

import pytest

from benchmarks.bench_accuracy import indexed, wayfinder
from benchmarks.generate import _typo
from benchmarks.queries import CATEGORIES, query_set
from catalog.search import resolve
from catalog.search.resolve import CatalogIndex, IndexedEntity, compact

OWNED = {
    "payments-ledger-service": "group:default/ledger",
    "payments-ledger-worker": "group:default/batch",
    "catalog-config": "group:default/platform",
    "orders-plans-job": "group:default/orders",
    "orders-plans-adapter": "group:default/partners",
    "iot-alerts-web": "group:default/iot",
}


@pytest.fixture(scope="module")
def index() -> CatalogIndex:
    return CatalogIndex([IndexedEntity(f"component:default/{n}", "component", n, None, owner) for n, owner in OWNED.items()])


@pytest.mark.parametrize(
    ("written", "name"),
    [
        ("payments-ledger-servcie", "payments-ledger-service"),  # one swap
        ("paymnts-ledgr-service", "payments-ledger-service"),  # two letters dropped
        ("iot-alerst-wb", "iot-alerts-web"),  # two typos in a short name
        ("orders-plans-j", "orders-plans-job"),  # a last word cut to one letter
        ("payments-ledger-revice", "payments-ledger-service"),  # both typos in a long generic word
    ],
)
def test_typos_and_cut_words_resolve(index: CatalogIndex, written: str, name: str) -> None:
    found = index.resolve(written)
    assert found.status == "found" and found.best is not None and found.best.name == name


@pytest.mark.parametrize("written", ["catalog-config-rpc", "catalog config eu", "catalogconfigrpc", "catalog-configs-eu"])
def test_a_name_with_words_added_is_suggested_not_answered(index: CatalogIndex, written: str) -> None:
    found = index.resolve(written)
    assert found.status == "not_found"
    assert [m.entity.name for m in found.matches][:1] == ["catalog-config"]


@pytest.mark.parametrize("written", ["payments ledg", "payments-ledger", "orders plans"])
def test_a_prefix_of_names_other_teams_own_asks(index: CatalogIndex, written: str) -> None:
    found = index.resolve(written)
    assert found.status == "ambiguous"
    assert len(found.matches) == 2


def test_too_many_typos_are_only_suggestions(index: CatalogIndex) -> None:
    found = index.resolve("pymnts-ldgr-srvc")
    assert found.status == "not_found"
    assert "payments-ledger-service" in [m.entity.name for m in found.matches]


def test_generated_known_answer_queries_are_answered_right() -> None:
    """The benchmark's query set at a small size: every category right, nothing confidently wrong."""
    queries = query_set(3000, per_category=8)
    answer = wayfinder(CatalogIndex(indexed(3000, 7)))
    wrong = [(q.category, q.text, q.expected, got) for q in queries if (got := answer(q)) != q.expected]
    assert {q.category for q in queries} == set(CATEGORIES)
    assert wrong == []


def test_the_typo_candidates_hold_every_name_two_typos_away_and_few_others() -> None:
    """The pigeonhole step (scored by rapidfuzz afterwards) at a size where not every name is scored.

    Every name two typos away (deleted, swapped or replaced letters, anywhere) is a candidate; names
    that merely share a common word with the query (`-consumer`) are not all read: two of the query's
    pieces must be held, not one.
    """
    entities = indexed(5000, 7)
    index = CatalogIndex(entities)
    names = [compact(e.name) for e in entities]
    rng = random.Random(11)
    long_names = [i for i, name in enumerate(names) if len(name) >= 14]
    for i in rng.sample(long_names, 300):
        written = _typo(_typo(entities[i].name, rng), rng)
        assert i in index._holding_a_piece(compact(written)), (written, entities[i].name)
    word = max({n[-6:] for n in names}, key=lambda end: sum(n.endswith(end) for n in names))  # the commonest ending
    query = compact(next(e.name for e in entities if compact(e.name).endswith(word) and len(compact(e.name)) >= 18)) + "x"
    assert len(index._holding_a_piece(query)) < sum(n.endswith(word) for n in names) / 4


def test_long_postings_intersected_with_numpy_give_the_same_candidates(monkeypatch: pytest.MonkeyPatch) -> None:
    """At 1M names the pigeonhole's postings are intersected with numpy; whichever way, the same names are candidates."""
    entities = indexed(3000, 7)
    index = CatalogIndex(entities)
    rng = random.Random(5)
    queries = [compact(_typo(_typo(e.name, rng), rng)) for e in rng.sample(entities, 150)]
    with_sets = [index._holding_a_piece(q) for q in queries]
    monkeypatch.setattr(resolve, "NUMPY_ABOVE", 0)
    monkeypatch.setattr(resolve, "NUMPY_CATALOG", 0)
    assert [index._holding_a_piece(q) for q in queries] == with_sets
    assert sum(map(len, with_sets)) > len(queries)  # not all empty
