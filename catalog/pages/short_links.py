"""Short and fuzzy links (`/o/{name}`, `/o/{kind}/{name}`): what a name typed into an alert template means.

Alert labels carry a bare service name, sometimes spelled loosely (`payments_service`). An exact
name (active, else retired) wins; otherwise the resolution index that `ask` uses decides, so a
link and a question about the same name agree. A link opens a page only for a name said in full
(case and separators aside, or a title, alias or ref): a fragment or a typo (`prod`, `src`) would
open whatever happens to be nearest, so those get the nearest names to choose from instead.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field
from sqlalchemy import func, select
from sqlmodel import Session, col

from catalog.answers.card import summaries
from catalog.answers.models import EntitySummary
from catalog.search.resolve import CatalogIndex
from catalog.store.models import Entity
from catalog.store.reads import refs_named

# How a match named its entity (`catalog.search.resolve.Match.how`) when the name was said in full.
SAID_IN_FULL = ("exact", "title", "alias")


# What a page calls an entity of a kind, when it is not the kind itself.
KIND_WORDS = {"group": "team", "api": "API", "user": "person"}


class LinkTarget(BaseModel):
    status: Literal["found", "ambiguous", "not_found"]
    ref: str | None = None
    kind: str | None = None  # the kind the link asked for
    candidates: list[EntitySummary] = Field(default_factory=list)  # the choices (each called that), or the nearest names
    other_kinds: list[EntitySummary] = Field(default_factory=list)  # called that, but not of the kind the link asked for

    def missing(self, what: str) -> str:
        """What a link that found nothing says first: what `what` is, when it is something of another kind."""
        if not (self.kind and self.other_kinds):
            return f"Nothing in the catalog is called “{what}”."
        others = "; ".join(f"{e.ref.replace(':default/', ':')} is {_a(e.kind)}" for e in self.other_kinds)
        return f"No {KIND_WORDS.get(self.kind, self.kind)} is called “{what}”: {others}."


def _a(kind: str) -> str:
    word = KIND_WORDS.get(kind, kind)
    return ("an " if word[:1].lower() in "aeiou" else "a ") + word


def retired_refs_named(session: Session, name: str) -> list[str]:
    """Refs called `name` whose every row is retired (so they have no active twin)."""
    query = (
        select(col(Entity.ref))
        .where(func.lower(col(Entity.name)) == name.lower())
        .group_by(col(Entity.ref))
        .having(func.count(col(Entity.retired_at)) == func.count())
    )
    return sorted(session.scalars(query))


def resolve_link(session: Session, index: CatalogIndex, name: str, *, kind: str | None = None) -> LinkTarget:
    def of_kind(refs: list[str]) -> list[str]:
        return [r for r in refs if kind is None or r.startswith(f"{kind.lower()}:")]

    named = refs_named(session, name)
    exact = of_kind(named) or of_kind(retired_refs_named(session, name))
    if len(exact) == 1:
        return LinkTarget(status="found", ref=exact[0])
    if exact:
        return LinkTarget(status="ambiguous", candidates=summaries(session, exact))
    resolution = index.resolve(name, kinds={kind.lower()} if kind else None)
    in_full = bool(resolution.matches) and resolution.matches[0].how in SAID_IN_FULL
    if resolution.best is not None and in_full:
        return LinkTarget(status="found", ref=resolution.best.ref)
    refs = [m.entity.ref for m in resolution.matches]
    found = {s.ref: s for s in summaries(session, refs)}
    return LinkTarget(
        status=resolution.status if in_full else "not_found",
        kind=kind,
        candidates=[found[r] for r in refs if r in found],
        other_kinds=summaries(session, named),  # none unless the link asked for one kind: else an exact name was found above
    )
