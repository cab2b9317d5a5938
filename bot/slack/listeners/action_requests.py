"""Self-service actions in Slack: `/wayfinder run [action]`, "Request…" buttons, the request modal and
its entity pickers' options, Approve / Reject on the approval card (Reject asks for a reason), Extend /
Tear down now in the TTL DM.

Every handler acks first (modals open within the trigger's 3 seconds) and the core checks on
every click whether this person may do this now; a refusal is told to the clicker alone. Where
Slack is still waiting (the ack carries options or field errors, or a modal must open before its
trigger_id expires) the clicker is looked up in a hurry: unknown rather than late.
"""

from __future__ import annotations

import re
from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient

from actions.errors import ActionError, InvalidInputs, UnknownAction
from actions.inputs import TARGET
from actions.service import Actor
from bot.compose import Services
from bot.slack.actions import actor
from bot.slack.errors import reported
from bot.slack.ids import ActionId, CallbackId
from bot.slack.views.actions import entity_options, read_modal, render_action_list, render_reject_modal, render_request_modal

NOT_A_REQUEST = "This form does not name a request. Close it and press Reject on the approval card again."
REQUEST_ID = re.compile(r"[0-9]{1,18}")
RUN = re.compile(r"^\s*run\b\s*(?P<action>\S+)?\s*(?P<target>\S+)?", re.IGNORECASE)


def register(app: App) -> None:
    app.action(re.compile(rf"^{ActionId.ACTION_REQUEST}(:.*)?$"))(reported(handle_request_button))
    app.action(ActionId.ACTION_APPROVE)(reported(handle_approve))
    app.action(ActionId.ACTION_REJECT)(reported(handle_reject))
    app.action(ActionId.ACTION_EXTEND)(reported(handle_extend))
    app.action(ActionId.ACTION_TEARDOWN)(reported(handle_teardown))
    app.options(ActionId.ACTION_ENTITY)(reported(handle_entity_suggestions))
    app.view(CallbackId.ACTION_MODAL)(reported(handle_request_submission))
    app.view(CallbackId.ACTION_REJECT_MODAL)(reported(handle_reject_submission))


def is_run_command(text: str) -> bool:
    return bool(RUN.match(text))


def handle_run_command(command: dict[str, Any], respond: Respond, client: WebClient, services: Services) -> None:
    """(Already acked.) `run`: the actions this person may request here; `run <action> [target]`: its modal."""
    match = RUN.match(command.get("text", ""))
    assert match
    who, channel = actor(services, client, command["user_id"], hurry=True), command.get("channel_id")
    if not match["action"]:
        blocks = render_action_list(services.actions.available(who, channel=channel))
        respond(response_type="ephemeral", text="Actions you can request", blocks=blocks)
        return
    _open_modal(services, client, respond, command["trigger_id"], who=who, action_id=match["action"], target=match["target"], channel=channel)


def _open_modal(services: Services, client: WebClient, respond: Respond, trigger_id: str, *, who: Actor, action_id: str, target: str | None, channel: str | None) -> None:
    try:
        action = services.actions.check_may_request(action_id, who, channel=channel)
    except ActionError as exc:
        respond(response_type="ephemeral", replace_original=False, text=str(exc))
        return
    # `run db-read-access payments-db` names it: prefilled only when it names exactly one entity that fits.
    named = services.actions.target_named(action.id, target) if target else None
    view = render_request_modal(action, target=named, metadata=f"{action.id}|{channel or ''}")
    client.views_open(trigger_id=trigger_id, view=view)


def handle_entity_suggestions(ack: Ack, body: dict[str, Any], client: WebClient, services: Services) -> None:
    """What the typed text may name in an entity picker, in the ack itself (Slack shows nothing without it)."""
    action_id = str((body.get("view") or {}).get("private_metadata", "")).partition("|")[0]
    who = actor(services, client, body["user"]["id"], hurry=True)
    choices = services.actions.entity_choices(action_id, str(body.get("block_id", "")), who, str(body.get("value", "")))
    ack(options=entity_options(choices))


def handle_request_button(ack: Ack, action: dict[str, Any], body: dict[str, Any], respond: Respond, client: WebClient, services: Services) -> None:
    ack()
    action_id, _, target = action["value"].partition("|")
    channel, who = (body.get("channel") or {}).get("id"), actor(services, client, body["user"]["id"], hurry=True)
    _open_modal(services, client, respond, body["trigger_id"], who=who, action_id=action_id, target=target or None, channel=channel)


