"""What adapters show about a request (`RequestView`) and what they are told happened (`ActionEvent`)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from sqlmodel import Session

from actions.approvers import Person, resolve
from actions.definitions import ActionDefinition, describe_duration, format_duration
from actions.models import ActionRequest
from actions.workflow import decisions, masked
from catalog.store.reads import get_entity


class DecisionView(BaseModel):
    # This module's models are built on first use, not at import (`defer_build`): a server starts without them.
    model_config = ConfigDict(defer_build=True)

    approver_ref: str
    approver_name: str
    decision: str
    reason: str | None = None
    stage: int
    surface: str
    at: datetime


class InputField(BaseModel):
    """One input as people read it: its label (its id without one) and its value formatted by its type."""

    model_config = ConfigDict(defer_build=True)

    id: str
    label: str
    type: str  # the input type (text, duration, date, user, entity...); `user` values a Slack id adapters may mention
    value: Any  # as stored, secrets masked
    text: str  # "2 days", "Thu 31 Dec 2026", "Payments DB (resource:default/payments-db)", "Yes", "read, write"


class StageView(BaseModel):
    model_config = ConfigDict(defer_build=True)

    approvers: list[Person]
    count: int
    approved_by: list[str] = Field(default_factory=list)  # names


class RequestView(BaseModel):
    model_config = ConfigDict(defer_build=True)

    id: int
    action_id: str
    action_title: str
    state: str
    requester_ref: str | None
    requester_slack_id: str | None
    requester_name: str
    surface: str
    target_ref: str | None
    inputs: dict[str, Any]  # secrets masked
    fields: list[InputField] = Field(default_factory=list)  # the inputs in the action's order, labelled and formatted
    policy: str  # in words: "any 1 of the owner's leads", "2 stages"...
    self_approval: bool = False
    stage: int
    stages: list[StageView]
    escalated: bool = False
    escalation: list[Person] = Field(default_factory=list)
    decisions: list[DecisionView] = Field(default_factory=list)
    channel: str | None
    ts: str | None
    created_at: datetime
    expires_at: datetime | None
    result: str | None
    entity_ref: str | None
    ttl_expires_at: datetime | None
    ttl_extendable: bool = False
    extends_id: int | None = None  # an extension request for that request

    @property
    def waiting_on(self) -> list[Person]:
        """Who may decide now (the open stage, plus escalation approvers once escalated), the requester left out."""
        if self.state != "pending" or not self.stages:
            return []
        people = self.stages[self.stage].approvers + (self.escalation if self.escalated else [])
        seen: dict[str, Person] = {}
        for p in people:
            if self.self_approval or p.ref not in (self.requester_ref, f"slack:{self.requester_slack_id}"):
                seen.setdefault(p.ref, p)
        return list(seen.values())

    @property
    def rejection(self) -> DecisionView | None:
        return next((d for d in self.decisions if d.decision == "reject"), None)


EventKind = Literal[
    "created", "approval", "approved", "rejected", "cancelled", "expired", "no_approver", "running", "progress",
    "succeeded", "failed", "reminder", "escalated", "ttl_reminder", "extended", "torn_down", "caught_up",
]  # fmt: skip


class ActionEvent(BaseModel):
    """Something happened to a request: adapters redraw its card, say `text` in the thread and tell `notify`."""

    model_config = ConfigDict(defer_build=True)

    kind: EventKind
    request: RequestView
    text: str
    notify: list[Person] = Field(default_factory=list)  # approvers to mention (reminders, escalation)


def policy_text(action: ActionDefinition) -> str:
    approval = action.approval
    if approval.policy == "none":
        return "no approval needed"
    stages = approval.stage_list()
    words = [f"{s.count} of {', '.join(s.approvers)}" for s in stages]
    text = " then ".join(words) if len(stages) > 1 else words[0]
    return text + ("" if approval.self_approval else "; requesters cannot approve their own request")


def request_view(session: Session, row: ActionRequest, action: ActionDefinition | None) -> RequestView:
    decided = [DecisionView.model_validate(d, from_attributes=True) for d in decisions(session, row.id or 0)]
    stages: list[StageView] = []
    escalation: list[Person] = []
    if action is not None:
        for n, stage in enumerate(action.approval.stage_list()):
            people = resolve(session, stage.approvers, owner_ref=row.owner_ref)
            approved = [d.approver_name for d in decided if d.stage == n and d.decision == "approve"]
            stages.append(StageView(approvers=people, count=stage.count, approved_by=approved))
        escalation = resolve(session, action.approval.escalate_to, owner_ref=row.owner_ref)
    shown = masked(action, row.inputs)
    return RequestView(
        id=row.id or 0, action_id=row.action_id, action_title=action.title if action else row.action_id, state=row.state,
        requester_ref=row.requester_ref, requester_slack_id=row.requester_slack_id, requester_name=row.requester_name,
        surface=row.surface, target_ref=row.target_ref, inputs=shown, fields=input_fields(session, action, shown),
        policy=policy_text(action) if action else "unknown (the action is no longer configured)",
        self_approval=bool(action and action.approval.self_approval), stage=row.stage, stages=stages,
        escalated=row.escalated_at is not None, escalation=escalation, decisions=decided, channel=row.channel, ts=row.ts,
        created_at=row.created_at, expires_at=row.expires_at, result=row.result, entity_ref=row.entity_ref,
        ttl_expires_at=row.ttl_expires_at, ttl_extendable=bool(action and action.ttl), extends_id=row.extends_id,
    )  # fmt: skip


def input_fields(session: Session, action: ActionDefinition | None, inputs: dict[str, Any]) -> list[InputField]:
    """`inputs` (masked) in the action's order, each with its label and its value formatted by type; inputs
    the action no longer defines come last, under their id."""
    specs = {i.id: i for i in action.inputs} if action else {}
    order = [i for i in specs if i in inputs] + [k for k in inputs if k not in specs]
    fields = []
    for key in order:
        spec, value = specs.get(key), inputs[key]
        kind = spec.type if spec is not None and value != "***" else "text"
        fields.append(InputField(id=key, label=spec.title if spec is not None else key, type=kind, value=value, text=_formatted(session, kind, value)))
    return fields


def _formatted(session: Session, kind: str, value: Any) -> str:
    """A stored value as people read it; a value that no longer parses is shown as stored."""
    try:
        if kind == "duration":
            return describe_duration(value)
        if kind == "date":
            day = date.fromisoformat(str(value))
            return f"{day:%a} {day.day} {day:%b %Y}"
        if kind in ("entity", "user") and ":" in str(value):
            entity = get_entity(session, str(value))
            return f"{entity.title or entity.name} ({entity.ref})" if entity else str(value)
    except ValueError:
        return str(value)
    if kind == "boolean":
        return "Yes" if value else "No"
    if isinstance(value, list):
        return ", ".join(map(str, value))
    return f"{value:g}" if isinstance(value, float) else str(value)


def describe_ttl(action: ActionDefinition, inputs: dict[str, Any]) -> str | None:
    if not action.ttl:
        return None
    return str(inputs.get(action.ttl.from_input)) if action.ttl.from_input else format_duration(action.ttl.duration) if action.ttl.duration else None
