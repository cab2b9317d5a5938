"""The `webhook` executor: POST the run as JSON, signed, with retries on 5xx and timeouts.

The signature is `X-Wayfinder-Signature: v1=<hex HMAC-SHA256 of "{timestamp}.{body}">` with the
action's secret and `X-Wayfinder-Timestamp` (Unix seconds), so a receiver can refuse replays.
`X-Wayfinder-Run` carries the request id on every attempt: a retry is the same run, to deduplicate.
A 2xx answer may say `{"status": "running"}` (the final status follows on the status URL) or
`{"status": "failed", "message": ...}`; anything else 2xx is success.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable
from datetime import datetime

import httpx

from actions.definitions import WebhookExecutor
from actions.executors.base import Outcome, Run

BACKOFF_SECONDS = 1.0  # doubled after each failed attempt


def sign(secret: str, timestamp: str, body: bytes) -> str:
    return "v1=" + hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def call_webhook(http: httpx.Client, spec: WebhookExecutor, run: Run, *, now: Callable[[], datetime], sleep: Callable[[float], None]) -> Outcome:
    body = json.dumps(run.payload(), separators=(",", ":"), sort_keys=True).encode()
    problem = ""
    for attempt in range(spec.retries + 1):
        timestamp = str(int(now().timestamp()))
        headers = {
            "Content-Type": "application/json", "User-Agent": "wayfinder", "X-Wayfinder-Run": str(run.request_id),
            "X-Wayfinder-Timestamp": timestamp, "X-Wayfinder-Signature": sign(spec.secret.get_secret_value(), timestamp, body),
        }  # fmt: skip
        try:
            response = http.post(spec.url, content=body, headers=headers, timeout=spec.timeout_seconds)
        except httpx.TimeoutException:
            problem = f"timed out after {spec.timeout_seconds:g} s"
        except httpx.TransportError as exc:
            problem = f"could not be reached ({type(exc).__name__})"
        else:
            if response.status_code < 400:
                return _outcome(response)
            if response.status_code < 500:
                return Outcome.failed(f"the executor refused the run: HTTP {response.status_code} {response.text[:200]}".strip())
            problem = f"answered HTTP {response.status_code}"
        if attempt < spec.retries:
            delay = BACKOFF_SECONDS * 2**attempt
            run.progress(f"Attempt {attempt + 1} of {spec.retries + 1}: the executor {problem}; retrying in {delay:g} s.")
            sleep(delay)
    return Outcome.failed(f"the executor {problem} ({spec.retries + 1} attempts)")


def _outcome(response: httpx.Response) -> Outcome:
    try:
        answer = response.json()
    except ValueError:
        answer = {}
    if not isinstance(answer, dict):
        answer = {}
    status = answer.get("status")
    message = str(answer.get("message") or "")[:500]
    if status in ("running", "failed"):
        return Outcome(status, message)
    return Outcome("succeeded", message)
