"""Bookkeeping writes that must not hold up an answer while a sync holds SQLite's write lock.

SQLite has one write lock per database, and a big sync's write transaction holds it for seconds.
A write that only records what happened or caches what was fetched (a usage event, Slack
identities) is tried at once, without waiting (`now_or_later`); if the lock is taken, it is written
by a background thread that waits its turn (the busy timeout), so the reply goes out now and the
row follows when the sync commits. PostgreSQL locks rows: there the write simply happens in place.
The question log with its usage events and page views, one per answer or page and needed by nobody
at once, skip even the try: `RowBuffer` batches them.
"""

from __future__ import annotations

import atexit
import functools
import itertools
import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Table, insert
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import OperationalError, SQLAlchemyError
from sqlmodel import Session

from catalog.store.database_errors import driver_reason
from catalog.store.engine import SQLITE_BUSY_TIMEOUT_MS, SessionFactory, bind_processors, convert_rows, session_factory, session_scope

log = logging.getLogger(__name__)


@contextmanager
def without_waiting(session: Session) -> Iterator[None]:
    """On SQLite, writes in this block fail at once ("database is locked") instead of waiting for the lock."""
    conn = session.connection()
    if conn.dialect.name != "sqlite":
        yield
        return
    conn.exec_driver_sql("PRAGMA busy_timeout=0")
    try:
        yield
    finally:
        conn.exec_driver_sql(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")


def now_or_later(session: Session, work: Callable[[Session], None], what: str) -> None:
    """Run `work` in a savepoint of `session` without waiting for SQLite's write lock; if it is taken, in the background.

    Other database errors propagate, as they would from `work` itself. PostgreSQL locks rows, so
    there the write happens in place, without a savepoint (it would cost two more round trips).
    """
    if session.get_bind().dialect.name != "sqlite":
        work(session)
        session.flush()
        return
    try:
        with without_waiting(session), session.begin_nested():
            work(session)
            session.flush()
    except OperationalError as exc:
        if "locked" not in str(exc.orig):
            raise
        write_later(session_factory(session.get_bind()), work, what)  # type: ignore[arg-type]


def write_later(factory: SessionFactory, work: Callable[[Session], None], what: str) -> threading.Thread:
    """Run `work` in its own transaction on a background thread, waiting for the lock as long as the busy timeout allows."""

    def write() -> None:
        try:
            with session_scope(factory) as session:
                work(session)
        except SQLAlchemyError as exc:
            log.warning("%s not written: %s", what, driver_reason(exc))

    thread = threading.Thread(target=write, name="wayfinder-write-behind", daemon=True)
    thread.start()
    return thread


class RowBuffer:
    """Rows that only record what happened (question log rows, usage events, page views), inserted in
    batches by one background thread.

    Recording then costs a question or a page an append to a list: no statement, no savepoint, no wait
    for SQLite's write lock, no commit (a flush to disk on PostgreSQL). The thread writes what gathered
    every `interval` seconds in one transaction (one executemany per table), waiting its turn for
    the lock like `write_later`. Rows added in one `add` call are written together or not at all.

    Durability: a process killed with -9 loses the rows of at most its last interval (never an answer,
    which was already sent, nor anything else written in a transaction of its own); on SQLite, while a
    sync holds the write lock, those gathered since the write began to wait (up to the busy timeout). `close` writes what
    is pending; the catalog calls it when disposed and at exit. A write the database refuses (read-only,
    the lock held past the busy timeout) logs a warning and drops the batch: the rows are not retried.
    """

    def __init__(self, factory: SessionFactory, *, interval: float = 0.5) -> None:
        self.factory, self.interval = factory, interval
        self._rows: list[tuple[Table, dict[str, Any]]] = []
        self._lock = threading.Lock()
        self._closed = threading.Event()
        self._thread: threading.Thread | None = None

    def add(self, *rows: tuple[Table, dict[str, Any]]) -> None:
        """Queue `rows` (table, column values), to be written together within `interval` seconds.

        After `close` (a request still in flight while the server stops) they are written at once.
        """
        with self._lock:
            self._rows.extend(rows)
            closed = self._closed.is_set()
            if self._thread is None and not closed:  # started on first use: a process that records nothing starts no thread
                self._thread = threading.Thread(target=self._run, name="wayfinder-row-buffer", daemon=True)
                self._thread.start()
                atexit.register(self.close)
        if closed:
            self.flush()

    def flush(self) -> int:
        """Write the pending rows now, in the caller's thread; returns how many were written (0 when refused)."""
        with self._lock:
            rows, self._rows = self._rows, []
        if not rows:
            return 0
        by_table: dict[Table, list[dict[str, Any]]] = {}
        for table, row in rows:
            by_table.setdefault(table, []).append(row)
        try:
            with session_scope(self.factory) as session:
                for table, values in by_table.items():
                    insert_many(session, table, values)
        except SQLAlchemyError as exc:
            counts = ", ".join(f"{len(values)} {table.name}" for table, values in by_table.items())
            log.warning("rows not written (%s): %s", counts, driver_reason(exc))
            return 0
        return len(rows)

    @property
    def pending(self) -> int:
        """How many rows wait for the next write."""
        with self._lock:
            return len(self._rows)

    def close(self) -> None:
        """Stop the thread and write what is pending (a clean shutdown loses nothing); safe to call again.

        A batch the thread took before the stop is finished first: it was no longer pending, and a
        worker of `serve --workers` ends with `os._exit` right after, which killed it mid-write.
        """
        self._closed.set()
        atexit.unregister(self.close)  # nothing left for the exit to do: a process that opened many catalogs (tests) keeps none of them
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join()
        self.flush()

    def _run(self) -> None:
        while not self._closed.wait(self.interval):
            try:
                self.flush()
            except Exception:  # anything but a refused write (logged in `flush`) is a bug: say so, and keep recording
                log.exception("writing buffered rows failed")


SQLITE_PARAMETERS = 999  # what a statement may bind on any SQLite (32,766 since 3.32)


def insert_many(session: Session, table: Table, values: list[dict[str, Any]]) -> None:
    """INSERT `values` (dicts of column values) in the caller's transaction; on SQLite, many rows a statement.

    `executemany` steps SQLite once per row, letting go of the GIL for each step and taking it back
    after: the serving thread, which wants the GIL too, lost it for a moment at every row. Half a
    second of the page benchmark's traffic (300 page views, or 600 rows of answers) held p99 about
    8 ms above what it was with no rows written at all. One statement of many rows is one step: the
    same rows, a ninetieth of the handoffs. PostgreSQL's driver sends an `executemany` as one
    pipeline, and keeps it; so do rows that leave out a column with a default, which SQLAlchemy
    fills in.
    """
    dialect = session.get_bind().dialect
    by_columns: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for v in values:
        by_columns.setdefault(tuple(v), []).append(v)
    for columns, rows in by_columns.items():
        statement = _multi_row(dialect, table, columns) if dialect.paramstyle == "qmark" else None
        if statement is None:
            session.execute(insert(table), rows)
            continue
        head, one_row, processors = statement
        converted, start, connection = convert_rows([tuple(row.values()) for row in rows], processors), 0, session.connection()
        for size in _statement_sizes(len(converted), max(1, SQLITE_PARAMETERS // len(columns))):
            part = converted[start : start + size]
            connection.exec_driver_sql(head + ", ".join([one_row] * size), tuple(itertools.chain.from_iterable(part)))
            start += size


def _statement_sizes(rows: int, most: int) -> Iterator[int]:
    """Rows per statement: `most` while they last, then the largest powers of two, so a table's inserts
    have at most eight texts. The driver keeps the 128 statements it prepared last, by their text, the
    reads' among them: a remainder of any length would bring a new text at nearly every batch and push
    the others out, to be prepared again."""
    while rows:
        size = most if rows >= most else 1 << (rows.bit_length() - 1)
        yield size
        rows -= size


@functools.lru_cache(maxsize=64)
def _multi_row(dialect: Dialect, table: Table, columns: tuple[str, ...]) -> tuple[str, str, tuple[Callable[[Any], Any] | None, ...]] | None:
    """`INSERT INTO table (columns) VALUES `, one row's `(?, ...)`, and each column's bind processor;
    None when a column left out has a default for SQLAlchemy to fill in."""
    if any(c.default is not None for c in table.c if c.name not in columns):
        return None
    q = dialect.identifier_preparer.quote
    return f"INSERT INTO {q(table.name)} ({', '.join(map(q, columns))}) VALUES ", f"({', '.join('?' * len(columns))})", bind_processors(dialect, table, columns)
