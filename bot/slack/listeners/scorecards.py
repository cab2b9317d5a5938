"""Exemptions from the digest: "Request exemption" opens a modal; the request is a built-in action's, whose
approval card goes to the scorecard's owning team (`actions/builtin.py`)."""

from __future__ import annotations

from datetime import date
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient

from actions.builtin import request_exemption
from bot.compose import Services
from bot.slack.actions import actor
from bot.slack.errors import reported
from bot.slack.ids import ActionId, BlockId, CallbackId
from bot.slack.metadata import BadValue, ExemptionAsk, read
from bot.slack.views.digest import render_exemption_modal
from catalog.errors import InvalidInput
from catalog.scorecards.service import Scorecards


def register(app: App) -> None:
    app.action(ActionId.EXEMPTION_REQUEST)(reported(handle_exemption_request))
    app.view(CallbackId.EXEMPTION_MODAL)(reported(handle_exemption_submission))


def handle_exemption_request(ack: Ack, action: dict[str, Any], body: dict[str, Any], client: WebClient, services: Services) -> None:
    """Open the modal at once (a trigger_id expires after 3 s)."""
    ack()
    ask = read(ExemptionAsk, action["value"])
    rule = services.catalog.config.scorecard(ask.scorecard).rule(ask.rule)
    client.views_open(trigger_id=body["trigger_id"], view=render_exemption_modal(ask, rule_title=rule.label if rule else ask.rule))


def handle_exemption_submission(ack: Ack, view: dict[str, Any], body: dict[str, Any], client: WebClient, services: Services) -> None:
    """Store the request (errors go back into the modal); its approval card goes where the scorecard's owning team is."""
    try:
        ask = read(ExemptionAsk, str(view.get("private_metadata") or ""))
    except BadValue:  # a form Wayfinder did not open (forged, or from an older version): a 500 lost what was typed
        ack(response_action="errors", errors={BlockId.EXEMPTION_REASON: NOT_AN_EXEMPTION})
        return
    values = view["state"]["values"]
    ref = ((values.get(BlockId.EXEMPTION_ENTITY, {}).get(ActionId.EXEMPTION_ENTITY) or {}).get("selected_option") or {}).get("value") or ""
    reason = (values.get(BlockId.EXEMPTION_REASON, {}).get(ActionId.EXEMPTION_REASON) or {}).get("value") or ""
    expires = (values.get(BlockId.EXEMPTION_EXPIRES, {}).get(ActionId.EXEMPTION_EXPIRES) or {}).get("selected_date")
    if not expires:
        ack(response_action="errors", errors={BlockId.EXEMPTION_EXPIRES: "pick the date the exemption ends"})
        return
    try:
        expires_on = _date(expires)
        Scorecards(services.catalog).check_exemption(scorecard=ask.scorecard, rule=ask.rule, reason=reason, expires_on=expires_on)
    except InvalidInput as exc:
        block = BlockId.EXEMPTION_EXPIRES if "expiry" in str(exc) else BlockId.EXEMPTION_REASON
        ack(response_action="errors", errors={block: str(exc)})
        return
    ack()
    request_exemption(services.actions, actor(services, client, body["user"]["id"]), scorecard=ask.scorecard, ref=ref, rule=ask.rule, reason=reason,
                      expires_on=expires_on, channel=ask.channel)  # fmt: skip


NOT_AN_EXEMPTION = "This form does not name a scorecard rule. Close it and press Request exemption on the rule again."


def _date(picked: str) -> date:
    """The date picker's `YYYY-MM-DD`; anything else is the expiry's field error, not a 500."""
    try:
        return date.fromisoformat(picked)
    except ValueError:
        raise InvalidInput(f"the expiry {picked!r} is not a date") from None
