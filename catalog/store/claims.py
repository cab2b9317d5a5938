"""Claim-once keys for inbound deliveries (Slack `event_id`s, webhook ids).

Retries and replicas race for the same key; the primary key of `seen_event` decides, so
exactly one claim succeeds, across restarts and processes sharing the database.

On SQLite a write waits for the database's one write lock, which a big sync holds for seconds,
and a Slack answer must claim its event before it is posted. So Slack's claims go to a ledger of
their own (`Ledger`): a small SQLite file beside the catalog, with its own write lock, that
every process opening the catalog shares. PostgreSQL locks rows, so there the ledger is the
catalog, reached through a small pool of its own (`LEDGER_POOL`) whose connections commit each
statement as it runs, without waiting for the WAL flush: a claim, on every Slack ack's path, is
one round trip. It was four (BEGIN, `SET LOCAL synchronous_commit`, the INSERT, COMMIT), each a
wait for a server that a big sync may be keeping busy. Only a crash of the database server itself
could forget a claim committed so, costing at worst a redelivery answered twice; other replicas
see it at once.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

from sqlalchemy import URL, Connection, Engine, delete
from sqlalchemy.schema import CreateTable
from sqlmodel import Session

from catalog.store.engine import make_engine, session_factory, session_scope, upsert_insert
from catalog.store.models import SeenEvent, SlackDelivery, table_of

LEDGER_SUFFIX = "-claims"
# PostgreSQL connections the ledger keeps, and how many more a burst of acks may open (each claim holds one for a round trip).
LEDGER_POOL = (5, 5)
# Commit without waiting for the WAL flush (a claim is on the ack's path), and give up on a lock after 2 s:
# a claim queued behind a table lock (a migration, a `LOCK TABLE`) answered Slack after 19.5 s, long past
# its 3; failing, it answers 500 and Slack delivers the event again.
_LEDGER_OPTIONS = "-c synchronous_commit=off -c lock_timeout=2s"


class Ledger:
    """Where Slack deliveries are claimed (`Catalog.start_delivery`): the catalog itself, or on a SQLite file the file `<file>-claims` beside it."""

    def __init__(self, engine: Engine) -> None:
        database = engine.url.database
        self.separate = engine.dialect.name == "sqlite" and bool(database) and database != ":memory:"
        self._own: Engine | None = None  # an engine this ledger opened, and disposes of
        if self.separate:
            self._own = self.engine = make_engine(engine.url.set(database=f"{database}{LEDGER_SUFFIX}").render_as_string(hide_password=False))
        elif engine.dialect.name == "postgresql":
            self._own = make_engine(_with_ledger_options(engine.url), pool=LEDGER_POOL)
            self.engine = self._own.execution_options(isolation_level="AUTOCOMMIT")
        else:
            self.engine = engine
        self._factory = session_factory(self.engine)
        self._ready = not self.separate
        self._lock = threading.Lock()

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A unit of work on the ledger."""
        self._create_table()
        with session_scope(self._factory) as session:
            yield session

    @contextmanager
    def connection(self) -> Iterator[Connection]:
        """A unit of work on the ledger without an ORM session: a claim on the ack's path costs less CPU."""
        self._create_table()
        with self.engine.begin() as conn:
            yield conn

    @contextmanager
    def rehearsal(self) -> Iterator[Connection]:
        """A connection of the ledger's pool in a transaction that is rolled back: what runs in it is
        compiled and leaves nothing (`Catalog.prepare_deliveries`). The compiled statements are the
        engine's, and so the autocommit connections' too."""
        self._create_table()
        with (self._own or self.engine).connect() as conn:
            transaction = conn.begin()
            try:
                yield conn
            finally:
                transaction.rollback()

    def _create_table(self) -> None:
        """A file ledger's table is created on first use (keys only: nothing to migrate)."""
        if not self._ready:
            with self._lock:
                if not self._ready:
                    with self.engine.begin() as conn:  # IF NOT EXISTS: another process may create it at the same moment
                        conn.execute(CreateTable(table_of(SlackDelivery), if_not_exists=True))
                    self._ready = True

    def dispose(self) -> None:
        if self._own is not None:
            self._own.dispose()


def _with_ledger_options(url: URL) -> str:
    """`url` with the ledger's server options (`_LEDGER_OPTIONS`) added to its connections' (any given in it are kept)."""
    given = url.query.get("options")
    options = " ".join([*([given] if isinstance(given, str) else given or ()), _LEDGER_OPTIONS])
    return url.update_query_dict({"options": options}).render_as_string(hide_password=False)


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
