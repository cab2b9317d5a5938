"""The scorecard read models every surface shows (answers, CLI, pages, Slack, the digest): pure pydantic."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict, Field


# Built on first use (`defer_build`), not at import: most questions show no scores, and `wayfinder ask` is a
# new process per question.
class RuleResult(BaseModel):
    model_config = ConfigDict(defer_build=True)

    id: str
    title: str
    level: str
    fix: str
    fix_url: str | None = None


class EntityScore(BaseModel):
    model_config = ConfigDict(defer_build=True)

    scorecard: str
    scorecard_title: str
    ref: str
    owner_ref: str | None = None
    level: str | None  # None: below the first level
    level_index: int
    levels: list[str]
    failing: list[RuleResult] = Field(default_factory=list)
    week_ago: int | None = None  # the level index a week before; None when it was not scored then

    @property
    def name(self) -> str:
        return self.ref.rpartition("/")[2]

    @property
    def change(self) -> int:
        """Levels gained (positive) or lost since a week ago."""
        return self.level_index - self.week_ago if self.week_ago is not None else 0

    @property
    def next_level(self) -> str | None:
        return self.levels[self.level_index] if self.level_index < len(self.levels) else None

    @property
    def next_fixes(self) -> list[RuleResult]:
        """The failing rules that stand between the entity and its next level."""
        return [r for r in self.failing if r.level == self.next_level]


class Scoreboard(BaseModel):
    model_config = ConfigDict(defer_build=True)

    scope: str  # what was looked at: "payments-service", "team checkout", "below Silver on Production readiness"
    day: date
    scores: list[EntityScore] = Field(default_factory=list)


class TeamLevels(BaseModel):
    model_config = ConfigDict(defer_build=True)

    team_ref: str
    team_name: str
    scorecard_title: str
    counts: dict[str, int]  # level label -> entities
