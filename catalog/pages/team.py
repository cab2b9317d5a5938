"""What a team page (`/t/{name}`) shows: the team's contacts and members, what it owns with the gaps, who is on call.

A team lead opens it to see what is missing; a responder to find a person. Gaps are the same
checks the ownership page makes (`catalog.pages.ownership`), so both pages agree.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field
from sqlmodel import Session

from catalog.answers.card import contact, entity_links, expects_runbook, merge_sources
from catalog.answers.models import Contact, EntitySummary
from catalog.answers.oncall import OnCallShift, PagerDutyRef, on_call
from catalog.pages.ownership import has_usable_runbook
from catalog.store.merge import Freshness
from catalog.store.reads import get_entities, get_entity, owned_refs, refs_named
from catalog.store.refs import make_ref


class OwnedEntity(BaseModel):
    entity: EntitySummary
    gaps: list[str] = Field(default_factory=list)


class TeamOnCall(BaseModel):
    """Level 1 for one of the team's PagerDuty services."""

    entity_ref: str
    service: PagerDutyRef
    shifts: list[OnCallShift] = Field(default_factory=list)
    stale: bool = False


class TeamPage(BaseModel):
    team: Contact
    description: str | None = None
    owns: list[OwnedEntity] = Field(default_factory=list)
    oncall: list[TeamOnCall] = Field(default_factory=list)
    sources: list[Freshness] = Field(default_factory=list)
    as_of: datetime


def team_ref(session: Session, name: str) -> str | None:
    """`group:default/{name}`, or the one group called `name` in another namespace."""
    ref = make_ref("group", None, name)
    if get_entity(session, ref) is not None:
        return ref
    groups = [r for r in refs_named(session, name) if r.startswith("group:")]
    return groups[0] if len(groups) == 1 else None


def team_page(session: Session, ref: str, *, now: datetime) -> TeamPage | None:
    team = get_entity(session, ref)
    if team is None or team.kind != "group":
        return None
    owned = get_entities(session, owned_refs(session, ref))
    owns, oncall = [], []
    for e in sorted(owned.values(), key=lambda e: (e.kind, e.name)):
        gaps = []
        if expects_runbook(e.kind, e.type) and not has_usable_runbook(entity_links(e)):
            gaps.append("no runbook")
        answer = on_call(e, now)
        if answer is not None:
            level_one = [s for s in answer.shifts if s.level == 1]
            oncall.append(TeamOnCall(entity_ref=e.ref, service=answer.service, shifts=level_one, stale=answer.stale))
            if not level_one:
                gaps.append("nobody on call")
        elif expects_runbook(e.kind, e.type):
            gaps.append("no PagerDuty service")
        owns.append(OwnedEntity(entity=EntitySummary.of(e), gaps=gaps))
    return TeamPage(
        team=contact(session, team), description=team.description, owns=owns, oncall=oncall,
        sources=merge_sources(team, *owned.values()), as_of=now,
    )  # fmt: skip
