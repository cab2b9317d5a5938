"""Alert -> entity: PagerDuty service ids first, then the names the alert carries.

Names go through the same resolution as questions (`CatalogIndex.resolve`); a fuzzy or partial
match is returned with the name it matched, so the card can say so rather than guess silently.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import String, cast, or_, select
from sqlmodel import Session

from catalog.alerts.payloads import AlertEvent
from catalog.answers.oncall import SERVICE_ID_ANNOTATION, SPEC_KEY
from catalog.search.resolve import CatalogIndex
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
        if resolution.best is not None:
            how = resolution.matches[0].how
            return Found(resolution.best.ref, None if how in ("exact", "title", "alias") else name)
    return None


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
