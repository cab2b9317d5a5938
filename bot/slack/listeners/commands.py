"""`/wayfinder <question>`: answered only to the asker, who may share it in the channel."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient

from bot.compose import Services
from bot.slack.deliveries import ONCE, once_per_delivery
from bot.slack.ids import Command
from bot.slack.listeners.action_requests import handle_run_command, is_run_command
from bot.slack.replies import TRANSPORT, reply
from catalog.adoption.events import Surface


def register(app: App) -> None:
    app.command(Command.WAYFINDER, middleware=ONCE)(once_per_delivery(handle_wayfinder_command))


def handle_wayfinder_command(ack: Ack, command: dict[str, Any], respond: Respond, client: WebClient, services: Services) -> None:
    """Ack at once (Slack waits 3 s), then answer through the response_url; `help` is a question too, `run` requests an action."""
    ack()
    if is_run_command(command.get("text", "")):
        handle_run_command(command, respond, client, services)
        return
    answer = services.catalog.ask(command.get("text", ""), transport=TRANSPORT, asker=command.get("user_id"), surface=Surface.SLACK_COMMAND)
    respond(response_type="ephemeral", **reply(services, client, answer, ephemeral=True))
