"""The adoption metrics, each one SQL aggregate over the indexed events (never a loop over events).

A period is a range of UTC day numbers `[first, last]` (`catalog.adoption.events.day_number`).
Only rows with a `who` count as people: anonymous page views and thread follow-ups do not.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, and_, case, distinct, exists, func, literal, select
from sqlmodel import Session

from catalog.adoption import rollup
from catalog.adoption.events import ANSWERED, Kind
from catalog.adoption.models import AdoptionEvent, AdoptionPopulation, AdoptionPulse
from catalog.adoption.report import EngineersFrom, IntentSatisfaction, Pulse, Rate
from catalog.store.models import AnswerFeedback, Entity, QuestionLog, table_of

# Core columns (untyped, like `catalog.store.reads`): aggregate rows come back as plain values.
E: Any = table_of(AdoptionEvent).c
F: Any = table_of(AnswerFeedback).c
Q: Any = table_of(QuestionLog).c
P: Any = table_of(AdoptionPulse).c
PO: Any = table_of(AdoptionPopulation).c
EN: Any = table_of(Entity).c
PD: Any = rollup.PERSON_DAY.c
U: Any = rollup.USAGE_DAY.c

RETURN_WEEK = (21, 27)
FIRST_VALUE_DAYS = 28  # days after someone's first day that make their week 4
UNANSWERED_STATUSES = ("unknown", "not_found")


def _run(session: Session, statement: Any) -> Any:
    """Execute a Core aggregate; its rows are plain values (counts, days, ids), not typed by the columns."""
    return session.execute(statement)


@dataclass(frozen=True)
class Source:
    """Where the person and usage metrics read: the events grouped on the fly, or their daily
    rollups (`catalog.adoption.rollup`). Both give the same columns, so the same numbers."""

    people: Table  # rows with `day` and `who`: one per event, or one per person and day
    first_at: Any  # the row's first interaction
    first_answer_at: Any  # the row's first answered question, else NULL
    active_days: Callable[[int, int], Any]  # distinct (day, who) of a period
    usage_groups: Callable[[int, int], Any]  # (day, kind, outcome, surface, events, owner_intent) of a period


EVENTS = Source(
    people=table_of(AdoptionEvent), first_at=E.at, first_answer_at=rollup.ANSWERED_AT,
    active_days=lambda first, last: select(E.day, E.who).where(E.day.between(first, last), E.who.is_not(None)).distinct(),
    usage_groups=lambda first, last: rollup.usage_groups(E.day.between(first, last)),
)  # fmt: skip
ROLLUPS = Source(
    people=rollup.PERSON_DAY, first_at=PD.first_at, first_answer_at=PD.first_answer_at,
    active_days=lambda first, last: select(PD.day, PD.who).where(PD.day.between(first, last)),
    usage_groups=lambda first, last: select(U.day, U.kind, U.outcome, U.surface, U.events, U.owner_intent).where(U.day.between(first, last)),
)  # fmt: skip


def _active_days(source: Source, first: int, last: int) -> Any:
    """Distinct (day, person) pairs of the period, read in the order of their index: what all active counts start from."""
    return source.active_days(first, last).subquery("active_days")


def active_by_day(session: Session, first: int, last: int, source: Source = EVENTS) -> list[int]:
    """Distinct people per day, zeros included."""
    pairs = _active_days(source, first, last)
    rows = dict(_run(session, select(pairs.c.day, func.count()).group_by(pairs.c.day)).all())
    return [int(rows.get(day, 0)) for day in range(first, last + 1)]


def active_by_week(session: Session, first: int, last: int, source: Source = EVENTS) -> list[int]:
    """Distinct people per 7 days counted from `first` (the last bucket may be shorter)."""
    pairs = _active_days(source, first, last)
    week = (pairs.c.day - first) // 7
    rows = dict(_run(session, select(week, func.count(distinct(pairs.c.who))).group_by(week)).all())
    return [int(rows.get(w, 0)) for w in range((last - first) // 7 + 1)]


def active_users(session: Session, first: int, last: int, source: Source = EVENTS) -> int:
    pairs = _active_days(source, first, last)
    return int(_run(session, select(func.count(distinct(pairs.c.who)))).scalar_one())


def _firsts(source: Source) -> Any:
    """Each person's first day (within retention)."""
    people: Any = source.people.c
    return select(people.who.label("who"), func.min(people.day).label("first")).where(people.who.is_not(None)).group_by(people.who).subquery("firsts")


