"""The web surface: ownership, team and search pages (HTML, or JSON on request) and the JSON API under `/api/v1`.

`register(api, services)` adds both to the server's FastAPI app. Pages and API read the catalog
through `Catalog` facade methods only, the same core functions the Slack cards use.
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException

from bot.compose import Services
from bot.http.lazy import LazyApp
from bot.http.web.adoption import adoption_router
from bot.http.web.api import api_app
from bot.http.web.auth import BearerAuth
from bot.http.web.errors import WebError, database_unavailable_page, http_error_page, validation_error_page, web_error_response
from bot.http.web.headers import ResponseHeaders
from bot.http.web.pages import pages_router
from bot.http.web.reads import Reads
from catalog.errors import DatabaseUnavailable

__all__ = ["register"]


def register(api: FastAPI, services: Services) -> None:
    auth = BearerAuth(services.catalog.config.http.auth.tokens)
    api.add_middleware(ResponseHeaders)  # nosniff, no framing, Vary: Accept, relative redirects
    api.exception_handler(WebError)(web_error_response)  # FastAPI's decorator form: typed for a handler of that exception class
    api.exception_handler(HTTPException)(http_error_page)  # an unknown path, a wrong method: a page for a browser, else JSON
    api.exception_handler(RequestValidationError)(validation_error_page)
    api.exception_handler(DatabaseUnavailable)(database_unavailable_page)  # 503: the database, not the server, is down
    reads = Reads(on_loop=services.catalog.reads_are_local)  # pages and API share it
    api.include_router(pages_router(services, auth, reads))
    api.include_router(adoption_router(services, auth))  # GET /adoption
    api.mount("/api/v1", LazyApp(lambda: api_app(services, auth, reads)))
