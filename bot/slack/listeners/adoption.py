"""Adoption clicks: the digest's one-click fixes, the pulse survey."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient

from bot.compose import Services
from bot.slack.errors import reported
from bot.slack.ids import ActionId, BlockId, CallbackId
from bot.slack.metadata import FixValue, read
from bot.slack.mrkdwn import escape
from bot.slack.views.adoption import render_pulse_modal
from catalog.adoption.events import Kind, Surface
from catalog.adoption.service import Adoption, NotAnAdmin

ALREADY_DECIDED = "Someone already decided on this alias."
THANKS = "Thank you! Your answer goes to the platform team (without your name)."


def register(app: App) -> None:
    app.action(ActionId.ADOPTION_FIX)(reported(handle_adoption_fix))
    app.action(ActionId.PULSE_OPEN)(reported(handle_pulse_open))
    app.view(CallbackId.PULSE_MODAL)(reported(handle_pulse_submission))


def handle_adoption_fix(ack: Ack, action: dict[str, Any], body: dict[str, Any], respond: Respond, services: Services) -> None:
    """"Add alias" (admins) approves the alias at once; "Create" shows the descriptor to add."""
    ack()
    fix, user, adoption = read(FixValue, action["value"]), body["user"]["id"], Adoption(services.catalog)
    adoption.record_event(surface=Surface.SLACK_DIGEST, kind=Kind.DIGEST_CLICK, outcome=fix.action, who=user, now=services.clock())
    if fix.action == "add_alias" and fix.ref:
        try:
            added = adoption.add_alias(name=fix.name, ref=fix.ref, admin=user, now=services.clock())
        except NotAnAdmin:
            respond(text="Only catalog admins (`adoption.admins`) can add aliases.", response_type="ephemeral", replace_original=False)
            return
        done = f"“{escape(fix.name)}” now names `{escape(fix.ref)}`." if added else ALREADY_DECIDED
        respond(text=done, response_type="ephemeral", replace_original=False)
        return
    skeleton = f"apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: {fix.name}\nspec:\n  owner: <team>\n"
    respond(text=f"Nothing is called “{escape(fix.name)}” yet. Add it to the catalog:\n```{escape(skeleton)}```", response_type="ephemeral", replace_original=False)


def handle_pulse_open(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
    ack()
    client.views_open(trigger_id=body["trigger_id"], view=render_pulse_modal())


def handle_pulse_submission(ack: Ack, view: dict[str, Any], body: dict[str, Any], client: WebClient, services: Services) -> None:
    """Store the score and comment against this quarter's invitation, then thank the person."""
    values = view["state"]["values"]
    selected = (values.get(BlockId.PULSE_SCORE, {}).get(ActionId.PULSE_SCORE, {}).get("selected_option") or {}).get("value")
    if selected is None or not selected.isdigit() or not 0 <= int(selected) <= 10:
        ack(response_action="errors", errors={BlockId.PULSE_SCORE: "Pick a score from 0 to 10."})
        return
    ack()
    comment = values.get(BlockId.PULSE_COMMENT, {}).get(ActionId.PULSE_COMMENT, {}).get("value")
    user, adoption = body["user"]["id"], Adoption(services.catalog)
    stored = adoption.answer_pulse(user=user, score=int(selected), comment=comment, now=services.clock())
    adoption.record_event(surface=Surface.SLACK_PULSE, kind=Kind.PULSE_ANSWER, outcome="stored" if stored else "ignored", who=user, now=services.clock())
    if stored:
        client.chat_postMessage(channel=user, text=THANKS)
