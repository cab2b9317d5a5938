"""The "Who owns this?" message shortcut: ownership cards for the catalog names in a message."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient

from bot.compose import Services
from bot.slack.deliveries import ONCE, once_per_delivery
from bot.slack.ids import CallbackId
from bot.slack.replies import TRANSPORT, reply
from catalog.adoption.events import Surface

# A response_url takes five posts; one card per name keeps each within Slack's block limits.
MAX_CARDS = 3
NOTHING_FOUND = "I found no catalog names in that message. Try `/wayfinder help` to see what I know."


def register(app: App) -> None:
    app.shortcut(CallbackId.WHO_OWNS_THIS, middleware=ONCE)(once_per_delivery(handle_who_owns_this))


def handle_who_owns_this(ack: Ack, shortcut: dict[str, Any], respond: Respond, client: WebClient, services: Services) -> None:
    """Reply only to the person who used the shortcut: the message's author did not ask."""
    ack()
    found = services.catalog.spot((shortcut.get("message") or {}).get("text", ""), limit=MAX_CARDS)
    if not found:
        respond(response_type="ephemeral", text=NOTHING_FOUND)
    for entity in found:
        answer = services.catalog.ask_about(
            f"who owns {entity.name}?", ref=entity.ref, intent="owner", transport=TRANSPORT, asker=(shortcut.get("user") or {}).get("id"),
            surface=Surface.SLACK_SHORTCUT,
        )
        respond(response_type="ephemeral", **reply(services, client, answer, ephemeral=True))
