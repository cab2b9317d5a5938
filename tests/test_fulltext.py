"""Described, not named: full-text search over names, titles, descriptions and tags (issue 10, point 3).

Why: people ask "who handles chargebacks" without knowing any entity's name. The database keeps
the text index current (FTS5 triggers on SQLite, a generated tsvector on PostgreSQL), so what a
sync writes is searchable at once, and an answer found this way says so; it answers confidently
only when one entity clearly stands out, otherwise it offers the best candidates.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import text

from catalog.config import Config
from catalog.core import Catalog
from catalog.search.fulltext import CLEAR_MARGIN, TextHit, clearly_best, search_text, terms
from tests.helpers import backstage_config

MakeCatalog = Callable[[Config], Catalog]


def _doc(name: str, *, description: str = "", title: str = "", tags: str = "[]", owner: str = "team-a") -> str:
    return (
        "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n"
        f"  name: {name}\n  title: '{title}'\n  description: '{description}'\n  tags: {tags}\n"
        f"spec:\n  type: service\n  lifecycle: production\n  owner: {owner}\n"
    )


@pytest.fixture
def catalog_dir(tmp_path: Path) -> Path:
    root = tmp_path / "catalog"
    root.mkdir()
    return root


@pytest.fixture
def small(make_catalog: MakeCatalog, catalog_dir: Path, tmp_path: Path) -> Catalog:
    return make_catalog(backstage_config(tmp_path, {"files": catalog_dir}))


def _write(root: Path, **docs: str) -> None:
    for stale in root.glob("*.yaml"):
        stale.unlink()
    for file, body in docs.items():
        (root / f"{file}.yaml").write_text(body, encoding="utf-8")


def _hits(catalog: Catalog, text: str) -> list[TextHit]:
    with catalog.session() as s:
        return search_text(s, text, limit=5)


@pytest.mark.parametrize(
    ("question", "ref", "owner", "field"),
    [
        ("who handles chargebacks", "component:default/chargeback-service", "group:default/risk", None),  # chargeback-service, plural
        ("who deals with disputes", "component:default/chargeback-service", "group:default/risk", "description"),
        ("who owns the thing that sends emails", "component:default/email-sender", "group:default/notifications", "name"),
        ("who do I ask about KYC?", "component:default/identity-verification", "group:default/risk", None),
    ],
)
def test_described_questions_over_the_example_org_answer_and_say_how(
    example_catalog: Catalog, question: str, ref: str, owner: str, field: str | None
) -> None:
    """`field` None: the question names a word of the title ("KYC") or name, so it resolves as a name, not a description."""
    answer = example_catalog.ask(question)
    assert (answer.status, answer.subject and answer.subject.ref) == ("answered", ref), answer.text
    assert answer.owner is not None and answer.owner.ref == owner
    if field:
        assert f"Matched on the {field} of {ref.rpartition('/')[2]}" in answer.text


def test_a_description_only_match_says_so(small: Catalog, catalog_dir: Path) -> None:
    _write(catalog_dir, a=_doc("ledger-writer", description="Posts double-entry journal lines for settlements"))
    assert small.sync()[0].ok
    answer = small.ask("who deals with settlements?")
    assert answer.status == "answered" and answer.subject and answer.subject.ref == "component:default/ledger-writer"
    assert "Matched on the description of ledger-writer" in answer.text
    [hit] = _hits(small, "settlements journal")
    assert hit.fields == ("description",)


def test_tags_and_titles_are_searched_and_stemmed(small: Catalog, catalog_dir: Path) -> None:
    _write(catalog_dir, a=_doc("svc-a", tags="[geocoding, maps]"), b=_doc("svc-b", title="Fraud Scoring Engine"))
    assert small.sync()[0].ok
    assert [(h.ref, h.field) for h in _hits(small, "geocode")] == [("component:default/svc-a", "tags")]
    assert [(h.ref, h.field) for h in _hits(small, "scores")] == [("component:default/svc-b", "title")]


def test_no_clear_winner_offers_candidates_instead_of_answering(small: Catalog, catalog_dir: Path) -> None:
    _write(
        catalog_dir,
        a=_doc("refund-api", description="Reimbursements for card payments", owner="team-a"),
        b=_doc("refund-worker", description="Reimbursements for card payments", owner="team-b"),
    )
    assert small.sync()[0].ok
    answer = small.ask("who handles reimbursements for cards")
    assert answer.status == "ambiguous" and answer.subject is None
    assert {c.ref for c in answer.candidates} == {"component:default/refund-api", "component:default/refund-worker"}
    assert "these match on their" in answer.text


def test_every_describing_word_must_match(small: Catalog, catalog_dir: Path) -> None:
    """Sharing one word with a description is not an answer: "quantum payments" is not the payments service."""
    _write(catalog_dir, a=_doc("pay-core", description="Card payments and refunds"))
    assert small.sync()[0].ok
    assert _hits(small, "who owns quantum payments") == []
    answer = small.ask("who owns the quantum payments thing")
    assert answer.status == "not_found"


def test_the_index_follows_syncs_edits_and_retirements(small: Catalog, catalog_dir: Path) -> None:
    _write(catalog_dir, a=_doc("courier", description="Delivers parcels by bicycle"))
    assert small.sync()[0].ok
    assert [h.ref for h in _hits(small, "bicycle")] == ["component:default/courier"]
    _write(catalog_dir, a=_doc("courier", description="Delivers parcels by drone"))
    assert small.sync()[0].ok
    assert _hits(small, "bicycle") == []
    assert [h.ref for h in _hits(small, "drones")] == ["component:default/courier"]
    _write(catalog_dir, b=_doc("other", description="Nothing to see"))
    assert small.sync()[0].ok
    assert _hits(small, "drone") == []  # retired entities are not found


def test_a_sync_that_changes_no_text_leaves_the_text_index_alone(small: Catalog, catalog_dir: Path) -> None:
    """On SQLite re-tokenising every updated entity was about 80% of a sync's write lock, even when only owners changed."""
    if small.engine.dialect.name != "sqlite":
        pytest.skip("PostgreSQL's text index is a generated column, computed per row by the database")
    _write(catalog_dir, a=_doc("courier", description="Delivers parcels by bicycle"))
    assert small.sync()[0].ok
    before = _text_index(small)
    _write(catalog_dir, a=_doc("courier", description="Delivers parcels by bicycle", owner="team-b"))
    assert small.sync()[0].updated == 1
    assert _text_index(small) == before
    assert [h.ref for h in _hits(small, "bicycle")] == ["component:default/courier"]


def _text_index(catalog: Catalog) -> list[tuple[int, bytes]]:
    with catalog.session() as s:
        return [(row[0], row[1]) for row in s.execute(text("SELECT id, block FROM entity_fts_data ORDER BY id"))]


def test_question_words_are_not_search_terms() -> None:
    assert terms("Who owns the thing that sends emails?") == ["sends", "emails"]
    assert terms("who do I ask about KYC?") == ["kyc"]
    assert terms("who owns it") == []


@pytest.mark.parametrize(
    ("scores", "clear"),
    [
        ([3.0], True),
        ([3.0, 3.0 / CLEAR_MARGIN], True),
        ([3.0, 3.0 / CLEAR_MARGIN + 0.01], False),
        ([3.0, 2.9, 0.1], False),
        ([], False),
    ],
)
def test_the_clear_margin(scores: list[float], clear: bool) -> None:
    hits = [TextHit(f"component:default/c{i}", s, ("description",)) for i, s in enumerate(scores)]
    assert clearly_best(hits) is clear
