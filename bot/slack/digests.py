"""Scorecard digests and degradation alerts into Slack: the `Delivery` that `catalog.scorecards.service` calls.

Its client retries 429s itself, waiting Retry-After (slack_sdk's `RateLimitErrorRetryHandler`); a
429 that outlasts those retries becomes `RateLimited` and the queue tries the row again later. A
channel that cannot take messages becomes `Undeliverable`, reported once instead of retried. Each
digest carries its queue key in the message metadata, so a retry after a crash can see it was posted.
"""

from __future__ import annotations

from collections.abc import Callable

from slack_sdk import WebClient
from slack_sdk.http_retry import RateLimitErrorRetryHandler
from slack_sdk.models.metadata import Metadata
from slack_sdk.web import SlackResponse

from bot.slack.client import SlackCallMeter, delivery_errors
from bot.slack.views.digest import render_alert_batch, render_leadership_digest, render_team_digest
from catalog.metrics import Metrics
from catalog.scorecards.service import AlertBatch, LeadershipDigest, TeamDigest

EVENT_TYPE = "wayfinder_digest"
HISTORY_LOOKBACK = 100  # messages read back to find a digest an attempt posted before dying
RATE_LIMIT_RETRIES = 3  # waits of Retry-After each; beyond them the row goes back to the queue


def digest_client(metrics: Metrics, *, token: str | None, base_url: str) -> WebClient:
    """A client for sending many messages: 429s wait Retry-After and retry, every attempt is counted."""
    return WebClient(token=token, base_url=base_url, retry_handlers=[SlackCallMeter(metrics), RateLimitErrorRetryHandler(max_retry_count=RATE_LIMIT_RETRIES)])


class SlackDelivery:
    def __init__(self, client: WebClient, *, public_url: str | None) -> None:
        self._client, self._public_url = client, public_url

    def post_digest(self, channel: str, digest: TeamDigest, chart: bytes | None, *, key: str) -> None:
        text, blocks = render_team_digest(digest, public_url=self._public_url)
        ts = self._post(channel, text, blocks, key=key)
        if chart is not None:
            self._call(
                lambda: self._client.files_upload_v2(
                    channel=channel, thread_ts=ts, content=None, file=chart, filename="scorecard-trend.png", title=f"{digest.team_name}: scorecard trend"
                )
            )

    def post_leadership(self, channel: str, digest: LeadershipDigest, *, key: str) -> None:
        text, blocks = render_leadership_digest(digest)
        self._post(channel, text, blocks, key=key)

    def already_posted(self, channel: str, *, key: str) -> bool:
        """Among the channel's latest messages (a retry comes minutes after the attempt that died)."""
        history = self._call(lambda: self._client.conversations_history(channel=channel, include_all_metadata=True, limit=HISTORY_LOOKBACK))
        return any((m.get("metadata") or {}).get("event_payload", {}).get("key") == key for m in history.get("messages") or [])

    def post_alerts(self, channel: str, batch: AlertBatch, *, team_name: str) -> None:
        text, blocks = render_alert_batch(batch, team_name=team_name, public_url=self._public_url)
        self._call(lambda: self._client.chat_postMessage(channel=channel, text=text, blocks=blocks, unfurl_links=False))

    def post_admin(self, channel: str, text: str) -> None:
        self._call(lambda: self._client.chat_postMessage(channel=channel, text=text, unfurl_links=False))

    def _post(self, channel: str, text: str, blocks: list[dict[str, object]], *, key: str) -> str:
        metadata = Metadata(event_type=EVENT_TYPE, event_payload={"key": key})
        response = self._call(lambda: self._client.chat_postMessage(channel=channel, text=text, blocks=blocks, metadata=metadata, unfurl_links=False))
        return str(response["ts"])

    @staticmethod
    def _call(call: Callable[[], SlackResponse]) -> SlackResponse:
        """`call()`, with Slack's answers that the queue acts on turned into its exceptions."""
        with delivery_errors():
            return call()
