"""A real Wayfinder HTTP server for the page and API tests: no Slack, the clock pinned."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime

import httpx

from bot.compose import Services, utcnow
from bot.http.app import create_http_app
from catalog.core import Catalog
from catalog.tls import tls_context
from tests.e2e.harness import PUBLIC_URL, ServerThread

TOKEN = "wf-pages-token-0123456789abcdef"  # the `guarded` catalog's one bearer token (tests/e2e/conftest.py)


@contextmanager
def serve_pages(catalog: Catalog, clock: Callable[[], datetime] = utcnow) -> Iterator[httpx.Client]:
    """uvicorn serving `wayfinder serve`'s app on a free port; the client talks to it, redirects not followed."""
    services = Services(catalog=catalog, public_url=PUBLIC_URL, clock=clock)
    server = ServerThread(create_http_app(services, slack=None, missing=["SLACK_BOT_TOKEN"])).start()
    try:
        with httpx.Client(base_url=server.url, timeout=10, verify=tls_context()) as client:
            yield client
    finally:
        server.stop()
