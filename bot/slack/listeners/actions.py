"""Button clicks: Did you mean, 👍/👎, Share in channel, the Home search button and URL buttons."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient

from actions.builtin import propose_alias
from bot.compose import Services
from bot.slack.deliveries import ONCE, once_per_delivery
from bot.slack.errors import reported
from bot.slack.ids import ActionId
from bot.slack.metadata import AskValue, FeedbackValue, ShareValue, read
from bot.slack.replies import TRANSPORT, reply
from bot.slack.views.alert import ALERT_CARD
from bot.slack.views.home import render_search_modal
from catalog.adoption.events import Kind, Surface
from catalog.adoption.service import Adoption

THANKS = "Thanks for the feedback! It helps make the answers better."


def register(app: App) -> None:
    app.action(ActionId.DID_YOU_MEAN, middleware=ONCE)(once_per_delivery(handle_did_you_mean))
    app.action(ActionId.FEEDBACK, middleware=ONCE)(once_per_delivery(handle_feedback))
    app.action(ActionId.SHARE, middleware=ONCE)(once_per_delivery(handle_share))
    app.action(ActionId.HOME_SEARCH)(reported(handle_home_search))
    app.action(ActionId.LINK)(reported(handle_link))


def handle_did_you_mean(
    ack: Ack, action: dict[str, Any], body: dict[str, Any], respond: Respond, client: WebClient, services: Services
) -> None:
    """Replace the question card with the answer about the picked candidate (or help example)."""
    ack()
    value = read(AskValue, action["value"])
    if value.ref:
        answer = services.catalog.ask_about(
            value.question, ref=value.ref, intent=value.intent, transport=TRANSPORT, asker=body["user"]["id"], surface=Surface.SLACK_BUTTON
        )
        learn_alias(services, client, question=value.question, ref=value.ref)
    else:
        answer = services.catalog.ask(value.question, transport=TRANSPORT, asker=body["user"]["id"], surface=Surface.SLACK_BUTTON)
    ephemeral = bool((body.get("container") or {}).get("is_ephemeral"))
    respond(replace_original=True, **reply(services, client, answer, ephemeral=ephemeral))


def handle_feedback(
    ack: Ack, action: dict[str, Any], body: dict[str, Any], respond: Respond, client: WebClient, services: Services
) -> None:
    """Store the vote with the question it judges; thank only the voter. A 👍 on a fuzzy match teaches the name."""
    ack()
    value = read(FeedbackValue, action["value"])
    services.catalog.record_feedback(
        question=value.question, intent=value.intent, ref=value.ref, helpful=value.helpful,
        user_id=body["user"]["id"], transport=TRANSPORT, now=services.clock(),
    )  # fmt: skip
    Adoption(services.catalog).record_event(
        surface=Surface.SLACK_BUTTON, kind=Kind.FEEDBACK, outcome="up" if value.helpful else "down", who=body["user"]["id"],
        intent=value.intent, entity_ref=value.ref, now=services.clock(),
    )  # fmt: skip
    if value.helpful and value.ref:
        learn_alias(services, client, question=value.question, ref=value.ref)
    respond(text=THANKS, response_type="ephemeral", replace_original=False)


def handle_share(ack: Ack, action: dict[str, Any], body: dict[str, Any], respond: Respond, client: WebClient, services: Services) -> None:
    """Post the answer for everyone, then remove the private copy (its response_url can do both)."""
    ack()
    question = read(ShareValue, action["value"]).question
    answer = services.catalog.ask(question, transport=TRANSPORT, asker=body["user"]["id"], surface=Surface.SLACK_BUTTON)
    respond(response_type="in_channel", replace_original=False, **reply(services, client, answer))
    respond(delete_original=True)


def handle_home_search(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
    """Open the modal at once: a trigger_id expires after 3 s and works only once."""
    ack()
    client.views_open(trigger_id=body["trigger_id"], view=render_search_modal())


def handle_link(ack: Ack, action: dict[str, Any], body: dict[str, Any], services: Services) -> None:
    """URL buttons open in the browser; Slack still sends the click, which must be acked (and is counted)."""
    ack()
    on_alert = action.get("value") == ALERT_CARD
    Adoption(services.catalog).record_event(
        surface=Surface.SLACK_ALERT if on_alert else Surface.SLACK_BUTTON, kind=Kind.ALERT_OPENED if on_alert else Kind.LINK_OPENED,
        outcome="ok", who=(body.get("user") or {}).get("id"), now=services.clock(),
    )  # fmt: skip


def learn_alias(services: Services, client: WebClient, *, question: str, ref: str) -> None:
    """A confirmed answer: propose the typed name as an alias; the first time, the admins get an approval card."""
    propose_alias(services.actions, question=question, ref=ref)
