"""From an `Answer` to a Slack message: the steps every way of asking shares."""

from __future__ import annotations

from typing import Any, TypedDict

from slack_sdk import WebClient

from bot.compose import Services
from bot.slack.deliveries import answer_metadata
from bot.slack.identity import add_slack_ids
from bot.slack.views.actions import request_buttons
from bot.slack.views.answer import render_answer
from bot.slack.views.parts import MESSAGE_BLOCKS
from catalog.answers.models import Answer

TRANSPORT = "slack"  # how questions asked in Slack are recorded (unanswered questions, feedback)


class Message(TypedDict):
    text: str
    blocks: list[Any]


def reply(services: Services, client: WebClient, answer: Answer, *, ephemeral: bool = False) -> Message:
    """Render `answer` with the Slack ids of the people it names, so they can be mentioned."""
    add_slack_ids(services, client, answer)
    text, blocks = render_answer(answer, public_url=services.public_url, now=services.clock(), ephemeral=ephemeral)
    if answer.card is not None:  # "Request…" for actions whose target is this entity
        blocks += request_buttons(services.actions.for_target(answer.card.entity), answer.card.entity.ref)[: max(0, MESSAGE_BLOCKS - len(blocks))]
    return {"text": text, "blocks": blocks}


def post(client: WebClient, channel: str, message: Message, *, thread_ts: str | None = None, delivery: str | None = None) -> None:
    """Post without link previews (a card's links would otherwise unfurl into noise), naming the Slack delivery answered."""
    client.chat_postMessage(
        channel=channel, thread_ts=thread_ts, unfurl_links=False, unfurl_media=False, metadata=answer_metadata(delivery), **message
    )
