"""An HTTP client for source APIs: timeouts everywhere, counted requests, polite retries.

429 and 5xx are retried after `Retry-After` (or a short backoff); a wait longer than
`max_wait` stops the run cleanly with a `SourceError` instead of hanging a sync.
Sources pass `retry_delay` to add API-specific rules (GitHub's secondary limits).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx

from catalog.errors import SourceError
from catalog.tls import tls_context

RetryDelay = Callable[[httpx.Response, int], float | None]


def default_retry_delay(response: httpx.Response, attempt: int) -> float | None:
    """Seconds to wait before retrying this response, or None when it is final."""
    if response.status_code == 429:
        return retry_after(response) or 2.0**attempt
    if response.status_code >= 500:
        return 2.0**attempt * 0.5
    return None


def retry_after(response: httpx.Response) -> float | None:
    """The `Retry-After` header in seconds, when the server sent a usable one."""
    value = response.headers.get("retry-after")
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


class HttpStatusError(SourceError):
    """A final answer the caller cannot use (403 without rate-limit signals, 409, ...).

    Raised by helpers that know which statuses are normal; a source decides whether it fails the
    whole run or one item of it.
    """

    def __init__(self, source: str, url: str, response: httpx.Response) -> None:
        self.status = response.status_code
        super().__init__(f"{source}: {url} answered HTTP {self.status}: {_message(response)}")


def _message(response: httpx.Response) -> str:
    """The API's own error message when it sent one (GitHub: `{"message": ...}`), else the reason."""
    try:
        body = response.json()
    except ValueError:
        return response.reason_phrase
    return str(body.get("message") or response.reason_phrase) if isinstance(body, dict) else response.reason_phrase


class ApiClient:
    def __init__(
        self,
        name: str,
        base_url: str,
        *,
        headers: dict[str, str],
        timeout: float = 10.0,
        max_retries: int = 3,
        max_wait: float = 60.0,
        retry_delay: RetryDelay = default_retry_delay,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.name = name
        self.client = httpx.Client(base_url=base_url.rstrip("/") + "/", headers=headers, timeout=httpx.Timeout(timeout), verify=tls_context())
        self.max_retries = max_retries
        self.max_wait = max_wait
        self.retry_delay = retry_delay
        self.sleep = sleep
        self.requests = 0

    def get(self, url: str, *, params: dict[str, Any] | None = None, headers: dict[str, str] | None = None) -> httpx.Response:
        """GET with retries; the caller decides what a final non-2xx status means."""
        return self.request("GET", url, params=params, headers=headers)

    def request(
        self, method: str, url: str, *, params: dict[str, Any] | None = None, headers: dict[str, str] | None = None, json: Any = None
    ) -> httpx.Response:
        """One call with retries (rate limits, 5xx, network errors); a POST (an action's workflow dispatch) too."""
        for attempt in range(self.max_retries + 1):
            self.requests += 1
            try:
                response = self.client.request(method, url.lstrip("/") if "://" not in url else url, params=params, headers=headers, json=json)
            except httpx.HTTPError as exc:
                if attempt == self.max_retries:
                    raise SourceError(f"{self.name}: {type(exc).__name__} calling {url}: {exc}") from None
                self.sleep(2.0**attempt * 0.5)
                continue
            delay = self.retry_delay(response, attempt)
            if delay is None:
                return response
            if delay > self.max_wait:
                raise SourceError(
                    f"{self.name}: {url} answered HTTP {response.status_code} and asks to wait {delay:.0f} s, "
                    f"more than {self.max_wait:.0f} s; stopping without changes"
                )
            if attempt == self.max_retries:
                raise SourceError(
                    f"{self.name}: {url} answered HTTP {response.status_code} after {attempt + 1} tries; stopping without changes"
                )
            self.sleep(delay)
        raise AssertionError("unreachable")

    def json(self, url: str, *, params: dict[str, Any] | None = None) -> Any:
        """GET that must succeed with JSON; anything else raises `SourceError` (`HttpStatusError` for a final status)."""
        response = self.get(url, params=params)
        if response.status_code != 200:
            raise HttpStatusError(self.name, url, response)
        try:
            return response.json()
        except ValueError:
            raise SourceError(f"{self.name}: {url} answered malformed JSON") from None

    def close(self) -> None:
        self.client.close()
