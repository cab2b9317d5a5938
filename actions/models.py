"""The action tables: requests (one row, one state machine), decisions, the audit log, and the
entities the `catalog` executor keeps in the store while their run lives.

Every state change is a conditional UPDATE on `ActionRequest.state` (see `actions.workflow`), so
the row itself decides which click, retry, replica or restart wins.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Column, Index, UniqueConstraint
from sqlmodel import Field, Session

from catalog.store.models import TableModel


class State(StrEnum):
    REQUESTED = "requested"
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    EXPIRED = "expired"
    CANCELLED = "cancelled"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    TORN_DOWN = "torn_down"


FINAL = {State.REJECTED, State.EXPIRED, State.CANCELLED, State.FAILED, State.TORN_DOWN}


class ActionRequest(TableModel, table=True):
    __tablename__ = "action_request"
    __table_args__ = (
        Index("ix_action_request_state", "state", "expires_at"),
        Index("ix_action_request_requester", "requester_ref"),
    )

    id: int | None = Field(default=None, primary_key=True)
    action_id: str = Field(max_length=64)
    state: str = Field(max_length=20)
    requester_ref: str | None = Field(default=None, max_length=400)  # the catalog User, when known
    requester_slack_id: str | None = Field(default=None, max_length=50)
    requester_name: str = Field(max_length=200)
    surface: str = Field(max_length=20)  # slack, cli, api
    target_ref: str | None = Field(default=None, max_length=400)
    owner_ref: str | None = Field(default=None, max_length=400)  # the target's owner when requested: owner-leads/-members
    inputs: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    stage: int = 0  # the approval stage now open (0-based)
    escalated_at: datetime | None = None  # escalate_to approvers may decide from then on
    reminded_at: datetime | None = None
    channel: str | None = Field(default=None, max_length=50)  # the approval card
    ts: str | None = Field(default=None, max_length=50)
    created_at: datetime
    updated_at: datetime
    expires_at: datetime | None = None  # an undecided request expires then
    run_token_hash: str | None = Field(default=None, max_length=64)  # sha256 of the per-run token
    claimed_until: datetime | None = None  # the executor call was claimed until then
    dispatched_at: datetime | None = None  # the executor accepted the run
    finished_at: datetime | None = None
    result: str | None = None  # the executor's last message
    entity_ref: str | None = Field(default=None, max_length=400)  # what the run created in the catalog
    ttl_expires_at: datetime | None = None
    ttl_notice: str | None = Field(default=None, max_length=10)  # the last TTL reminder sent: 1d, 1h
    extends_id: int | None = None  # an extension request: approving it extends that request's TTL


class ActionDecision(TableModel, table=True):
    """One approver's decision in one stage; the unique key makes a double click count once."""

    __tablename__ = "action_decision"
    __table_args__ = (UniqueConstraint("request_id", "stage", "approver_ref", name="uq_action_decision"),)

    id: int | None = Field(default=None, primary_key=True)
    request_id: int = Field(foreign_key="action_request.id", index=True)
    stage: int
    approver_ref: str = Field(max_length=400)
    approver_name: str = Field(max_length=200)
    decision: str = Field(max_length=10)  # approve, reject
    reason: str | None = None
    surface: str = Field(max_length=20)
    at: datetime


class ActionAudit(TableModel, table=True):
    """Every transition: who, when, what, from which surface, with the inputs (secrets masked)."""

    __tablename__ = "action_audit"
    __table_args__ = (Index("ix_action_audit_at", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    request_id: int = Field(index=True)
    action_id: str = Field(max_length=64)
    at: datetime
    actor: str = Field(max_length=400)  # a user ref, a Slack id, or "wayfinder" for the scheduler
    surface: str = Field(max_length=20)
    event: str = Field(max_length=30)
    from_state: str | None = Field(default=None, max_length=20)
    to_state: str | None = Field(default=None, max_length=20)
    detail: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class ActionEntity(TableModel, table=True):
    """An entity a `catalog` run registered: served to the sync engine as the `actions` source until retired."""

    __tablename__ = "action_entity"

    ref: str = Field(primary_key=True, max_length=400)
    request_id: int
    doc: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime
    retired_at: datetime | None = None


LARGEST_ID = 2**31 - 1  # the id column is an INTEGER: PostgreSQL refuses a larger value, SQLite one past 2**63


def storable_id(request_id: int) -> bool:
    """Whether a request could have `request_id`. Others (a forged button value, a made-up URL) made the database
    raise: a 500 and an apology where "there is no request" was due. Checked before any statement names one."""
    return 0 < request_id <= LARGEST_ID


def stored_request(session: Session, request_id: int) -> ActionRequest | None:
    """The request `request_id` names; None for none (`storable_id`)."""
    return session.get(ActionRequest, request_id) if storable_id(request_id) else None
