"""Claim-once keys for inbound deliveries (Slack `event_id`s, webhook ids).

Retries and replicas race for the same key; the primary key of `seen_event` decides, so
exactly one claim succeeds, across restarts and processes sharing the database.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from catalog.db import upsert_insert
from catalog.models import SeenEvent


def claim(session: Session, key: str, *, now: datetime) -> bool:
    """Record `key`; False if it was already claimed. Commit before acting on the claim."""
    insert = upsert_insert(session)
    statement = insert(SeenEvent).values(key=key[:300], received_at=now).on_conflict_do_nothing(index_elements=["key"])
    # RETURNING, not rowcount: an ORM insert reports rowcount -1 on PostgreSQL
    return session.execute(statement.returning(SeenEvent.key)).first() is not None
