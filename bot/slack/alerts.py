"""Alert cards into Slack: the `CardPoster` the alert worker calls, over the app's WebClient.

Each card carries Slack message metadata naming its incident (the field is `group_key`, its name
from when each group had one card, so cards posted then are still found), so a worker that crashed after
posting and before recording the message id finds the card again (`find`, through
`conversations.history`) instead of posting a second one; each thread line names the delivery it
reports, so a retried delivery finds its line (`replied`, through `conversations.replies`).
Slack's 429 and unusable channels reach the worker as `RateLimited` and `Undeliverable`
(`delivery_errors`): it waits Retry-After before the next attempt, and posts elsewhere.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from slack_sdk import WebClient
from slack_sdk.models.metadata import Metadata

from bot.slack.client import delivery_errors
from bot.slack.posted import find_posted
from bot.slack.views.alert import render_alert_card, render_alert_line
from catalog.alerts.card import AlertCard

CARD_EVENT = "wayfinder_alert_card"
LINE_EVENT = "wayfinder_alert_line"  # a thread line, keyed by the delivery that changed the card
# Slack's clock and ours may differ a little; the channel is searched from this long before the intent.
CLOCK_SKEW = timedelta(minutes=2)
HISTORY_PAGES = 5  # of 200 messages: a card is posted within seconds of its intent


class SlackCardPoster:
    def __init__(self, client: WebClient, *, public_url: str, clock: Callable[[], datetime]) -> None:
        self._client, self._public_url, self._clock = client, public_url, clock

    @delivery_errors()
    def post(self, channel: str, card: AlertCard) -> str:
        text, blocks = render_alert_card(card, public_url=self._public_url, now=self._clock())
        metadata = Metadata(event_type=CARD_EVENT, event_payload={"group_key": card.group_key})
        response = self._client.chat_postMessage(channel=channel, text=text, blocks=blocks, unfurl_links=False, metadata=metadata)
        return str(response["ts"])

    @delivery_errors()
    def update(self, channel: str, ts: str, card: AlertCard) -> None:
        text, blocks = render_alert_card(card, public_url=self._public_url, now=self._clock())
        self._client.chat_update(channel=channel, ts=ts, text=text, blocks=blocks)

    @delivery_errors()
    def reply(self, channel: str, ts: str, card: AlertCard, *, key: str) -> None:
        metadata = Metadata(event_type=LINE_EVENT, event_payload={"group_key": card.group_key, "delivery": key})
        self._client.chat_postMessage(channel=channel, thread_ts=ts, text=render_alert_line(card), metadata=metadata)

    @delivery_errors()
    def replied(self, channel: str, ts: str, key: str) -> bool:
        found = find_posted(
            lambda cursor: self._client.conversations_replies(channel=channel, ts=ts, include_all_metadata=True, limit=200, cursor=cursor),
            event_type=LINE_EVENT, field="delivery", value=key, pages=HISTORY_PAGES,
        )  # fmt: skip
        return found is not None

    @delivery_errors()
    def find(self, channel: str, key: str, *, since: datetime) -> str | None:
        oldest = f"{(since - CLOCK_SKEW).timestamp():.6f}"
        return find_posted(
            lambda cursor: self._client.conversations_history(channel=channel, oldest=oldest, include_all_metadata=True, limit=200, cursor=cursor),
            event_type=CARD_EVENT, field="group_key", value=key, pages=HISTORY_PAGES,
        )