def handle_request_submission(ack: Ack, view: dict[str, Any], body: dict[str, Any], client: WebClient, services: Services) -> None:
    """Validate on the server (errors on their fields), then close the modal and make the request."""
    action_id, _, channel = view["private_metadata"].partition("|")
    values = read_modal(view["state"])
    target = values.pop(TARGET, None)
    who = actor(services, client, body["user"]["id"], hurry=True)
    try:
        services.actions.validate(action_id, who, values, target=target, channel=channel or None)
    except InvalidInputs as exc:
        ack(response_action="errors", errors=exc.errors)
        return
    except ActionError as exc:
        ack()
        client.chat_postMessage(channel=body["user"]["id"], text=str(exc))
        return
    ack()
    try:
        services.actions.request(action_id, who, values, target=target, channel=channel or None)
    except ActionError as exc:  # the catalog changed between the check and the request
        client.chat_postMessage(channel=body["user"]["id"], text=str(exc))


def handle_approve(ack: Ack, action: dict[str, Any], body: dict[str, Any], respond: Respond, client: WebClient, services: Services) -> None:
    ack()
    try:
        services.actions.approve(_request_of(action), actor(services, client, body["user"]["id"]))
    except ActionError as exc:
        respond(response_type="ephemeral", replace_original=False, text=str(exc))


def handle_reject(ack: Ack, action: dict[str, Any], body: dict[str, Any], respond: Respond, client: WebClient, services: Services) -> None:
    """Ask for the reason in a modal, if this person may reject at all."""
    ack()
    try:
        request_id = _request_of(action)
        services.actions.check_may_decide(request_id, actor(services, client, body["user"]["id"], hurry=True))
    except ActionError as exc:
        respond(response_type="ephemeral", replace_original=False, text=str(exc))
        return
    client.views_open(trigger_id=body["trigger_id"], view=render_reject_modal(request_id))


def handle_reject_submission(ack: Ack, view: dict[str, Any], body: dict[str, Any], client: WebClient, services: Services) -> None:
    metadata = str(view.get("private_metadata") or "")
    if not REQUEST_ID.fullmatch(metadata):  # Wayfinder writes the request id there: this form was not opened by its Reject button
        ack(response_action="errors", errors={"reason": NOT_A_REQUEST})
        return
    request_id = int(metadata)
    reason = str(read_modal(view["state"]).get("reason") or "")
    who = actor(services, client, body["user"]["id"], hurry=True)
    try:
        services.actions.check_may_decide(request_id, who)
        if not reason.strip():
            raise InvalidInputs({"reason": "Say why, so the requester knows what to change."})
    except InvalidInputs as exc:
        ack(response_action="errors", errors=exc.errors)
        return
    except ActionError as exc:
        ack(response_action="errors", errors={"reason": str(exc)})
        return
    ack()
    try:
        services.actions.reject(request_id, who, reason)
    except ActionError as exc:  # someone else decided in between
        client.chat_postMessage(channel=body["user"]["id"], text=str(exc))


def handle_extend(ack: Ack, action: dict[str, Any], body: dict[str, Any], respond: Respond, client: WebClient, services: Services) -> None:
    ack()
    try:
        done = services.actions.extend(_request_of(action), actor(services, client, body["user"]["id"]))
        respond(replace_original=False, text=f"Extended until {done.ttl_expires_at:%Y-%m-%d %H:%M} UTC.")
    except ActionError as exc:
        respond(replace_original=False, text=str(exc))


def handle_teardown(ack: Ack, action: dict[str, Any], body: dict[str, Any], respond: Respond, client: WebClient, services: Services) -> None:
    ack()
    try:
        done = services.actions.teardown(_request_of(action), actor(services, client, body["user"]["id"]))
        respond(replace_original=False, text="Torn down." if done else "It was already torn down.")
    except ActionError as exc:
        respond(replace_original=False, text=str(exc))


def _request_of(action: dict[str, Any]) -> int:
    """The request a card's button names (Wayfinder writes its id there); anything else, forged or from another
    version, is no request: said to the person, where `int()` raised into an apology and an error traceback."""
    value = str(action.get("value") or "")
    if not REQUEST_ID.fullmatch(value):
        raise UnknownAction("This button names no request: it may be from an older message. Ask for the request again.")
    return int(value)
