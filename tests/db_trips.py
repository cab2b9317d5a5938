"""Counting what a piece of work costs the database in round trips, the unit that matters on PostgreSQL.

SQLAlchemy's statement events miss the BEGIN and COMMIT psycopg sends on its own, so on PostgreSQL
the count comes from libpq's protocol trace: one `ReadyForQuery` per round trip (a BEGIN, a
statement, a COMMIT). On SQLite, which crosses no network, it is the statements SQLAlchemy executes.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, event

from catalog.core import Catalog

__all__ = ["round_trips"]

_TRANSACTION = ('Query\t "BEGIN"', 'Query\t "COMMIT"', 'Query\t "ROLLBACK"')  # a simple query's line in the trace, as the client sent it


@contextmanager
def round_trips(catalog: Catalog, engine: Engine | None = None) -> Iterator[list[int]]:
    """Count the server round trips the catalog's engine (or `engine`) makes meanwhile (libpq's
    protocol trace: one `ReadyForQuery` per BEGIN, statement or COMMIT), and of them the BEGIN,
    COMMIT and ROLLBACK; on SQLite, the statements SQLAlchemy executes (and 0)."""
    counted = [0, 0]
    engine = engine or catalog.engine
    postgres = engine.dialect.name == "postgresql"
    with tempfile.TemporaryFile("w+") as trace:

        def checkout(dbapi_conn: Any, *_: Any) -> None:
            dbapi_conn.pgconn.trace(trace.fileno())

        def checkin(dbapi_conn: Any, *_: Any) -> None:
            dbapi_conn.pgconn.untrace()

        def statement(*_: Any) -> None:
            counted[0] += 1

        listeners = [("checkout", checkout), ("checkin", checkin)] if postgres else [("before_cursor_execute", statement)]
        for name, fn in listeners:
            event.listen(engine.pool if postgres else engine, name, fn)
        try:
            yield counted
        finally:
            for name, fn in listeners:
                event.remove(engine.pool if postgres else engine, name, fn)
            if postgres:
                trace.seek(0)
                lines = trace.readlines()
                counted[0] = sum("\tReadyForQuery" in line for line in lines)
                counted[1] = sum(line.split("\t")[1:][:1] == ["F"] and line.rstrip().endswith(_TRANSACTION) for line in lines)