def return_rate(session: Session, first: int, last: int, source: Source = EVENTS) -> Rate:
    """Of the people first seen early enough in the period to have a week 4 inside it, those active in it."""
    firsts = _firsts(source)
    later: Any = source.people.alias("later")
    back = exists().where(later.c.who == firsts.c.who, later.c.day.between(firsts.c.first + RETURN_WEEK[0], firsts.c.first + RETURN_WEEK[1]))
    of, hits = _run(session,
        select(func.count(), func.coalesce(func.sum(case((back, 1), else_=0)), 0)).where(firsts.c.first.between(first, last - RETURN_WEEK[1]))
    ).one()
    return Rate(of=int(of), hits=int(hits))


def time_to_first_value(session: Session, first: int, last: int, source: Source = EVENTS) -> tuple[int, float | None]:
    """(new people, median minutes from their first interaction to their first answered question).

    Only each newcomer's first `FIRST_VALUE_DAYS` are read: an answer later than that is not a first value.
    """
    firsts = _firsts(source)
    people: Any = source.people.c
    new = select(firsts.c.who, firsts.c.first).where(firsts.c.first.between(first, last)).subquery("new")
    rows = _run(session,
        select(func.min(source.first_at), func.min(source.first_answer_at))
        .join(new, new.c.who == people.who)
        .where(people.day.between(new.c.first, new.c.first + FIRST_VALUE_DAYS))
        .group_by(people.who)
    ).all()
    waits = [(_dt(value) - _dt(start)).total_seconds() / 60 for start, value in rows if value is not None]
    return len(rows), (statistics.median(waits) if waits else None)


def _dt(value: datetime | str) -> datetime:
    """A MIN() over a CASE comes back untyped on SQLite: a string to parse."""
    return value if isinstance(value, datetime) else datetime.fromisoformat(value).replace(tzinfo=None)


@dataclass(frozen=True)
class Usage:
    """What one scan of the period's events gives: the counts grouped by kind, outcome, surface and week."""

    answer_rate: Rate  # questions answered
    actions_self_service: Rate  # action requests completed by Wayfinder, not turned into a ticket or left failed
    owner_answers_by_week: list[int]  # "who owns X" answered
    surfaces: dict[str, int]  # events per surface


