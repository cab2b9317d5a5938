"""Bearer tokens for the pages and the API (`http.auth.tokens` in the config).

No tokens configured: open to whoever reaches the server (an internal network). Tokens set:
every page and API request needs `Authorization: Bearer <token>`. The comparison runs in
constant time against every token, and the header is never logged or echoed. Behind an SSO
proxy, the proxy adds the header after signing people in; the server trusts nothing else.
"""

from __future__ import annotations

import hmac

from fastapi import Depends, Request
from fastapi.params import Depends as Dependency
from pydantic import SecretStr

from bot.http.web.errors import WebError


class BearerAuth:
    """A FastAPI dependency: passes, or raises a 401 `WebError` that names no token."""

    def __init__(self, tokens: list[SecretStr]) -> None:
        self._tokens = [t.get_secret_value().encode() for t in tokens]

    @property
    def enabled(self) -> bool:
        return bool(self._tokens)

    @property
    def dependencies(self) -> list[Dependency]:
        """What a router or app that needs the token declares: nothing while no token is configured, where
        the check would pass anyway and FastAPI's resolving it cost every page view about 20 µs."""
        return [Depends(self)] if self._tokens else []

    async def __call__(self, request: Request) -> None:  # async: a few comparisons, not worth a thread hop per request
        if not self._tokens:
            return
        scheme, _, given = request.headers.get("authorization", "").partition(" ")
        presented = given.strip().encode()
        matched = False
        for token in self._tokens:  # no early exit: the time taken says nothing about which token is close
            matched |= hmac.compare_digest(token, presented)
        if scheme.lower() != "bearer" or not matched:
            raise WebError(
                401,
                "unauthorized",
                "This server needs a bearer token: send Authorization: Bearer <token>.",
                headers={"WWW-Authenticate": "Bearer"},
            )
