"""GitHub pushes, kept in the database from their answer until a resync reads them.

GitHub does not redeliver a push on its own, so a push is queued here before it is answered (one
row per push: racing pushes overwrite nothing, and no in-memory state is lost with the process),
and whoever ends a run of the source resyncs what waits (`catalog.sync.webhooks.resync_queued`). The pushes
of one repository are read together and resynced once, with the newest repository object and
every push's authors. Rows are read and forgotten by the holder of the source's lease, so no
two runs resync the same push.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, func, select
from sqlmodel import Session, col

from catalog.store.engine import SessionFactory, session_scope
from catalog.store.models import QueuedPush


@dataclass
class Queued:
    """The pushes waiting for one repository's resync, collapsed into one."""

    full_name: str  # lower case
    ids: list[int] = field(default_factory=list)
    repository: dict[str, Any] = field(default_factory=dict)  # the newest push's
    authors: dict[str, str] = field(default_factory=dict)  # path -> author, a later push's winning


def queue(session: Session, source: str, repository: Mapping[str, Any], authors: Mapping[str, str]) -> None:
    """Keep a push to `repository` (GitHub's repository object, as JSON) until a resync reads it; the caller commits."""
    full_name = str(repository["full_name"]).lower()
    session.add(QueuedPush(source=source, full_name=full_name, repository=dict(repository), authors=dict(authors)))


def oldest(factory: SessionFactory, source: str, *, skip: Collection[str] = ()) -> Queued | None:
    """The pushes of the repository queued longest ago (other than those in `skip`), or None when none wait."""
    with session_scope(factory) as session:
        mine = col(QueuedPush.source) == source
        first = session.scalar(select(col(QueuedPush.full_name)).where(mine, col(QueuedPush.full_name).not_in(skip)).order_by(col(QueuedPush.id)).limit(1))
        if first is None:
            return None
        queued = Queued(first)
        for push in session.scalars(select(QueuedPush).where(mine, col(QueuedPush.full_name) == first).order_by(col(QueuedPush.id))):
            assert push.id is not None  # a stored row has its id
            queued.ids.append(push.id)
            queued.repository = push.repository
            queued.authors |= push.authors
        return queued


def last_id(factory: SessionFactory, source: str) -> int:
    """The newest push queued for `source` so far (0 if none): a run starting now reads every push up to it."""
    with session_scope(factory) as session:
        return session.scalar(select(func.coalesce(func.max(col(QueuedPush.id)), 0)).where(col(QueuedPush.source) == source)) or 0


def forget(factory: SessionFactory, ids: Collection[int]) -> None:
    """The pushes a resync has read."""
    with session_scope(factory) as session:
        session.execute(delete(QueuedPush).where(col(QueuedPush.id).in_(ids)))


def forget_up_to(factory: SessionFactory, source: str, last: int) -> None:
    """Every push of `source` up to `last`, which a full sync that started after it was queued has read."""
    with session_scope(factory) as session:
        session.execute(delete(QueuedPush).where(col(QueuedPush.source) == source, col(QueuedPush.id) <= last))
