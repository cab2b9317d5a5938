"""The Slack-independent pieces the bot relies on: spotting names, feedback votes, claim-once keys."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from catalog.answers.feedback import record_feedback
from catalog.core import Catalog
from catalog.search.resolve import CatalogIndex, IndexedEntity
from catalog.search.spot import spot_entities
from catalog.store.claims import claim
from catalog.store.models import AnswerFeedback

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def _index(*names: str, kind: str = "component") -> CatalogIndex:
    return CatalogIndex([IndexedEntity(ref=f"{kind}:default/{n}", kind=kind, name=n, title=None, owner_ref=None) for n in names])


def test_spotting_finds_exact_names_in_order_and_prefers_longer_phrases() -> None:
    index = _index("ledger-db", "payments", "payments-service", "db")

    found = spot_entities(index, "Is `payments service` slow? <https://x.example|ledger-db> says so, from the db.", limit=5)

    assert [e.name for e in found] == ["payments-service", "ledger-db"]  # "db" is too short to mean anything


def test_spotting_ignores_ordinary_words_and_fuzzy_lookalikes_and_respects_the_limit() -> None:
    index = _index("search", "checkout", "cart", "orders")

    assert spot_entities(index, "lunch at noon, anyone? checkuot is fine") == []
    assert [e.name for e in spot_entities(index, "search checkout cart orders", limit=2)] == ["search", "checkout"]


def test_a_second_vote_by_the_same_person_replaces_the_first(example_catalog: Catalog) -> None:
    vote = {"question": "who owns x?", "intent": "owner", "ref": "component:default/x", "user_id": "U1", "transport": "slack"}
    with example_catalog.session() as session:
        record_feedback(session, helpful=True, now=NOW, **vote)
    with example_catalog.session() as session:
        record_feedback(session, helpful=False, now=NOW + timedelta(minutes=1), **vote)
        record_feedback(session, helpful=True, now=NOW, **{**vote, "user_id": "U2"})

    with example_catalog.session() as session:
        rows = session.scalars(select(AnswerFeedback).order_by(AnswerFeedback.user_id)).all()
    assert [(r.user_id, r.helpful) for r in rows] == [("U1", False), ("U2", True)]


def test_a_key_is_claimed_once(example_catalog: Catalog) -> None:
    with example_catalog.session() as session:
        first = claim(session, "slack:Ev1", now=NOW)
    with example_catalog.session() as session:
        again, other = claim(session, "slack:Ev1", now=NOW), claim(session, "slack:Ev2", now=NOW)

    assert (first, again, other) == (True, False, True)
