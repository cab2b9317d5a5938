"""Answers: transport-independent pydantic models that every renderer reads.

`Answer.to_json()` is the `wayfinder ask --json` contract from DESIGN.md.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from catalog.answers.oncall import OnCallAnswer, oncall_fields
from catalog.answers.status import ANSWERED_STATUSES
from catalog.scorecards.scores import Scoreboard
from catalog.store.facts import EntityHeadline, EntityName
from catalog.store.merge import CatalogEntity, Freshness
from catalog.store.reads import Headline

Status = Literal["answered", "not_found", "ambiguous", "help", "unknown", "no_data"]


class EntitySummary(EntityHeadline):
    relation: str | None = None  # how it relates to the subject, for dependency lists
    via: str | None = None  # the API through which the relation holds, if any

    @classmethod
    def of(cls, e: CatalogEntity | Headline, **extra: Any) -> EntitySummary:
        return cls(**{name: getattr(e, name) for name in EntityHeadline.model_fields}, **extra)


class Person(BaseModel):
    ref: str
    name: str
    display_name: str | None = None
    email: str | None = None
    slack_user_id: str | None = None


class Contact(EntityName):
    """Who to talk to: a team (with its channel and members) or a person."""

    display_name: str | None = None
    email: str | None = None
    slack_channel: str | None = None
    slack_channel_id: str | None = None
    slack_usergroup_id: str | None = None
    slack_usergroup_handle: str | None = None
    slack_user_id: str | None = None  # when the contact is a person
    members: list[Person] = Field(default_factory=list)
    leads: list[Person] = Field(default_factory=list)  # a team's `wayfinder.io/leads`: who to ask first


# Built on first use (`defer_build`): most answers carry no gap, incident or link, and `wayfinder ask` is a new
# process per question.
class LinkInfo(BaseModel):
    model_config = ConfigDict(defer_build=True)

    url: str
    title: str
    type: str | None = None


class EntityCard(BaseModel):
    """The full picture behind an answer card (built by `catalog.answers.card`), independent of how it is drawn."""

    entity: EntitySummary
    owner: Contact | None = None  # a team or person without an owner stands for itself
    system: EntitySummary | None = None
    domain: EntitySummary | None = None
    parent: EntitySummary | None = None
    links: list[LinkInfo] = Field(default_factory=list)
    depends_on: list[EntitySummary] = Field(default_factory=list)
    dependents: list[EntitySummary] = Field(default_factory=list)
    tags: list[str] = Field(default_factory=list)
    sources: list[Freshness] = Field(default_factory=list)


class Gap(BaseModel):
    """Entities lacking one thing (`key`: no_owner, no_runbook, ...); `items` is cut, `total` is not."""

    model_config = ConfigDict(defer_build=True)

    key: str
    label: str
    scope: str  # what was looked at: "services owned by checkout"
    total: int
    items: list[EntitySummary] = Field(default_factory=list)

    @property
    def is_listing(self) -> bool:
        """What is there (a lifecycle stage, everything of a kind), not what is missing."""
        return self.key == "all" or self.key.startswith("lifecycle_")


class IncidentSummary(BaseModel):
    """An alert group Wayfinder received (`catalog.alerts`), as the `incidents` intent lists it."""

    model_config = ConfigDict(defer_build=True)

    title: str
    status: str  # triggered, acknowledged, resolved
    provider: str
    entity_ref: str | None = None
    severity: str | None = None
    url: str | None = None
    acknowledged_by: str | None = None
    opened_at: datetime
    updated_at: datetime


# Built at import, not on first use: every answer makes an `Answer`, its card and people, and a model first
# built after a server froze its start-up heap (`bot.http.app.end_startup`) leaves its schema's objects to
# every later full collection. Deferred, they cost each answer on PostgreSQL about 1 ms of CPU (bench_answers).
class Answer(BaseModel):
    question: str
    intent: str
    status: Status
    subject: EntitySummary | None = None
    candidates: list[EntitySummary] = Field(default_factory=list)
    owner: Contact | None = None
    members: list[Person] = Field(default_factory=list)
    items: list[EntitySummary] = Field(default_factory=list)
    links: list[LinkInfo] = Field(default_factory=list)
    system: EntitySummary | None = None
    domain: EntitySummary | None = None
    parent: EntitySummary | None = None
    sources: list[Freshness] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)
    examples: list[str] = Field(default_factory=list)
    text: str = ""
    card: EntityCard | None = None  # set whenever the question has a resolved subject
    asked_at: datetime | None = None  # time-bound facts (on-call shifts) are judged at this moment
    oncall: OnCallAnswer | None = None  # the subject's PagerDuty on-call, for the `oncall` intent
    message: str | None = None  # a sentence of its own: a reply to small talk, a question back, a lifecycle verdict
    teams: list[Contact] = Field(default_factory=list)  # `team_of`: the person's teams
    paged_via: list[EntitySummary] = Field(default_factory=list)  # `contact`: what pages the team (PagerDuty services)
    scope: str | None = None  # `gaps`: what was looked at ("services owned by checkout")
    gaps: list[Gap] = Field(default_factory=list)
    parts: list[Answer] = Field(default_factory=list)  # a question about several subjects: one answer each
    incidents: list[IncidentSummary] = Field(default_factory=list)  # `incidents`: open alerts for the subject, newest first
    scoreboard: Scoreboard | None = None  # `scorecard`: levels and the fixes that raise them

    @property
    def answered(self) -> bool:
        return self.status in ANSWERED_STATUSES

    def intent_fields(self) -> dict[str, Any]:
        """The intent-specific part of the JSON answer."""

        def refs(items: list[EntitySummary]) -> list[dict[str, Any]]:
            return [i.model_dump(exclude_none=True) for i in items]

        data: dict[str, Any] = {}
        if self.intent == "about" and self.subject and self.card:
            data |= {"description": self.subject.description, "type": self.subject.type, "lifecycle": self.subject.lifecycle}
            data |= {"tags": self.card.tags, "system": self.card.system and self.card.system.ref, "domain": self.card.domain and self.card.domain.ref}
            data["owner"] = self.owner.ref if self.owner else None
        elif self.intent == "owner" and self.subject:
            data["owner"] = self.owner.ref if self.owner else None
            data["contact"] = self.owner.model_dump(exclude_none=True) if self.owner else None
            if self.teams:  # a person: the teams they are in
                data["teams"] = [t.ref for t in self.teams]
        elif self.intent == "members":
            data["members"] = [p.model_dump(exclude_none=True) for p in self.members]
            data["leads"] = [p.model_dump(exclude_none=True) for p in self.owner.leads] if self.owner else []
        elif self.intent in ("owned_by", "depends_on", "dependents", "apis"):
            data["items"] = refs(self.items)
        elif self.intent == "links":
            data["links"] = [link.model_dump(exclude_none=True) for link in self.links]
        elif self.intent == "where":
            data |= {
                "system": self.system and self.system.ref,
                "domain": self.domain and self.domain.ref,
                "parent": self.parent and self.parent.ref,
            }
        elif self.intent == "oncall" and self.subject:
            data |= oncall_fields(self.oncall)
            data["owner"] = self.owner.ref if self.owner else None
        elif self.intent == "team_of" and self.subject:
            data["teams"] = [t.ref for t in self.teams]
            data["contacts"] = [t.model_dump(exclude_none=True) for t in self.teams]
        elif self.intent == "contact" and self.subject:
            data["owner"] = self.owner.ref if self.owner else None
            data["contact"] = self.owner.model_dump(exclude_none=True) if self.owner else None
            data["paged_via"] = refs(self.paged_via)
            data |= oncall_fields(self.oncall) if self.oncall else {}
        elif self.intent == "lifecycle" and self.subject:
            data["lifecycle"] = self.subject.lifecycle
            data["deprecated"] = (self.subject.lifecycle or "").lower() == "deprecated"
            data["items"] = refs(self.items)
        elif self.intent == "gaps":
            data["scope"] = self.scope
            data["gaps"] = [{"gap": g.key, "label": g.label, "scope": g.scope, "total": g.total, "items": refs(g.items)} for g in self.gaps]
        elif self.intent == "incidents" and self.subject:
            data["incidents"] = [i.model_dump(mode="json", exclude_none=True) for i in self.incidents]
            data["owner"] = self.owner.ref if self.owner else None
        elif self.intent == "scorecard" and self.scoreboard:
            data["scope"] = self.scoreboard.scope
            data["scores"] = [s.model_dump(mode="json", exclude_none=True) for s in self.scoreboard.scores]
        elif self.intent in ("help", "unknown", "smalltalk"):
            data["examples"] = self.examples
        if self.message:
            data["message"] = self.message
        return data

    def to_json(self) -> dict[str, Any]:
        """One object; a question about several subjects has `entity` null and one object per subject in `answers`."""
        if self.parts:
            return {
                "question": self.question, "intent": self.intent, "status": self.status, "entity": None, "candidates": [],
                "answer": {}, "text": self.text, "sources": [], "notes": self.notes, "answers": [p.to_json() for p in self.parts],
            }  # fmt: skip
        return {
            "question": self.question,
            "intent": self.intent,
            "status": self.status,
            "entity": self.subject.ref if self.subject else None,
            "candidates": [c.ref for c in self.candidates],
            "answer": self.intent_fields(),
            "text": self.text,
            "sources": [s.model_dump(mode="json", exclude_none=True) for s in self.sources],
            "notes": self.notes,
        }
