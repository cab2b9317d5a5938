"""Bulk writes built before their transaction starts, so the transaction only executes them.

SQLite has one write lock for the whole database: while a sync's transaction holds it, every
other writer (an event-id claim, an unanswered question, the identity cache) waits. Building
50k rows (JSON encoding, timestamps, parameter handling) inside that transaction held the lock
for seconds. A `Write` carries its SQL and rows already converted by the columns' own SQLAlchemy
types, exactly what SQLAlchemy would bind, so the transaction is one driver-level `executemany`
per statement. Where the driver cannot take converted values (`%s` placeholders with JSON or
timestamp columns, i.e. PostgreSQL, which locks rows rather than the database) it stays a Core
statement with parameter dicts.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Table, bindparam, delete, insert, update
from sqlalchemy.engine import Dialect
from sqlmodel import Session

from catalog.store.engine import convert_rows

_PLACEHOLDERS = {"qmark": "?", "format": "%s", "pyformat": "%s"}
ID = "_id"  # the parameter naming the row of an update (a column name would be taken as a SET target)


@dataclass
class Write:
    """One executemany: `sql` on the driver with converted `rows`, or `core` with parameter dicts."""

    sql: str | None
    core: Any
    columns: tuple[str, ...]
    rows: list[tuple[Any, ...]]

    def run(self, session: Session) -> None:
        if not self.rows:
            return
        if self.sql is not None:
            session.connection().exec_driver_sql(self.sql, self.rows)
        else:
            session.execute(self.core, [dict(zip(self.columns, row, strict=True)) for row in self.rows])


def insert_rows(dialect: Dialect, table: Table, columns: tuple[str, ...], rows: Iterable[Sequence[Any]]) -> Write:
    """INSERT `rows` (values in `columns` order)."""
    return _build(
        dialect,
        table,
        columns,
        rows,
        lambda q, mark: f"INSERT INTO {q(table.name)} ({', '.join(map(q, columns))}) VALUES ({', '.join([mark] * len(columns))})",
        insert(table),
    )


def update_rows(dialect: Dialect, table: Table, columns: tuple[str, ...], rows: Iterable[Sequence[Any]]) -> Write:
    """UPDATE by primary key `id`: each row holds the values of `columns`, then the id."""
    names = (*columns, ID)

    def sql(q: Callable[[str], str], mark: str) -> str:
        return f"UPDATE {q(table.name)} SET {', '.join(f'{q(c)} = {mark}' for c in columns)} WHERE {q('id')} = {mark}"

    return _build(dialect, table, names, rows, sql, update(table).where(table.c.id == bindparam(ID)))


def delete_rows(dialect: Dialect, table: Table, columns: tuple[str, ...], rows: Iterable[Sequence[Any]]) -> Write:
    """DELETE the rows whose `columns` equal each row's values."""

    def sql(q: Callable[[str], str], mark: str) -> str:
        return f"DELETE FROM {q(table.name)} WHERE {' AND '.join(f'{q(c)} = {mark}' for c in columns)}"

    return _build(dialect, table, columns, rows, sql, delete(table).where(*(table.c[c] == bindparam(c) for c in columns)))


def _build(dialect: Dialect, table: Table, names: tuple[str, ...], rows: Iterable[Sequence[Any]], sql: Callable[[Callable[[str], str], str], str], core: Any) -> Write:
    processors = [table.c["id" if name == ID else name].type.dialect_impl(dialect).bind_processor(dialect) for name in names]
    mark = _PLACEHOLDERS.get(dialect.paramstyle)
    if mark is None or (any(processors) and dialect.paramstyle != "qmark"):
        return Write(None, core, names, [tuple(row) for row in rows])
    return Write(sql(dialect.identifier_preparer.quote, mark), None, names, convert_rows(rows, processors))
