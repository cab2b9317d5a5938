"""Claim-once keys for inbound deliveries (Slack `event_id`s, webhook ids).

Retries and replicas race for the same key; the primary key of `seen_event` decides, so
exactly one claim succeeds, across restarts and processes sharing the database.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlmodel import Session

from catalog.store.engine import upsert_insert
from catalog.store.models import SeenEvent


def claim(session: Session, key: str, *, now: datetime) -> bool:
    """Record `key`; False if it was already claimed. Commit before acting on the claim."""
    insert = upsert_insert(session)
    statement = insert(SeenEvent).values(key=key[:300], received_at=now).on_conflict_do_nothing(index_elements=["key"])
    # RETURNING, not rowcount: an ORM insert reports rowcount -1 on PostgreSQL
    return session.execute(statement.returning(SeenEvent.key)).first() is not None


def release(session: Session, keys: list[str]) -> None:
    """Forget claims whose work failed, so a redelivery can do it (commit before answering)."""
    session.execute(delete(SeenEvent).where(SeenEvent.key.in_([key[:300] for key in keys])))  # type: ignore[attr-defined]


# Slack retries for minutes and PagerDuty for up to 48 h; keys older than this can go.
RETENTION = timedelta(days=3)


def prune(session: Session, *, now: datetime) -> int:
    """Forget keys past `RETENTION`, so the table stays the size of a few days' traffic."""
    result = session.execute(delete(SeenEvent).where(SeenEvent.received_at < now - RETENTION))  # type: ignore[arg-type]
    return int(getattr(result, "rowcount", 0) or 0)
