"""The digest queue: one row per team (or `leadership`) per period, claimed with conditional updates.

The unique key (team, period) makes "once per team per week" a property of the table: a second
scheduler fire, another replica or a restart can only find the row, not add one. A worker claims a
row for a short lease before sending; Slack asking to wait (429) puts it back with `not_before`; a
channel that cannot take messages marks it undeliverable, not retried.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, or_, select, update
from sqlmodel import Session, col

from catalog.scorecards.models import ScorecardDigest
from catalog.store.engine import upsert_insert

LEASE = timedelta(minutes=2)  # a worker that dies mid-send gives its row up after this
LEADERSHIP = "leadership"  # the team_ref of the leadership digest's row


def period_of(fire_time: datetime, timezone: str) -> str:
    """The ISO week of a scheduled fire in the digests' time zone: `2026-W50`."""
    year, week, _ = fire_time.astimezone(ZoneInfo(timezone)).isocalendar()
    return f"{year}-W{week:02d}"


def enqueue(session: Session, targets: dict[str, str], *, period: str, now: datetime) -> int:
    """Add a pending row per (team ref -> channel) not queued for `period` yet; returns how many were new."""
    if not targets:
        return 0
    insert = upsert_insert(session)(ScorecardDigest).on_conflict_do_nothing(index_elements=["team_ref", "period"])
    rows = [{"team_ref": team, "period": period, "channel": channel, "status": "pending", "attempts": 0, "created_at": now} for team, channel in targets.items()]
    return len(session.execute(insert.returning(col(ScorecardDigest.id)), rows).all())


def _free(now: datetime) -> ColumnElement[bool]:
    return or_(col(ScorecardDigest.claimed_until).is_(None), col(ScorecardDigest.claimed_until) < now)


def claim_next(session: Session, *, now: datetime) -> ScorecardDigest | None:
    """Take the oldest pending row nobody holds and Slack does not want us to wait for; None when there is none (commit before sending)."""
    waiting = or_(col(ScorecardDigest.not_before).is_(None), col(ScorecardDigest.not_before) <= now)
    candidates = session.scalars(
        select(col(ScorecardDigest.id)).where(col(ScorecardDigest.status) == "pending", _free(now), waiting).order_by(col(ScorecardDigest.id)).limit(5)
    ).all()
    for digest_id in candidates:
        taken = session.execute(
            update(ScorecardDigest)
            .where(col(ScorecardDigest.id) == digest_id, col(ScorecardDigest.status) == "pending", _free(now))
            .values(claimed_until=now + LEASE, attempts=col(ScorecardDigest.attempts) + 1)
            .returning(col(ScorecardDigest.id))
        ).first()
        if taken is not None:
            return session.get(ScorecardDigest, digest_id, populate_existing=True)
    return None


def finish(session: Session, digest_id: int, *, status: str, now: datetime, error: str | None = None) -> None:
    session.execute(
        update(ScorecardDigest).where(col(ScorecardDigest.id) == digest_id).values(status=status, sent_at=now if status == "sent" else None, error=error, claimed_until=None)
    )


def wait_until(session: Session, digest_id: int, until: datetime) -> None:
    """Slack said 429 even after the client's own retries: leave the row for later, not for another worker now."""
    session.execute(update(ScorecardDigest).where(col(ScorecardDigest.id) == digest_id).values(not_before=until, claimed_until=None, error="ratelimited"))


def take_unreported(session: Session, *, now: datetime) -> list[ScorecardDigest]:
    """Undeliverable rows not reported to the admin channel yet, marked reported (commit, then report)."""
    ids = session.execute(
        update(ScorecardDigest)
        .where(col(ScorecardDigest.status) == "undeliverable", col(ScorecardDigest.reported_at).is_(None))
        .values(reported_at=now)
        .returning(col(ScorecardDigest.id))
    ).all()
    return list(session.scalars(select(ScorecardDigest).where(col(ScorecardDigest.id).in_([i for (i,) in ids])).order_by(col(ScorecardDigest.id))))
