"""The HTML pages: ownership (`/o/...`), team (`/t/{name}`, `/t/{namespace}/{name}`) and search (`/`); each answers JSON on request.

Routes run where `reads.Reads` puts them: on the event loop on SQLite, on two read threads on
PostgreSQL, whose reads wait on the network and must not block the loop Slack's requests arrive on.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from pydantic import BaseModel

from bot.compose import Services
from bot.http.web.auth import BearerAuth
from bot.http.web.errors import error_json
from bot.http.web.reads import Reads
from bot.http.web.render import named_owners, page_route, page_url, respond, wants_json
from catalog.adoption.events import Surface
from catalog.adoption.service import Adoption
from catalog.answers.text import render_text
from catalog.pages.short_links import LinkTarget
from catalog.store.refs import make_ref


def pages_router(services: Services, auth: BearerAuth, reads: Reads) -> APIRouter:
    router = APIRouter(dependencies=auth.dependencies)
    catalog = services.catalog
    team_id, app_id = catalog.config.http.slack_team_id, catalog.config.http.slack_app_id
    adoption = Adoption(catalog)

    def viewed(request: Request, ref: str | None, found: bool) -> None:
        """Pages are anonymous (a bearer token names no person): counted, but nobody's activity; a HEAD (a link checker) is no view."""
        if request.method != "HEAD":
            adoption.record_view(surface=Surface.WEB_PAGE, found=found, entity_ref=ref, now=services.clock())

    def page(
        request: Request, template: str, data: BaseModel | dict[str, Any], *, now: datetime, status: int = 200, as_of: int | None = None, **context: Any
    ) -> Response:
        """`respond`, told which owners that the page names the catalog has (`known`): only those are links;
        `as_of` is the catalog generation `data` was read at, when known."""
        known = set() if wants_json(request) else catalog.active_refs(named_owners(data, *context.values()), as_of=as_of)
        return respond(request, template, data, now=now, status=status, team_id=team_id, known=known, **context)

    def not_found(request: Request, what: str, target: LinkTarget) -> Response:
        """404 with what `what` is when it is of another kind, and the nearest names; the search box on a page."""
        message = target.missing(what)
        if wants_json(request):
            found = target.model_dump(mode="json")
            return error_json(404, "not_found", message, other_kinds=found["other_kinds"], suggestions=found["candidates"])
        return page(request, "not_found.html", target, now=services.clock(), status=404, what=what, message=message)

    def follow(request: Request, name: str, kind: str | None) -> Response:
        target = catalog.resolve_link(name, kind=kind)
        if target.status == "found" and target.ref:
            return RedirectResponse(page_url(target.ref), status_code=302)
        if target.status == "ambiguous":
            return page(request, "choice.html", target, now=services.clock(), status=300, what=name)
        return not_found(request, name, target)

    @page_route(router, "/o/{kind}/{namespace}/{name}")
    @reads
    def ownership(request: Request, kind: str, namespace: str, name: str) -> Response:
        """The ownership page: on-call, owner, runbook first; what is missing and where to add it."""
        now = services.clock()
        found = catalog.ownership_page(make_ref(kind, namespace, name), now=now)
        viewed(request, make_ref(kind, namespace, name), found is not None)
        if found is None:
            return not_found(request, name, catalog.resolve_link(name, kind=kind))
        actions = [] if found.retired_at else services.actions.for_target(found.card.entity)  # "Request…" in Slack for what can be done on it
        return page(request, "entity.html", found, now=now, as_of=found.generation, actions=actions, app_id=app_id)

    @page_route(router, "/o/{kind}/{name}")
    @reads
    def short_with_kind(request: Request, kind: str, name: str) -> Response:
        """A name of one kind, or a full ref whose `/` came URL-quoted (`/o/component%3Adefault%2Fx`: kind `component:default`)."""
        if ":" in kind:
            return follow(request, f"{kind}/{name}", None)
        return follow(request, name, kind)

    @page_route(router, "/o/{name}")
    @reads
    def short_link(request: Request, name: str) -> Response:
        """What alert templates link to: a unique name redirects, an ambiguous one offers the choices."""
        return follow(request, name, None)

    def team_page(request: Request, name: str, namespace: str | None) -> Response:
        now = services.clock()
        found = catalog.team_page(name, namespace=namespace, now=now)
        viewed(request, found.team.ref if found else None, found is not None)
        if found is None:
            return not_found(request, f"{namespace}/{name}" if namespace else name, catalog.resolve_link(name, kind="group"))
        return page(request, "team.html", found, now=now)

    @page_route(router, "/t/{name}")
    @reads
    def team(request: Request, name: str) -> Response:
        """A team of the default namespace, or the one team of that name elsewhere."""
        return team_page(request, name, None)

    @page_route(router, "/t/{namespace}/{name}")
    @reads
    def namespaced_team(request: Request, namespace: str, name: str) -> Response:
        """A team by namespace and name: what owner links of teams outside the default namespace open."""
        return team_page(request, name, namespace)

    @page_route(router, "/")
    @reads
    def search(request: Request, q: str = "") -> Response:
        """A search box; a query is asked as a question, with the same understanding as `wayfinder ask`."""
        now = services.clock()
        question = q.strip()[:500]
        if not question:
            if wants_json(request):
                return JSONResponse({"question": "", "hint": "pass ?q=, e.g. ?q=who owns payments-service"})
            return page(request, "search.html", {}, now=now, answer=None, q="")
        answer = catalog.ask(question, transport="web", surface=Surface.WEB_PAGE)
        if wants_json(request):
            return JSONResponse(answer.to_json())
        # The page links the answer's entities in lists of its own: the text above them keeps only their heads.
        lead = answer.text if answer.parts else render_text(answer, now=now, listed_apart=True)
        return page(request, "search.html", {}, now=now, answer=answer, lead=lead, q=question)

    return router
