"""`scorecards:`, `initiatives:` and `digests:` in `wayfinder.yaml`: standards as code.

Validated with pydantic like the rest of the config, so a bad rule is reported with its file and
line by `catalog.config.load_config`. A check names exactly one subject (a field, a label, an
annotation, a tag, a link type, a spec path, a relation or the data's freshness) and an operator.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from catalog.sync.triggers import parse_schedule, trigger_for

Op = Literal["exists", "equals", "in", "matches", ">=", "<="]
# Entity columns a `field` check may name; `owner` and `system` are the refs the descriptor's spec gives.
FIELDS = {
    "name": "name", "namespace": "namespace", "kind": "kind", "title": "title", "description": "description",
    "type": "type", "lifecycle": "lifecycle", "owner": "owner_ref", "system": "system_ref", "location": "location",
}  # fmt: skip
SUBJECTS = ("field", "label", "annotation", "tag", "link_type", "spec", "relation", "synced_within")
_DURATION = re.compile(r"^(\d+)\s*([mhd])$")
_ID = r"^[a-z0-9][a-z0-9_.-]{0,99}$"


class _Strict(BaseModel):
    # Built on first use: a question reads the digests' settings (`DigestsConfig`), never a scorecard file.
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)


def duration(text: str) -> timedelta:
    """`7d`, `12h`, `30m` as a timedelta; ValueError otherwise."""
    m = _DURATION.match(text.strip())
    if not m:
        raise ValueError(f"{text!r} is not a duration like '30m', '12h' or '7d'")
    return timedelta(**{{"m": "minutes", "h": "hours", "d": "days"}[m.group(2)]: int(m.group(1))})


class Check(_Strict):
    """One condition on an entity: `{annotation: pagerduty.com/service-id, op: exists}`."""

    field: str | None = None
    label: str | None = None
    annotation: str | None = None
    tag: str | None = None
    link_type: str | None = None
    spec: str | None = None  # a dotted path into spec: `profile.email`
    relation: str | None = None  # counted: `{relation: dependsOn, op: ">=", value: 1}`
    synced_within: str | None = None  # every source describing the entity synced this recently and is not failing
    op: Op = "exists"
    value: Any = None

    @model_validator(mode="after")
    def _one_subject_and_a_fitting_value(self) -> Check:
        given = [s for s in SUBJECTS if getattr(self, s) is not None]
        if len(given) != 1:
            raise ValueError(f"a check names exactly one of {', '.join(SUBJECTS)}; got {', '.join(given) or 'none'}")
        if self.field is not None and self.field not in FIELDS:
            raise ValueError(f"unknown field {self.field!r} (known: {', '.join(FIELDS)})")
        if self.synced_within is not None:
            duration(self.synced_within)
            return self
        if self.op == "exists":
            if self.value is not None:
                raise ValueError("op 'exists' takes no value")
        elif self.value is None:
            raise ValueError(f"op {self.op!r} needs a value")
        elif self.op == "in" and not isinstance(self.value, list):
            raise ValueError("op 'in' needs a list value")
        elif self.op in (">=", "<=") and (isinstance(self.value, bool) or not isinstance(self.value, int | float)):
            raise ValueError(f"op {self.op!r} needs a number")
        elif self.op == "matches":
            try:
                re.compile(str(self.value))
            except re.error as exc:
                raise ValueError(f"not a regular expression: {exc}") from None
        if self.tag is not None and self.op not in ("exists",):
            raise ValueError("a tag check only supports op 'exists'")
        if self.relation is not None and self.op in ("in", "matches"):
            raise ValueError("a relation check counts the relation: use exists, equals, >= or <=")
        return self

    @property
    def subject(self) -> str:
        return next(s for s in SUBJECTS if getattr(self, s) is not None)


class Rule(_Strict):
    id: Annotated[str, Field(pattern=_ID)]
    level: str
    check: Check
    fix: str  # exactly what to change, shown wherever the rule fails
    fix_url: str | None = None  # the fix-it link (a docs page, a template PR)
    title: str | None = None

    @property
    def label(self) -> str:
        return self.title or self.id


class AppliesTo(_Strict):
    kind: str | list[str] | None = None
    type: str | list[str] | None = None
    lifecycle: str | list[str] | None = None

    def allowed(self, name: str) -> frozenset[str] | None:
        value = getattr(self, name)
        if value is None:
            return None
        return frozenset(v.lower() for v in ([value] if isinstance(value, str) else value))


class ScorecardConfig(_Strict):
    id: Annotated[str, Field(pattern=_ID)]
    title: str
    applies_to: AppliesTo = Field(default_factory=AppliesTo)
    levels: Annotated[list[str], Field(min_length=1)]  # a level is reached when all rules of it and below pass
    rules: Annotated[list[Rule], Field(min_length=1)]
    owner: str | None = None  # the team whose members approve exemptions (a group ref or name)

    @model_validator(mode="after")
    def _rules_fit_levels(self) -> ScorecardConfig:
        if len(set(self.levels)) != len(self.levels):
            raise ValueError("levels must be unique")
        unknown = sorted({r.level for r in self.rules} - set(self.levels))
        if unknown:
            raise ValueError(f"rules name unknown levels {', '.join(unknown)} (levels: {', '.join(self.levels)})")
        ids = [r.id for r in self.rules]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise ValueError(f"rule ids must be unique within a scorecard; repeated: {', '.join(dupes)}")
        return self

    def level_index(self, level: str) -> int:
        """1 for the first level; 0 stands for "below every level"."""
        for i, name in enumerate(self.levels, 1):
            if name.lower() == level.lower():
                return i
        raise ValueError(f"scorecard {self.id!r} has no level {level!r} (levels: {', '.join(self.levels)})")

    def level_name(self, index: int) -> str | None:
        return self.levels[index - 1] if index > 0 else None

    def rule(self, rule_id: str) -> Rule | None:
        return next((r for r in self.rules if r.id == rule_id), None)


class Initiative(_Strict):
    id: Annotated[str, Field(pattern=_ID)]
    scorecard: str
    target_level: str
    deadline: date
    title: str | None = None


class DigestsConfig(_Strict):
    """When the weekly digests go out, where the leadership and admin notes go, and how fast."""

    schedule: str = "0 9 * * 1"
    timezone: str = "UTC"
    leadership_channel: Annotated[str | None, Field(pattern=r"^[CG][A-Z0-9]{2,20}$")] = None
    admin_channel: Annotated[str | None, Field(pattern=r"^[CG][A-Z0-9]{2,20}$")] = None  # undeliverable channels are reported here
    alert_window: str = "30m"  # degradation alerts for one team within this window go out as one message
    seconds_per_message: Annotated[float, Field(ge=0)] = 1.0  # Slack's pace for chat.postMessage to many channels
    chart: bool = True

    @field_validator("schedule")
    @classmethod
    def _cron(cls, v: str) -> str:
        if parse_schedule(v)[0] != "cron":
            raise ValueError("the digest schedule is a 5-field cron expression, e.g. '0 9 * * 1'")
        trigger_for(v)
        return v

    @field_validator("timezone")
    @classmethod
    def _zone(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {v!r} (an IANA name such as Europe/Berlin)") from None
        return v

    @field_validator("alert_window")
    @classmethod
    def _window(cls, v: str) -> str:
        duration(v)
        return v


def check_references(scorecards: list[ScorecardConfig], initiatives: list[Initiative]) -> None:
    """Ids unique, and each initiative names a scorecard and one of its levels (ValueError otherwise)."""
    ids = [s.id for s in scorecards]
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    if dupes:
        raise ValueError(f"scorecard ids must be unique; repeated: {', '.join(dupes)}")
    by_id = {s.id: s for s in scorecards}
    for initiative in initiatives:
        card = by_id.get(initiative.scorecard)
        if card is None:
            raise ValueError(f"initiative {initiative.id!r} names unknown scorecard {initiative.scorecard!r}")
        card.level_index(initiative.target_level)
