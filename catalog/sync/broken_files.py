"""Entities whose descriptor file is broken: kept as they were and marked stale, never retired for it.

A typo in `payments-service.yaml` must not retire `payments-service`; people still ask who owns
it. When a run names a file it could not read in full (`Snapshot.broken`, `FileRead.broken`), the rows that file
produced last time and the snapshot no longer has are spared from retiring and marked with the
file's error and since when. The mark goes when the file reads cleanly again; a deleted file is no
longer broken, only gone, so its entities are then retired as usual.

A row's file is the one that held it at its last read, as the caller knows it (a file-based
source's records), else the row's `location` (`FILE:LINE`, as `EntityDoc.location` writes it).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Iterable, Mapping
from datetime import datetime

from sqlalchemy import bindparam, func, select, update
from sqlmodel import Session

from catalog.store.models import Entity, table_of
from catalog.sync.sources.descriptor import Problem

_ENTITY = table_of(Entity)  # Core statements: one executemany per list of rows
_E = _ENTITY.c


def _marked(session: Session, source: str, in_scope: Iterable[int]) -> list[int]:
    """The rows among `in_scope` marked broken (by primary key: a run that looks at one file reads only its rows)."""
    ids = list(in_scope)
    query = select(_E.id).where(_E.source == source, _E.broken_since.is_not(None))
    marked: list[int] = []
    for i in range(0, len(ids), 500):
        marked += session.scalars(query.where(_E.id.in_(ids[i : i + 500])))
    return marked


def file_of(location: str | None) -> str | None:
    """The file part of a location `FILE:LINE` (a location without a line is the file itself)."""
    if location is None:
        return None
    head, sep, tail = location.rpartition(":")
    return head if sep and tail.isdigit() else location


def _files_of(session: Session, rows: list[tuple[int, str]], held: Mapping[str, str]) -> dict[int, str | None]:
    """The file of each `(row id, ref)`: the one that held it, else the one its stored location names."""
    files: dict[int, str | None] = {row_id: held[ref] for row_id, ref in rows if ref in held}
    ids = [row_id for row_id, _ in rows if row_id not in files]
    for chunk in (ids[i : i + 500] for i in range(0, len(ids), 500)):
        found: Iterable[tuple[int, str | None]] = session.execute(select(_E.id, _E.location).where(_E.id.in_(chunk)))
        files.update((row_id, file_of(location)) for row_id, location in found)
    return files


def reason(problem: Problem) -> str:
    """What an answer shows after "descriptor broken since 09:12 UTC: "."""
    return f"line {problem.line}: {problem.message}" if problem.line else problem.message


def spare_broken(
    session: Session,
    source: str,
    retire: list[tuple[int, str]],
    in_scope: Collection[int],
    broken: Mapping[str, Problem],
    complete: bool,
    now: datetime,
    held: Mapping[str, str] | None = None,
) -> tuple[list[tuple[int, str]], list[Problem], list[tuple[str, str]]]:
    """`(rows still to retire, one warning per broken file that kept rows, (ref, file) of each row kept)`;
    marks and unmarks rows.

    `retire` is the plan's `(row id, ref)` list: the rows in scope (those this run speaks for: read
    again, or no longer read) it no longer has; `broken` maps each file that could not be read in
    full to its first error; `held` maps a ref to the file that held it, where the caller knows it
    (a location can be stale: older versions kept the old one after a rename). A mark is cleared
    once its row was read again or is retired; an incomplete snapshot (`complete` False) retires
    nothing, so there only rows read again lose it. The caller owns the transaction.
    """
    kept: dict[int, str] = {}
    if broken and retire:
        files = _files_of(session, retire, held or {})
        kept = {row_id: file for row_id, file in files.items() if file is not None and file in broken}
    untouched = set(kept) if complete else {row_id for row_id, _ in retire}
    fixed = [{"_id": row_id} for row_id in _marked(session, source, in_scope) if row_id not in untouched]
    if fixed:
        session.execute(update(_ENTITY).where(_E.id == bindparam("_id")).values(broken_since=None, broken_reason=None), fixed)
    if kept:
        since = func.coalesce(_E.broken_since, bindparam("_since", type_=_E.broken_since.type))
        stmt = update(_ENTITY).where(_E.id == bindparam("_id")).values(broken_since=since, broken_reason=bindparam("_reason"))
        session.execute(stmt, [{"_id": row_id, "_since": now, "_reason": reason(broken[file])} for row_id, file in kept.items()])
    warnings = [
        Problem(severity="warning", file=file, message=f"{n} entities it described are kept, marked stale, until it is fixed or deleted")
        for file, n in Counter(kept.values()).items()
    ]
    return [row for row in retire if row[0] not in kept], warnings, [(ref, kept[row_id]) for row_id, ref in retire if row_id in kept]
