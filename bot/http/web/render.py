"""HTML rendering for the pages: Jinja2 with autoescape, and the helpers templates call.

Every value printed is neutralised (control and bidi characters removed) and HTML-escaped; a
catalog URL becomes a link only when its scheme is http, https or mailto (`javascript:` and
`data:` stay text). Pages carry no JavaScript and one inlined stylesheet.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Container, Iterable
from datetime import datetime
from typing import Any, get_args
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.types import DecoratedCallable
from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup, escape
from pydantic import BaseModel

from bot.http.web.slack_links import app_links, channel_links, dm_links
from bot.slack.views.urls import ownership_url
from catalog.answers.freshness import ago, clock_time, describe
from catalog.answers.models import Contact, EntitySummary
from catalog.answers.text import gap_heading, relation_word
from catalog.safe_text import neutralise, safe_href
from catalog.store.refs import DEFAULT_NAMESPACE, split_ref

# The link builders below are pure functions of a ref, and pages name the same refs again and again (owners,
# systems, popular dependencies): each quoted its parts anew, three `quote` calls a link, dozens a page.
_LINKS_CACHED = 16384


@functools.lru_cache(maxsize=_LINKS_CACHED)
def page_url(ref: str) -> str:
    """The ownership page path of `ref`, relative to this server."""
    return ownership_url("", ref)


@functools.lru_cache(maxsize=_LINKS_CACHED)
def team_url(ref: str) -> str:
    """`/t/{name}` for a team in the default namespace (the links already out there), else `/t/{namespace}/{name}`.

    A name alone would open the default namespace's team of that name: another team, channel and on-call.
    """
    namespace, name = other_namespace(ref), quote(split_ref(ref).name, safe="")
    return f"/t/{quote(namespace, safe='')}/{name}" if namespace else f"/t/{name}"


def owner_url(ref: str) -> str:
    """A group's team page, anyone else's ownership page."""
    return team_url(ref) if ref.startswith("group:") else page_url(ref)


def other_namespace(ref: str) -> str:
    """The ref's namespace when it is not the default one, else "" (pages name only the unusual)."""
    namespace = split_ref(ref).namespace
    return "" if namespace == DEFAULT_NAMESPACE else namespace


@functools.lru_cache(maxsize=_LINKS_CACHED)
def short(ref: str | None) -> str:
    """A ref as pages name it: the name, with its namespace when that is not the default one (two `checkout` teams differ)."""
    if not ref:
        return ""
    namespace, name = other_namespace(ref), split_ref(ref).name
    return f"{namespace}/{name}" if namespace else name


def named_owners(*values: Any) -> set[str]:
    """The owners that a page's data names (listed entities' owners, contacts), so the catalog is asked once which exist."""
    found: set[str] = set()
    todo = list(values)
    while todo:
        value = todo.pop()
        if isinstance(value, BaseModel):
            if isinstance(value, EntitySummary) and value.owner_ref:
                found.add(value.owner_ref)
            elif isinstance(value, Contact):
                found.add(value.ref)
            todo.extend(getattr(value, name) for name in _holding_models(type(value)))
        elif isinstance(value, (list, tuple)):  # a tuple of types checks faster than a union
            todo.extend(value)
    return found


@functools.cache
def _holding_models(model: type[BaseModel]) -> tuple[str, ...]:
    """The fields of `model` whose annotation lets them hold models: the only ones `named_owners` descends
    into. Walking every value of a page (its strings, times, links) cost more than the rest of the walk."""
    return tuple(name for name, field in model.model_fields.items() if _may_hold_models(field.annotation))


