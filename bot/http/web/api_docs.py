"""The API's own description: `/api/v1/openapi.json` and `/api/v1/docs`, behind the same bearer tokens as the API.

The docs are a page rendered here from the OpenAPI document, like the other pages: no JavaScript,
nothing loaded from another site (FastAPI's Swagger UI came from a CDN: a third-party script on
the portal's origin, and a blank page on a network without it).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from fastapi import FastAPI, Request
from fastapi.openapi.utils import get_openapi
from fastapi.responses import HTMLResponse

from bot.http.web.auth import BearerAuth
from bot.http.web.render import render

METHODS = ("get", "post", "put", "patch", "delete")


def add_docs(api: FastAPI, auth: BearerAuth, clock: Callable[[], datetime]) -> None:
    """Route the document and its page on `api`, whose dependencies (the token) they share."""

    @api.get("/openapi.json", include_in_schema=False)
    def openapi(request: Request) -> dict[str, Any]:
        return document(api, auth) | {"servers": [{"url": request.scope.get("root_path", "")}]}

    @api.get("/docs", include_in_schema=False, response_class=HTMLResponse)
    def docs(request: Request) -> HTMLResponse:
        schema = openapi(request)
        return render(
            "api_docs.html", now=clock(), q="", info=schema["info"], base=schema["servers"][0]["url"],
            operations=operations(schema), bearer=auth.enabled,
        )  # fmt: skip


def document(api: FastAPI, auth: BearerAuth) -> dict[str, Any]:
    """The OpenAPI document, built once; with tokens configured every operation declares the bearer scheme."""
    if api.openapi_schema is None:
        schema = get_openapi(title=api.title, version=api.version, description=api.description, routes=api.routes)
        if auth.enabled:
            schema.setdefault("components", {})["securitySchemes"] = {"bearer": {"type": "http", "scheme": "bearer"}}
            schema["security"] = [{"bearer": []}]
        api.openapi_schema = schema
    return api.openapi_schema


def operations(schema: dict[str, Any]) -> list[dict[str, Any]]:
    """Each operation of the document as the docs page lists it: method, path, what it does, its parameters."""
    return [
        {"method": method.upper(), "path": path, "about": op.get("description") or op.get("summary", ""), "parameters": op.get("parameters", [])}
        for path, item in schema["paths"].items()
        for method, op in item.items()
        if method in METHODS
    ]
