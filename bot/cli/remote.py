"""`wayfinder ask` against a running server (`WAYFINDER_URL` or `--url`): laptops without the database.

The server's `GET /api/v1/ask` returns exactly what `wayfinder ask --json` prints, so the command
prints it the same way and exits the same way. Only httpx is imported here (no SQLAlchemy, config
or answer models), which keeps a remote question well under a second. Every failure is one line:
the server cannot be reached, refused the token, took too long, or did not answer as Wayfinder.
The token (`WAYFINDER_TOKEN`) is sent as a bearer header and never printed.
"""

from __future__ import annotations

import os
from typing import Any

import httpx

from catalog.tls import tls_context

DEFAULT_TIMEOUT = 10.0  # seconds; `--timeout` changes it


class RemoteError(Exception):
    """The server did not give an answer; the message is one line for the terminal."""


def ask_remote(base_url: str, question: str, *, timeout: float = DEFAULT_TIMEOUT) -> dict[str, Any]:
    """The server's answer to `question`, as the JSON object `wayfinder ask --json` prints."""
    return get_json(base_url, "/api/v1/ask", {"q": question}, timeout=timeout, expect=("text", "status"))


def get_json(base_url: str, path: str, params: dict[str, str], *, timeout: float, expect: tuple[str, ...]) -> dict[str, Any]:
    """The server's JSON object at `path`, which must have the `expect` keys; RemoteError otherwise."""
    token = os.environ.get("WAYFINDER_TOKEN", "").strip()
    where = _display(base_url)
    try:
        url = httpx.URL(base_url.rstrip("/") + path)
        headers = {"X-Wayfinder-Client": "cli"} | ({"Authorization": f"Bearer {token}"} if token else {})  # the client names itself for adoption events
        response = httpx.get(url, params=params, headers=headers, timeout=timeout, verify=tls_context())
    except httpx.TimeoutException:
        raise RemoteError(f"{where} did not answer within {timeout:g} s (WAYFINDER_URL; raise --timeout if it is just slow)") from None
    except (httpx.TransportError, httpx.InvalidURL, httpx.UnsupportedProtocol) as exc:
        raise RemoteError(f"cannot reach {where}: {type(exc).__name__}: {exc} (check WAYFINDER_URL)") from None
    if response.status_code == 401:
        fix = "the token in WAYFINDER_TOKEN was refused" if token else "it needs a token: set WAYFINDER_TOKEN"
        raise RemoteError(f"{where} refused the request (HTTP 401): {fix}")
    body = _json(response)
    if response.status_code != 200 or not isinstance(body, dict) or any(key not in body for key in expect):
        message = body.get("message") if isinstance(body, dict) else None
        error_id = f" (error id {body['error_id']})" if isinstance(body, dict) and body.get("error_id") else ""
        raise RemoteError(f"{where} answered HTTP {response.status_code}: {message or 'not a Wayfinder answer'}{error_id}")
    return body


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _display(base_url: str) -> str:
    """The server as it may be printed: without a user or password written into the URL."""
    try:
        return str(httpx.URL(base_url).copy_with(username=None, password=None))
    except (httpx.InvalidURL, TypeError):
        return "the server in WAYFINDER_URL"
