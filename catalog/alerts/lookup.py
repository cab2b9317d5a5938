"""Alert -> entity: PagerDuty service ids first, then the names the alert carries.

Names go through the same resolution as questions (`CatalogIndex.resolve`); a fuzzy or partial
match is returned with the name it matched, so the card can say so rather than guess silently.
A name that is no running thing's may be a team's (Opsgenie routes by team): the team's card.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import String, cast, or_, select
from sqlmodel import Session

from catalog.alerts.payloads import AlertEvent
from catalog.answers.oncall import SERVICE_ID_ANNOTATION, SPEC_KEY
from catalog.search.resolve import CatalogIndex, Match, tokens
from catalog.store.models import Entity

# What an alert can be about: running things, not teams or people that share a name with them.
ALERTABLE_KINDS = {"component", "resource", "system", "api"}


@dataclass(frozen=True)
class Found:
    ref: str
    matched: str | None = None  # the alert's name, when the match was not exact


def find_entity(session: Session, index: CatalogIndex, event: AlertEvent) -> Found | None:
    for service_id in event.service_ids:
        if ref := by_pagerduty_service(session, service_id):
            return Found(ref)
    for name in event.names:
        resolution = index.resolve(name, kinds=ALERTABLE_KINDS, limit=1)
        if resolution.best is not None and _on_whole_words(resolution.matches[0], name):
            how = resolution.matches[0].how
            return Found(resolution.best.ref, None if how in NAMED else name)
    for name in event.names:  # Opsgenie's `teams: [payments]`, a `service: checkout` label: the team itself, named exactly
        resolution = index.resolve(name, kinds={"group"}, limit=1)
        if resolution.best is not None and resolution.matches[0].how in NAMED:
            return Found(resolution.best.ref)
    return None


NAMED = ("exact", "title", "alias")  # matches on what the entity is called, not on part of it or a typo


def _on_whole_words(match: Match, name: str) -> bool:
    """A match on part of a name holds only on its whole words: `namespace: prod` is not product-catalog-service.

    A question can ask back which one was meant; an alert's card goes to a team's channel, so a word cut
    short is no name (the alert gets the loud card instead, with the fallback contact)."""
    if match.how != "partial":
        return True
    words = set(tokens(f"{match.entity.name} {match.entity.title or ''}"))
    return all(w in words for w in tokens(name))


def by_pagerduty_service(session: Session, service_id: str) -> str | None:
    """The entity annotated with, or synced from PagerDuty for, `service_id` (JSON read as text, then checked exactly)."""
    needle = f"%{service_id}%"
    rows = session.scalars(
        select(Entity).where(Entity.retired_at.is_(None), or_(cast(Entity.annotations, String).like(needle), cast(Entity.spec, String).like(needle)))  # type: ignore[union-attr]
    )
    for row in rows:
        synced = (row.spec.get(SPEC_KEY) or {}).get("service") or {}
        if row.annotations.get(SERVICE_ID_ANNOTATION) == service_id or synced.get("id") == service_id:
            return row.ref
    return None
