"""Slack deliveries handled once, and taken over when the replica handling them dies.

`start` is the claim (an insert of the delivery's key, as `claims.claim` does for webhooks) and
keeps the delivery's body with a lease; `finish` marks it done. A replica killed mid-answer
(after Slack got its ack, so Slack will not retry) leaves a row neither done nor leased once the
lease runs out: `take_over` lets exactly one other replica claim it (a conditional update) and
hands back the body to handle again.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Connection, bindparam, delete, select, update
from sqlmodel import Session, col

from catalog.store.engine import upsert_insert
from catalog.store.models import SlackDelivery

# An answer takes well under a second, and minutes only on a machine far past its capacity; a replica
# still working after this is taken to be dead (its answer may then come twice; a dead one's never comes).
LEASE = timedelta(seconds=60)
MAX_ATTEMPTS = 3  # a delivery whose handling kills its replica every time is given up after this
RETENTION = timedelta(days=3)  # Slack retries for minutes; done keys older than this can go


def start(conn: Connection, key: str, body: str, *, now: datetime) -> bool:
    """Claim `key` and keep `body` until `finish`; False if the delivery was claimed before (commit before handling).

    The claim is on the ack's path: on PostgreSQL the ledger's connection (`claims.Ledger`) commits
    it as it runs, without waiting for the WAL flush (2-4 ms on this disk, far more while a sync
    writes). The statement is built once and its values bound, not compiled anew for each key.
    """
    row = {"key": key[:300], "body": body, "received_at": now, "claimed_until": now + LEASE, "attempts": 1}
    return conn.execute(_start_statement(upsert_insert(conn)), row).first() is not None


@functools.cache
def _start_statement(insert: Callable[..., Any]) -> Any:
    return insert(SlackDelivery).on_conflict_do_nothing(index_elements=["key"]).returning(col(SlackDelivery.key))


_FINISH = update(SlackDelivery).where(col(SlackDelivery.key) == bindparam("finished_key")).values(done_at=bindparam("done_at"), claimed_until=None)


def finish(conn: Connection, key: str, *, now: datetime) -> None:
    conn.execute(_FINISH, {"finished_key": key[:300], "done_at": now})


def abandoned(session: Session, *, now: datetime, limit: int = 50) -> list[str]:
    """Keys of deliveries not done whose lease ran out: their replica died while handling them."""
    query = select(col(SlackDelivery.key)).where(_abandoned(now)).order_by(col(SlackDelivery.received_at)).limit(limit)
    return list(session.scalars(query))


def take_over(session: Session, key: str, *, now: datetime) -> str | None:
    """Claim an abandoned delivery for a new lease; its body, or None if another replica took it first."""
    statement = (
        update(SlackDelivery)
        .where(col(SlackDelivery.key) == key, _abandoned(now))
        .values(claimed_until=now + LEASE, attempts=col(SlackDelivery.attempts) + 1)
        .returning(col(SlackDelivery.body))
    )
    return session.execute(statement).scalar()


def prune(session: Session, *, now: datetime) -> int:
    """Forget deliveries received before `RETENTION`: done, or given up after `MAX_ATTEMPTS`."""
    result = session.execute(delete(SlackDelivery).where(col(SlackDelivery.received_at) < now - RETENTION))
    return int(getattr(result, "rowcount", 0) or 0)


def _abandoned(now: datetime) -> ColumnElement[bool]:
    return (
        col(SlackDelivery.done_at).is_(None)
        & col(SlackDelivery.claimed_until).is_not(None)
        & (col(SlackDelivery.claimed_until) < now)
        & (col(SlackDelivery.attempts) < MAX_ATTEMPTS)
    )
