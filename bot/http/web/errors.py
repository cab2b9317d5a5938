"""Errors of the web surface: JSON with a code, a message and an error id, or a page for a browser.

The error id is logged with the failure, so what a person reports can be found in the logs.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel
from starlette.exceptions import HTTPException

from bot.http.web.render import render, wants_json
from catalog.errors import DatabaseUnavailable

log = logging.getLogger(__name__)
CODES = {404: "not_found", 405: "method_not_allowed"}


class ErrorBody(BaseModel):
    """Every error's body, as the OpenAPI document declares it (a page's 404 adds `suggestions` and `other_kinds`)."""

    error: str  # not_found, invalid_request, unauthorized, method_not_allowed, database_unavailable, internal_error, …
    message: str
    error_id: str  # in the server log too


class WebError(Exception):
    def __init__(self, status: int, code: str, message: str, *, headers: dict[str, str] | None = None, **extra: Any) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.headers, self.extra = status, code, message, headers, extra


def _logged(status: int, code: str) -> str:
    """A new error id, logged with the status and code."""
    error_id = uuid.uuid4().hex[:12]
    log.log(
        logging.ERROR if status >= 500 else logging.INFO, "HTTP %d %s (error_id %s)", status, code, error_id, extra={"error_id": error_id}
    )
    return error_id


def error_json(status: int, code: str, message: str, *, headers: Mapping[str, str] | None = None, **extra: Any) -> JSONResponse:
    error_id = _logged(status, code)
    return JSONResponse({"error": code, "message": message, "error_id": error_id, **extra}, status_code=status, headers=headers)


def error_page(request: Request, status: int, code: str, message: str, *, headers: Mapping[str, str] | None = None) -> Response:
    """The error as a page (the site's search box above it) for a browser, as `error_json` for anyone else."""
    if wants_json(request) or "text/html" not in request.headers.get("accept", ""):
        return error_json(status, code, message, headers=headers)
    response = render("error.html", now=datetime.now(UTC), status=status, message=message, error_id=_logged(status, code), q="")
    response.headers.update(headers or {})
    return response


def _http_message(request: Request, exc: HTTPException) -> str:
    return f"Nothing is served at {request.url.path}." if exc.status_code == 404 else str(exc.detail)


def _problems(exc: RequestValidationError) -> str:
    return "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())


async def web_error_response(request: Request, exc: WebError) -> JSONResponse:
    return error_json(exc.status, exc.code, exc.message, headers=exc.headers, **exc.extra)


async def http_error_response(request: Request, exc: HTTPException) -> JSONResponse:
    return error_json(exc.status_code, CODES.get(exc.status_code, "http_error"), _http_message(request, exc), headers=exc.headers)


async def validation_error_response(request: Request, exc: RequestValidationError) -> JSONResponse:
    return error_json(422, "invalid_request", _problems(exc))


async def http_error_page(request: Request, exc: HTTPException) -> Response:
    """An unknown path or method outside the API: a page for a browser, the API's JSON shape for anyone else."""
    return error_page(request, exc.status_code, CODES.get(exc.status_code, "http_error"), _http_message(request, exc), headers=exc.headers)


async def validation_error_page(request: Request, exc: RequestValidationError) -> Response:
    return error_page(request, 422, "invalid_request", _problems(exc))


# The database could not be reached or used (down, restarting, a file gone, locked too long): the server is fine and the
# request may work in a moment, which is what 503 says; /readyz says why. One log line, not a traceback per request.
UNAVAILABLE = "The catalog's database is unavailable right now; try again in a moment."
RETRY_AFTER = {"Retry-After": "5"}


def _unavailable(request: Request, exc: DatabaseUnavailable) -> None:
    log.warning("database unavailable on %s %s: %s", request.method, request.url.path, type(exc.orig).__name__ if exc.orig else type(exc).__name__)


async def database_unavailable_response(request: Request, exc: DatabaseUnavailable) -> JSONResponse:
    _unavailable(request, exc)
    return error_json(503, "database_unavailable", UNAVAILABLE, headers=RETRY_AFTER)


async def database_unavailable_page(request: Request, exc: DatabaseUnavailable) -> Response:
    _unavailable(request, exc)
    return error_page(request, 503, "database_unavailable", UNAVAILABLE, headers=RETRY_AFTER)


async def unexpected_error_response(request: Request, exc: Exception) -> JSONResponse:
    error_id = uuid.uuid4().hex[:12]
    log.exception("unexpected error on %s %s (error_id %s)", request.method, request.url.path, error_id, extra={"error_id": error_id})
    return JSONResponse({"error": "internal_error", "message": "Something went wrong on our side.", "error_id": error_id}, status_code=500)
