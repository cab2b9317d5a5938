"""The request state machine, in the caller's transaction.

    requested → pending → approved | rejected | expired | cancelled
    approved → running → succeeded | failed;  succeeded → torn_down (TTL actions)

Every transition is one conditional UPDATE (`... WHERE id = ? AND state = <expected>`): of two
clicks, retries, replicas or a restarted process racing for the same step, exactly one UPDATE
matches and the others change nothing. A decision first takes the request's row (`lock`), so
two approvers counted at once on PostgreSQL see each other's vote and SQLite serialises them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, update
from sqlmodel import Session, col, select

from actions.definitions import ActionDefinition
from actions.models import ActionAudit, ActionDecision, ActionRequest, State, storable_id, stored_request
from catalog.store.engine import upsert_insert


def transition(session: Session, request_id: int, expected: State | tuple[State, ...], to: State, *, now: datetime, **values: Any) -> bool:
    """Move `request_id` from `expected` to `to` (with `values`); False when it was not in `expected`."""
    if not storable_id(request_id):
        return False
    states = [expected] if isinstance(expected, State) else list(expected)
    statement = (
        update(ActionRequest)
        .where(col(ActionRequest.id) == request_id, col(ActionRequest.state).in_(states))
        .values(state=to, updated_at=now, **values)
        .returning(col(ActionRequest.id))
    )
    return session.execute(statement).first() is not None


def lock(session: Session, request_id: int, state: State, *, now: datetime) -> ActionRequest | None:
    """Take the row of a request in `state` for this transaction (a no-op UPDATE first); None if it is not in `state`."""
    if not storable_id(request_id):
        return None
    taken = session.execute(
        update(ActionRequest).where(col(ActionRequest.id) == request_id, col(ActionRequest.state) == state).values(updated_at=now).returning(col(ActionRequest.id))
    ).first()
    if taken is None:
        return None
    request = stored_request(session, request_id)
    if request is not None:
        session.refresh(request)
    return request


def decide(session: Session, request: ActionRequest, *, approver_ref: str, approver_name: str, decision: str, reason: str | None, surface: str, now: datetime) -> bool:
    """Record one decision in the open stage; False when this approver already decided it (a double click)."""
    insert = upsert_insert(session)
    statement = insert(ActionDecision).values(
        request_id=request.id, stage=request.stage, approver_ref=approver_ref, approver_name=approver_name[:200],
        decision=decision, reason=reason, surface=surface, at=now,
    ).on_conflict_do_nothing(index_elements=["request_id", "stage", "approver_ref"])  # fmt: skip
    return session.execute(statement.returning(ActionDecision.id)).first() is not None


def approvals(session: Session, request_id: int, stage: int) -> int:
    query = select(func.count()).select_from(ActionDecision).where(
        ActionDecision.request_id == request_id, ActionDecision.stage == stage, ActionDecision.decision == "approve"
    )
    return int(session.exec(query).one())


def decisions(session: Session, request_id: int) -> list[ActionDecision]:
    return list(session.exec(select(ActionDecision).where(ActionDecision.request_id == request_id).order_by(col(ActionDecision.id))))


def advance(session: Session, request: ActionRequest, action: ActionDefinition, *, now: datetime) -> State | None:
    """After an approval: open the next stage, or approve when the last one has its count. None: still waiting."""
    stages = action.approval.stage_list()
    if approvals(session, request.id or 0, request.stage) < stages[request.stage].count:
        return None
    if request.stage + 1 < len(stages):
        moved = session.execute(
            update(ActionRequest)
            .where(col(ActionRequest.id) == request.id, col(ActionRequest.state) == State.PENDING, col(ActionRequest.stage) == request.stage)
            .values(stage=request.stage + 1, updated_at=now, reminded_at=None)
            .returning(col(ActionRequest.id))
        ).first()
        return State.PENDING if moved else None
    return State.APPROVED if transition(session, request.id or 0, State.PENDING, State.APPROVED, now=now) else None


def audit(session: Session, request: ActionRequest, event: str, *, actor: str, surface: str, now: datetime,
          from_state: str | None = None, to_state: str | None = None, **detail: Any) -> None:  # fmt: skip
    session.add(
        ActionAudit(
            request_id=request.id or 0, action_id=request.action_id, at=now, actor=actor[:400], surface=surface,
            event=event, from_state=from_state, to_state=to_state, detail=detail,
        )  # fmt: skip
    )


def masked(action: ActionDefinition | None, inputs: dict[str, Any]) -> dict[str, Any]:
    """The inputs with secret ones (`secret: true`, or named like a secret) replaced by `***`."""
    secret = {i.id for i in action.inputs if i.masked} if action else set()
    return {k: "***" if k in secret else v for k, v in inputs.items()}
