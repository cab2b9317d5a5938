"""An exact-name answer takes at most 3 round trips on PostgreSQL (issue 16 point 2); one with its
card once took about 16, and until the question log was buffered, 5 (with BEGIN and COMMIT).

Now 1: the subject's neighbourhood (`reads.load_neighbourhood`: entities with their source state,
two hops of relations), which brings the catalog's generation along for the index's check
(`IndexCache.confirm`). No write: the question log's row and the
adoption usage event (issue 15) join the catalog's `RowBuffer`, written in batches by its thread;
and so no transaction on PostgreSQL (`store.engine.read_engine`).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import event, func, select
from sqlmodel import col

from catalog.adoption.models import AdoptionEvent
from catalog.core import Catalog
from catalog.store.models import QuestionLog
from tests.db_trips import round_trips


@contextmanager
def statements(catalog: Catalog) -> Iterator[list[str]]:
    seen: list[str] = []

    def record(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        seen.append(statement)

    event.listen(catalog.engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(catalog.engine, "before_cursor_execute", record)


@pytest.mark.parametrize(
    "question",
    ["who owns payments-service?", "who is on call for checkout-web?", "what depends on ledger-db?", "who is in team payments?", "where is payments-service"],
)
def test_an_exact_name_answer_with_its_card_reads_in_one_statement_and_its_rows_follow_in_the_batch(example_catalog: Catalog, question: str) -> None:
    example_catalog.records.interval = 3600  # the buffer's thread stays out of the count: the test flushes
    example_catalog.ask("who owns ledger-db?")  # the index is built once per process, not per answer
    example_catalog.flush_records()
    before = rows(example_catalog)
    with statements(example_catalog) as seen, round_trips(example_catalog) as trips:
        answer = example_catalog.ask(question)
    assert answer.status in ("answered", "no_data") and answer.card is not None
    assert not any("INSERT" in s.upper() for s in seen), seen
    assert trips == [trips[0], 0] and trips[0] <= 1, seen  # on PostgreSQL without BEGIN and COMMIT: the answer only reads
    assert rows(example_catalog) == before  # not yet: the answer did not wait for them
    assert example_catalog.flush_records() == 2
    assert rows(example_catalog) == (before[0] + 1, before[1] + 1)


def rows(catalog: Catalog) -> tuple[int, int]:
    """How many question log rows and question usage events there are."""
    with catalog.session() as session:
        logged = session.scalar(select(func.count()).select_from(QuestionLog))
        events = session.scalar(select(func.count()).select_from(AdoptionEvent).where(col(AdoptionEvent.kind) == "question"))
    return int(logged or 0), int(events or 0)


NEIGHBOURHOODS = ["component:default/payments-service", "group:default/payments", "api:default/payments-grpc", "system:default/payments-platform", "domain:default/money-movement"]


@pytest.mark.parametrize("ref", NEIGHBOURHOODS)
def test_the_neighbourhood_holds_what_the_cards_separate_lookups_read(example_catalog: Catalog, ref: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The memo filled in one statement must hold exactly what the card's lookups would read one by one."""
    from catalog.answers import card
    from catalog.store import reads

    with monkeypatch.context() as patched, example_catalog.session() as session:
        patched.setattr(card, "load_neighbourhood", lambda *_: None)  # each lookup its own statement
        entity = reads.get_entity(session, ref)
        assert entity is not None
        one_by_one = card.build_card(session, entity)
    with example_catalog.session() as session:
        reads.load_neighbourhood(session, ref)
        entity = reads.get_entity(session, ref)
        assert entity is not None
        with statements(example_catalog) as seen:
            prefetched = card.build_card(session, entity)
        assert seen == []
    assert prefetched == one_by_one
