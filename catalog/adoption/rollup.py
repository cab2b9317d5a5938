"""Daily rollups of the usage events, so a year's report reads a few hundred thousand rows, not a million.

Two tables (`catalog.adoption.models`): each person's day (`adoption_person_day`: active counts,
first days, return, time to first value) and each day's events per kind, outcome and surface
(`adoption_usage_day`: answer rates, surfaces, owner answers, actions). A metric reads the same
columns from a rollup as from the events grouped on the fly (`person_days`, `usage_groups`), so
both give the same numbers (tests/test_adoption_rollup.py compares them).

Events are only ever added, or purged a whole day at a time, so a day's event count is its
version: `refresh` compares each day's count in the events (an index-only GROUP BY) with its
rollup's, and rebuilds just the days that differ. That covers today, late events (written after
their day was rolled up: a batch of the last half second written after midnight, a background
write on SQLite, a slow replica, a backfill), events purged past retention, and rollups never
built; nothing on the write path changes, so an answer still writes nothing itself (issue 16).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, case, delete, func, insert, select
from sqlmodel import Session

from catalog.adoption.events import ANSWERED, Kind
from catalog.adoption.models import AdoptionEvent, AdoptionPersonDay, AdoptionUsageDay
from catalog.store.models import table_of

E: Any = table_of(AdoptionEvent).c
PERSON_DAY, USAGE_DAY = table_of(AdoptionPersonDay), table_of(AdoptionUsageDay)
ANSWERED_AT = case((and_(E.kind == Kind.QUESTION, E.outcome == ANSWERED), E.at))  # an answered question's time, else NULL
LOCK = 0x15AD0  # PostgreSQL advisory lock: one refresh at a time rebuilds a day


def person_days(where: Any) -> Any:
    """Each person's day from the events (`adoption_person_day`'s columns)."""
    return (
        select(E.day, E.who, func.count().label("events"), func.min(E.at).label("first_at"), func.min(ANSWERED_AT).label("first_answer_at"))
        .where(where, E.who.is_not(None))
        .group_by(E.day, E.who)
    )


def usage_groups(where: Any) -> Any:
    """Each day's events per kind, outcome and surface (`adoption_usage_day`'s columns), in the order of `ix_adoption_event_usage`."""
    columns = (E.day, E.kind, E.outcome, E.surface)
    return select(*columns, func.count().label("events"), func.count(case((E.intent == "owner", 1))).label("owner_intent")).where(where).group_by(*columns)


def stale_days(session: Session) -> list[int]:
    """Days whose events and rollup disagree on how many events there are."""
    events = dict(session.execute(select(E.day, func.count()).group_by(E.day)).all())
    usage: Any = USAGE_DAY.c
    rolled = dict(session.execute(select(usage.day, func.sum(usage.events)).group_by(usage.day)).all())
    return sorted(day for day in events.keys() | rolled.keys() if int(events.get(day) or 0) != int(rolled.get(day) or 0))


def refresh(session: Session) -> list[int]:
    """Rebuild the rollups of the stale days from their events; returns those days.

    Rebuilding a day is idempotent (delete, then insert its groups); on PostgreSQL an advisory lock
    keeps two replicas from inserting the same day's rows at once (each statement then sees the
    other's committed rows).
    """
    stale = stale_days(session)
    if not stale:
        return []
    if session.get_bind().dialect.name == "postgresql":
        session.execute(select(func.pg_advisory_xact_lock(LOCK)))
    for table, groups in ((PERSON_DAY, person_days), (USAGE_DAY, usage_groups)):
        day: Any = table.c.day
        session.execute(delete(table).where(day.in_(stale)))
        session.execute(insert(table).from_select([c.name for c in table.c], groups(E.day.in_(stale))))
    return stale

