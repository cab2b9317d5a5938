"""Exemptions: a rule waived for one entity until a date, once a member of the scorecard's owning team approves.

This table is the domain record; the approval itself is a built-in action (`actions/builtin.py`:
its card, audit, no self-approval, expiry and exactly-once), whose executor calls `decide`. Deciding
is one conditional update (`... WHERE status = 'pending'`), so a retried run decides once.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict
from sqlalchemy import update
from sqlmodel import Session, col

from catalog.config import Config
from catalog.errors import InvalidInput
from catalog.pages.team import team_ref
from catalog.scorecards.models import ScorecardExemption

MAX_DAYS = 366  # an exemption is a loan, not a waiver for ever


class ExemptionView(BaseModel):
    """What the approval message shows."""

    # This module's models are built on first use, not at import (`defer_build`): a server starts without them.
    model_config = ConfigDict(defer_build=True)

    id: int
    scorecard: str
    scorecard_title: str
    entity_ref: str
    rule: str
    rule_title: str
    reason: str
    expires_on: date
    requested_by: str
    status: str
    owner_ref: str | None  # the team whose members may approve
    decided_by: str | None = None


Decision = Literal["approved", "rejected", "already_decided"]
# How a request that was never approved ends: its approval request was rejected, expired or was cancelled.
Closed = Literal["rejected", "expired", "cancelled"]


def check(config: Config, *, scorecard: str, rule: str, reason: str, expires_on: date, now: datetime) -> None:
    """InvalidInput naming what is wrong with a request (before a modal closes)."""
    card = next((c for c in config.scorecards if c.id == scorecard), None)
    if card is None or card.rule(rule) is None:
        raise InvalidInput(f"no rule {rule!r} in scorecard {scorecard!r}")
    if not reason.strip():
        raise InvalidInput("say why the rule should not apply")
    if not now.date() < expires_on <= now.date() + timedelta(days=MAX_DAYS):
        raise InvalidInput(f"the expiry must be after today and at most {MAX_DAYS} days ahead")


def request(session: Session, config: Config, *, scorecard: str, ref: str, rule: str, reason: str, expires_on: date, requested_by: str, now: datetime) -> ExemptionView:
    """Store a pending request; InvalidInput names what is wrong with it."""
    check(config, scorecard=scorecard, rule=rule, reason=reason, expires_on=expires_on, now=now)
    row = ScorecardExemption(
        scorecard=scorecard, entity_ref=ref, rule=rule, reason=reason.strip()[:2000], expires_on=expires_on, requested_by=requested_by, created_at=now
    )  # fmt: skip
    session.add(row)
    session.flush()
    return view(session, config, row)


def view(session: Session, config: Config, row: ScorecardExemption) -> ExemptionView:
    card = config.scorecard(row.scorecard)
    rule = card.rule(row.rule)
    assert row.id is not None
    return ExemptionView(
        id=row.id, scorecard=row.scorecard, scorecard_title=card.title, entity_ref=row.entity_ref, rule=row.rule, rule_title=rule.label if rule else row.rule,
        reason=row.reason, expires_on=row.expires_on, requested_by=row.requested_by, status=row.status, decided_by=row.decided_by,
        owner_ref=team_ref(session, card.owner) if card.owner else None,
    )  # fmt: skip


def decide(session: Session, exemption_id: int, *, approver: str, approve: bool, now: datetime) -> Decision:
    """Approve or reject a pending request once (who may decide is the approval action's business); `approver` is recorded."""
    if not close(session, exemption_id, "approved" if approve else "rejected", by=approver, now=now):
        return "already_decided"
    return "approved" if approve else "rejected"


def close(session: Session, exemption_id: int, status: Literal["approved"] | Closed, *, by: str, now: datetime) -> bool:
    """Move a pending request to `status`, once; False when it was no longer pending.

    An expired or cancelled request is closed like a rejected one, so no exemption waits for ever;
    asking again files a new request.
    """
    decided = session.execute(
        update(ScorecardExemption)
        .where(col(ScorecardExemption.id) == exemption_id, col(ScorecardExemption.status) == "pending")
        .values(status=status, decided_by=by[:100], decided_at=now)
        .returning(col(ScorecardExemption.id))
    ).first()
    return decided is not None
