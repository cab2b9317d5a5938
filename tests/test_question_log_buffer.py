"""An answer's question log row and usage event are written behind it, in batches (issue 16 point 2).

Why: writing them was a third of an answer's CPU and its only write and commit. They now wait in the
catalog's `RowBuffer` for at most half a second. What must hold: the rows do reach the table, on
their own and at once when asked (`flush_records`); disposing the catalog (a server stopping, the
CLI exiting) writes what waits; a database that refuses the write costs the rows, with a warning,
never the answer, and the buffer keeps recording afterwards.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, create_engine, event, func, select
from sqlmodel import col

from catalog.adoption.events import EVENT_TABLE, Kind, Surface, event_values
from catalog.adoption.models import AdoptionEvent
from catalog.config import Config
from catalog.core import Catalog
from catalog.store.models import QuestionLog, table_of
from catalog.store.write_behind import RowBuffer
from tests.helpers import read_only_url

QUESTION = "who owns payments-service?"
NO_SUCH_TABLE = Table("no_such_table", MetaData(), Column("id", Integer, primary_key=True))


def logged(url: str, question: str = QUESTION) -> tuple[int, int]:
    """(question log rows, question usage events) for `question`, read on a connection of its own."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(select(func.count()).select_from(QuestionLog).where(col(QuestionLog.question) == question)).scalar_one()
            events = conn.execute(select(func.count()).select_from(AdoptionEvent).where(col(AdoptionEvent.kind) == "question")).scalar_one()
    finally:
        engine.dispose()
    return int(rows), int(events)


