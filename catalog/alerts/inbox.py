"""The delivery inbox: store first (the reply waits only for this), claim later, once.

Only the oldest unprocessed delivery of an incident can be claimed, so its events are applied in
the order they arrived and no two workers (threads or replicas) touch one card at the same time.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Engine, and_, exists, select, update
from sqlalchemy.orm import aliased
from sqlmodel import Session, col

from catalog.alerts.models import AlertDelivery
from catalog.alerts.payloads import AlertEvent
from catalog.store.engine import self_committing, upsert_insert

LEASE = timedelta(seconds=60)  # a worker that dies mid-delivery gives it up after this
MAX_ATTEMPTS = 5  # then the delivery is set aside with its error, so its incident is not blocked for ever


def store(engine: Engine, event: AlertEvent, body: bytes, *, now: datetime) -> bool:
    """Keep the raw delivery; False when it was delivered before (a redelivery changes nothing).

    The reply waits for this insert: one statement per dialect, its values bound as parameters, so
    SQLAlchemy compiles it once instead of keying a new statement on every body, and committed by
    the server as it runs (`self_committing`), so on PostgreSQL it is one round trip, not three.
    """
    row = {
        "provider": event.provider, "fingerprint": event.fingerprint, "group_key": event.group_key, "body": body.decode("utf-8"),
        "received_at": now, "attempts": 0,
    }  # fmt: skip
    with self_committing(engine) as conn:
        return conn.execute(_store_statement(upsert_insert(conn)), row).first() is not None


@functools.cache
def _store_statement(insert: Callable[..., Any]) -> Any:
    return insert(AlertDelivery).on_conflict_do_nothing(index_elements=["fingerprint"]).returning(col(AlertDelivery.id))


def claimable(session: Session, *, now: datetime, limit: int = 20) -> list[int]:
    """Deliveries nobody is working on whose incident has no older delivery still waiting."""
    older = aliased(AlertDelivery)
    waiting_before = exists().where(
        and_(col(older.group_key) == AlertDelivery.group_key, col(older.processed_at).is_(None), col(older.id) < AlertDelivery.id)
    )
    query = (
        select(col(AlertDelivery.id))
        .where(col(AlertDelivery.processed_at).is_(None), _free(now), ~waiting_before)
        .order_by(col(AlertDelivery.id))
        .limit(limit)
    )
    return [i for i in session.scalars(query) if i is not None]  # stored rows always have an id; the model allows None before insert


def claim(session: Session, delivery_id: int, *, now: datetime) -> AlertDelivery | None:
    """Take `delivery_id` for `LEASE`; None when another worker got it first (commit before working)."""
    statement = (
        update(AlertDelivery)
        .where(col(AlertDelivery.id) == delivery_id, col(AlertDelivery.processed_at).is_(None), _free(now))
        .values(claimed_until=now + LEASE, attempts=AlertDelivery.attempts + 1)
        .returning(col(AlertDelivery.id))
    )
    if session.execute(statement).first() is None:
        return None
    return session.get(AlertDelivery, delivery_id)


def finish(session: Session, delivery_id: int, *, now: datetime, error: str | None = None) -> None:
    session.execute(update(AlertDelivery).where(col(AlertDelivery.id) == delivery_id).values(processed_at=now, error=error))


def give_back(session: Session, delivery_id: int, *, error: str, now: datetime) -> None:
    """A failed attempt: retry at once next round, or set it aside after `MAX_ATTEMPTS`."""
    row = session.get(AlertDelivery, delivery_id)
    if row is not None and row.attempts >= MAX_ATTEMPTS:
        finish(session, delivery_id, now=now, error=error[:300])
    else:
        session.execute(update(AlertDelivery).where(col(AlertDelivery.id) == delivery_id).values(claimed_until=None, error=error[:300]))


def _free(now: datetime) -> ColumnElement[bool]:
    """Nobody holds the delivery: never claimed, or the claim's lease ran out."""
    return col(AlertDelivery.claimed_until).is_(None) | (col(AlertDelivery.claimed_until) < now)
