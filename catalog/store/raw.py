"""Reading many rows straight from the DB-API cursor."""

from __future__ import annotations

import functools
from collections import namedtuple
from collections.abc import Callable
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import JSON, DateTime, Dialect, TypeDecorator
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql.compiler import SQLCompiler
from sqlmodel import Session

from catalog.store import json_values


def raw_rows(session: Session, query: Any) -> list[tuple[Any, ...]]:
    """`query`'s rows as the DB-API cursor returns them, for reads of many rows of plain strings and integers
    (or of columns only tested for NULL), where SQLAlchemy's per-row result handling would be the largest cost."""
    conn = session.connection()
    return _fetch(conn, query.compile(dialect=conn.dialect, compile_kwargs={"render_postcompile": True}), {})


def _fetch(conn: Connection, compiled: Any, params: dict[str, Any], *, bind_types: bool = False) -> list[tuple[Any, ...]]:
    """Run `compiled` with `params` on the DB-API cursor of `conn`, in the driver's parameter style.

    With `bind_types`, values go through their types' bind step first, as SQLAlchemy's execution
    sends them (a JSON path such as `spec["profile"]` becomes `$."profile"` on SQLite).
    """
    bound = compiled.construct_params(params)
    if bind_types:
        bound |= {name: process(bound[name]) for name, process in compiled._bind_processors.items() if name in bound}
    return _execute(conn, compiled, bound)


def _execute(conn: Connection, compiled: Any, bound: dict[str, Any]) -> list[tuple[Any, ...]]:
    """Run `compiled` with its parameters already bound (`bound`, by name) on the DB-API cursor of `conn`."""
    driver_error = conn.dialect.loaded_dbapi.Error
    cursor = conn.connection.cursor()
    try:
        cursor.execute(compiled.string, tuple(bound[name] for name in compiled.positiontup or ()) if compiled.positional else bound)
        return list(cursor.fetchall())
    except driver_error as exc:
        # Wrapped as SQLAlchemy wraps what it runs, so callers' `except SQLAlchemyError` (and the CLI's one-line
        # database error) catch it too: a damaged SQLite file surfaced here as a traceback.
        raise DBAPIError.instance(compiled.string, None, exc, driver_error, hide_parameters=True, dialect=conn.dialect) from exc
    finally:
        cursor.close()


@functools.cache
def row_type(columns: tuple[str, ...]) -> Any:
    """A named tuple type for rows of these columns: the same attributes as a SQLAlchemy `Row`, read several times faster."""
    return namedtuple("ReadRow", columns)  # noqa: PYI024 (the columns are only known at run time)


class _Prepared(NamedTuple):
    compiled: SQLCompiler
    constants: dict[str, Any]  # every parameter bound once: a call's own values replace theirs
    processors: dict[str, Callable[[Any], Any]]  # by parameter name: what turns a call's value into the driver's
    decoders: list[tuple[int, Callable[[Any], Any]]]  # by column: what turns the driver's value into the result's


class CursorRead:
    """A fixed statement read on the DB-API cursor, compiled once per dialect, its rows named tuples.

    For reads on every page view (`reads.load_neighbourhood`): SQLAlchemy's result handling (an
    execution context per statement, a processor call per column of every row, a regular
    expression per SQLite datetime) cost more than the query itself. Here only values that are
    not None are decoded, to what SQLAlchemy would return: JSON given as text (SQLite; psycopg hands
    it parsed), datetimes given as ISO text (SQLite), then the column type's own result step
    (`UTCDateTime` makes them aware, in UTC).
    """

    def __init__(self, statement: Any) -> None:
        self.statement = statement
        self.columns = list(statement.selected_columns)
        self.row = row_type(tuple(c.name for c in self.columns))
        self._prepared: dict[str, _Prepared] = {}

    def rows(self, session: Session, params: dict[str, Any]) -> list[Any]:
        return self.rows_on(session.connection(), params)

    def rows_on(self, conn: Connection, params: dict[str, Any]) -> list[Any]:
        """`rows` on a plain connection, for reads outside an ORM session."""
        prepared = self._prepared.get(conn.dialect.name)
        if prepared is None:
            prepared = self._prepared[conn.dialect.name] = self._prepare(conn.dialect)
        bound = dict(prepared.constants)
        for name, value in params.items():
            process = prepared.processors.get(name)
            bound[name] = value if process is None else process(value)
        made = []
        for row in _execute(conn, prepared.compiled, bound):
            values = list(row)
            for i, decode in prepared.decoders:
                if values[i] is not None:
                    values[i] = decode(values[i])
            made.append(self.row._make(values))
        return made

    def _prepare(self, dialect: Dialect) -> _Prepared:
        """The statement compiled for `dialect`, its constant parameters bound once (what SQLAlchemy would send
        for them: a JSON path as `$."profile"` on SQLite), and how to bind the others and decode the rows."""
        compiled = self.statement.compile(dialect=dialect)
        processors: dict[str, Callable[[Any], Any]] = dict(compiled._bind_processors)
        constants = {
            name: processors[name](value) if name in processors else value
            for name, value in compiled.construct_params(_check=False).items()
        }
        return _Prepared(compiled, constants, processors, self._decoders(dialect))

    def _decoders(self, dialect: Dialect) -> list[tuple[int, Callable[[Any], Any]]]:
        decoders: list[tuple[int, Callable[[Any], Any]]] = []
        for i, column in enumerate(self.columns):
            kind = column.type.impl_instance if isinstance(column.type, TypeDecorator) else column.type
            if isinstance(kind, JSON):
                decoders.append((i, _json))
            elif isinstance(kind, DateTime):
                after = column.type.process_result_value if isinstance(column.type, TypeDecorator) else None
                decoders.append((i, functools.partial(_datetime, after=after, dialect=dialect)))
        return decoders


def _json(value: Any) -> Any:
    return json_values.loads(value) if isinstance(value, str) else value  # psycopg hands JSONB over decoded


def _datetime(value: Any, *, after: Callable[[Any, Dialect], Any] | None, dialect: Dialect) -> Any:
    value = datetime.fromisoformat(value) if isinstance(value, str) else value
    return after(value, dialect) if after is not None else value
