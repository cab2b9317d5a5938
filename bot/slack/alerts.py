"""Alert cards into Slack: the `CardPoster` the alert worker calls, over the app's WebClient."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from slack_sdk import WebClient

from bot.slack.views.alert import render_alert_card, render_alert_line
from catalog.alerts.card import AlertCard


class SlackCardPoster:
    def __init__(self, client: WebClient, *, public_url: str, clock: Callable[[], datetime]) -> None:
        self._client, self._public_url, self._clock = client, public_url, clock

    def post(self, channel: str, card: AlertCard) -> str:
        text, blocks = render_alert_card(card, public_url=self._public_url, now=self._clock())
        response = self._client.chat_postMessage(channel=channel, text=text, blocks=blocks, unfurl_links=False)
        return str(response["ts"])

    def update(self, channel: str, ts: str, card: AlertCard) -> None:
        text, blocks = render_alert_card(card, public_url=self._public_url, now=self._clock())
        self._client.chat_update(channel=channel, ts=ts, text=text, blocks=blocks)

    def reply(self, channel: str, ts: str, card: AlertCard) -> None:
        self._client.chat_postMessage(channel=channel, thread_ts=ts, text=render_alert_line(card))
