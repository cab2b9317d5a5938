"""`LazyApp`: an ASGI app built on its first request, for a part of the server few requests reach."""

from __future__ import annotations

from collections.abc import Callable

from starlette.types import ASGIApp, Receive, Scope, Send


class LazyApp:
    """Builds the wrapped app when the first request reaches it.

    FastAPI analyses every route's parameters and response model with pydantic when the route is
    added: about 5 ms of CPU for the JSON API's routes, of about 12 ms for the whole app, paid by every
    app built, though most test servers never get an API request. The build runs on the event loop
    without awaiting, so two requests cannot both build it; the first API request pays it once.
    """

    def __init__(self, build: Callable[[], ASGIApp]) -> None:
        self._build = build
        self._app: ASGIApp | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self._app is None:
            self._app = self._build()
        await self._app(scope, receive, send)
