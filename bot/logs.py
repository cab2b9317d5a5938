"""Logging for `wayfinder serve`: human text, or one JSON object a line (`WAYFINDER_LOG_FORMAT=json`).

JSON lines carry `time`, `level`, `logger` and `message`, plus `error_id` (the id an apology
gave a person) and `request_id` or `event_id` when the record knows them, so one failure can be
followed from the message a person saw to its traceback. uvicorn's own loggers propagate here.
"""

from __future__ import annotations

import json
import logging
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Literal, TextIO

from starlette.types import ASGIApp, Receive, Scope, Send

LogFormat = Literal["text", "json"]
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
_CORRELATION = ("error_id", "request_id", "event_id")
_SAFE_ID = re.compile(r"[0-9A-Za-z-]{1,64}")
_request_id: ContextVar[str | None] = ContextVar("wayfinder_request_id", default=None)


@contextmanager
def request_scope(request_id: str | None = None) -> Iterator[str]:
    """Tag every record logged inside the block (also from worker threads it starts) with a request id."""
    token = _request_id.set(request_id or uuid.uuid4().hex[:12])
    try:
        yield _request_id.get() or ""
    finally:
        _request_id.reset(token)


class _RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if not getattr(record, "request_id", None):
            record.request_id = _request_id.get()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per record; the traceback, if any, as a string field."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        line |= {key: value for key in _CORRELATION if (value := getattr(record, key, None))}
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str)


def configure_logging(log_format: LogFormat = "text", *, level: int = logging.INFO, stream: TextIO | None = None) -> logging.Handler:
    """Replace the root logger's handlers with one writing `log_format` to `stream` (stderr)."""
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter() if log_format == "json" else logging.Formatter(TEXT_FORMAT))
    handler.addFilter(_RequestIdFilter())
    root = logging.getLogger()
    for old in root.handlers[:]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    return handler


class RequestIds:
    """ASGI middleware: each HTTP request's records carry a `request_id` (GitHub's delivery id when there is one)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        delivery = dict(scope["headers"]).get(b"x-github-delivery", b"").decode("latin-1")[:64]
        with request_scope(delivery if _SAFE_ID.fullmatch(delivery) else None):
            await self.app(scope, receive, send)
