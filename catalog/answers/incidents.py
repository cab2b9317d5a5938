"""`who is handling the payments incident?`, `what's firing for checkout?`: open alerts from the alert store.

Open means not resolved. A team or system is asked about through what it owns or holds, so "the
payments incident" finds the alert on a payments component even when "payments" names the team.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlmodel import Session, col

from catalog.answers.models import Answer, IncidentSummary
from catalog.store.merge import CatalogEntity
from catalog.store.reads import owned_refs, related_refs

SHOWN = 20


def open_incidents(session: Session, refs: list[str] | None) -> list[IncidentSummary]:
    """The newest open alerts of `refs`, or of the whole catalog with None."""
    from catalog.alerts.models import AlertIncident  # the alert tables, for this intent alone: not for every question

    query = select(AlertIncident).where(col(AlertIncident.status) != "resolved")
    if refs is not None:
        query = query.where(col(AlertIncident.entity_ref).in_(refs))
    rows = session.scalars(query.order_by(col(AlertIncident.opened_at).desc()).limit(SHOWN))
    return [IncidentSummary.model_validate(row, from_attributes=True) for row in rows]


def incidents_everywhere(session: Session, answer: Answer) -> None:
    """"what's firing?" without a subject: the open alerts across the catalog, newest first."""
    answer.incidents = open_incidents(session, None)
    answer.status = "answered" if answer.incidents else "no_data"
    if not answer.incidents:
        answer.notes.append("No open alert anywhere: Wayfinder has received none that is not resolved.")


def incidents(session: Session, entity: CatalogEntity, answer: Answer) -> None:
    """Open alerts for `entity` (and what it owns or holds), with who acknowledged each."""
    refs = [entity.ref]
    if entity.kind in ("group", "user"):
        refs += owned_refs(session, entity.ref)
    if entity.kind in ("system", "domain"):
        refs += [r for _, r in related_refs(session, entity.ref, ["hasPart"])]
    answer.status = "answered"
    answer.incidents = open_incidents(session, refs)
    if not answer.incidents:
        answer.status = "no_data"
        answer.notes.append(f"No open alert for {entity.name}: Wayfinder has received none that is not resolved.")
