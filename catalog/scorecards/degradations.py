"""Degradation alerts, told once and batched per team: what fell a level or started failing a rule.

Evaluation stores each degradation as a `ScorecardAlert` row. A team's alerts wait until the oldest
is `window` old (so a sync that breaks five rules sends one message, not five), then one worker
claims them all with a conditional update, sends one message, and marks them sent.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import func, or_, select, update
from sqlmodel import Session, col

from catalog.config import Config
from catalog.scorecards.models import ScorecardAlert
from catalog.scorecards.report import level_label, rule_result
from catalog.scorecards.scores import RuleResult

LEASE = timedelta(minutes=2)


class Degradation(BaseModel):
    # This module's models are built on first use, not at import (`defer_build`): a server starts without them.
    model_config = ConfigDict(defer_build=True)

    ref: str
    scorecard_title: str
    from_level: str
    to_level: str
    rules: list[RuleResult] = Field(default_factory=list)  # rules that started failing, with their fix

    @property
    def fell(self) -> bool:
        return self.from_level != self.to_level


class AlertBatch(BaseModel):
    model_config = ConfigDict(defer_build=True)

    team_ref: str
    ids: list[int]
    items: list[Degradation]


def due_teams(session: Session, *, now: datetime, window: timedelta) -> list[str]:
    """Teams with unsent alerts whose oldest is at least `window` old."""
    query = (
        select(col(ScorecardAlert.team_ref))
        .where(col(ScorecardAlert.sent_at).is_(None))
        .group_by(col(ScorecardAlert.team_ref))
        .having(func.min(col(ScorecardAlert.created_at)) <= now - window)
    )
    return list(session.scalars(query))


def claim_batch(session: Session, config: Config, team: str, *, now: datetime) -> AlertBatch | None:
    """Every unsent alert of `team` nobody else holds, as one batch; None when another worker has them (commit before sending)."""
    free = or_(col(ScorecardAlert.claimed_until).is_(None), col(ScorecardAlert.claimed_until) < now)
    ids = [
        i
        for (i,) in session.execute(
            update(ScorecardAlert)
            .where(col(ScorecardAlert.team_ref) == team, col(ScorecardAlert.sent_at).is_(None), free)
            .values(claimed_until=now + LEASE)
            .returning(col(ScorecardAlert.id))
        )
    ]
    if not ids:
        return None
    grouped: dict[tuple[str, str], list[ScorecardAlert]] = defaultdict(list)
    for alert in session.scalars(select(ScorecardAlert).where(col(ScorecardAlert.id).in_(ids)).order_by(col(ScorecardAlert.id))):
        grouped[alert.scorecard, alert.entity_ref].append(alert)
    items = []
    for (scorecard, ref), alerts in sorted(grouped.items(), key=lambda kv: kv[0][1]):
        card = next((c for c in config.scorecards if c.id == scorecard), None)
        if card is None:
            continue  # the scorecard left the config since
        first, last = alerts[0], alerts[-1]
        rules = [rule_result(rule) for a in alerts if a.rule and (rule := card.rule(a.rule))]
        items.append(Degradation(ref=ref, scorecard_title=card.title, from_level=level_label(card, first.from_level), to_level=level_label(card, last.to_level), rules=rules))
    return AlertBatch(team_ref=team, ids=ids, items=items)


def mark_sent(session: Session, ids: list[int], *, now: datetime) -> None:
    session.execute(update(ScorecardAlert).where(col(ScorecardAlert.id).in_(ids)).values(sent_at=now, claimed_until=None))


def release(session: Session, ids: list[int]) -> None:
    session.execute(update(ScorecardAlert).where(col(ScorecardAlert.id).in_(ids)).values(claimed_until=None))
