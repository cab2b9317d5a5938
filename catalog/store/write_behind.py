"""Bookkeeping writes that must not hold up an answer while a sync holds SQLite's write lock.

SQLite has one write lock per database, and a big sync's write transaction holds it for seconds.
A write that only records what happened or caches what was fetched (the question log, Slack
identities) is tried at once, without waiting; if the lock is taken, it is written by a background
thread that waits its turn (the busy timeout), so the answer goes out now and the row follows when
the sync commits. PostgreSQL locks rows: there
the write simply happens in place. Page views, many per second and needed by nobody at once,
skip even the try: `RowBuffer` batches them.
"""

from __future__ import annotations

import atexit
import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import insert
from sqlalchemy.exc import OperationalError, SQLAlchemyError
from sqlmodel import Session, SQLModel

from catalog.store.database_errors import driver_reason
from catalog.store.engine import SQLITE_BUSY_TIMEOUT_MS, SessionFactory, session_factory, session_scope

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
    """Rows that only count what happened (page views), inserted in batches by one background thread.

    A page view then costs its request an append to a list: no transaction, no savepoint, no wait for
    SQLite's write lock, no commit (a flush to disk on PostgreSQL). The thread writes what gathered
    every `interval` seconds in one multi-row insert, waiting its turn for the lock like `write_later`.
    A crash loses at most the last interval's rows; `close` (at exit) writes what is pending.
    """

    def __init__(self, factory: SessionFactory, model: type[SQLModel], what: str, *, interval: float = 0.5) -> None:
        self.factory, self.model, self.what, self.interval = factory, model, what, interval
        self._rows: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._closed = threading.Event()
        self._thread: threading.Thread | None = None

    def add(self, row: dict[str, Any]) -> None:
        with self._lock:
            self._rows.append(row)
            if self._thread is None:  # started on first use: a CLI process that records nothing starts no thread
                self._thread = threading.Thread(target=self._run, name="wayfinder-row-buffer", daemon=True)
                self._thread.start()
                atexit.register(self.close)

    def flush(self) -> None:
        """Write the pending rows now, in the caller's thread."""
        with self._lock:
            rows, self._rows = self._rows, []
        if not rows:
            return
        try:
            with session_scope(self.factory) as session:
                session.execute(insert(self.model), rows)
        except SQLAlchemyError as exc:
            log.warning("%d %s not written: %s", len(rows), self.what, driver_reason(exc))

    def close(self) -> None:
        self._closed.set()
        self.flush()

    def _run(self) -> None:
        while not self._closed.wait(self.interval):
            self.flush()
