"""What App Home shows one person: their teams, what those teams own, and what needs fixing.

Gaps are the facts an on-call engineer would miss at 3 a.m.: no owner, no team channel, no
runbook, or data from a source that is failing to sync.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field
from sqlmodel import Session

from catalog.answers.card import SLACK_CHANNEL, SLACK_CHANNEL_ID, contact, expects_runbook, has_runbook, person
from catalog.answers.models import Contact, EntitySummary, Person
from catalog.scorecards.scores import TeamLevels
from catalog.store.merge import CatalogEntity
from catalog.store.reads import get_entities, get_entity, headline_of, owned_refs, related_refs, user_ref_by_email


class Missing(StrEnum):
    OWNER = "owner"
    SLACK_CHANNEL = "slack_channel"  # the owner team has no slack.com/channel(-id) annotation
    RUNBOOK = "runbook"
    FRESH_DATA = "fresh_data"  # a source behind the entity is failing to sync


class EntityGaps(BaseModel):
    # This module's models are built on first use, not at import (`defer_build`): a server starts without them.
    model_config = ConfigDict(defer_build=True)

    entity: EntitySummary
    missing: list[Missing]
    stale_sources: list[str] = Field(default_factory=list)


class TeamSummary(BaseModel):
    model_config = ConfigDict(defer_build=True)

    team: Contact
    owns: list[EntitySummary] = Field(default_factory=list)
    levels: list[TeamLevels] = Field(default_factory=list)  # the team's scorecard levels (`Catalog.home` fills them in)


class HomeSummary(BaseModel):
    model_config = ConfigDict(defer_build=True)

    user: Person | None = None  # None: the person is not (yet) a catalog User
    teams: list[TeamSummary] = Field(default_factory=list)
    gaps: list[EntityGaps] = Field(default_factory=list)


def home_summary(session: Session, *, user_ref: str | None, email: str | None) -> HomeSummary:
    """The summary for the catalog User `user_ref`, or else the one whose profile email is `email`."""
    ref = user_ref or (user_ref_by_email(session, email) if email else None)
    user = get_entity(session, ref) if ref else None
    if user is None or user.kind != "user":
        return HomeSummary()
    teams = get_entities(session, [t for _, t in related_refs(session, user.ref, ["memberOf"])])
    owned = {team: owned_refs(session, team) for team in teams}
    theirs = get_entities(session, [r for refs in owned.values() for r in refs] + _unowned_parts(session, owned))
    return HomeSummary(
        user=person(headline_of(user)),
        teams=[
            TeamSummary(
                team=contact(session, team), owns=[EntitySummary.of(e) for e in _by_name(theirs[r] for r in owned[ref] if r in theirs)]
            )
            for ref, team in teams.items()
        ],
        gaps=[g for e in _by_name(theirs.values()) if (g := _gaps(e, teams))],
    )


def _by_name(entities: Iterable[CatalogEntity]) -> list[CatalogEntity]:
    return sorted(entities, key=lambda e: (e.kind, e.name))


def _unowned_parts(session: Session, owned: dict[str, list[str]]) -> list[str]:
    """Parts of the teams' systems that have no owner: nobody else will notice them."""
    systems = [r for refs in owned.values() for r in refs if r.startswith("system:")]
    parts = [p for s in systems for _, p in related_refs(session, s, ["hasPart"])]
    return [ref for ref, e in get_entities(session, parts).items() if not e.owner_ref]


def _gaps(e: CatalogEntity, teams: dict[str, CatalogEntity]) -> EntityGaps | None:
    missing = []
    owner = teams.get(e.owner_ref or "")
    if not e.owner_ref:
        missing.append(Missing.OWNER)
    elif owner is not None and not (owner.annotations.get(SLACK_CHANNEL) or owner.annotations.get(SLACK_CHANNEL_ID)):
        missing.append(Missing.SLACK_CHANNEL)
    if expects_runbook(e.kind, e.type) and not has_runbook(e):
        missing.append(Missing.RUNBOOK)
    stale = [f.source for f in e.freshness.values() if f.stale]
    if stale:
        missing.append(Missing.FRESH_DATA)
    return EntityGaps(entity=EntitySummary.of(e), missing=missing, stale_sources=stale) if missing else None