def until(condition: Callable[[], bool], seconds: float = 10.0) -> bool:
    """Whether `condition` came true before `seconds` passed (the buffer's thread runs on its own clock)."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def test_an_answers_rows_reach_the_table_on_their_own(example_catalog: Catalog) -> None:
    example_catalog.records.interval = 0.05
    answer = example_catalog.ask(QUESTION, transport="slack", asker="U0ASKER")
    assert answer.status == "answered"
    assert until(lambda: logged(example_catalog.database_url) == (1, 1))  # written by the buffer's thread, nobody flushed


def test_the_answer_waits_for_no_write_and_flush_records_writes_at_once(example_catalog: Catalog) -> None:
    example_catalog.records.interval = 3600  # the thread stays out of it
    example_catalog.ask(QUESTION)
    example_catalog.ask_about("who owns it?", ref="component:default/ledger-service", intent="owner")
    assert example_catalog.records.pending == 4 and logged(example_catalog.database_url) == (0, 0)
    assert example_catalog.flush_records() == 4
    assert logged(example_catalog.database_url) == (1, 2) and example_catalog.records.pending == 0


def test_disposing_the_catalog_writes_what_waits_and_later_rows_go_at_once(example_catalog: Catalog) -> None:
    """What a server does when it stops (its lifespan's end) and the CLI after its answer."""
    example_catalog.records.interval = 3600
    example_catalog.ask(QUESTION)
    example_catalog.dispose()
    assert logged(example_catalog.database_url) == (1, 1)
    example_catalog.ask(QUESTION)  # an answer still in flight when the server stopped
    assert logged(example_catalog.database_url) == (2, 2) and example_catalog.records.pending == 0


def test_a_refused_write_warns_and_costs_the_rows_never_the_answer(example_catalog: Catalog, caplog: pytest.LogCaptureFixture) -> None:
    read_only = Catalog(read_only_url(example_catalog.database_url), Config())
    try:
        read_only.records.interval = 3600
        answer = read_only.ask(QUESTION)
        assert answer.status == "answered" and "payments" in answer.text
        with caplog.at_level(logging.WARNING, logger="catalog.store.write_behind"):
            assert read_only.flush_records() == 0
        [warning] = [r.getMessage() for r in caplog.records if "not written" in r.getMessage()]
        assert "1 question_log, 1 adoption_event" in warning and "read" in warning.lower() and "VALUES" not in warning  # the reason, not the statement
        assert read_only.records.pending == 0  # dropped, not kept to fail again and again
        assert read_only.ask(QUESTION).status == "answered"
    finally:
        read_only.dispose()


def test_rows_added_together_are_written_together_and_a_failed_batch_does_not_stop_the_thread(
    example_catalog: Catalog, caplog: pytest.LogCaptureFixture
) -> None:
    buffer = RowBuffer(example_catalog.factory, interval=0.02)
    question_log = table_of(QuestionLog)
    row = {"asked_at": example_catalog.clock(), "surface": "cli", "question": QUESTION, "status": "answered", "candidates": []}
    try:
        with caplog.at_level(logging.WARNING, logger="catalog.store.write_behind"):
            buffer.add((question_log, row), (NO_SUCH_TABLE, {"id": 1}))
            assert until(lambda: any("not written" in r.getMessage() for r in caplog.records))
        assert logged(example_catalog.database_url) == (0, 0)  # neither, though its own insert was fine
        buffer.add((question_log, row))
        assert until(lambda: logged(example_catalog.database_url) == (1, 0))  # the thread is still writing
    finally:
        buffer.close()


def test_closing_waits_for_the_batch_the_thread_is_writing(example_catalog: Catalog) -> None:
    """A worker of `serve --workers` ends with `os._exit` right after closing: a batch the thread had
    already taken was not pending any more, so closing wrote nothing and the exit killed the write.
    That is most likely the question log row `tests/e2e/test_serve_workers.py` missed in one clean-clone CI run."""
    buffer = RowBuffer(example_catalog.factory, interval=0.01)
    question_log = table_of(QuestionLog)
    row = {"asked_at": example_catalog.clock(), "surface": "cli", "question": QUESTION, "status": "answered", "candidates": []}
    writing, release = threading.Event(), threading.Event()

    def hold_the_threads_insert(conn: Any, cursor: Any, sql: str, *args: Any) -> None:
        if sql.lstrip().upper().startswith("INSERT") and threading.current_thread().name == "wayfinder-row-buffer":
            writing.set()
            assert release.wait(30)

    seen_when_closed: list[tuple[int, int]] = []

    def close() -> None:
        buffer.close()
        seen_when_closed.append(logged(example_catalog.database_url))

    event.listen(example_catalog.engine, "before_cursor_execute", hold_the_threads_insert)
    try:
        buffer.add((question_log, row))
        assert writing.wait(30)  # the thread took the batch and is inside its transaction
        closer = threading.Thread(target=close)
        closer.start()
        closer.join(0.3)  # time for a close that does not wait to return early (it passes either way once it waits)
        release.set()
        closer.join(30)
    finally:
        release.set()
        event.remove(example_catalog.engine, "before_cursor_execute", hold_the_threads_insert)
    assert seen_when_closed == [(1, 0)]


def test_a_big_batch_is_written_whole_and_exactly(example_catalog: Catalog) -> None:
    """On SQLite a batch goes in as statements of many rows each (one step of the database each, not one
    a row): 250 views of varied values span three of them, and each row must come back as it went in."""
    t0 = datetime(2026, 3, 14, 9, 26, 53, 589793, tzinfo=UTC)
    added = [
        event_values(
            at=t0 + timedelta(seconds=i), surface=Surface.WEB_PAGE, kind=Kind.PAGE_VIEW, outcome="found" if i % 3 else "not_found",
            who=None if i % 2 else f"U{i:04d}", entity_ref=f"component:default/svc-{i}", latency_ms=None if i % 5 else i / 7,
            thread=f"C1:{i}.0" if i % 7 == 0 else None,
        )
        for i in range(250)
    ]  # fmt: skip
    buffer = RowBuffer(example_catalog.factory, interval=3600)
    buffer.add(*[(EVENT_TABLE, row) for row in added[:100]])
    buffer.add(*[(EVENT_TABLE, row) for row in added[100:]])
    assert buffer.flush() == 250
    with example_catalog.session() as session:
        stored = session.scalars(select(AdoptionEvent).where(col(AdoptionEvent.kind) == Kind.PAGE_VIEW).order_by(col(AdoptionEvent.id))).all()
    assert [{name: getattr(e, name) for name in added[0]} for e in stored] == added


def test_rows_leaving_out_a_column_with_a_default_get_it(example_catalog: Catalog) -> None:
    labelled = Table("buffered_labels", MetaData(), Column("id", Integer, primary_key=True), Column("name", String), Column("label", String, default="none yet"))
    labelled.create(example_catalog.engine)
    buffer = RowBuffer(example_catalog.factory, interval=3600)
    buffer.add((labelled, {"name": "a"}), (labelled, {"name": "b", "label": "given"}))
    assert buffer.flush() == 2
    with example_catalog.engine.connect() as conn:
        assert conn.execute(select(labelled.c.name, labelled.c.label).order_by(labelled.c.name)).all() == [("a", "none yet"), ("b", "given")]


def test_batches_of_any_size_use_a_few_statement_texts(example_catalog: Catalog) -> None:
    """The driver keeps the 128 statements it prepared last, by their text, the reads' among them:
    inserts in a new text at every batch would push those out, to be prepared again."""
    if example_catalog.engine.dialect.name != "sqlite":
        pytest.skip("PostgreSQL's driver pipelines an executemany of one statement")
    texts: set[str] = set()
    event.listen(example_catalog.engine, "before_cursor_execute", lambda conn, cursor, sql, *rest: texts.add(sql) if "adoption_event" in sql else None)
    buffer = RowBuffer(example_catalog.factory, interval=3600)
    t0 = datetime(2026, 3, 14, 9, 0, tzinfo=UTC)
    for size in range(1, 200, 7):
        buffer.add(*[(EVENT_TABLE, event_values(at=t0, surface=Surface.WEB_PAGE, kind=Kind.PAGE_VIEW, outcome="found")) for _ in range(size)])
        assert buffer.flush() == size
    assert 1 < len(texts) <= 8
