"""Exemptions from the digest: "Request exemption" opens a modal; the request goes to the scorecard's owning team, whose members approve or reject it."""

from __future__ import annotations

from datetime import date
from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient

from bot.compose import Services
from bot.slack.identity import identify
from bot.slack.ids import ActionId, BlockId, CallbackId
from bot.slack.metadata import ExemptionAsk
from bot.slack.views.digest import render_exemption_modal, render_exemption_request
from catalog.errors import InvalidInput
from catalog.scorecards.service import Scorecards

REFUSED = {
    "not_allowed": "Only a member of the scorecard's owning team (other than the requester) can decide this exemption.",
    "already_decided": "Someone already decided this request.",
    "not_found": "This request no longer exists.",
}


def register(app: App) -> None:
    app.action(ActionId.EXEMPTION_REQUEST)(handle_exemption_request)
    app.view(CallbackId.EXEMPTION_MODAL)(handle_exemption_submission)
    app.action(ActionId.EXEMPTION_APPROVE)(handle_exemption_decision)
    app.action(ActionId.EXEMPTION_REJECT)(handle_exemption_decision)


def handle_exemption_request(ack: Ack, action: dict[str, Any], body: dict[str, Any], client: WebClient, services: Services) -> None:
    """Open the modal at once (a trigger_id expires after 3 s)."""
    ack()
    ask = ExemptionAsk.model_validate_json(action["value"])
    rule = services.catalog.config.scorecard(ask.scorecard).rule(ask.rule)
    client.views_open(trigger_id=body["trigger_id"], view=render_exemption_modal(ask, rule_title=rule.label if rule else ask.rule))


def handle_exemption_submission(ack: Ack, view: dict[str, Any], body: dict[str, Any], client: WebClient, services: Services) -> None:
    """Store the request (errors go back into the modal), then post it where its approvers are."""
    ask = ExemptionAsk.model_validate_json(view["private_metadata"])
    values = view["state"]["values"]
    ref = ((values.get(BlockId.EXEMPTION_ENTITY, {}).get(ActionId.EXEMPTION_ENTITY) or {}).get("selected_option") or {}).get("value") or ""
    reason = (values.get(BlockId.EXEMPTION_REASON, {}).get(ActionId.EXEMPTION_REASON) or {}).get("value") or ""
    expires = (values.get(BlockId.EXEMPTION_EXPIRES, {}).get(ActionId.EXEMPTION_EXPIRES) or {}).get("selected_date")
    scorecards = Scorecards(services.catalog)
    try:
        if not expires:
            raise InvalidInput("pick the date the exemption ends")
        request = scorecards.request_exemption(
            scorecard=ask.scorecard, ref=ref, rule=ask.rule, reason=reason, expires_on=date.fromisoformat(expires), requested_by=body["user"]["id"]
        )  # fmt: skip
    except InvalidInput as exc:
        block = BlockId.EXEMPTION_EXPIRES if "expiry" in str(exc) or "date" in str(exc) else BlockId.EXEMPTION_REASON
        ack(response_action="errors", errors={block: str(exc)})
        return
    ack()
    channel = scorecards.approval_channel(request) or ask.channel
    if channel:
        text, blocks = render_exemption_request(request, public_url=services.public_url)
        client.chat_postMessage(channel=channel, text=text, blocks=blocks, unfurl_links=False)


def handle_exemption_decision(ack: Ack, action: dict[str, Any], body: dict[str, Any], respond: Respond, client: WebClient, services: Services) -> None:
    """Decide once (a conditional update), as the clicking user, who must belong to the owning team; redraw the request."""
    ack()
    user = body["user"]["id"]
    scorecards = Scorecards(services.catalog)
    decision = scorecards.decide_exemption(
        int(action["value"]), approver=user, approver_ref=identify(services, client, user).user_ref, approve=action["action_id"] == ActionId.EXEMPTION_APPROVE
    )  # fmt: skip
    if decision in REFUSED:
        respond(text=REFUSED[decision], response_type="ephemeral", replace_original=False)
        return
    request = scorecards.exemption(int(action["value"]))
    if request is not None:
        text, blocks = render_exemption_request(request, public_url=services.public_url)
        respond(text=text, blocks=blocks, replace_original=True)
