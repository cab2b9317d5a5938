"""The bot's Slack Web API client, counted: calls, failures and 429s go to `/metrics`."""

from __future__ import annotations

from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry import HttpRequest, HttpResponse, RetryState
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler
from slack_sdk.web import SlackResponse

from catalog.metrics import Metrics

# A 429 makes a listener sleep for Retry-After; more than two retries would hold its thread too long.
RATE_LIMIT_RETRIES = 2


class CountedRateLimitHandler(RateLimitErrorRetryHandler):
    """slack_sdk's 429 handler (sleep for Retry-After, retry) that also counts every 429 it sees."""

    def __init__(self, metrics: Metrics) -> None:
        super().__init__(max_retry_count=RATE_LIMIT_RETRIES)
        self._metrics = metrics

    def can_retry(self, *, state: RetryState, request: HttpRequest, response: HttpResponse | None = None, error: Exception | None = None) -> bool:
        if response is not None and response.status_code == 429:
            self._metrics.slack_rate_limited.labels(request.url.split("?")[0].rsplit("/", 1)[-1]).inc()
        return super().can_retry(state=state, request=request, response=response, error=error)


class MeteredWebClient(WebClient):
    """A `WebClient` that counts each Web API call and each failure (by Slack's error code or exception type)."""

    def __init__(self, metrics: Metrics, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._metrics = metrics
        self.retry_handlers.append(CountedRateLimitHandler(metrics))

    def api_call(self, api_method: str, **kwargs: Any) -> SlackResponse:  # type: ignore[override]
        self._metrics.slack_calls.labels(api_method).inc()
        try:
            return super().api_call(api_method, **kwargs)
        except SlackApiError as exc:
            self._metrics.slack_errors.labels(api_method, str(exc.response.get("error") or exc.response.status_code)).inc()
            raise
        except Exception as exc:
            self._metrics.slack_errors.labels(api_method, type(exc).__name__).inc()
            raise
