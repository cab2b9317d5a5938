"""The adoption report: what `wayfinder report adoption --json`, `GET /adoption` and the weekly digest show.

Plain pydantic models, independent of how they are drawn; rates are fractions (0..1) and None
when nothing was there to count.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

# Where the shares' denominator came from: `adoption.engineers`, the Slack source's count, or catalog Users.
EngineersFrom = Literal["config", "slack members", "slack user groups", "catalog users", "unknown"]


class Rate(BaseModel):
    # This module's models are built on first use, not at import (`defer_build`): a server starts without them.
    model_config = ConfigDict(defer_build=True)

    of: int  # how many were counted
    hits: int

    @property
    def value(self) -> float | None:
        return self.hits / self.of if self.of else None


class IntentSatisfaction(BaseModel):
    model_config = ConfigDict(defer_build=True)

    intent: str
    up: int
    down: int


class Fix(BaseModel):
    """A one-click fix for an unanswered question whose answer is a missing name."""

    model_config = ConfigDict(defer_build=True)

    action: Literal["add_alias", "create_entity"]
    name: str  # the name people typed
    ref: str | None = None  # the entity the alias would name


class UnansweredQuestion(BaseModel):
    model_config = ConfigDict(defer_build=True)

    question: str
    asked: int
    fix: Fix | None = None


class AskedGap(BaseModel):
    """An entity people asked about whose answer lacks something."""

    model_config = ConfigDict(defer_build=True)

    ref: str
    name: str
    asked: int
    missing: list[str]  # owner, runbook


class Pulse(BaseModel):
    model_config = ConfigDict(defer_build=True)

    responses: int = 0
    nps: float | None = None  # % promoters (9-10) minus % detractors (0-6)
    comments: list[str] = Field(default_factory=list)


class AdoptionReport(BaseModel):
    model_config = ConfigDict(defer_build=True)

    since: datetime
    until: datetime
    days: int
    engineers: int | None  # what the shares are of
    engineers_from: EngineersFrom
    daily_active_bar: float  # the share of engineers active daily a successful portal reaches
    active_users: int
    daily_active: list[int]  # per day of the period
    weekly_active: list[int]  # per 7 days from the start
    daily_active_avg: float
    daily_active_share: float | None
    weekly_active_avg: float
    weekly_active_share: float | None
    return_rate: Rate  # of people first seen in the period's first weeks, those back in their week 4
    new_users: int
    time_to_first_value_minutes: float | None  # median, first interaction -> first answered question
    answer_rate: Rate  # questions answered
    self_service_rate: Rate  # answered questions nobody followed up on in the thread
    actions_self_service: Rate  # actions completed without a ticket
    approval_median_minutes: dict[str, float]  # per action: request -> decision
    satisfaction: list[IntentSatisfaction]
    owner_answers_per_week: list[int]  # "who owns X" answered: each a thread nobody had to start
    surfaces: dict[str, int]  # events per surface
    unanswered: list[UnansweredQuestion]
    gaps: list[AskedGap]
    pulse: Pulse

    def to_json(self) -> dict[str, Any]:
        """The `--json` contract: the model plus each rate's value."""
        data = self.model_dump(mode="json")
        for name in ("return_rate", "answer_rate", "self_service_rate", "actions_self_service"):
            data[name]["value"] = getattr(self, name).value
        return data


class Headline(BaseModel):
    """One number as every renderer shows it (terminal, page, digest), with its trend when there is one."""

    model_config = ConfigDict(defer_build=True)

    label: str
    value: str
    trend: list[int] = Field(default_factory=list)
    meets_bar: bool | None = None  # against the benchmark, when there is one


def _percent(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.0%}"


def _rate(rate: Rate) -> str:
    return "n/a" if rate.value is None else f"{rate.value:.0%} ({rate.hits} of {rate.of})"


def headlines(report: AdoptionReport) -> list[Headline]:
    """The report's headline numbers, in the order every renderer shows them."""
    engineers = f" of {report.engineers} engineers ({report.engineers_from})" if report.engineers else ""
    share = report.daily_active_share
    ttfv = report.time_to_first_value_minutes
    return [
        Headline(
            label="Daily active", value=f"{report.daily_active_avg:g}{engineers} ({_percent(share)}; bar {report.daily_active_bar:.0%})",
            trend=report.daily_active, meets_bar=None if share is None else share >= report.daily_active_bar,
        ),
        Headline(label="Weekly active", value=f"{report.weekly_active_avg:g}{engineers} ({_percent(report.weekly_active_share)})", trend=report.weekly_active),
        Headline(label="People active in the period", value=str(report.active_users)),
        Headline(label="Return rate (week 1 → week 4)", value=_rate(report.return_rate)),
        Headline(label="Time to first value (median)", value="n/a" if ttfv is None else f"{ttfv:g} min ({report.new_users} new)"),
        Headline(label="Answer rate", value=_rate(report.answer_rate)),
        Headline(label="Self-service (no human follow-up)", value=_rate(report.self_service_rate)),
        Headline(label="Actions completed without a ticket", value=_rate(report.actions_self_service)),
        Headline(label="“Who owns X” answered per week", value=str(sum(report.owner_answers_per_week)), trend=report.owner_answers_per_week),
        Headline(label="NPS", value="n/a" if report.pulse.nps is None else f"{report.pulse.nps:+g} ({report.pulse.responses} responses)"),
    ]  # fmt: skip
