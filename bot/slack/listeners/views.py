"""Modal submissions: the App Home search."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient

from bot.compose import Services
from bot.slack.errors import reported
from bot.slack.ids import ActionId, BlockId, CallbackId
from bot.slack.replies import TRANSPORT, post, reply
from catalog.adoption.events import Surface


def register(app: App) -> None:
    app.view(CallbackId.SEARCH_MODAL)(reported(handle_search_submission))


def handle_search_submission(ack: Ack, view: dict[str, Any], body: dict[str, Any], client: WebClient, services: Services) -> None:
    """Close the modal and answer in the asker's DM with the bot, where the answer stays findable."""
    question = (view["state"]["values"].get(BlockId.QUESTION, {}).get(ActionId.QUESTION, {}).get("value") or "").strip()
    if not question:
        ack(response_action="errors", errors={BlockId.QUESTION: "Type a question, for example: who owns payments-service?"})
        return
    ack()
    answer = services.catalog.ask(question, transport=TRANSPORT, asker=body["user"]["id"], surface=Surface.SLACK_HOME)
    post(client, body["user"]["id"], reply(services, client, answer))
