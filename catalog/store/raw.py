"""Reading many rows straight from the DB-API cursor."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session


def raw_rows(session: Session, query: Any) -> list[tuple[Any, ...]]:
    """`query`'s rows as the DB-API cursor returns them, for reads of many rows of plain strings and integers
    (or of columns only tested for NULL), where SQLAlchemy's per-row result handling would be the largest cost."""
    conn = session.connection()
    compiled = query.compile(dialect=conn.dialect, compile_kwargs={"render_postcompile": True})
    params = compiled.construct_params()
    cursor = conn.connection.cursor()
    try:
        cursor.execute(compiled.string, tuple(params[name] for name in compiled.positiontup or ()) if compiled.positional else params)
        return list(cursor.fetchall())
    finally:
        cursor.close()
