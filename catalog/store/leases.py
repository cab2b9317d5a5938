"""Leases on named jobs in the database, so replicas sharing it run each due job once.

A lease is one `job_lease` row: `owner` may run the job until `expires_at`. Taking it is a
single conditional UPDATE (`... WHERE expires_at <= now`) after an insert-if-missing, both in
one transaction: PostgreSQL re-checks the condition on the locked row and SQLite serialises
writers, so when two schedulers race for the same due run exactly one UPDATE matches.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import update

from catalog.store.engine import SessionFactory, session_scope, upsert_insert
from catalog.store.models import JobLease

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


def hold(factory: SessionFactory, name: str, owner: str, *, until: datetime) -> bool:
    """Move the end of a lease we still own (a finished run keeps its slot until the next one).

    False if the lease was lost meanwhile (it expired and another owner took it): theirs stands.
    """
    with session_scope(factory) as session:
        moved = session.execute(
            update(JobLease).where(JobLease.name == name, JobLease.owner == owner).values(expires_at=until)  # type: ignore[arg-type]
        )
        return moved.rowcount == 1  # type: ignore[attr-defined]

