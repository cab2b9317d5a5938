"""The scorecard tables: results per entity, scorecard and day; degradation alerts; the digest queue; exemptions.

History is a row per (scorecard, entity, day) on which the entity's result changed (its level, its
failing rules or its owner), so an evaluation that changes nothing writes nothing, and "what changed
since last week" and trends are queries (`catalog.scorecards.history`) rather than re-evaluations. The queue
and alert tables are claimed with conditional updates, so replicas and restarts send each message once.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Index, UniqueConstraint
from sqlmodel import Field

from catalog.store.models import TableModel

GONE = -1


class ScorecardResult(TableModel, table=True):
    __tablename__ = "scorecard_result"
    __table_args__ = (
        Index("ix_scorecard_result_entity", "entity_ref", "scorecard", "day"),
        Index("ix_scorecard_result_owner", "scorecard", "owner_ref"),
    )

    scorecard: str = Field(primary_key=True, max_length=100)
    day: date = Field(primary_key=True)  # in the digests' time zone
    entity_ref: str = Field(primary_key=True, max_length=400)
    owner_ref: str | None = Field(default=None, max_length=400)
    level: int  # 0: below the first level; n: the scorecard's n-th level; -1 (`GONE`): retired, or the scorecard stopped applying
    failing: str = Field(default="", max_length=4000)  # the failing rule ids in rule order, comma-separated (ids have no commas): cheap to compare
    evaluated_at: datetime
    # The author of the entity change this result followed (`github:<login>`), when the sync knew it:
    # who fixed (or broke) what. None when nothing known changed the entity since the last evaluation.
    changed_by: str | None = Field(default=None, max_length=200)


class ScorecardInput(TableModel, table=True):
    """What an entity's results were last computed from, as a digest: an entity whose inputs did not change is not evaluated again.

    The inputs are the scorecards' configuration, each of the entity's rows (source, precedence,
    content hash, location), its relation counts, which freshness windows it is within, and its
    exemptions (`catalog.scorecards.evaluate`).
    """

    __tablename__ = "scorecard_input"

    entity_ref: str = Field(primary_key=True, max_length=400)
    fingerprint: str = Field(max_length=32)


class ScorecardState(TableModel, table=True):
    """A single row: when scorecards were last evaluated, so an entity change after it is one the next evaluation answers for."""

    __tablename__ = "scorecard_state"

    id: int = Field(default=1, primary_key=True)
    evaluated_at: datetime | None = None


class ScorecardAlert(TableModel, table=True):
    """An entity fell a level or started failing a rule: told to its team once, batched per team."""

    __tablename__ = "scorecard_alert"
    __table_args__ = (
        UniqueConstraint("scorecard", "entity_ref", "rule", "day", name="uq_scorecard_alert_once"),
        Index("ix_scorecard_alert_pending", "sent_at", "team_ref"),
    )

    id: int | None = Field(default=None, primary_key=True)
    scorecard: str = Field(max_length=100)
    entity_ref: str = Field(max_length=400)
    team_ref: str = Field(max_length=400)
    rule: str = Field(max_length=100)  # "" for the level falling
    day: date
    from_level: int
    to_level: int
    created_at: datetime
    claimed_until: datetime | None = None
    sent_at: datetime | None = None


class ScorecardDigest(TableModel, table=True):
    """One digest per team (or `leadership`) per period: the unique key is what makes it once."""

    __tablename__ = "scorecard_digest"
    __table_args__ = (UniqueConstraint("team_ref", "period", name="uq_scorecard_digest_once"), Index("ix_scorecard_digest_status", "status", "period"))

    id: int | None = Field(default=None, primary_key=True)
    team_ref: str = Field(max_length=400)
    period: str = Field(max_length=20)  # the ISO week of the scheduled fire, e.g. 2026-W49
    channel: str = Field(max_length=50)
    status: str = Field(default="pending", max_length=20)  # pending, sent, undeliverable
    claimed_until: datetime | None = None
    attempts: int = 0
    not_before: datetime | None = None  # Slack asked us to wait (429 Retry-After) until then
    error: str | None = Field(default=None, max_length=300)
    created_at: datetime
    sent_at: datetime | None = None
    reported_at: datetime | None = None  # an undeliverable channel told to the admin channel


class ScorecardExemption(TableModel, table=True):
    """A rule waived for one entity until `expires_on`, once the scorecard's owner approves.

    Kept apart from the generic approvals of actions so it can later be routed through them.
    """

    __tablename__ = "scorecard_exemption"
    __table_args__ = (Index("ix_scorecard_exemption_entity", "scorecard", "entity_ref", "status"),)

    id: int | None = Field(default=None, primary_key=True)
    scorecard: str = Field(max_length=100)
    entity_ref: str = Field(max_length=400)
    rule: str = Field(max_length=100)
    reason: str = Field(max_length=2000)
    expires_on: date
    requested_by: str = Field(max_length=100)
    status: str = Field(default="pending", max_length=20)  # pending, approved, rejected; expired, cancelled (its request)
    decided_by: str | None = Field(default=None, max_length=100)
    decided_at: datetime | None = None
    created_at: datetime
