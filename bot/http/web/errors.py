"""Errors of the web surface: JSON with a code, a message and an error id (HTML pages render their own).

The error id is logged with the failure, so what a person reports can be found in the logs.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

log = logging.getLogger(__name__)


class WebError(Exception):
    def __init__(self, status: int, code: str, message: str, *, headers: dict[str, str] | None = None, **extra: Any) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.headers, self.extra = status, code, message, headers, extra


def error_json(status: int, code: str, message: str, *, headers: Mapping[str, str] | None = None, **extra: Any) -> JSONResponse:
    error_id = uuid.uuid4().hex[:12]
    log.log(
        logging.ERROR if status >= 500 else logging.INFO, "HTTP %d %s (error_id %s)", status, code, error_id, extra={"error_id": error_id}
    )
    return JSONResponse({"error": code, "message": message, "error_id": error_id, **extra}, status_code=status, headers=headers)


async def web_error_response(request: Request, exc: WebError) -> JSONResponse:
    return error_json(exc.status, exc.code, exc.message, headers=exc.headers, **exc.extra)


async def http_error_response(request: Request, exc: HTTPException) -> JSONResponse:
    code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
    return error_json(exc.status_code, code, str(exc.detail), headers=exc.headers)


async def validation_error_response(request: Request, exc: RequestValidationError) -> JSONResponse:
    problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
    return error_json(422, "invalid_request", problems)


async def unexpected_error_response(request: Request, exc: Exception) -> JSONResponse:
    error_id = uuid.uuid4().hex[:12]
    log.exception("unexpected error on %s %s (error_id %s)", request.method, request.url.path, error_id, extra={"error_id": error_id})
    return JSONResponse({"error": "internal_error", "message": "Something went wrong on our side.", "error_id": error_id}, status_code=500)
