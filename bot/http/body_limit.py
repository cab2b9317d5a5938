"""Request bodies are size-limited on every route before they are read.

An unauthenticated client can POST anything to any route; without a limit a few concurrent 50 MB
posts make the process buffer hundreds of megabytes before the signature is even looked at. A
declared `Content-Length` over the limit is refused at once; a body without one (chunked) is
counted as it streams and the request aborted as soon as it crosses the limit.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping

from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger(__name__)

MiB = 1024 * 1024
# Slack sends at most a few hundred kB (a view submission with many inputs); 1 MB is generous.
SLACK_LIMIT = 1 * MiB
# Push and alert webhooks: GitHub truncates push payloads to 20 commits, alert batches stay small.
WEBHOOK_LIMIT = 5 * MiB
DEFAULT_LIMIT = 1 * MiB
LIMITS = {"/slack/": SLACK_LIMIT, "/webhooks/": WEBHOOK_LIMIT}


class _TooLarge(Exception):
    """The body crossed the limit while streaming in."""


class BodySizeLimit:
    """ASGI middleware: 413 for a body over the limit of the longest matching path prefix."""

    def __init__(self, app: ASGIApp, *, limits: Mapping[str, int] = LIMITS, default: int = DEFAULT_LIMIT) -> None:
        self.app, self.limits, self.default = app, dict(limits), default

    def limit_for(self, path: str) -> int:
        prefixes = [p for p in self.limits if path.startswith(p)]
        return self.limits[max(prefixes, key=len)] if prefixes else self.default

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope["path"])
        declared = dict(scope["headers"]).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > limit:
            await self._refuse(scope, send, limit)
            return
        received, started = 0, False

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > limit:
                raise _TooLarge
            return message

        async def tracked(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, tracked)
        except _TooLarge:
            if started:  # cannot happen with handlers that read before answering; never send twice
                raise
            await self._refuse(scope, send, limit)

    @staticmethod
    async def _refuse(scope: Scope, send: Send, limit: int) -> None:
        log.warning("refused %s %s: body over the %d-byte limit", scope["method"], scope["path"], limit)
        body = json.dumps({"ok": False, "error": "body_too_large", "limit_bytes": limit}).encode()
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()), (b"connection", b"close")]
        await send({"type": "http.response.start", "status": 413, "headers": headers})
        await send({"type": "http.response.body", "body": body})
