"""The adoption tables: one row per interaction, one per pulse survey sent, one per learned alias.

`AdoptionEvent` is deliberately apart from `question_log`: it holds no free text (question text
keeps its own, shorter retention in the question log) so it can be kept for a year-over-year
view, and it also records what is not a question (Home opened, pages, buttons, actions).
`day` is the UTC day number (days since 1970-01-01), written once so that daily, weekly and
cohort aggregates are integer GROUP BYs over an index on every database.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, UniqueConstraint
from sqlmodel import Field

from catalog.store.models import TableModel


class AdoptionEvent(TableModel, table=True):
    __tablename__ = "adoption_event"
    # Each metric reads one of these and never the table (covering indexes): see catalog.adoption.metrics.
    __table_args__ = (
        Index("ix_adoption_event_day_who", "day", "who"),  # daily, weekly and period active people
        Index("ix_adoption_event_who_day", "who", "day", "kind", "outcome", "at"),  # first days, return, time to first value
        Index("ix_adoption_event_usage", "day", "kind", "outcome", "surface", "intent"),  # answer rate, surfaces, owner answers, actions
        Index("ix_adoption_event_kind_day", "kind", "day", "outcome", "entity_ref"),  # follow-ups
        Index("ix_adoption_event_kind_entity", "kind", "entity_ref", "day"),  # most asked entities, grouped in index order
        Index("ix_adoption_event_thread", "thread", "kind", "outcome", "day"),  # answers followed up in their thread
    )

    id: int | None = Field(default=None, primary_key=True)
    at: datetime
    day: int  # UTC days since the epoch
    who: str | None = Field(default=None, max_length=200)  # Slack or catalog user id, or its keyed hash; None when anonymous
    surface: str = Field(max_length=30)  # catalog.adoption.events.Surface
    kind: str = Field(max_length=30)  # catalog.adoption.events.Kind
    outcome: str = Field(max_length=20)  # an answer's status, or ok / error / approved / rejected ...
    intent: str | None = Field(default=None, max_length=50)  # a question's intent, or the action's id
    entity_ref: str | None = Field(default=None, max_length=400)
    latency_ms: float | None = None
    thread: str | None = Field(default=None, max_length=100)  # `channel:thread_ts` of a Slack answer, to see follow-ups


class AdoptionPulse(TableModel, table=True):
    """A satisfaction survey sent to one person in one quarter: the unique key is the "never twice" rule."""

    __tablename__ = "adoption_pulse"
    __table_args__ = (UniqueConstraint("quarter", "who", name="uq_adoption_pulse_quarter_who"),)

    id: int | None = Field(default=None, primary_key=True)
    quarter: str = Field(max_length=7)  # 2026Q4
    who: str = Field(max_length=200)  # pseudonymised like the events
    sent_at: datetime
    score: int | None = None  # 0-10
    comment: str | None = None
    answered_at: datetime | None = None


class AdoptionAlias(TableModel, table=True):
    """A name people use for an entity, learned from confirmed answers; used once approved."""

    __tablename__ = "adoption_alias"
    __table_args__ = (
        UniqueConstraint("alias_key", "entity_ref", name="uq_adoption_alias_key_ref"),
        Index("ix_adoption_alias_status", "status"),
    )

    id: int | None = Field(default=None, primary_key=True)
    alias: str = Field(max_length=200)  # as first typed
    alias_key: str = Field(max_length=200)  # compacted (catalog.search.resolve.compact): one row per spelling
    entity_ref: str = Field(max_length=400)
    status: str = Field(default="proposed", max_length=20)  # proposed | approved | rejected | expired | cancelled (its request; proposed again later)
    confirmations: int = 1  # questions that confirmed it (a 👍 or a "Did you mean" click)
    proposed_at: datetime
    decided_at: datetime | None = None
    decided_by: str | None = Field(default=None, max_length=200)


class AdoptionPersonDay(TableModel, table=True):
    """One person's events of one day (`catalog.adoption.rollup`): what active counts, return and first value read."""

    __tablename__ = "adoption_person_day"
    __table_args__ = (Index("ix_adoption_person_day_who_day", "who", "day"),)  # first days, week 4, first value

    day: int = Field(primary_key=True)
    who: str = Field(primary_key=True, max_length=200)
    events: int
    first_at: datetime  # the day's first interaction
    first_answer_at: datetime | None = None  # the day's first answered question


class AdoptionUsageDay(TableModel, table=True):
    """One day's events per kind, outcome and surface (`catalog.adoption.rollup`): answer rates, surfaces,
    owner answers, actions, and each day's event count, which tells a rollup that missed events."""

    __tablename__ = "adoption_usage_day"

    day: int = Field(primary_key=True)
    kind: str = Field(primary_key=True, max_length=30)
    outcome: str = Field(primary_key=True, max_length=20)
    surface: str = Field(primary_key=True, max_length=30)
    events: int
    owner_intent: int  # of them, with the intent "owner"


class AdoptionPopulation(TableModel, table=True):
    """How many engineers a Slack source counted at its last sync: the shares' denominator when known."""

    __tablename__ = "adoption_population"

    source: str = Field(primary_key=True, max_length=100)  # the Slack source's name
    engineers: int
    basis: str = Field(max_length=30)  # "slack members" | "slack user groups"
    counted_at: datetime
