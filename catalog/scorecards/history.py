"""Results as of a day: each (scorecard, entity)'s last recorded change on or before it.

Evaluation writes a row only when a result changes (`catalog.scorecards.evaluate`), so "now",
"a week ago" and a trend are the same query at different days; nothing is recomputed.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Mapping
from datetime import date
from types import MappingProxyType
from typing import Any

from sqlalchemy import bindparam, select
from sqlmodel import Session

from catalog.scorecards.models import GONE, ScorecardResult
from catalog.store.models import table_of
from catalog.store.raw import raw_rows

_H = table_of(ScorecardResult)
_COLUMNS = (_H.c.entity_ref, _H.c.day, _H.c.level, _H.c.failing, _H.c.owner_ref, _H.c.changed_by)
# Some entities' changes up to a day, built once and compiled once (SQLAlchemy's statement cache): on an
# ownership page, building and compiling the read per view cost more than the rest of the page.
_OF_REFS = (
    select(*_COLUMNS)
    .where(_H.c.scorecard == bindparam("scorecard"), _H.c.day <= bindparam("last"), _H.c.entity_ref.in_(bindparam("refs", expanding=True)))
    .order_by(_H.c.entity_ref, _H.c.day)
)


NOBODY: Mapping[str, str] = MappingProxyType({})


class Result(tuple[int, list[str], str | None, Mapping[str, str]]):
    """(level, failing rule ids, owner ref, who fixed which rule) of one entity on one scorecard."""

    @property
    def level(self) -> int:
        return self[0]

    @property
    def failing(self) -> list[str]:
        return self[1]

    @property
    def owner(self) -> str | None:
        return self[2]

    @property
    def fixed_by(self) -> Mapping[str, str]:
        """rule id -> the author (`github:<login>`) of the change that fixed it since the day before
        (`as_of_days`: since the previous day asked for); only the rules whose fixer is known."""
        return self[3]


def as_of(session: Session, scorecard: str, day: date, *, owner: str | None = None, refs: Iterable[str] | None = None) -> dict[str, Result]:
    """ref -> its result on `day` (entities gone by then are left out), optionally only one owner's or some refs."""
    return as_of_days(session, scorecard, [day], owner=owner, refs=refs)[0]


def as_of_days(session: Session, scorecard: str, days: list[date], *, owner: str | None = None, refs: Iterable[str] | None = None) -> list[dict[str, Result]]:
    """`as_of` for each of `days` (ascending), from one ordered read of the recorded changes.

    With `owner`, only entities whose result on the last day is that owner's are kept (their
    earlier results too, whoever owned them then), which is what a team's trend is about. The last
    day's results say who fixed the rules they fixed since the day before it.
    """
    rows: list[Any]
    if refs is not None:  # a few entities (a page, an answer): the owner is checked on the last day below
        rows = list(session.connection().execute(_OF_REFS, {"scorecard": scorecard, "last": days[-1], "refs": list(refs)}))
    else:  # many rows (a team's, everyone's): the DB-API cursor saves SQLAlchemy's per-row handling
        query: Any = select(*_COLUMNS).where(_H.c.scorecard == scorecard, _H.c.day <= days[-1])
        if owner is not None:
            current = select(_H.c.entity_ref).where(_H.c.scorecard == scorecard, _H.c.owner_ref == owner).distinct()
            query = query.where(_H.c.entity_ref.in_(current))
        rows = raw_rows(session, query.order_by(_H.c.entity_ref, _H.c.day))
    found: list[dict[str, Result]] = [{} for _ in days]
    keys: list[Any] = [d.isoformat() for d in days] if rows and isinstance(rows[0][1], str) else days  # SQLite's cursor gives ISO text
    start, total = 0, len(rows)
    while start < total:
        ref, end = rows[start][0], start + 1
        while end < total and rows[end][0] == ref:
            end += 1
        if end == start + 1:  # most entities: one change, the result from its day on
            _, changed, level, failing, owner_ref, _ = rows[start]
            if level != GONE:
                only = Result((level, failing.split(",") if failing else [], owner_ref, NOBODY))
                for k in range(bisect_left(keys, changed), len(keys)):
                    found[k][ref] = only
            start = end
            continue
        i, result = start, None  # the last change on or before each day, walking both lists forward
        for k, key in enumerate(keys):
            if i < end and rows[i][1] <= key:
                while i < end and rows[i][1] <= key:
                    i += 1
                _, _, level, failing, owner_ref, _ = rows[i - 1]
                result = None if level == GONE else Result((level, failing.split(",") if failing else [], owner_ref, NOBODY))
            if result is not None:
                found[k][ref] = result
        if result is not None and len(keys) > 1 and end - start > 1 and rows[end - 1][1] > keys[-2] and (fixers := _fixers(rows, start, end, keys[-2])):
            found[-1][ref] = Result((*result[:3], fixers))
        start = end
    if owner is not None:
        keep = {ref for ref, result in found[-1].items() if result.owner == owner}
        found = [{ref: r for ref, r in snapshot.items() if ref in keep} for snapshot in found]
    return found


def _fixers(rows: list[tuple[Any, ...]], start: int, end: int, since: Any) -> dict[str, str]:
    """rule id -> who fixed it, over one entity's changes `rows[start:end]` after `since`: each change that
    stopped a rule failing names its author, when the sync knew it (a later fix of the same rule wins)."""
    found: dict[str, str] = {}
    previous = None
    for row in rows[start:end]:
        if previous is not None and row[1] > since and row[5] and row[2] != GONE and previous[2] != GONE:
            now_failing = set(row[3].split(",")) if row[3] else set()
            for rule in previous[3].split(",") if previous[3] else ():
                if rule not in now_failing:
                    found[rule] = row[5]
        previous = row
    return found