def _may_hold_models(annotation: Any) -> bool:
    if annotation is Any or (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
        return True
    return any(_may_hold_models(argument) for argument in get_args(annotation))


# Markup that pages print once per listed entity or link is built by these functions, not by macros: a
# Jinja2 macro call cost more than the row it wrote. Each value is printed as a template prints it:
# control and bidi characters removed (`_finalize`), then HTML-escaped.


def _text(value: str) -> Markup:
    return escape(neutralise(value))


def entity_link(e: EntitySummary) -> Markup:
    """A link to `e`'s page, named by its title."""
    return Markup(f'<a href="{_text(page_url(e.ref))}">{_text(e.title or e.name)}</a>')


def owner_link(ref: str, label: str, known: Container[str]) -> Markup:
    """A link to the owner's page; its name alone when the catalog lacks it (the link would open nothing, or a namesake)."""
    if ref not in known:
        return _text(label)
    return Markup(f'<a href="{_text(owner_url(ref))}">{_text(label)}</a>')


def owned_by(e: EntitySummary, known: Container[str]) -> Markup:
    """A listed entity's owner; "no owner" flagged only where one is expected (teams and people have none by nature)."""
    if e.owner_ref:
        return Markup(" · owned by ") + owner_link(e.owner_ref, short(e.owner_ref), known)
    if e.kind in ("group", "user"):
        return Markup()
    return Markup(' · <span class="badge bad">no owner</span>')


def summary_items(items: Iterable[EntitySummary], known: Container[str], relation: bool = False) -> Markup:
    """One `<li>` per listed entity: its link, kind and type (with how it relates, through which API, and an
    unusual namespace), then its owner. Pages list dozens: built here in one loop, not row by row in the template."""
    rows = []
    for e in items:
        notes = [e.kind]
        if e.type:
            notes.append(e.type)
        if relation and e.relation:
            notes.append(relation_word(e.relation) or "")
        if e.via:
            notes.append(f"via {short(e.via)}")
        if namespace := other_namespace(e.ref):
            notes.append(f"namespace {namespace}")
        rows.append(f'<li>{entity_link(e)} <span class="meta">({", ".join(map(_text, notes))})</span>{owned_by(e, known)}</li>')
    return Markup("".join(rows))


def link_or_text(url: str, label: str, id: str | None = None) -> Markup:
    """A catalog link: a link when its scheme may be one (`safe_href`), else its label with the URL as plain text."""
    at = f' id="{_text(id)}"' if id else ""
    if href := safe_href(url):
        return Markup(f'<a href="{_text(href)}"{at} rel="noopener noreferrer">{_text(label)}</a>')
    return Markup(f'<span{at}>{_text(label)}</span> <span class="meta">({_text(url)})</span>')


def _finalize(value: Any) -> Any:
    """Catalog text loses control and bidi characters before autoescape; markup from macros passes as it is."""
    return neutralise(value) if isinstance(value, str) and not isinstance(value, Markup) else value


# auto_reload=False: the templates ship with the package, so no page stats their files again to see whether they changed.
_ENV = Environment(
    loader=PackageLoader("bot.http.web", "templates"),
    auto_reload=False,
    autoescape=select_autoescape(default=True),
    finalize=_finalize,
    trim_blocks=True,
    lstrip_blocks=True,
)
_ENV.globals.update(
    safe_href=safe_href, page_url=page_url, short=short, entity_link=entity_link, link_or_text=link_or_text,
    owner_link=owner_link, owned_by=owned_by, summary_items=summary_items, other_namespace=other_namespace, channel_links=channel_links, dm_links=dm_links,
    app_links=app_links, gap_heading=gap_heading, relation_word=relation_word,
)


def page_route(router: APIRouter, path: str) -> Callable[[DecoratedCallable], DecoratedCallable]:
    """A page's route: GET, and HEAD for link checkers and unfurlers (the same headers, no body)."""
    return router.api_route(path, methods=["GET", "HEAD"], response_class=HTMLResponse)


def wants_json(request: Request) -> bool:
    """`Accept: application/json` (and not HTML first): the page's data instead of its HTML."""
    accept = request.headers.get("accept", "").lower()
    return "application/json" in accept and not accept.lstrip().startswith("text/html")


def render(template: str, *, now: datetime, status: int = 200, team_id: str | None = None, **context: Any) -> HTMLResponse:
    helpers = {
        "clock": lambda when: clock_time(when, now), "ago": lambda when: ago(when, now),
        "describe": lambda f: describe(f, now), "team_id": team_id, "now": now,
    }  # fmt: skip
    html = _ENV.get_template(template).render(**helpers, **context)
    return HTMLResponse(html, status_code=status, headers={"Cache-Control": "no-store"})


def respond(
    request: Request,
    template: str,
    data: BaseModel | dict[str, Any],
    *,
    now: datetime,
    status: int = 200,
    team_id: str | None = None,
    **context: Any,
) -> HTMLResponse | JSONResponse:
    """JSON of `data` when asked for, else the template with `data` and `context`."""
    if wants_json(request):
        body = data.model_dump(mode="json") if isinstance(data, BaseModel) else data
        return JSONResponse(body, status_code=status)
    return render(template, now=now, status=status, team_id=team_id, data=data, **context)
