"""Built-in actions: other capabilities' approvals, run by the actions' machinery.

A scorecard exemption (issue 14) and a learned alias (issue 15) each file a request of a built-in
action, so the approval card, the audit, no self-approval, expiry and exactly-once are the actions'.
The approved request's internal executor marks the domain record (`scorecard_exemption`,
`adoption_alias`) approved; every other end of the request (rejected, expired, cancelled) closes it
through the action's hook (`close`), called in the transaction of that very transition, so no
domain record stays pending once its request cannot be approved. Those tables stay what the
scorecards and the resolution index read.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal, cast, get_args

from sqlmodel import Session

from actions.definitions import ActionDefinition, ApprovalSpec, DateInput, InternalExecutor, NumberInput, Target, TextInput
from actions.executors.base import Outcome, Run
from actions.models import ActionRequest
from actions.read import RequestView
from actions.workflow import decisions
from catalog.adoption import aliases
from catalog.adoption.events import Kind, Surface
from catalog.adoption.service import Adoption
from catalog.scorecards import exemptions
from catalog.scorecards.service import Scorecards

if TYPE_CHECKING:
    from actions.service import ActionService, Actor

EXEMPTION = "scorecard-exemption"
ALIAS = "learned-alias"
Closed = Literal["rejected", "expired", "cancelled"]


def install(service: ActionService) -> None:
    """Add the built-in actions and their executors (the alias approval only when admins are configured)."""
    service.add_definition(ActionDefinition(
        id=EXEMPTION, title="Scorecard exemption", description="Waive a scorecard rule for one entity until a date.",
        target=Target(), executor=InternalExecutor(type="internal", handler=EXEMPTION),
        inputs=[NumberInput(type="number", id="exemption", label="Exemption"), TextInput(type="text", id="scorecard", label="Scorecard"),
                TextInput(type="text", id="rule", label="Rule"), TextInput(type="text", id="reason", label="Reason", multiline=True),
                DateInput(type="date", id="expires_on", label="Until")],
        approval=ApprovalSpec(approvers=["owner-members"], expires_after=timedelta(days=7)),
    ), builtin=True)  # fmt: skip
    service.register_internal(EXEMPTION, lambda run: _exemption_decided(service, run))
    admins = [f"slack:{a}" for a in service.catalog.config.adoption.admins]
    if admins:
        service.add_definition(ActionDefinition(
            id=ALIAS, title="Learned alias", description="Add a name people use for an entity as its alias.",
            target=Target(), executor=InternalExecutor(type="internal", handler=ALIAS),
            inputs=[NumberInput(type="number", id="alias_id", label="Proposal"), TextInput(type="text", id="alias", label="Alias"),
                    NumberInput(type="number", id="confirmations", label="Confirmed answers")],
            approval=ApprovalSpec(approvers=admins, expires_after=timedelta(days=14)),
        ), builtin=True)  # fmt: skip
        service.register_internal(ALIAS, lambda run: _alias_decided(service, run))


def request_exemption(service: ActionService, actor: Actor, *, scorecard: str, ref: str, rule: str, reason: str, expires_on: date, channel: str | None = None) -> RequestView:
    """Store the pending exemption (InvalidInput says what is wrong) and ask the scorecard's owning team through an action request."""
    scorecards = Scorecards(service.catalog)
    requested_by = actor.slack_user_id or actor.id
    view = scorecards.request_exemption(scorecard=scorecard, ref=ref, rule=rule, reason=reason, expires_on=expires_on, requested_by=requested_by)
    inputs = {"exemption": view.id, "scorecard": view.scorecard_title, "rule": view.rule_title, "reason": view.reason, "expires_on": view.expires_on.isoformat()}
    return service.file_builtin(EXEMPTION, actor, inputs, target=ref, owner=view.owner_ref, channel=scorecards.approval_channel(view) or channel)


def propose_alias(service: ActionService, *, question: str, ref: str) -> RequestView | None:
    """A confirmed answer: count the typed name as an alias of `ref`, asking the admins (an action request) the first time."""
    from actions.service import SCHEDULER

    adoption = Adoption(service.catalog)
    proposal = adoption.confirm_answer(question=question, ref=ref, now=service.clock())
    if proposal is None or not proposal.new or ALIAS not in service.definitions:
        return None
    alias, config = proposal.alias, service.catalog.config.adoption
    inputs = {"alias_id": alias.id, "alias": alias.alias, "confirmations": alias.confirmations}
    channel = config.report_channel or config.admins[0]  # without a report channel, the first admin's DM
    return service.file_builtin(ALIAS, SCHEDULER, inputs, target=ref, channel=channel, owner=None)


def _approver(service: ActionService, request_id: int) -> str:
    """Who gave the last approval: their Slack id when only Slack knows them (`slack:U…`), else their catalog ref."""
    with service.catalog.session() as session:
        return decisions(session, request_id)[-1].approver_ref.removeprefix("slack:")


def _exemption_decided(service: ActionService, run: Run) -> Outcome:
    decision = Scorecards(service.catalog).decide_exemption(int(run.inputs["exemption"]), approver=_approver(service, run.request_id), approve=True)
    return Outcome("succeeded", "The exemption counts from now.") if decision == "approved" else Outcome.failed(f"the exemption was {decision.replace('_', ' ')}")


def _alias_decided(service: ActionService, run: Run) -> Outcome:
    adoption, admin = Adoption(service.catalog), _approver(service, run.request_id)
    decided = adoption.decide_alias(int(run.inputs["alias_id"]), approve=True, admin=admin, now=service.clock())
    if decided:
        adoption.record_event(surface=Surface.ACTIONS, kind=Kind.ALIAS_DECISION, outcome="approved", who=admin, entity_ref=decided.entity_ref, now=service.clock())
    return Outcome("succeeded", f"“{decided.alias}” now finds {decided.entity_ref}.") if decided else Outcome.failed("the alias was already decided")


def _exemption_closed(session: Session, inputs: dict[str, Any], status: Closed, by: str, now: datetime) -> None:
    exemptions.close(session, int(inputs["exemption"]), status, by=by, now=now)


def _alias_closed(session: Session, inputs: dict[str, Any], status: Closed, by: str, now: datetime) -> None:
    aliases.close(session, int(inputs["alias_id"]), status, by=by, now=now)


# Per built-in action: how its domain record ends when its request ends without approval.
_CLOSERS: dict[str, Callable[[Session, dict[str, Any], Closed, str, datetime], None]] = {EXEMPTION: _exemption_closed, ALIAS: _alias_closed}


def close(session: Session, row: ActionRequest, event: str, *, by: str, now: datetime) -> None:
    """A request of a built-in action ended unapproved (`event`: rejected, expired or cancelled): close its
    domain record in `session`, the transition's own. `by`: the rejecting approver, the cancelling requester, or the scheduler.
    """
    closer = _CLOSERS.get(row.action_id)
    if closer is not None and event in get_args(Closed):
        closer(session, row.inputs, cast(Closed, event), by.removeprefix("slack:"), now)
