"""Response headers every answer of the server carries: what a browser may do with it, and relative redirects.

Pages are catalog text that anyone can write, served on the portal's origin: the browser is told
not to guess a content type (`nosniff`), not to show a page inside another site's frame
(clickjacking), and to run no script and load nothing from elsewhere (the pages need neither).
The same URL answers HTML or JSON by `Accept`, so caches are told it varies by it. Redirects that
Starlette builds from the request's `Host` header (a trailing slash removed) are made relative,
so a forged Host cannot send a link elsewhere: this server never redirects to another site.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
}


def relative(location: str) -> str:
    """`location`'s path and query: a single leading slash, so it cannot become a `//host` link either."""
    parts = urlsplit(location)
    return "/" + parts.path.lstrip("/") + (f"?{parts.query}" if parts.query else "")


class ResponseHeaders:
    """ASGI middleware: the headers above on every HTTP response, and a relative `Location`."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    headers.setdefault(name, value)
                headers.add_vary_header("Accept")
                if "location" in headers:
                    headers["location"] = relative(headers["location"])
            await send(message)

        await self.app(scope, receive, with_headers)
