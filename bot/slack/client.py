"""Counting the bot's Slack Web API traffic for `/metrics`: requests, failures and 429s.

Bolt gives each request's listeners a fresh `WebClient` that copies the app client's retry
handlers, so the count lives in a retry handler: slack_sdk consults the handlers after every
HTTP attempt (successful, failed or raising), and this one only looks and never retries.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry import HttpRequest, HttpResponse, RetryHandler, RetryState, default_retry_handlers

from catalog.chat import MessageGone, RateLimited, Undeliverable
from catalog.metrics import Metrics

# A 429 makes a listener sleep for Retry-After; more than two retries would hold its thread too long.
RATE_LIMIT_RETRIES = 2
# Seconds a call may take while Slack waits for an ack or a trigger_id is about to expire (both within 3 s).
HURRIED_TIMEOUT = 1
# Slack's errors for a channel that cannot take the bot's messages (SLACK-FACTS §2): retrying will not help.
UNDELIVERABLE = {"channel_not_found", "is_archived", "not_in_channel", "channel_is_archived", "restricted_action", "team_access_not_granted"}
DEFAULT_RETRY_AFTER = 60.0  # seconds, for a 429 without a usable Retry-After header


class SlackCallMeter(RetryHandler):
    """Counts each attempt by Web API method; a 429, a non-2xx status, `ok: false` or an exception as a failure."""

    def __init__(self, metrics: Metrics) -> None:
        super().__init__(max_retry_count=0)
        self._metrics = metrics

    def can_retry(
        self, *, state: RetryState, request: HttpRequest, response: HttpResponse | None = None, error: Exception | None = None
    ) -> bool:
        method = request.url.split("?")[0].rsplit("/", 1)[-1]
        self._metrics.slack_calls.labels(method).inc()
        if response is not None and response.status_code == 429:
            self._metrics.slack_rate_limited.labels(method).inc()
        failure = _failure(response, error)
        if failure:
            self._metrics.slack_errors.labels(method, failure).inc()
        return False


def _failure(response: HttpResponse | None, error: Exception | None) -> str | None:
    """Slack's error code, the HTTP status, or the exception type; None for a success."""
    if response is None:
        return type(error).__name__ if error else None
    if response.status_code >= 300:
        return f"http_{response.status_code}"
    body = response.body or {}
    return None if body.get("ok", True) else str(body.get("error") or "unknown")


def metered_client(metrics: Metrics, *, token: str | None, base_url: str) -> WebClient:
    """A `WebClient` for `base_url` whose every attempt is counted (before slack_sdk's own retry handlers)."""
    return WebClient(token=token, base_url=base_url, retry_handlers=[SlackCallMeter(metrics), *default_retry_handlers()])


def hurried(client: WebClient) -> WebClient:
    """`client` for a call made while Slack waits (an ack, a trigger_id's 3 s): a short timeout and no retries.

    slack_sdk's retry handlers sleep for Retry-After after a 429 and back off after a broken
    connection, which would miss the 3 seconds; here a slow or refused call fails at once instead
    (still counted by the meter), and the caller goes on without its answer.
    """
    meters: list[RetryHandler] = [h for h in client.retry_handlers if isinstance(h, SlackCallMeter)]
    return WebClient(
        token=client.token, base_url=client.base_url, timeout=HURRIED_TIMEOUT, ssl=client.ssl, proxy=client.proxy, headers=client.headers,
        retry_handlers=meters,
    )  # fmt: skip


@contextmanager
def delivery_errors() -> Iterator[None]:
    """Slack's answers that a delivery queue acts on, as the core's exceptions: a 429 is `RateLimited`
    (with its Retry-After), a channel that cannot take messages `Undeliverable`, a message deleted
    `MessageGone`; anything else is raised as it is."""
    try:
        yield
    except SlackApiError as exc:
        if exc.response.status_code == 429:
            raise RateLimited(_seconds(exc.response.headers.get("Retry-After"))) from None
        error = str(exc.response.get("error") or "")
        if error in UNDELIVERABLE:
            raise Undeliverable(error) from None
        if error == "message_not_found":
            raise MessageGone(error) from None
        raise


def _seconds(header: str | None) -> float:
    try:
        return max(float(header or ""), 0.0)
    except ValueError:
        return DEFAULT_RETRY_AFTER
