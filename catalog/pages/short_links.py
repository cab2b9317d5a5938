"""Short and fuzzy links (`/o/{name}`, `/o/{kind}/{name}`): what a name typed into an alert template means.

Alert labels carry a bare service name, sometimes spelled loosely (`payments_service`). An exact
name (active, else retired) wins; otherwise the resolution index that `ask` uses decides, so a
link and a question about the same name agree.
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


class LinkTarget(BaseModel):
    status: Literal["found", "ambiguous", "not_found"]
    ref: str | None = None
    candidates: list[EntitySummary] = Field(default_factory=list)  # the choices, or the nearest names


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

    exact = of_kind(refs_named(session, name)) or of_kind(retired_refs_named(session, name))
    if len(exact) == 1:
        return LinkTarget(status="found", ref=exact[0])
    if exact:
        return LinkTarget(status="ambiguous", candidates=summaries(session, exact))
    resolution = index.resolve(name, kinds={kind.lower()} if kind else None)
    if resolution.best is not None:
        return LinkTarget(status="found", ref=resolution.best.ref)
    refs = [m.entity.ref for m in resolution.matches]
    found = {s.ref: s for s in summaries(session, refs)}
    return LinkTarget(status=resolution.status, candidates=[found[r] for r in refs if r in found])
