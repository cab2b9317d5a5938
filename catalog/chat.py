"""What a chat adapter tells a delivery queue when Slack would not take a message: wait, or not in that channel.

Raised by adapters (`bot.slack.client.delivery_errors`) and acted on by the queues that post
(scorecard digests, alert cards), which know nothing of Slack's client or its error codes.
"""

from __future__ import annotations


class RateLimited(Exception):
    """Slack answered 429 (after the client's own retries, if any); try again after `retry_after` seconds."""

    def __init__(self, retry_after: float) -> None:
        super().__init__(f"rate limited for {retry_after:g} s")
        self.retry_after = retry_after


class Undeliverable(Exception):
    """The channel cannot take the message (archived, the bot is not in it, gone): retrying will not help."""


class MessageGone(Exception):
    """The message to edit is no longer in Slack (someone deleted it): editing it again will not help."""