def usage(session: Session, first: int, last: int, source: Source = EVENTS) -> Usage:
    """The period's groups by day, kind, outcome and surface (from the events: one GROUP BY streamed in the
    order of `ix_adoption_event_usage`, never sorted); the rows summed here are those groups (per day, a
    few dozen), not events. `intent` is counted (owner questions) rather than grouped by: a third of the groups."""
    groups = _run(session, source.usage_groups(first, last)).all()
    questions = answered = requests = completed = 0
    by_week, surfaces = [0] * ((last - first) // 7 + 1), dict[str, int]()
    for day, kind, outcome, surface, n, owners in groups:
        surfaces[surface] = surfaces.get(surface, 0) + n
        if kind == Kind.QUESTION:
            questions += n
            answered += n if outcome == ANSWERED else 0
            by_week[(day - first) // 7] += owners if outcome == ANSWERED else 0
        elif kind == Kind.ACTION_REQUEST:
            requests += n
            completed += n if outcome == "completed" else 0
    return Usage(Rate(of=questions, hits=answered), Rate(of=requests, hits=completed), by_week, dict(sorted(surfaces.items())))


def self_service_rate(session: Session, first: int, last: int, *, answered: int) -> Rate:
    """Of the `answered` questions, those after which no human wrote in the answer's thread.

    Follow-ups are few (one per thread at most): each looks up its thread's answered questions
    (`ix_adoption_event_thread`), rather than every question looking for a follow-up.
    """
    followup, question = table_of(AdoptionEvent).alias("followup"), table_of(AdoptionEvent).alias("question")
    answered_there = (
        select(func.count())
        .where(question.c.thread == followup.c.thread, question.c.kind == Kind.QUESTION, question.c.outcome == ANSWERED, question.c.day.between(first, last))
        .scalar_subquery()
    )
    # A follow-up comes after its answer: one from before the period follows none of the period's (a month reads a month's).
    followed = _run(session,
        select(func.coalesce(func.sum(answered_there), 0)).where(followup.c.kind == Kind.FOLLOWUP, followup.c.day >= first)
    ).scalar_one()
    return Rate(of=answered, hits=answered - int(followed))


def approval_median_minutes(session: Session, first: int, last: int) -> dict[str, float]:
    """Per action, the median time from request to decision (decisions are few: their latencies are read)."""
    rows = _run(session,
        select(E.intent, E.latency_ms).where(E.kind == Kind.ACTION_DECISION, E.day.between(first, last), E.latency_ms.is_not(None))
    ).all()
    by_action: dict[str, list[float]] = {}
    for action, latency in rows:
        by_action.setdefault(action or "?", []).append(latency / 60000)
    return {action: round(statistics.median(values), 1) for action, values in sorted(by_action.items())}


def satisfaction(session: Session, since: datetime, until: datetime) -> list[IntentSatisfaction]:
    up = func.coalesce(func.sum(case((F.helpful.is_(True), 1), else_=0)), 0)
    rows = _run(session,
        select(F.intent, up, func.count()).where(F.created_at >= since, F.created_at < until).group_by(F.intent).order_by(F.intent)
    )
    return [IntentSatisfaction(intent=intent, up=int(u), down=int(n) - int(u)) for intent, u, n in rows]


def top_unanswered(session: Session, since: datetime, until: datetime, *, limit: int = 10) -> list[tuple[str, int]]:
    """Unanswered questions, most asked first (same words, any case: shown in the lowest-case spelling), from the question log."""
    key = func.lower(Q.question)
    rows = _run(session,
        select(func.max(Q.question), func.count().label("asked"))
        .where(Q.asked_at >= since, Q.asked_at < until, Q.status.in_(UNANSWERED_STATUSES))
        .group_by(key)
        .order_by(func.count().desc(), key)
        .limit(limit)
    )
    return [(question, int(asked)) for question, asked in rows]


def most_asked_entities(session: Session, first: int, last: int, *, limit: int = 50) -> list[tuple[str, int]]:
    """Entities by questions in the period, most asked first.

    Reads every retained question in the order of `ix_adoption_event_kind_entity` and counts the period's:
    grouping streams with no sort, so a year costs what a month does (a `day` range in the WHERE would
    sort the period's questions by entity instead: 0.6 s over a year on SQLite, against 0.1 s).
    """
    in_period = func.count(case((E.day.between(first, last), 1)))
    rows = _run(session,
        select(E.entity_ref, in_period)
        .where(E.kind == Kind.QUESTION, E.entity_ref.is_not(None))
        .group_by(E.entity_ref)
        .having(in_period > 0)
        .order_by(in_period.desc(), E.entity_ref)
        .limit(limit)
    )
    return [(ref, int(asked)) for ref, asked in rows]


def slack_engineers(session: Session, sources: list[str]) -> tuple[int, EngineersFrom] | None:
    """The engineers the latest sync of one of the Slack `sources` counted (`catalog.sync.sources.slack_groups.Engineers`), if any."""
    row = _run(session, select(PO.engineers, PO.basis).where(PO.source.in_(sources)).order_by(PO.counted_at.desc()).limit(1)).first()
    return None if row is None else (int(row.engineers), cast(EngineersFrom, row.basis))


def catalog_users(session: Session) -> int:
    """How many people the catalog lists (kind User, active): the default population of the shares."""
    return int(_run(session, select(func.count(distinct(EN.ref))).where(EN.kind == "user", EN.retired_at.is_(None))).scalar_one())


def pulse(session: Session, since: datetime, until: datetime, *, comments: int = 10) -> Pulse:
    """NPS of the surveys answered in the period, and their latest comments."""
    answered = and_(P.answered_at >= since, P.answered_at < until, P.score.is_not(None))
    n, promoters, detractors = _run(session,
        select(
            func.count(),
            func.coalesce(func.sum(case((P.score >= 9, 1), else_=0)), 0),
            func.coalesce(func.sum(case((P.score <= 6, 1), else_=0)), 0),
        ).where(answered)
    ).one()
    texts = _run(session,
        select(P.comment).where(answered, P.comment.is_not(None), P.comment != literal("")).order_by(P.answered_at.desc()).limit(comments)
    ).scalars().all()
    nps = round(100 * (int(promoters) - int(detractors)) / int(n), 1) if n else None
    return Pulse(responses=int(n), nps=nps, comments=list(texts))
