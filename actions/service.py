"""`ActionService`: the one door adapters (Slack, the CLI, HTTP, the scheduler) use for actions.

Each call is a few short transactions over the `Catalog`'s sessions; authorization is checked
here, on every call, from the catalog as it is now (a button someone sees is not a right).
Adapters are told what happened through a `Notifier`, after the transaction that decided it.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import httpx
from sqlalchemy import or_, update
from sqlmodel import Session, col, select

from actions import approvers, builtin, workflow
from actions.definitions import (
    ActionDefinition,
    CatalogExecutor,
    EntityInput,
    GitHubWorkflowExecutor,
    InternalExecutor,
    WebhookExecutor,
    format_duration,
    load_actions,
    parse_duration,
)
from actions.errors import InvalidInputs, Refused, UnknownAction
from actions.executors.base import Outcome, Run
from actions.executors.catalog_entity import publish, publish_if_behind, register_entity, retire_entity
from actions.executors.github import dispatch_workflow
from actions.executors.webhook import call_webhook
from actions.inputs import TARGET, validate_inputs
from actions.models import ActionAudit, ActionRequest, State, stored_request
from actions.read import ActionEvent, EventKind, RequestView, request_view
from catalog.adoption.events import Kind, Surface, record_event
from catalog.answers.questionlog import asker_id
from catalog.core import Catalog
from catalog.search.resolve import IndexedEntity
from catalog.store.facts import EntityHeadline
from catalog.store.models import as_utc
from catalog.store.reads import get_entity, refs_named
from catalog.store.refs import parse_ref
from catalog.tls import tls_context

log = logging.getLogger(__name__)

__all__ = ["ActionEvent", "ActionService", "Actor", "InvalidInputs", "Notifier", "Refused", "RequestView", "UnknownAction"]

REQUEST_HELP = "If you need it, ask whoever maintains Wayfinder's `actions:` config."
RUN_LEASE = timedelta(minutes=15)  # a run whose executor never answered is failed after this, never re-run
TTL_NOTICES = (("1d", timedelta(days=1)), ("1h", timedelta(hours=1)))


@dataclass(frozen=True)
class Actor:
    """Who acts: a catalog User when known, and the Slack user behind the click."""

    surface: str  # slack, cli, api, scheduler
    user_ref: str | None = None
    slack_user_id: str | None = None
    name: str = ""

    @property
    def id(self) -> str:
        return self.user_ref or (f"slack:{self.slack_user_id}" if self.slack_user_id else self.name or "unknown")

    @property
    def refs(self) -> set[str]:
        """What approver lists may call this actor: their catalog User, and their Slack id (`slack:U…`)."""
        return {r for r in (self.user_ref, f"slack:{self.slack_user_id}" if self.slack_user_id else None) if r}

    @property
    def label(self) -> str:
        return self.name or self.user_ref or self.slack_user_id or "someone"


SCHEDULER = Actor("scheduler", name="wayfinder")


class Notifier(Protocol):
    """How people hear about requests (Slack in production; a list in tests)."""

    def post_card(self, request: RequestView) -> str | None:
        """Post the approval card to `request.channel`; its message id (Slack ts), or None."""

    def tell(self, event: ActionEvent) -> None:
        """Redraw the card in place, say `event.text` in its thread, tell the requester and `event.notify`."""


class _Silent:
    def post_card(self, request: RequestView) -> str | None:
        return None

    def tell(self, event: ActionEvent) -> None:
        return None


InternalHandler = Callable[[Run], Outcome | str | None]


# Adoption usage events: a decision, and a request's end ("completed" is what the self-service rate counts).
_DECISIONS = frozenset({"approved", "rejected"})
_REQUEST_ENDS = {"succeeded": "completed", "failed": "failed", "rejected": "rejected", "expired": "expired", "cancelled": "cancelled"}


class ActionService:
    def __init__(
        self,
        catalog: Catalog,
        *,
        notifier: Notifier | None = None,
        public_url: str = "http://localhost:3000",
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        http: httpx.Client | None = None,
        sleep: Callable[[float], None] = time.sleep,
        definitions: list[ActionDefinition] | None = None,
    ) -> None:
        self.catalog, self.clock, self.sleep = catalog, clock, sleep
        self.notifier: Notifier = notifier or _Silent()
        self.public_url = public_url.rstrip("/")
        self.http = http or httpx.Client(verify=tls_context())
        self.definitions = {a.id: a for a in (definitions if definitions is not None else load_actions(catalog.config))}
        self._internal: dict[str, InternalHandler] = {}
        self._builtin: set[str] = set()
        builtin.install(self)

    def _audit(self, session: Session, row: ActionRequest, event: str, *, actor: str, surface: str, now: datetime, **detail: Any) -> None:
        """The audit row, and the adoption usage event a decision or a request's end is (issue 15)."""
        workflow.audit(session, row, event, actor=actor, surface=surface, now=now, **detail)
        policy = self.catalog.config.questions  # pseudonymised like the askers of questions
        if event in _DECISIONS:
            waited_ms = (now - as_utc(row.created_at)).total_seconds() * 1000
            record_event(session, at=now, surface=Surface.ACTIONS, kind=Kind.ACTION_DECISION, outcome=event, who=asker_id(actor, policy),
                         intent=row.action_id, entity_ref=row.target_ref, latency_ms=waited_ms)  # fmt: skip
        builtin.close(session, row, event, by=actor, now=now)  # in this transaction: the domain record and the request agree
        if (outcome := _REQUEST_ENDS.get(event)) is not None:
            requester = row.requester_slack_id or row.requester_ref
            record_event(session, at=now, surface=Surface.ACTIONS, kind=Kind.ACTION_REQUEST, outcome=outcome, who=asker_id(requester, policy),
                         intent=row.action_id, entity_ref=row.target_ref)  # fmt: skip

    # -- definitions ------------------------------------------------------------------------------

    def register_internal(self, name: str, handler: InternalHandler) -> None:
        """A built-in action's code: `executor: {type: internal, handler: name}` calls it with the `Run`."""
        self._internal[name] = handler

    def add_definition(self, action: ActionDefinition, *, builtin: bool = False) -> None:
        """An action defined in code. `builtin`: another capability's approval (`actions/builtin.py`), filed only
        through `file_builtin`, never offered on cards or requested directly."""
        self.definitions[action.id] = action
        (self._builtin.add if builtin else self._builtin.discard)(action.id)

    def definition(self, action_id: str) -> ActionDefinition:
        try:
            return self.definitions[action_id]
        except KeyError:
            known = ", ".join(sorted(self.definitions)) or "none configured"
            raise UnknownAction(f"there is no action {action_id!r} (known: {known})") from None

    def available(self, actor: Actor, *, channel: str | None = None, target: str | None = None) -> list[ActionDefinition]:
        """The actions `actor` may request here (and, with `target`, those whose target matches it)."""
        with self.catalog.session() as session:
            entity = get_entity(session, target) if target else None
            return [
                a for a in self.definitions.values()
                if self._may_request(session, a, actor, channel) is None and (target is None or (entity is not None and _matches(a, entity)))
            ]  # fmt: skip

    def for_target(self, entity: EntityHeadline) -> list[ActionDefinition]:
        """Actions whose target can be `entity`, as a card already shows it (the "Request…" buttons; the click checks who may)."""
        return [a for a in self.definitions.values() if a.id not in self._builtin and _matches(a, entity)]

    def check_may_request(self, action_id: str, actor: Actor, *, channel: str | None = None) -> ActionDefinition:
        """The action, when `actor` may request it here; else Refused saying why and who can help."""
        action = self.definition(action_id)
        with self.catalog.session() as session:
            refusal = self._may_request(session, action, actor, channel)
        if refusal:
            raise Refused(refusal, help=REQUEST_HELP)
        return action

    def target_named(self, action_id: str, text: str) -> tuple[str, str] | None:
        """(ref, label) of the entity `text` names (a ref, the kind defaulting to the target's, or a name only
        one entity has) when it fits the target: a prefilled modal never guesses between look-alikes."""
        action = self.definition(action_id)
        with self.catalog.session() as session:
            try:
                named = [str(parse_ref(text, default_kind=action.target.kind if action.target else None))]
            except ValueError:  # a bare name and no kind to assume
                named = refs_named(session, text)
            entity = get_entity(session, named[0]) if len(named) == 1 else None
        return (entity.ref, _label(entity.title, entity.name)) if entity is not None and _matches(action, entity) else None

    def entity_choices(self, action_id: str, field: str, actor: Actor, typed: str, *, limit: int = 100) -> list[tuple[str, str]]:
        """(ref, label) of the entities `typed` may mean in the action's `field` picker (its target, or an entity
        input), filtered by the field's kind, type and owner ("mine": one of `actor`'s teams), best first.

        Served while someone types (Slack's `block_suggestion`, answered in the ack): one indexed
        name search, no scan of the catalog. The submission is validated again on the server.
        """
        action = self.definitions.get(action_id)
        picker = _picker(action, field) if action else None
        if picker is None:
            return []
        kind, entity_type, mine = (picker[0] or "").lower(), (picker[1] or "").lower(), picker[2]
        with self.catalog.session() as session:
            teams = set(approvers.teams_of(session, actor.user_ref)) if mine else set()

            def allowed(e: IndexedEntity) -> bool:
                return (not kind or e.kind == kind) and (not entity_type or (e.type or "").lower() == entity_type) and (not mine or e.owner_ref in teams)

            found = self.catalog.index(session).complete(typed, allowed=allowed, limit=limit)
        return [(e.ref, _label(e.title, e.name)) for e in found]

    def validate(self, action_id: str, actor: Actor, inputs: dict[str, Any], *, target: str | None = None, channel: str | None = None) -> None:
        """Check a request without making it (the modal's errors, before the ack); raises InvalidInputs or Refused."""
        action = self.check_may_request(action_id, actor, channel=channel)
        with self.catalog.session() as session:
            validate_inputs(session, action, inputs, target=target, requester_teams=approvers.teams_of(session, actor.user_ref))

    def check_may_decide(self, request_id: int, actor: Actor) -> None:
        """Refused unless `actor` may approve or reject request `request_id` now (before a reason modal opens)."""
        with self.catalog.session() as session:
            row = stored_request(session, request_id)
            if row is None or row.state != State.PENDING:
                raise self._not_pending(session, request_id)
            self._check_approver(request_view(session, row, self.definition(row.action_id)), actor)

    def _may_request(self, session: Session, action: ActionDefinition, actor: Actor, channel: str | None) -> str | None:
        """None when allowed, else why not."""
        if action.id in self._builtin:
            return f"{action.title} is requested from where it belongs in Wayfinder, not as an action."
        if action.channels and channel not in action.channels:
            return f"{action.title} can only be requested in " + ", ".join(f"<#{c}>" for c in action.channels) + "."
        if action.requesters == "everyone":
            return None
        allowed = {p.ref for p in approvers.resolve(session, action.requesters, owner_ref=None)}
        if actor.user_ref in allowed:
            return None
        return f"Only {', '.join(action.requesters)} may request {action.title}."

    # -- requesting -------------------------------------------------------------------------------

    def request(
        self, action_id: str, actor: Actor, inputs: dict[str, Any], *, target: str | None = None, channel: str | None = None, extends: int | None = None
    ) -> RequestView:
        """Validate and persist a request, post its approval card; raises InvalidInputs or Refused.

        `extends`: this request asks to extend that one's TTL (`extend`), and approving it does just that.
        """
        return self._file(self.definition(action_id), actor, inputs, target=target, channel=channel, extends=extends, owner=None)

    def file_builtin(self, action_id: str, actor: Actor, inputs: dict[str, Any], *, target: str | None, channel: str | None, owner: str | None) -> RequestView:
        """A built-in action's request, filed by its capability (people cannot request those directly).

        `owner`: the team whose members approve (`owner-*` approvers), when not the target's owner (e.g. a scorecard's owner);
        `channel`: where its card goes, chosen by the capability.
        """
        return self._file(self.definition(action_id), actor, inputs, target=target, channel=channel, extends=None, owner=owner, builtin=True)

    def _file(
        self, action: ActionDefinition, actor: Actor, inputs: dict[str, Any], *, target: str | None, channel: str | None, extends: int | None,
        owner: str | None, builtin: bool = False,
    ) -> RequestView:
        now = self.clock()
        with self.catalog.session() as session:
            refusal = None if builtin else self._may_request(session, action, actor, channel)
            if refusal:
                raise Refused(refusal, help=REQUEST_HELP)
            values, target_ref = validate_inputs(session, action, inputs, target=target, requester_teams=approvers.teams_of(session, actor.user_ref))
            target_entity = get_entity(session, target_ref) if target_ref else None
            owner_ref = owner or (target_entity.owner_ref if target_entity else next(iter(approvers.teams_of(session, actor.user_ref)), None))
            row = ActionRequest(
                action_id=action.id, state=State.REQUESTED, requester_ref=actor.user_ref, requester_slack_id=actor.slack_user_id,
                requester_name=actor.label[:200], surface=actor.surface, target_ref=target_ref, owner_ref=owner_ref, inputs=values,
                channel=(builtin and channel) or action.channel or approvers.owner_channel(session, owner_ref) or channel, created_at=now, updated_at=now,
                expires_at=now + action.approval.expires_after if action.approval.policy != "none" else None, extends_id=extends,
            )  # fmt: skip
            session.add(row)
            session.flush()
            self._audit(session, row, "requested", actor=actor.id, surface=actor.surface, now=now, to_state=State.REQUESTED,
                           inputs=workflow.masked(action, values), target=target_ref)  # fmt: skip
            request_id = row.id or 0
            to = State.APPROVED if action.approval.policy == "none" else State.PENDING
            workflow.transition(session, request_id, State.REQUESTED, to, now=now)
            self._audit(session, row, to.value, actor=actor.id, surface=actor.surface, now=now, from_state=State.REQUESTED, to_state=to)
            view = request_view(session, row, action)
            view.state = to
            nobody = to == State.PENDING and not view.waiting_on
            if nobody:  # nobody but the requester could approve: escalate at once
                self._audit(session, row, "escalated", actor=SCHEDULER.id, surface="scheduler", now=now, why="no eligible approver")
                row.escalated_at = now
                view.escalated = True
        if view.channel:
            ts = self.notifier.post_card(view)
            if ts:
                with self.catalog.session() as session:
                    stored = stored_request(session, request_id)
                    if stored is not None:
                        stored.ts = ts
                view.ts = ts
        if nobody:
            self._tell("no_approver", request_id, "Nobody but the requester can approve this request; it was escalated.", notify=view.escalation)
        else:
            self._tell("created", request_id, f"{view.requester_name} requested {action.title}.")
        if view.ts:
            self._catch_up(request_id, view)
        if to == State.APPROVED:
            self.run(request_id)
        return self.get(request_id)

    def _catch_up(self, request_id: int, posted: RequestView) -> None:
        """Redraw the card if the request moved while it was being posted.

        A click can land between chat.postMessage and storing its ts; that decision's redraw and
        thread line found no card to update. The ts is committed before this read, so any later
        decision finds the card itself: between the two, every decision is drawn.
        """
        now = self.get(request_id)
        missed = now.decisions[len(posted.decisions) :]
        if now.state == posted.state and not missed:
            return
        said = "; ".join(f"{d.approver_name} {'approved' if d.decision == 'approve' else 'rejected'}" for d in missed)
        self._tell("caught_up", request_id, f"While this card was being posted: {said or 'the request moved on'}. It is now {now.state}.")

    # -- deciding ---------------------------------------------------------------------------------

    def approve(self, request_id: int, actor: Actor) -> RequestView:
        return self._decide(request_id, actor, "approve", None)

    def reject(self, request_id: int, actor: Actor, reason: str) -> RequestView:
        if not reason.strip():
            raise InvalidInputs({"reason": "Say why, so the requester knows what to change."})
        return self._decide(request_id, actor, "reject", reason.strip()[:1000])

    def _decide(self, request_id: int, actor: Actor, decision: str, reason: str | None) -> RequestView:
        now = self.clock()
        with self.catalog.session() as session:
            row = workflow.lock(session, request_id, State.PENDING, now=now)
            if row is None:
                raise self._not_pending(session, request_id)
            action = self.definition(row.action_id)
            view = request_view(session, row, action)
            self._check_approver(view, actor)
            if not workflow.decide(session, row, approver_ref=actor.id, approver_name=actor.label, decision=decision, reason=reason, surface=actor.surface, now=now):
                raise Refused(f"You already decided on request #{request_id} at this stage.")
            if decision == "reject":
                workflow.transition(session, request_id, State.PENDING, State.REJECTED, now=now)
                self._audit(session, row, "rejected", actor=actor.id, surface=actor.surface, now=now, from_state=State.PENDING, to_state=State.REJECTED, reason=reason)
                outcome: State | None = State.REJECTED
            else:
                self._audit(session, row, "approval", actor=actor.id, surface=actor.surface, now=now, stage=row.stage)
                outcome = workflow.advance(session, row, action, now=now)
                if outcome == State.APPROVED:
                    self._audit(session, row, "approved", actor=actor.id, surface=actor.surface, now=now, from_state=State.PENDING, to_state=State.APPROVED)
        if outcome == State.REJECTED:
            self._tell("rejected", request_id, f"{actor.label} rejected the request: {reason}")
        elif outcome == State.APPROVED:
            self._tell("approved", request_id, f"{actor.label} approved the request.")
            self.run(request_id)
        else:
            self._tell("approval", request_id, f"{actor.label} approved" + (" this stage; the next stage is open." if outcome == State.PENDING else "; more approvals are needed."))
        return self.get(request_id)

    def _check_approver(self, view: RequestView, actor: Actor) -> None:
        everyone = {p.ref for s in view.stages for p in s.approvers} | {p.ref for p in view.escalation}
        mine = (actor.user_ref is not None and actor.user_ref == view.requester_ref) or (actor.slack_user_id is not None and actor.slack_user_id == view.requester_slack_id)
        if mine and not view.self_approval and actor.refs & everyone:
            others = ", ".join(p.name for p in view.waiting_on) or "nobody else yet: it was escalated"
            raise Refused("You cannot approve or reject your own request.", help=f"It waits for: {others}.")
        if not actor.refs & {p.ref for p in view.waiting_on}:
            who = ", ".join(p.name for p in view.waiting_on) or "nobody"
            raise Refused(f"You are not an approver of request #{view.id} at this stage.", help=f"Who can decide now: {who}.")

    def _not_pending(self, session: Session, request_id: int) -> Exception:
        row = stored_request(session, request_id)
        if row is None:
            return UnknownAction(f"there is no request #{request_id}")
        decided = [d for d in workflow.decisions(session, request_id) if d.stage == row.stage or d.decision == "reject"]
        by = f" by {decided[-1].approver_name}" if decided and row.state != State.PENDING else ""
        return Refused(f"Request #{request_id} was already decided{by}: it is {row.state.replace('_', ' ')}.")

    def cancel(self, request_id: int, actor: Actor) -> RequestView:
        now = self.clock()
        with self.catalog.session() as session:
            row = stored_request(session, request_id)
            if row is None:
                raise UnknownAction(f"there is no request #{request_id}")
            if actor.id != (row.requester_ref or f"slack:{row.requester_slack_id}") and actor.slack_user_id != row.requester_slack_id:
                raise Refused("Only the requester can cancel a request.")
            if not workflow.transition(session, request_id, State.PENDING, State.CANCELLED, now=now):
                raise self._not_pending(session, request_id)
            self._audit(session, row, "cancelled", actor=actor.id, surface=actor.surface, now=now, from_state=State.PENDING, to_state=State.CANCELLED)
        self._tell("cancelled", request_id, f"{actor.label} cancelled the request.")
        return self.get(request_id)

    # -- running ----------------------------------------------------------------------------------

    def run(self, request_id: int) -> bool:
        """Execute an approved request, once: False when another process claimed it first."""
        now, token = self.clock(), secrets.token_urlsafe(24)
        with self.catalog.session() as session:
            if not workflow.transition(session, request_id, State.APPROVED, State.RUNNING, now=now, claimed_until=now + RUN_LEASE, run_token_hash=_hash(token)):
                return False
            row = stored_request(session, request_id)
            assert row is not None
            session.refresh(row)
            self._audit(session, row, "running", actor=SCHEDULER.id, surface="scheduler", now=now, from_state=State.APPROVED, to_state=State.RUNNING)
            action = self.definition(row.action_id)
            run = self._run_of(row, token, teardown=False)
        self._tell("running", request_id, "Running…")
        outcome = self._execute(action.executor, row, run) if row.extends_id is None else self._extension(row, run)
        self._finish(request_id, outcome)
        return True

    def _extension(self, row: ActionRequest, run: Run) -> Outcome:
        """An approved extension request: extend the original's TTL, as its requester."""
        original = row.extends_id or 0
        try:
            done = self._extend(original, Actor(row.surface, user_ref=row.requester_ref, slack_user_id=row.requester_slack_id, name=row.requester_name))
        except Refused as exc:
            return Outcome.failed(f"#{original} could not be extended: {exc.reason}")
        return Outcome("succeeded", f"#{original} now ends {done.ttl_expires_at:%Y-%m-%d %H:%M} UTC.")

    def _run_of(self, row: ActionRequest, token: str, *, teardown: bool) -> Run:
        request_id = row.id or 0
        return Run(
            request_id=request_id, action_id=row.action_id, inputs=dict(row.inputs), target_ref=row.target_ref, requester_ref=row.requester_ref,
            requester_name=row.requester_name, status_url=f"{self.public_url}/actions/runs/{request_id}/status", token=token, teardown=teardown,
            progress=lambda message: self._tell("progress", request_id, message),
        )  # fmt: skip

    def _execute(self, executor: Any, row: ActionRequest, run: Run) -> Outcome:
        try:
            if isinstance(executor, WebhookExecutor):
                return call_webhook(self.http, executor, run, now=self.clock, sleep=self.sleep)
            if isinstance(executor, GitHubWorkflowExecutor):
                return dispatch_workflow(self.catalog.config, executor, run, sleep=self.sleep)
            if isinstance(executor, InternalExecutor):
                handler = self._internal.get(executor.handler)
                if handler is None:
                    return Outcome.failed(f"no built-in handler {executor.handler!r} is registered")
                result = handler(run)
                return result if isinstance(result, Outcome) else Outcome("succeeded", result or "")
            if isinstance(executor, CatalogExecutor):
                with self.catalog.session() as session:
                    teams = approvers.teams_of(session, row.requester_ref)
                    outcome = register_entity(session, executor, run, owner=row.owner_ref or (teams[0] if teams else None), now=self.clock())
                if outcome.status == "succeeded":
                    publish(self.catalog.factory, clock=self.clock)
                return outcome
        except Exception as exc:  # noqa: BLE001  an executor's bug fails this run, visibly, and nothing else
            log.exception("action run %s failed", run.request_id)
            return Outcome.failed(f"the executor crashed ({type(exc).__name__})")
        return Outcome.failed(f"unknown executor {type(executor).__name__}")

    def _finish(self, request_id: int, outcome: Outcome) -> None:
        now = self.clock()
        with self.catalog.session() as session:
            row = stored_request(session, request_id)
            assert row is not None
            if outcome.status == "running":
                workflow.transition(session, request_id, State.RUNNING, State.RUNNING, now=now, dispatched_at=now, result=outcome.message or None)
                final = None
            else:
                final = State.SUCCEEDED if outcome.status == "succeeded" else State.FAILED
                extra: dict[str, Any] = {"finished_at": now, "result": outcome.message or None, "dispatched_at": row.dispatched_at or now}
                if outcome.entity_ref:
                    extra["entity_ref"] = outcome.entity_ref
                action = self.definitions.get(row.action_id)
                if final == State.SUCCEEDED and action and action.ttl and row.extends_id is None:
                    extra["ttl_expires_at"] = now + _ttl(action, row.inputs)
                if not workflow.transition(session, request_id, State.RUNNING, final, now=now, **extra):
                    return  # already finished (a status report raced the executor's answer)
                self._audit(session, row, final.value, actor=SCHEDULER.id, surface="executor", now=now, from_state=State.RUNNING, to_state=final, message=outcome.message)
        if final is None:
            if outcome.message:
                self._tell("progress", request_id, outcome.message)
        else:
            self._tell(final.value, request_id, (outcome.message or final.value.capitalize()) if final == State.SUCCEEDED else f"The run failed: {outcome.message}")  # type: ignore[arg-type]

    def report_status(self, request_id: int, token: str, status: str, message: str = "") -> bool:
        """`POST /actions/runs/{id}/status`: progress, or the final status, with the run's token. False: not accepted."""
        with self.catalog.session() as session:
            row = stored_request(session, request_id)
            valid = row is not None and row.state == State.RUNNING and row.run_token_hash is not None and hmac.compare_digest(row.run_token_hash, _hash(token))
        if not valid:
            return False
        message = message.strip()[:1000]
        if status in ("succeeded", "failed"):
            self._finish(request_id, Outcome(status, message))  # type: ignore[arg-type]
        else:
            self._tell("progress", request_id, message or "Still running…")
        return True

    # -- TTL --------------------------------------------------------------------------------------

    def extend(self, request_id: int, actor: Actor) -> RequestView:
        """Push a live TTL back by its length again (no further than the action's `ttl.max` from now).

        With `ttl.extend_approval`, this files an extension request instead, approved like the
        original; its "run" is the extension. Returns the extended request, or the extension request.
        """
        with self.catalog.session() as session:
            row = self._own(session, request_id, actor)
            action = self.definition(row.action_id)
            if row.state != State.SUCCEEDED or row.ttl_expires_at is None or action.ttl is None:
                raise Refused(f"Request #{request_id} has nothing to extend (it is {row.state}).")
            inputs, target, channel = dict(row.inputs), row.target_ref, row.channel
        if action.ttl.extend_approval:
            return self.request(action.id, actor, inputs, target=target, channel=channel, extends=request_id)
        return self._extend(request_id, actor)

    def _extend(self, request_id: int, actor: Actor) -> RequestView:
        now = self.clock()
        with self.catalog.session() as session:
            row = stored_request(session, request_id)
            action = self.definition(row.action_id) if row else None
            if row is None or action is None or action.ttl is None or row.ttl_expires_at is None:
                raise UnknownAction(f"there is no live request #{request_id} to extend")
            until = max(row.ttl_expires_at, now) + _ttl(action, row.inputs)
            if action.ttl.max:
                until = min(until, now + action.ttl.max)
            if not workflow.transition(session, request_id, State.SUCCEEDED, State.SUCCEEDED, now=now, ttl_expires_at=until, ttl_notice=None):
                raise self._not_pending(session, request_id)
            self._audit(session, row, "extended", actor=actor.id, surface=actor.surface, now=now, until=until.isoformat())
        self._tell("extended", request_id, f"{actor.label} extended it until {until:%Y-%m-%d %H:%M} UTC.")
        return self.get(request_id)

    def teardown(self, request_id: int, actor: Actor = SCHEDULER) -> bool:
        """Tear a succeeded TTL run down now (the requester) or at expiry (the scheduler); once."""
        now = self.clock()
        with self.catalog.session() as session:
            row = self._own(session, request_id, actor) if actor is not SCHEDULER else stored_request(session, request_id)
            if row is None or not workflow.transition(session, request_id, State.SUCCEEDED, State.TORN_DOWN, now=now):
                return False
            session.refresh(row)
            self._audit(session, row, "torn_down", actor=actor.id, surface=actor.surface, now=now, from_state=State.SUCCEEDED, to_state=State.TORN_DOWN)
            action = self.definitions.get(row.action_id)
            retired = retire_entity(session, row.entity_ref, now=now) if row.entity_ref else False
            run = self._run_of(row, "", teardown=True)
        outcome = self._execute(action.ttl.teardown, row, run) if action and action.ttl and action.ttl.teardown else Outcome("succeeded")
        if retired:
            publish(self.catalog.factory, clock=self.clock)
        text = "Torn down." + (f" {row.entity_ref} was retired from the catalog." if retired else "")
        if outcome.status == "failed":
            text = f"The teardown failed: {outcome.message}. Someone has to clean up by hand."
        with self.catalog.session() as session:
            stored = stored_request(session, request_id)
            if stored is not None:
                stored.result = text
        self._tell("torn_down", request_id, text)
        return True

    def _own(self, session: Session, request_id: int, actor: Actor) -> ActionRequest:
        row = stored_request(session, request_id)
        if row is None:
            raise UnknownAction(f"there is no request #{request_id}")
        if not ((actor.user_ref and actor.user_ref == row.requester_ref) or (actor.slack_user_id and actor.slack_user_id == row.requester_slack_id)):
            raise Refused("Only the requester can do this.")
        return row

    # -- the scheduler ----------------------------------------------------------------------------

    def tick(self) -> dict[str, int]:
        """One round of the timed work (expiry, reminders, escalation, TTL, runs to start or give up); counts per kind."""
        now = self.clock()
        done = {k: 0 for k in ("expired", "reminded", "escalated", "started", "interrupted", "ttl_reminded", "torn_down")}
        with self.catalog.session() as session:
            pending = list(session.exec(select(ActionRequest).where(ActionRequest.state == State.PENDING)))
            approved = [r.id or 0 for r in session.exec(select(ActionRequest).where(ActionRequest.state == State.APPROVED))]
            stuck = [r.id or 0 for r in session.exec(select(ActionRequest).where(
                ActionRequest.state == State.RUNNING, col(ActionRequest.dispatched_at).is_(None), col(ActionRequest.claimed_until) < now))]  # fmt: skip
            live = list(session.exec(select(ActionRequest).where(ActionRequest.state == State.SUCCEEDED, col(ActionRequest.ttl_expires_at).is_not(None))))
        for row in pending:
            action = self.definitions.get(row.action_id)
            if row.expires_at and row.expires_at <= now:
                done["expired"] += self._timed(row, State.PENDING, State.EXPIRED, "expired", "Nobody decided in time: the request expired.")
            elif action:
                done["escalated"] += self._escalate(row, action, now)
                done["reminded"] += self._remind(row, action, now)
        for request_id in approved:
            done["started"] += self.run(request_id)
        for request_id in stuck:
            message = "Interrupted before the executor confirmed the run; it is not retried, to never run twice. Request it again if needed."
            done["interrupted"] += self._timed_id(request_id, State.RUNNING, State.FAILED, "failed", message, finished_at=now, result=message)
        for row in live:
            assert row.ttl_expires_at is not None
            if row.ttl_expires_at <= now:
                done["torn_down"] += self.teardown(row.id or 0)
            else:
                done["ttl_reminded"] += self._ttl_notice(row, now)
        publish_if_behind(self.catalog.factory, clock=self.clock)
        return done

    def _timed(self, row: ActionRequest, expected: State, to: State, kind: EventKind, text: str, **values: Any) -> int:
        return self._timed_id(row.id or 0, expected, to, kind, text, **values)

    def _timed_id(self, request_id: int, expected: State, to: State, kind: EventKind, text: str, **values: Any) -> int:
        now = self.clock()
        with self.catalog.session() as session:
            if not workflow.transition(session, request_id, expected, to, now=now, **values):
                return 0
            row = stored_request(session, request_id)
            assert row is not None
            self._audit(session, row, kind, actor=SCHEDULER.id, surface="scheduler", now=now, from_state=expected, to_state=to)
        self._tell(kind, request_id, text)
        return 1

    def _remind(self, row: ActionRequest, action: ActionDefinition, now: datetime) -> int:
        delay = action.approval.remind_after
        if not delay or row.reminded_at is not None or row.updated_at + delay > now:
            return 0
        if not self._mark(row, "reminded_at", now, ActionRequest.reminded_at):
            return 0
        view = self.get(row.id or 0)
        self._tell("reminder", row.id or 0, f"Reminder: this request has waited {format_duration(delay)} for a decision.", notify=view.waiting_on)
        return 1

    def _escalate(self, row: ActionRequest, action: ActionDefinition, now: datetime) -> int:
        delay = action.approval.escalation_delay
        if not delay or not action.approval.escalate_to or row.escalated_at is not None or row.created_at + delay > now:
            return 0
        if not self._mark(row, "escalated_at", now, ActionRequest.escalated_at):
            return 0
        view = self.get(row.id or 0)
        self._tell("escalated", row.id or 0, f"No decision after {format_duration(delay)}: escalated to {', '.join(action.approval.escalate_to)}.", notify=view.escalation)
        return 1

    def _mark(self, row: ActionRequest, field: str, now: datetime, column: Any) -> bool:
        """Set a once-only timestamp of a pending request; True for the one replica that set it."""
        with self.catalog.session() as session:
            done = session.execute(
                update(ActionRequest).where(col(ActionRequest.id) == row.id, col(ActionRequest.state) == State.PENDING, col(column).is_(None))
                .values({field: now}).returning(col(ActionRequest.id))
            ).first()  # fmt: skip
            if done:
                self._audit(session, row, field.removesuffix("_at"), actor=SCHEDULER.id, surface="scheduler", now=now)
            return done is not None

    def _ttl_notice(self, row: ActionRequest, now: datetime) -> int:
        assert row.ttl_expires_at is not None
        due = next((label for label, before in reversed(TTL_NOTICES) if row.ttl_expires_at - before <= now), None)
        if due is None or row.ttl_notice == due:
            return 0
        with self.catalog.session() as session:
            done = session.execute(
                update(ActionRequest).where(col(ActionRequest.id) == row.id, col(ActionRequest.state) == State.SUCCEEDED,
                                            or_(col(ActionRequest.ttl_notice).is_(None), col(ActionRequest.ttl_notice) != due))
                .values(ttl_notice=due).returning(col(ActionRequest.id))
            ).first()  # fmt: skip
            if done:
                self._audit(session, row, "ttl_reminder", actor=SCHEDULER.id, surface="scheduler", now=now, before=due)
        if not done:
            return 0
        left = "one day" if due == "1d" else "one hour"
        self._tell("ttl_reminder", row.id or 0, f"This ends in {left}, at {row.ttl_expires_at:%Y-%m-%d %H:%M} UTC: extend it or tear it down now.")
        return 1

    # -- reading ----------------------------------------------------------------------------------

    def get(self, request_id: int) -> RequestView:
        with self.catalog.session() as session:
            row = stored_request(session, request_id)
            if row is None:
                raise UnknownAction(f"there is no request #{request_id}")
            return request_view(session, row, self.definitions.get(row.action_id))

    def list_requests(self, *, states: Iterable[str] | None = None, requester: Actor | None = None, limit: int = 50) -> list[RequestView]:
        with self.catalog.session() as session:
            query = select(ActionRequest).order_by(col(ActionRequest.id).desc()).limit(limit)
            if states:
                query = query.where(col(ActionRequest.state).in_(list(states)))
            if requester is not None:
                query = query.where(or_(col(ActionRequest.requester_ref) == requester.user_ref, col(ActionRequest.requester_slack_id) == requester.slack_user_id))
            return [request_view(session, row, self.definitions.get(row.action_id)) for row in session.exec(query)]

    def waiting_for(self, actor: Actor, *, limit: int = 20) -> list[RequestView]:
        """Pending requests `actor` may decide now."""
        return [v for v in self.list_requests(states=[State.PENDING], limit=500) if actor.refs & {p.ref for p in v.waiting_on}][:limit]

    def audit(self, *, since: datetime | None = None) -> list[dict[str, Any]]:
        with self.catalog.session() as session:
            query = select(ActionAudit).order_by(col(ActionAudit.id))
            if since is not None:
                query = query.where(col(ActionAudit.at) >= since)
            return [a.model_dump(mode="json") for a in session.exec(query)]

    def _tell(self, kind: EventKind, request_id: int, text: str, notify: list[approvers.Person] | None = None) -> None:
        try:
            self.notifier.tell(ActionEvent(kind=kind, request=self.get(request_id), text=text, notify=notify or []))
        except Exception:  # noqa: BLE001  a chat outage never undoes a decision already committed
            log.exception("telling about request %s (%s) failed", request_id, kind)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _ttl(action: ActionDefinition, inputs: dict[str, Any]) -> timedelta:
    assert action.ttl is not None
    length = parse_duration(inputs[action.ttl.from_input]) if action.ttl.from_input else action.ttl.duration
    assert length is not None
    return min(length, action.ttl.max) if action.ttl.max else length


def _label(title: str | None, name: str) -> str:
    """How a picker shows an entity: its title, and its name when the title differs."""
    return f"{title} ({name})" if title and title != name else name


def _picker(action: ActionDefinition, field: str) -> tuple[str | None, str | None, bool] | None:
    """(kind, type, owned by the requester's teams) of an entity picker of `action`: its target or an entity input."""
    if field == TARGET and action.target:
        return action.target.kind, action.target.type, False
    spec = action.input(field)
    return (spec.kind, spec.entity_type, spec.owner == "mine") if isinstance(spec, EntityInput) else None


def _matches(action: ActionDefinition, entity: Any) -> bool:
    target = action.target
    return target is not None and (not target.kind or entity.kind == target.kind.lower()) and (not target.type or (entity.type or "").lower() == target.type.lower())

