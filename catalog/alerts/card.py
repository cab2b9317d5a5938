"""The ownership card behind an alert: the alert, its entity's ownership page, blast radius, recent changes.

A read model only (drawn by `bot/slack/views/alert.py`). An alert the catalog cannot place, or
whose entity has no owner, gets `loud` set: the card then says so, with the fallback contact and
where ownership is declared, instead of looking like a normal card with a blank owner. An owner
reference that names nothing in the catalog (a typo, a team since removed) counts as no owner: a
card naming it would look answered and link to a page that does not exist.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlmodel import Session

from catalog.alerts.models import AlertIncident
from catalog.alerts.payloads import GroupAlert
from catalog.answers.card import summaries
from catalog.answers.models import Contact, EntitySummary
from catalog.pages.ownership import OwnershipPage, ownership_page
from catalog.store.models import Entity
from catalog.store.reads import get_entity

RECENT = timedelta(hours=24)
NOT_A_CHANNEL_ID = "not_a_channel_id"  # `rerouted`: the owner's slack.com/channel-id is no Slack channel id


class Change(BaseModel):
    """A source wrote this entity's catalog entry recently: a likely suspect while it is on fire."""

    # This module's models are built on first use, not at import (`defer_build`): a server starts without them.
    model_config = ConfigDict(defer_build=True)

    source: str
    at: datetime
    what: Literal["added", "changed"]


class AlertCard(BaseModel):
    model_config = ConfigDict(defer_build=True)

    group_key: str  # the incident's key, which the card's message metadata carries (under this name since each group had one card)
    provider: str
    title: str
    severity: str | None = None
    url: str | None = None
    status: str
    acknowledged_by: str | None = None
    alert_names: list[str] = Field(default_factory=list)  # what the alert called its service
    alerts: list[GroupAlert] = Field(default_factory=list)  # a group's alerts on this entity, listed when more than one
    matched: str | None = None  # set when the entity was found by a fuzzy match on this name
    page: OwnershipPage | None = None
    dependents: list[EntitySummary] = Field(default_factory=list)  # blast radius, each with its owner_ref
    owner_names: dict[str, str] = Field(default_factory=dict)  # owner ref -> display name, for the blast radius
    changes: list[Change] = Field(default_factory=list)
    loud: Literal["unknown", "no_owner"] | None = None
    missing_owner: str | None = None  # the entity's owner reference when it names nothing in the catalog
    rerouted: str | None = None  # why the card is not in its owner's channel: NOT_A_CHANNEL_ID or Slack's error there
    fallback_contact: str
    as_of: datetime

    @property
    def owner(self) -> Contact | None:
        """Who owns the alert's entity (None when the catalog could not place it, or it has no owner)."""
        return self.page.card.owner if self.page else None


def alert_card(
    session: Session, incident: AlertIncident, *, names: list[str], alerts: list[GroupAlert], fallback_contact: str, now: datetime, base: Path | None
) -> AlertCard:
    page = ownership_page(session, incident.entity_ref, now=now, base=base) if incident.entity_ref else None
    missing_owner = _dangling_owner(session, page) if page else None
    if page is not None and missing_owner is not None:
        page = page.model_copy(update={"card": page.card.model_copy(update={"owner": None})})
    dependents = page.card.dependents if page else []
    owners = summaries(session, sorted({d.owner_ref for d in dependents if d.owner_ref}))
    loud: Literal["unknown", "no_owner"] | None = "unknown" if page is None else "no_owner" if page.card.owner is None else None
    return AlertCard(
        group_key=incident.key, provider=incident.provider, title=incident.title, severity=incident.severity, url=incident.url,
        status=incident.status, acknowledged_by=incident.acknowledged_by, alert_names=names, alerts=alerts, matched=incident.matched, page=page,
        dependents=dependents, owner_names={o.ref: o.title or o.name for o in owners},
        changes=_changes(session, incident.entity_ref, now) if incident.entity_ref else [], loud=loud, missing_owner=missing_owner,
        fallback_contact=fallback_contact, as_of=now,
    )  # fmt: skip


def _dangling_owner(session: Session, page: OwnershipPage) -> str | None:
    """The owner's reference when no entity in the catalog answers to it; None for a real owner (or none)."""
    owner = page.card.owner
    if owner is None or owner.ref == page.card.entity.ref or get_entity(session, owner.ref) is not None:
        return None  # a team or person without an owner stands for itself
    return owner.ref


def _changes(session: Session, ref: str, now: datetime) -> list[Change]:
    rows = session.scalars(select(Entity).where(Entity.ref == ref, Entity.updated_at >= now - RECENT))  # type: ignore[arg-type]
    return [
        Change(source=r.source, at=r.updated_at, what="added" if r.first_seen_at >= now - RECENT else "changed") for r in rows
    ]
