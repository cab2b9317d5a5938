"""Bulk writes built before their transaction starts, so the transaction only executes them.

SQLite has one write lock for the whole database: while a sync's transaction holds it, every
other writer (an event-id claim, an unanswered question, the identity cache) waits. Building
50k rows (JSON encoding, timestamps, parameter handling) inside that transaction held the lock
for seconds. A `Statement` converts its rows by the columns' own SQLAlchemy types, exactly what
SQLAlchemy would bind, when they are built, so the transaction is one driver-level `executemany`
per statement and batch. Where the driver cannot take converted values (`%s` placeholders with JSON or
timestamp columns, i.e. PostgreSQL, which locks rows rather than the database) it stays a Core
statement with parameter dicts; except inserts on PostgreSQL through psycopg, which are a `COPY`:
a first sync of 50k entities cost the database 13 % less CPU that way, CPU the replicas sharing
it need to acknowledge Slack while a big sync writes. The relations too (plain text columns, which
the driver could take as they are): their 400k single-row INSERTs were the database's largest cost
in that sync, 4.3 s of its time against 0.3 s as a COPY.

A sync of 100k entities must not hold them all in memory until its transaction: the batches of
converted rows wait in a `Spool`, a temporary file, and are read back one at a time to run.
"""

from __future__ import annotations

import pickle
import tempfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import Table, bindparam, delete, insert, update
from sqlalchemy.engine import Dialect
from sqlmodel import Session

from catalog.store.engine import bind_processors, convert_rows

_PLACEHOLDERS = {"qmark": "?", "format": "%s", "pyformat": "%s"}
ID = "_id"  # the parameter naming the row of an update (a column name would be taken as a SET target)


@dataclass(frozen=True)
class Statement:
    """One statement and how to convert its rows: `sql` for the driver, or `core` with parameter dicts."""

    sql: str | None
    core: Any
    columns: tuple[str, ...]
    processors: tuple[Callable[[Any], Any] | None, ...]
    copy: str | None = None  # `COPY ... FROM STDIN` that inserts the rows instead of `core`

    def rows(self, rows: Iterable[Sequence[Any]]) -> list[tuple[Any, ...]]:
        """`rows` (values in `columns` order) as this statement binds them: converted when it runs on the driver."""
        return convert_rows(rows, self.processors) if self.sql is not None else [tuple(row) for row in rows]

    def run(self, session: Session, rows: list[tuple[Any, ...]]) -> None:
        """One executemany (or COPY) of rows made by `rows`; the caller owns the transaction."""
        if not rows:
            return
        if self.copy is not None:
            driver = session.connection().connection.driver_connection
            assert driver is not None
            with driver.cursor() as cursor, cursor.copy(self.copy) as copy:
                for row in convert_rows(rows, self.processors):  # JSON values wrapped for psycopg, as SQLAlchemy binds them
                    copy.write_row(row)
        elif self.sql is not None:
            session.connection().exec_driver_sql(self.sql, rows)
        else:
            session.execute(self.core, [dict(zip(self.columns, row, strict=True)) for row in rows])


def insert_rows(dialect: Dialect, table: Table, columns: tuple[str, ...]) -> Statement:
    """INSERT rows of values in `columns` order (COPY them on PostgreSQL through psycopg)."""
    q = dialect.identifier_preparer.quote
    target = f"{q(table.name)} ({', '.join(map(q, columns))})"
    statement = _build(dialect, table, columns, lambda _, mark: f"INSERT INTO {target} VALUES ({', '.join([mark] * len(columns))})", insert(table))
    if dialect.name == "postgresql" and dialect.driver == "psycopg":
        return replace(statement, sql=None, copy=f"COPY {target} FROM STDIN")  # rows are converted by `run`, once
    return statement


def update_rows(dialect: Dialect, table: Table, columns: tuple[str, ...]) -> Statement:
    """UPDATE by primary key `id`: each row holds the values of `columns`, then the id."""
    names = (*columns, ID)

    def sql(q: Callable[[str], str], mark: str) -> str:
        return f"UPDATE {q(table.name)} SET {', '.join(f'{q(c)} = {mark}' for c in columns)} WHERE {q('id')} = {mark}"

    return _build(dialect, table, names, sql, update(table).where(table.c.id == bindparam(ID)))


def delete_rows(dialect: Dialect, table: Table, columns: tuple[str, ...]) -> Statement:
    """DELETE the rows whose `columns` equal each row's values."""

    def sql(q: Callable[[str], str], mark: str) -> str:
        return f"DELETE FROM {q(table.name)} WHERE {' AND '.join(f'{q(c)} = {mark}' for c in columns)}"

    return _build(dialect, table, columns, sql, delete(table).where(*(table.c[c] == bindparam(c) for c in columns)))


def _build(dialect: Dialect, table: Table, names: tuple[str, ...], sql: Callable[[Callable[[str], str], str], str], core: Any) -> Statement:
    processors = bind_processors(dialect, table, ("id" if name == ID else name for name in names))
    mark = _PLACEHOLDERS.get(dialect.paramstyle)
    if mark is None or (any(processors) and dialect.paramstyle != "qmark"):
        return Statement(None, core, names, processors)
    return Statement(sql(dialect.identifier_preparer.quote, mark), None, names, processors)


Batch = tuple[Statement, list[tuple[Any, ...]]]  # a statement and rows made by its `rows`


class Spool:
    """Batches of rows for a fixed list of statements, kept on disk until `run` executes them in order."""

    def __init__(self, statements: Sequence[Statement]) -> None:
        self._statements = list(statements)
        self._file = tempfile.TemporaryFile()
        self.batches = 0

    def add(self, statement: Statement, rows: list[tuple[Any, ...]]) -> None:
        if rows:
            pickle.dump((self._statements.index(statement), rows), self._file, protocol=pickle.HIGHEST_PROTOCOL)
            self.batches += 1

    def run(self, session: Session) -> None:
        """Every batch, in the order added; the caller owns the transaction."""
        self._file.seek(0)
        for _ in range(self.batches):
            index, rows = pickle.load(self._file)
            self._statements[index].run(session, rows)

    def close(self) -> None:
        self._file.close()
