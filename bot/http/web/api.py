"""The JSON API, versioned under `/api/v1` (OpenAPI at `/api/v1/openapi.json`, docs at `/api/v1/docs`: `api_docs`).

The answers are the core's pydantic models: `/ask` is exactly `wayfinder ask --json`, entities
and teams are what their pages show. Errors are `{"error", "message", "error_id"}`.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import FastAPI, Header, Query
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException

from bot.compose import Services
from bot.http.web.api_docs import add_docs
from bot.http.web.auth import BearerAuth
from bot.http.web.errors import (
    ErrorBody,
    WebError,
    database_unavailable_response,
    http_error_response,
    unexpected_error_response,
    validation_error_response,
    web_error_response,
)
from bot.http.web.reads import Reads
from catalog.adoption.events import Surface
from catalog.adoption.service import Adoption
from catalog.errors import DatabaseUnavailable, InvalidInput
from catalog.pages.listing import MAX_LIMIT, BadCursor, EntityList
from catalog.pages.ownership import OwnershipPage
from catalog.pages.team import TeamPage
from catalog.scorecards.gate import GateResult
from catalog.store.refs import make_ref

CLIENT_HEADER = "X-Wayfinder-Client"  # `cli` from `wayfinder ask --url`: counted as the remote CLI


def api_app(services: Services, auth: BearerAuth, reads: Reads) -> FastAPI:
    catalog = services.catalog
    api = FastAPI(
        title="Wayfinder API", version="1", openapi_url=None, docs_url=None, redoc_url=None, dependencies=auth.dependencies,
        description="Who owns what, who is on call, and what depends on what: the catalog behind the Slack answers.",
        responses={"4XX": {"model": ErrorBody, "description": "What was wrong with the request"}, "5XX": {"model": ErrorBody, "description": "Our failure"}},
    )  # fmt: skip
    add_docs(api, auth, services.clock)  # /openapi.json and /docs, behind the token like the rest
    api.exception_handler(WebError)(web_error_response)  # FastAPI's decorator form: typed for a handler of that exception class
    api.exception_handler(HTTPException)(http_error_response)
    api.exception_handler(RequestValidationError)(validation_error_response)
    api.exception_handler(DatabaseUnavailable)(database_unavailable_response)
    api.exception_handler(Exception)(unexpected_error_response)

    adoption = Adoption(catalog)

    def called(what: str, ref: str | None, found: bool) -> None:
        adoption.record_view(surface=Surface.WEB_API, found=found, intent=what, entity_ref=ref, now=services.clock())

    @api.get("/ask")
    @reads
    def ask(
        q: Annotated[str, Query(min_length=1, max_length=2000, description="The question, as typed in Slack")],
        client: Annotated[str | None, Header(alias=CLIENT_HEADER, include_in_schema=False)] = None,
    ) -> dict[str, Any]:
        """The answer of `wayfinder ask --json`; `status` says whether it was answered (the CLI exits 3 when not)."""
        return catalog.ask(q, transport="api", surface=Surface.CLI_REMOTE if client == "cli" else Surface.WEB_API).to_json()

    @api.get("/entities/{kind}/{namespace}/{name}")
    @reads
    def entity(kind: str, namespace: str, name: str) -> OwnershipPage:
        """One entity's ownership page data: card, on-call now, links in order, gaps."""
        page = catalog.ownership_page(make_ref(kind, namespace, name), now=services.clock())
        called("entity", make_ref(kind, namespace, name), page is not None)
        if page is None:
            raise WebError(404, "not_found", f"{make_ref(kind, namespace, name)} is not in the catalog.")
        return page

    @api.get("/entities")
    @reads
    def entities(
        kind: str | None = None, owner: str | None = None, q: str | None = None, cursor: str | None = None,
        limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 100,
    ) -> EntityList:  # fmt: skip
        """Active entities ordered by ref; follow `next_cursor` until it is null."""
        try:
            return catalog.list_entities(kind=kind, owner=owner, q=q, cursor=cursor, limit=limit)
        except (BadCursor, ValueError) as exc:
            raise WebError(400, "invalid_request", str(exc)) from None

    @api.get("/scorecards/check")
    @reads
    def scorecard_check(entity: str, scorecard: str, min_level: str) -> GateResult:
        """The deployment gate of `wayfinder check --url`: `status` is passed, failed, not_found or not_applicable."""
        try:
            return catalog.gate(entity, scorecard=scorecard, min_level=min_level, now=services.clock())
        except InvalidInput as exc:
            raise WebError(400, "invalid_request", str(exc)) from None

    def team_page(name: str, namespace: str | None) -> TeamPage:
        page = catalog.team_page(name, namespace=namespace, now=services.clock())
        called("team", page.team.ref if page else None, page is not None)
        if page is None:
            who = f"{namespace}/{name}" if namespace else name
            raise WebError(404, "not_found", f"No team called {who!r} in the catalog.")
        return page

    @api.get("/teams/{name}")
    @reads
    def team(name: str) -> TeamPage:
        """A team of the default namespace, or the one team of that name in another."""
        return team_page(name, None)

    @api.get("/teams/{namespace}/{name}")
    @reads
    def namespaced_team(namespace: str, name: str) -> TeamPage:
        """A team by namespace and name (two namespaces may each have a team of that name)."""
        return team_page(name, namespace)

    return api
