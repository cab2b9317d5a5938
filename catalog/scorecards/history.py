"""Results as of a day: each (scorecard, entity)'s last recorded change on or before it.

Evaluation writes a row only when a result changes (`catalog.scorecards.evaluate`), so "now",
"a week ago" and a trend are the same query at different days; nothing is recomputed.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import aliased
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
    later = aliased(_H)
    newest = select(func.max(later.c.day)).where(later.c.scorecard == _H.c.scorecard, later.c.entity_ref == _H.c.entity_ref, later.c.day <= day).scalar_subquery()
    query: Any = select(_H.c.entity_ref, _H.c.level, _H.c.failing, _H.c.owner_ref).where(_H.c.scorecard == scorecard, _H.c.day == newest, _H.c.level != GONE)
    if owner is not None:
        query = query.where(_H.c.owner_ref == owner)
    if refs is not None:
        query = query.where(_H.c.entity_ref.in_(list(refs)))
    return {ref: Result((level, failing.split(",") if failing else [], owner_ref)) for ref, level, failing, owner_ref in session.execute(query)}


def level_counts(session: Session, scorecard: str, day: date) -> dict[str | None, dict[int, int]]:
    """owner ref -> level -> how many of its entities were at that level on `day` (the leadership view)."""
    counts: dict[str | None, dict[int, int]] = {}
    for result in as_of(session, scorecard, day).values():
        team = counts.setdefault(result.owner, {})
        team[result.level] = team.get(result.level, 0) + 1
    return counts
