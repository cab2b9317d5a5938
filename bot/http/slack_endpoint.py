"""The Slack HTTP edge: nothing reaches Bolt until Slack's signature over the raw bytes holds.

Bolt parses a request before its own verification runs, and a malformed header (say a timestamp
of `abc`) made its verifier raise into Wayfinder's error handler, which then posted an apology
to whatever channel or `response_url` the unsigned body named. So the check runs here, first:
a missing or malformed timestamp or signature, a stale timestamp or a wrong signature is a bare
401 and is logged with its reason, never its body. Only a verified body is parsed, and one that
does not parse the way Bolt reads it is a 400. Bolt's own check is then redundant and off
(`build_app`), so Bolt never logs a refused body either.

`slack_router` serves `POST /slack/events` through that gate; without Slack it answers 503 and says why.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, Self

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, model_validator
from slack_sdk.signature import Clock, SignatureVerifier
from starlette.concurrency import run_in_threadpool

from bot.compose import Services

# Bolt is imported by a server that has Slack (`bot.http.app.build_slack`); one without starts without it.
if TYPE_CHECKING:
    from slack_bolt import App, BoltRequest

log = logging.getLogger(__name__)

_TIMESTAMP = re.compile(r"[0-9]{1,12}")
_SIGNATURE = re.compile(r"v0=[0-9a-f]{64}")


class _Envelope(BaseModel):
    """The nested parts Bolt and the listeners read: a signed body with other shapes is refused, not a 500.

    Bolt also indexes some parts without looking: the first of a click's `actions`, a submitted or
    closed view's `type`; a payload without them made Bolt raise (a 500 with a traceback).
    """

    model_config = ConfigDict(extra="allow", defer_build=True)  # built by the first Slack request
    type: str | None = None
    event: dict[str, Any] | None = None
    actions: list[dict[str, Any]] | None = None
    view: dict[str, Any] | None = None
    message: dict[str, Any] | None = None
    container: dict[str, Any] | None = None
    user: dict[str, Any] | str | None = None
    team: dict[str, Any] | str | None = None
    channel: dict[str, Any] | str | None = None

    @model_validator(mode="after")
    def _complete(self) -> Self:
        if self.type == "block_actions" and not self.actions:
            raise ValueError("a click without actions")
        if self.type in ("view_submission", "view_closed") and not isinstance((self.view or {}).get("type"), str):
            raise ValueError("a view without a type")
        return self


class Refused(Exception):
    """A request that must not reach Bolt; `status` is the HTTP answer, the message says why (no body)."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status


class _ServicesClock(Clock):
    """slack_sdk's clock interface over the injected `Services.clock`, so tests control "now"."""

    def __init__(self, now: Callable[[], datetime]) -> None:
        self._now = now

    def now(self) -> float:
        return self._now().timestamp()


class SlackGate:
    """Verifies and parses one request to `/slack/events`: a `BoltRequest`, or `Refused`."""

    def __init__(self, signing_secret: str, *, clock: Callable[[], datetime]) -> None:
        self._verifier = SignatureVerifier(signing_secret, clock=_ServicesClock(clock))

    def admit(self, raw: bytes, headers: Mapping[str, str], query: str) -> BoltRequest:
        """The verified request, parsed by Bolt itself; `Refused` (401, then 400) otherwise."""
        timestamp, signature = headers.get("x-slack-request-timestamp", ""), headers.get("x-slack-signature", "")
        if not _TIMESTAMP.fullmatch(timestamp):
            raise Refused(401, "X-Slack-Request-Timestamp is missing or not a number")
        if not _SIGNATURE.fullmatch(signature):
            raise Refused(401, "X-Slack-Signature is missing or malformed")
        try:
            body = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise Refused(401, "the body is not UTF-8, so its signature cannot be checked") from None
        if not self._verifier.is_valid(body, timestamp, signature):
            raise Refused(401, "the signature does not match or the timestamp is more than 5 minutes off")
        from slack_bolt import BoltRequest

        try:  # Bolt parses JSON, forms and `payload=` forms, then reads ids out of the result
            request = BoltRequest(body=body, query=query, headers=dict(headers))
            _Envelope.model_validate(request.body)
        except (ValueError, TypeError, AttributeError, KeyError, IndexError):  # ValidationError is a ValueError
            raise Refused(400, "the signed body is not a Slack payload (a JSON object, a form, or a form with a JSON payload)") from None
        return request


def slack_router(
    services: Services, *, slack: App | None, signing_secret: str | None, missing: Sequence[str], socket_mode: bool
) -> APIRouter:
    """`POST /slack/events` for `slack` once `signing_secret` verifies a request (no Slack over HTTP: 503 and why)."""
    if slack is not None and not socket_mode and not signing_secret:
        raise ValueError("Slack over HTTP needs the signing secret: requests must be verified before Bolt sees them")
    if socket_mode:
        unavailable = "This server receives Slack events over Socket Mode; /slack/events is not used."
    else:
        unavailable = f"Slack is not configured: set {' and '.join(missing) or 'the Slack credentials'} and restart."
    gate = SlackGate(signing_secret, clock=services.clock) if signing_secret else None
    if slack is not None:  # imported now, not by the first request (Bolt comes with Slack)
        from slack_bolt.adapter.starlette.handler import to_starlette_response
    router = APIRouter()

    @router.post("/slack/events")
    async def slack_events(request: Request) -> Response:
        """Events, slash commands, interactivity and options: verified here, then Bolt tells them apart."""
        if slack is None or gate is None or socket_mode:
            return JSONResponse({"ok": False, "error": "slack_unavailable", "message": unavailable}, status_code=503)
        try:
            bolt_request = gate.admit(await request.body(), request.headers, request.url.query)
        except Refused as refused:
            log.warning("refused POST /slack/events with %d: %s", refused.status, refused)
            return JSONResponse(
                {"ok": False, "error": "invalid_request" if refused.status == 401 else "malformed_body"}, status_code=refused.status
            )
        # dispatch blocks until ack(); a worker thread keeps the event loop free for other requests
        return to_starlette_response(await run_in_threadpool(slack.dispatch, bolt_request))

    return router
