"""Leases on named jobs in the database, so replicas and processes sharing it run each job once.

A lease is one `job_lease` row: `owner` may run the job until `expires_at`. Taking it is a
single conditional UPDATE (`... WHERE expires_at <= now`) after an insert-if-missing, both in
one transaction: PostgreSQL re-checks the condition on the locked row and SQLite serialises
writers, so when two runs race for the same lease exactly one UPDATE matches.

A long job keeps a short lease and renews it from a `Heartbeat`, so a holder killed with -9
(which can clean nothing up) blocks the job only until its lease runs out, not for the longest
time a run may take. A finished job `release`s its lease, which clears the owner: a lease that
ran out with its owner still named was abandoned mid-run, and `take_over` lets one other
process claim it to do the work again.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from types import TracebackType

from sqlalchemy import case, literal, update
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session

from catalog.store.engine import SessionFactory, session_scope, upsert_insert
from catalog.store.models import JobLease

log = logging.getLogger(__name__)

_FREE = datetime(1970, 1, 1, tzinfo=UTC)


def claim(factory: SessionFactory, name: str, owner: str, *, now: datetime, until: datetime) -> bool:
    """Take the lease on `name` until `until` if nobody holds it at `now`; True if taken."""
    with session_scope(factory) as session:
        insert = upsert_insert(session)
        session.execute(insert(JobLease).values(name=name, owner="", expires_at=_FREE).on_conflict_do_nothing(index_elements=["name"]))
        taken = session.execute(
            update(JobLease).where(JobLease.name == name, JobLease.expires_at <= now).values(owner=owner, expires_at=until)  # type: ignore[arg-type]
        )
        return taken.rowcount == 1  # type: ignore[attr-defined]


def renew(session: Session, name: str, owner: str, *, until: datetime) -> bool:
    """Move the end of a lease we still own to `until`, never earlier, in the caller's transaction; False if it was lost.

    Run first in a transaction that must only commit while we hold the lease: on PostgreSQL it
    locks the lease row until that commit, and on SQLite it takes the write lock, so a holder
    whose lease ran out (and was taken by another) cannot commit behind the new holder's back.
    Never earlier: a `Heartbeat` computes `until` before its UPDATE waits for that lock, and must
    not land a minute-old end over the one a long write renewed as it committed.
    """
    expires = JobLease.__table__.c.expires_at  # type: ignore[attr-defined]
    later = case((expires > until, expires), else_=literal(until, expires.type))
    moved = session.execute(update(JobLease).where(JobLease.name == name, JobLease.owner == owner).values(expires_at=later))  # type: ignore[arg-type]
    return moved.rowcount == 1  # type: ignore[attr-defined]


def take_over(factory: SessionFactory, name: str, owner: str, *, now: datetime, until: datetime) -> bool:
    """Take the lease on `name` until `until` if its holder died mid-run (it ran out unreleased); True if taken."""
    with session_scope(factory) as session:
        taken = session.execute(
            update(JobLease)
            .where(JobLease.name == name, JobLease.owner != "", JobLease.expires_at <= now)  # type: ignore[arg-type]
            .values(owner=owner, expires_at=until)
        )
        return taken.rowcount == 1  # type: ignore[attr-defined]


def hold(factory: SessionFactory, name: str, owner: str, *, until: datetime) -> bool:
    """`renew` in a transaction of its own, as a `Heartbeat` beats.

    False if the lease was lost meanwhile (it expired and another owner took it): theirs stands.
    """
    with session_scope(factory) as session:
        return renew(session, name, owner, until=until)


def abandon(factory: SessionFactory, name: str, owner: str, *, at: datetime) -> bool:
    """Leave the lease to `take_over` from `at` on, its owner still named, as a holder killed mid-run leaves it; False if it was lost."""
    return _set(factory, name, owner, {"expires_at": at})


def release(factory: SessionFactory, name: str, owner: str, *, until: datetime = _FREE) -> bool:
    """The job is done: give the lease up, at once or keeping it closed to `claim` until `until`.

    Clears the owner, so `take_over` never mistakes a finished job for an abandoned one. False if
    the lease was lost meanwhile (it expired and another owner took it): theirs stands.
    """
    return _set(factory, name, owner, {"owner": "", "expires_at": until})


def _set(factory: SessionFactory, name: str, owner: str, values: dict[str, str | datetime]) -> bool:
    """Set `values` on the lease if `owner` still holds it, in a transaction of its own; False if it was lost."""
    with session_scope(factory) as session:
        moved = session.execute(update(JobLease).where(JobLease.name == name, JobLease.owner == owner).values(values))  # type: ignore[arg-type]
        return moved.rowcount == 1  # type: ignore[attr-defined]


class Heartbeat:
    """Renews a held lease to `clock() + ttl` every `ttl / 4` from a daemon thread, until exited.

    A failed renewal (the database is busy or briefly unreachable) is logged and retried at the
    next beat; three misses in a row are needed before the lease can run out. `lost` turns True
    if another owner took the lease, which the holder's writes check for themselves (`renew`).
    """

    def __init__(self, factory: SessionFactory, name: str, owner: str, *, ttl: timedelta, clock: Callable[[], datetime]) -> None:
        self.factory, self.name, self.owner, self.ttl, self.clock = factory, name, owner, ttl, clock
        self.lost = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"lease-heartbeat {name}", daemon=True)

    def beat(self) -> None:
        if not hold(self.factory, self.name, self.owner, until=self.clock() + self.ttl):
            self.lost = True

    def _run(self) -> None:
        while not self.lost and not self._stop.wait(self.ttl.total_seconds() / 4):
            try:
                self.beat()
            except SQLAlchemyError as exc:
                log.warning("lease %s: renewal failed (%s); retrying in %s", self.name, type(exc).__name__, self.ttl / 4)
        if self.lost:
            log.warning("lease %s: taken over by another owner while %s held it", self.name, self.owner)

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self._stop.set()
        self._thread.join()
