"""The delivery inbox: store first (the reply waits only for this), claim later, once.

Only the oldest unprocessed delivery of an incident can be claimed, so its events are applied in
the order they arrived and no two workers (threads or replicas) touch one card at the same time.
A failed attempt is retried after a wait that doubles up to a few minutes (longer when Slack asks),
stored on the row, so the schedule holds across restarts and replicas; a delivery that fails
`MAX_ATTEMPTS` times, about 25 minutes of trouble, is set aside so its incident is not blocked for ever.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import BindParameter, ColumnElement, Engine, and_, bindparam, exists, select, update
from sqlalchemy.orm import aliased
from sqlmodel import Session, col

from catalog.alerts.models import AlertDelivery
from catalog.alerts.payloads import AlertEvent
from catalog.store.engine import self_committing, upsert_insert

LEASE = timedelta(seconds=60)  # a worker that dies mid-delivery gives it up after this
FIRST_RETRY = timedelta(seconds=10)  # the wait after a first failure; it doubles after each further one
LONGEST_RETRY = timedelta(minutes=5)
MAX_ATTEMPTS = 10  # waits of 10 s, 20 s, 40 s ... 5 min: about 25 minutes, then the delivery is set aside with its error


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
    found = session.scalars(_claimable_query(limit), {"now": now})
    return [i for i in found if i is not None]  # stored rows always have an id; the model allows None before insert


def claim(session: Session, delivery_id: int, *, now: datetime) -> AlertDelivery | None:
    """Take `delivery_id` for `LEASE`; None when another worker got it first (commit before working)."""
    if session.execute(_claim_statement(), {"delivery_id": delivery_id, "now": now, "lease_end": now + LEASE}).first() is None:
        return None
    return session.get(AlertDelivery, delivery_id)


# Every replica's worker asks `claimable` and `claim` for each alert: built once, with their values
# bound, they are not built and compiled again each time (a third of a worker's CPU per alert).
@functools.cache
def _claimable_query(limit: int) -> Any:
    older = aliased(AlertDelivery)
    waiting_before = exists().where(
        and_(col(older.group_key) == AlertDelivery.group_key, col(older.processed_at).is_(None), col(older.id) < AlertDelivery.id)
    )
    return (
        select(col(AlertDelivery.id))
        .where(col(AlertDelivery.processed_at).is_(None), _free(bindparam("now")), ~waiting_before)
        .order_by(col(AlertDelivery.id))
        .limit(limit)
    )


@functools.cache
def _claim_statement() -> Any:
    return (
        update(AlertDelivery)
        .where(col(AlertDelivery.id) == bindparam("delivery_id"), col(AlertDelivery.processed_at).is_(None), _free(bindparam("now")))
        .values(claimed_until=bindparam("lease_end"), attempts=AlertDelivery.attempts + 1)
        .returning(col(AlertDelivery.id))
    )


def finish(session: Session, delivery_id: int, *, now: datetime, error: str | None = None) -> None:
    session.execute(update(AlertDelivery).where(col(AlertDelivery.id) == delivery_id).values(processed_at=now, error=error))


def give_back(session: Session, delivery_id: int, *, attempts: int, error: str, now: datetime, wait: timedelta = timedelta(0)) -> datetime | None:
    """A failed attempt (the `attempts`-th): the time of the next, after its backoff or `wait` (Slack's
    Retry-After) when that is longer; None when it was the last and the delivery is set aside."""
    if attempts >= MAX_ATTEMPTS:
        finish(session, delivery_id, now=now, error=error[:300])
        return None
    retry_at = now + max(backoff(attempts), wait)
    values = {"claimed_until": None, "next_attempt_at": retry_at, "error": error[:300]}
    session.execute(update(AlertDelivery).where(col(AlertDelivery.id) == delivery_id).values(values))
    return retry_at


def backoff(attempts: int) -> timedelta:
    """How long to wait after `attempts` failed attempts: `FIRST_RETRY`, doubling, at most `LONGEST_RETRY`."""
    return min(FIRST_RETRY * 2 ** min(attempts - 1, 16), LONGEST_RETRY)


def _free(now: BindParameter[Any]) -> ColumnElement[bool]:
    """Nobody holds the delivery (never claimed, or the claim's lease ran out) and its next attempt is due."""
    unheld = col(AlertDelivery.claimed_until).is_(None) | (col(AlertDelivery.claimed_until) < now)
    due = col(AlertDelivery.next_attempt_at).is_(None) | (col(AlertDelivery.next_attempt_at) <= now)
    return unheld & due
