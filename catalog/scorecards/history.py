"""Results as of a day: each (scorecard, entity)'s last recorded change on or before it.

Evaluation writes a row only when a result changes (`catalog.scorecards.evaluate`), so "now",
"a week ago" and a trend are the same query at different days; nothing is recomputed.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlmodel import Session

from catalog.scorecards.models import GONE, ScorecardResult
from catalog.store.models import table_of

_H = table_of(ScorecardResult)


class Result(tuple[int, list[str], str | None]):
    """(level, failing rule ids, owner ref) of one entity on one scorecard."""

    @property
    def level(self) -> int:
        return self[0]

    @property
    def failing(self) -> list[str]:
        return self[1]

    @property
    def owner(self) -> str | None:
        return self[2]


def as_of(session: Session, scorecard: str, day: date, *, owner: str | None = None, refs: Iterable[str] | None = None) -> dict[str, Result]:
    """ref -> its result on `day` (entities gone by then are left out), optionally only one owner's or some refs."""
    return as_of_days(session, scorecard, [day], owner=owner, refs=refs)[0]


def as_of_days(session: Session, scorecard: str, days: list[date], *, owner: str | None = None, refs: Iterable[str] | None = None) -> list[dict[str, Result]]:
    """`as_of` for each of `days` (ascending), from one ordered read of the recorded changes.

    With `owner`, only entities whose result on the last day is that owner's are kept (their
    earlier results too, whoever owned them then), which is what a team's trend is about.
    """
    query: Any = select(_H.c.entity_ref, _H.c.day, _H.c.level, _H.c.failing, _H.c.owner_ref).where(_H.c.scorecard == scorecard, _H.c.day <= days[-1])
    if owner is not None:
        current = select(_H.c.entity_ref).where(_H.c.scorecard == scorecard, _H.c.owner_ref == owner).distinct()
        query = query.where(_H.c.entity_ref.in_(current))
    if refs is not None:
        query = query.where(_H.c.entity_ref.in_(list(refs)))
    found: list[dict[str, Result]] = [{} for _ in days]
    rows: Iterator[Any] = iter(session.execute(query.order_by(_H.c.entity_ref, _H.c.day)))
    row = next(rows, None)
    while row is not None:
        ref, changes = row[0], list[Any]()
        while row is not None and row[0] == ref:
            changes.append(row)
            row = next(rows, None)
        i = 0  # the last change on or before each day, walking both lists forward
        for k, day in enumerate(days):
            while i < len(changes) and changes[i][1] <= day:
                i += 1
            if i and changes[i - 1][2] != GONE:
                _, _, level, failing, owner_ref = changes[i - 1]
                found[k][ref] = Result((level, failing.split(",") if failing else [], owner_ref))
    if owner is not None:
        keep = {ref for ref, result in found[-1].items() if result.owner == owner}
        found = [{ref: r for ref, r in snapshot.items() if ref in keep} for snapshot in found]
    return found
