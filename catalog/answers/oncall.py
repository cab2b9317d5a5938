"""On-call facts: what the PagerDuty source stores on an entity, and what an on-call answer says.

The PagerDuty source writes `PagerDutyFacts` into `spec.pagerduty` of each entity it links;
answers read them back from the merged entity. Both sides use the models below, so the stored
shape and the answer cannot drift apart.

An on-call fact is only true inside its window, and only as recent as the last successful
sync. So an answer is judged at the moment of the question: a shift that has ended since the
sync, or a PagerDuty source that is failing, makes it stale, and the answer says so instead
of naming someone who may no longer be on call.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from catalog.answers.freshness import clock_time, not_updated
from catalog.store.merge import CatalogEntity

SPEC_KEY = "pagerduty"
SERVICE_ID_ANNOTATION = "pagerduty.com/service-id"


# The models below are built on first use (`defer_build`), not at import: only on-call answers and the
# PagerDuty sync need them, and `wayfinder ask` is a new process per question.
class PagerDutyRef(BaseModel):
    model_config = ConfigDict(defer_build=True)

    id: str
    name: str
    url: str | None = None


class PagerDutyService(PagerDutyRef):
    status: str | None = None
    teams: list[PagerDutyRef] = Field(default_factory=list)


class OnCallUser(BaseModel):
    model_config = ConfigDict(defer_build=True)

    id: str
    name: str
    email: str | None = None


class OnCallShift(BaseModel):
    """One person on call at one escalation level; no start and end means permanently (no schedule)."""

    model_config = ConfigDict(defer_build=True)

    level: int
    user: OnCallUser
    schedule: PagerDutyRef | None = None
    start: datetime | None = None
    end: datetime | None = None


class PagerDutyFacts(BaseModel):
    """`spec.pagerduty` of a linked entity, as of the source's last successful sync."""

    model_config = ConfigDict(defer_build=True)

    service: PagerDutyService
    escalation_policy: PagerDutyRef | None = None
    oncall: list[OnCallShift] = Field(default_factory=list)


class OnCallAnswer(BaseModel):
    """The on-call facts of one entity, judged at the time of the question."""

    model_config = ConfigDict(defer_build=True)

    source: str
    service: PagerDutyService
    escalation_policy: PagerDutyRef | None = None
    shifts: list[OnCallShift] = Field(default_factory=list)  # level 1 first
    as_of: datetime | None = None  # the source's last successful sync: when the shifts were known true
    failing_since: datetime | None = None  # the source's syncs fail since then
    refused: bool = False  # ...because they were refused (they would retire too much), not because PagerDuty is unreachable
    ended_at: datetime | None = None  # the earliest end of a shown shift that was over when asked

    @property
    def stale(self) -> bool:
        return self.failing_since is not None or self.ended_at is not None

    def fields(self) -> dict[str, Any]:
        data = self.model_dump(mode="json")
        return {
            "oncall": [
                {"level": s["level"], "user": s["user"]["name"], "email": s["user"]["email"], "start": s["start"], "end": s["end"],
                 "schedule": s["schedule"]["name"] if s["schedule"] else None}
                for s in data["shifts"]
            ],  # fmt: skip
            "as_of": data["as_of"],
            "stale": self.stale,
            "failing_since": data["failing_since"],
            "service": {k: data["service"][k] for k in ("id", "name", "url")},
            "escalation_policy": data["escalation_policy"],
            "source": self.source,
        }


def oncall_fields(oc: OnCallAnswer | None) -> dict[str, Any]:
    """The `answer` part of `wayfinder ask --json` for the `oncall` intent; the same keys when nothing is known."""
    if oc is not None:
        return oc.fields()
    return {"oncall": [], "as_of": None, "stale": False, "failing_since": None, "service": None, "escalation_policy": None, "source": None}


def is_paged(entity: CatalogEntity) -> bool:
    """Whether `entity` names a PagerDuty service (annotated, or linked by the PagerDuty source): where on-call lives."""
    return bool(entity.annotations.get(SERVICE_ID_ANNOTATION) or entity.spec.get(SPEC_KEY))


def on_call(entity: CatalogEntity, now: datetime) -> OnCallAnswer | None:
    """The entity's on-call facts judged at `now`; None when no PagerDuty source describes it.

    A `spec.pagerduty` that is not the source's shape (a descriptor that wrote its own, which
    outranks the source) counts as no PagerDuty data rather than breaking the answer.
    """
    source = entity.field_sources.get(f"spec.{SPEC_KEY}")
    if source is None:
        return None
    try:
        facts = PagerDutyFacts.model_validate(entity.spec[SPEC_KEY])
    except ValidationError:
        return None
    freshness = entity.freshness.get(source)
    ended = [s.end for s in facts.oncall if s.end is not None and s.end <= now]
    return OnCallAnswer(
        source=source,
        service=facts.service,
        escalation_policy=facts.escalation_policy,
        shifts=sorted(facts.oncall, key=lambda s: (s.level, s.user.name.lower())),
        as_of=freshness.synced_at if freshness else None,
        failing_since=freshness.failing_since if freshness else None,
        refused=freshness.refused if freshness else False,
        ended_at=min(ended, default=None),
    )


def staleness_note(oc: OnCallAnswer, now: datetime) -> str | None:
    """Why the shifts shown may not be who is on call right now, or None when they are current."""
    as_of = f"on-call as of {clock_time(oc.as_of, now)}" if oc.as_of else "on-call never confirmed"
    parts = []
    if oc.failing_since:
        parts.append(f"PagerDuty {not_updated(clock_time(oc.failing_since, now), oc.refused)}; {as_of}.")
    if oc.ended_at:
        parts.append(_ended_note(oc, oc.ended_at, "" if oc.failing_since else f" ({as_of})", now))
    return " ".join(parts) or None


def _ended_note(oc: OnCallAnswer, ended_at: datetime, as_of: str, now: datetime) -> str:
    """A shown shift is over: it ended after the last sync, or PagerDuty still listed it after it had ended."""
    when, where = clock_time(ended_at, now), oc.service.url or "PagerDuty"
    if oc.as_of is not None and ended_at <= oc.as_of:
        happened = f"A shift shown ended at {when}, before the last PagerDuty sync{as_of}, which still listed it"
    else:
        happened = f"A shift shown ended at {when}, after the last PagerDuty sync{as_of}"
    return f"{happened}: someone else may be on call now; check {where}."


def no_oncall_note(entity: CatalogEntity, oc: OnCallAnswer | None, now: datetime) -> str:
    """Why there is nobody to name, and what would fix it; the answer falls back to the owner."""
    if oc is not None:
        as_of = f" as of {clock_time(oc.as_of, now)}" if oc.as_of else ""
        return f"PagerDuty lists nobody on call for service {oc.service.name}{as_of}. " + (staleness_note(oc, now) or "Ask the owner.")
    if entity.kind == "group":  # a team with PagerDuty services is answered per service (`catalog.answers.ask`)
        return f"Nothing {entity.name} owns names a PagerDuty service (annotation {SERVICE_ID_ANNOTATION}); ask the team."
    if entity.kind == "user":
        return f"{entity.name} is a person, and PagerDuty pages for services: ask who is on call for one of their team's services."
    service_id = entity.annotations.get(SERVICE_ID_ANNOTATION)
    if service_id:
        return f"{entity.name} names PagerDuty service {service_id}, but no PagerDuty source has synced it; ask the owner."
    return (
        f"{entity.name} has no PagerDuty service in the catalog (annotation {SERVICE_ID_ANNOTATION}, "
        "or a PagerDuty service with the same name); ask the owner."
    )
