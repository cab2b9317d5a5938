"""Engine, sessions and the schema guard.

The caller owns the transaction: `session_scope` commits on success and rolls back on error;
query helpers never commit.
"""

from __future__ import annotations

import functools
import re
import select
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, Table, create_engine, event, inspect, text
from sqlalchemy.engine import Dialect, make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import sessionmaker
from sqlalchemy.pool import StaticPool
from sqlmodel import Session

from catalog.errors import ConfigError, NoSchema, SchemaNewer, SchemaOutdated
from catalog.store import json_values
from catalog.store.database_errors import safe_url

if TYPE_CHECKING:  # Alembic is imported only to migrate: checking the schema must not cost a CLI question its import
    from alembic.config import Config

MIGRATIONS = Path(__file__).parent / "migrations"


# SQLite connections are cheap, and a connection waiting for the write lock (an event-id claim
# while a sync commits) holds its pool slot: keep more slots than listener and request threads,
# so `/healthz` and reads never queue behind writers in the pool.
SQLITE_POOL_SIZE, SQLITE_MAX_OVERFLOW = 10, 60
# PostgreSQL connections a process keeps, and how many more it may open at a peak (closed as they
# come back). When a big sync commits, a replica's answers, alert workers and Slack listeners need
# about 8 at once; with 5 kept, every such burst forked new server backends while the server was
# busiest (`tests/test_connection_pool.py`). Size max_connections for replicas x 30 (with the claims
# ledger's, `catalog.store.claims.LEDGER_POOL`), plus syncs.
POSTGRES_POOL_SIZE, POSTGRES_MAX_OVERFLOW = 10, 10
# What one big write transaction may keep in memory on SQLite instead of spilling pages mid-way.
# A sync process must stay under 300 MB at 100k entities (issue 16): at 256 MB the cache alone
# took most of it; at 64 MB a first sync of 50k entities took the same CPU time.
SQLITE_WRITE_CACHE_KIB = 64 * 1024
# How long a SQLite writer waits for the write lock before "database is locked".
SQLITE_BUSY_TIMEOUT_MS = 30_000
# How long a PostgreSQL connection attempt may take: without a bound, a host that accepts TCP but
# never answers (a firewall dropping packets, a hung server) hung `sync`, `ask` and start-up forever.
# `?connect_timeout=N` in DATABASE_URL overrides it.
POSTGRES_CONNECT_TIMEOUT_S = 10


# The database kinds and drivers Wayfinder runs on; any other URL failed in SQLAlchemy's import of its driver.
SUPPORTED_DRIVERS = {"sqlite": ("", "pysqlite"), "postgresql": ("psycopg",)}


def with_driver(url: str) -> str:
    """`postgresql://` and `postgres://` (what most hosts and operators hand out) with the driver Wayfinder ships, psycopg."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        return parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    return url


def check_supported(url: str) -> None:
    """Refuse a DATABASE_URL for a database (or driver) Wayfinder does not support, naming the ones it does."""
    backend, _, driver = make_url(url).drivername.partition("+")
    if driver not in SUPPORTED_DRIVERS.get(backend, ()):
        raise ConfigError(
            f"DATABASE_URL: {safe_url(url)} is not supported: only sqlite (sqlite:///path.db) and postgresql "
            "(postgresql://user:pass@host/db) are supported"
        )


def make_engine(url: str, *, pool: tuple[int, int] = (POSTGRES_POOL_SIZE, POSTGRES_MAX_OVERFLOW)) -> Engine:
    """An engine for SQLite (WAL, foreign keys, busy timeout) or PostgreSQL.

    The pool hands out the connection returned last (LIFO). First in, first out rotated the
    answers of even one thread through every pooled connection (once the question log's writer had
    opened a second one), each with colder caches (on PostgreSQL a backend process of its own). At
    10k entities on PostgreSQL an answer's CPU p50 was lower with LIFO in each of five same-process
    comparisons (by 0.01-0.5 ms; wall time was within the shared machine's noise); on SQLite no
    difference showed. Connections beyond the busy ones also stay idle, so the server may close them.
    `pool` is how many PostgreSQL connections are kept, and how many more a peak may open.
    """
    if not url.strip():
        raise ConfigError("DATABASE_URL is set but empty: unset it for SQLite in ./wayfinder.db, or give a database URL")
    url = with_driver(url)
    check_supported(url)
    kwargs: dict[str, Any] = {}
    if url.startswith("sqlite"):
        kwargs["connect_args"] = {"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}
        if url in ("sqlite://", "sqlite:///:memory:"):
            kwargs["poolclass"] = StaticPool
        else:
            kwargs["pool_size"], kwargs["max_overflow"] = SQLITE_POOL_SIZE, SQLITE_MAX_OVERFLOW
    else:
        kwargs["pool_size"], kwargs["max_overflow"] = pool
        if "connect_timeout" not in make_url(url).query:
            kwargs["connect_args"] = {"connect_timeout": POSTGRES_CONNECT_TIMEOUT_S}
    if kwargs.get("poolclass") is not StaticPool:
        kwargs["pool_use_lifo"] = True
    engine = create_engine(url, json_deserializer=json_values.loads, **kwargs)
    if url.startswith("sqlite"):
        event.listen(engine, "connect", _sqlite_pragmas)
    else:
        event.listen(engine, "checkout", _replace_if_closed_by_server)
    return engine


def _replace_if_closed_by_server(dbapi_connection: Any, record: Any, proxy: Any) -> None:
    """Pool checkout: a PostgreSQL connection the server closed while it sat in the pool (a restart, a failover,
    `pg_terminate_backend`, an idle timeout) is replaced now, not found dead by the request that was handed it.

    Such a request failed: a Slack ack answered 500, an answer apologised. The server says goodbye on the
    socket (an error message, then the end of the stream), and a healthy idle connection has nothing to
    read, so a zero-timeout poll tells them apart without a round trip (`pool_pre_ping` would add one to
    every answer and every ack). Raising `DisconnectionError` makes the pool connect afresh.
    """
    try:
        poller = select.poll()
        poller.register(dbapi_connection.fileno(), select.POLLIN)
        readable = bool(poller.poll(0))
    except (OSError, ValueError) as exc:  # already closed: no descriptor to poll
        raise DisconnectionError("the pooled connection is closed") from exc
    if readable:
        raise DisconnectionError("the server closed the pooled connection")


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()


SessionFactory = Callable[[], Session]


def session_factory(engine: Engine) -> SessionFactory:
    return sessionmaker(engine, class_=Session, expire_on_commit=False)


def read_engine(engine: Engine) -> Engine:
    """`engine` for work that only reads (an answer, a page): on PostgreSQL without BEGIN and COMMIT.

    Under PostgreSQL's READ COMMITTED each statement sees its own snapshot inside a transaction
    too, so leaving the transaction out changes nothing a read sees, and saves an answer two of its
    four round trips. A write through it would be committed at once, statement by statement.
    SQLite keeps its transaction: there it holds one snapshot for every read of the answer.
    """
    return engine.execution_options(isolation_level="AUTOCOMMIT") if engine.dialect.name == "postgresql" else engine


@contextmanager
def session_scope(factory: SessionFactory) -> Iterator[Session]:
    """One unit of work: commit on success, roll back on any error."""
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


@contextmanager
def large_write_cache(session: Session) -> Iterator[None]:
    """On SQLite, a larger page cache for one big write, then the connection's own size again.

    A 50k-entity sync changes more pages than the default 2 MB cache holds; spilling them while
    the transaction runs made it several times longer, and SQLite's write lock is held throughout.
    Only this transaction gets the memory: pooled connections that serve reads stay small.
    """
    conn = session.connection()
    if conn.dialect.name != "sqlite":
        yield
        return
    before = conn.exec_driver_sql("PRAGMA cache_size").scalar()
    conn.exec_driver_sql(f"PRAGMA cache_size=-{SQLITE_WRITE_CACHE_KIB}")
    try:
        yield
    finally:
        conn.exec_driver_sql(f"PRAGMA cache_size={int(before or -2000)}")


# Autovacuum's own rule for when a table's planner statistics are stale (PostgreSQL's defaults of
# autovacuum_analyze_threshold and autovacuum_analyze_scale_factor).
ANALYZE_THRESHOLD, ANALYZE_SCALE = 50, 0.1


def refresh_statistics(session: Session, changed: int, tables: Sequence[str]) -> None:
    """On PostgreSQL, ANALYZE `tables` inside a write that changed `changed` rows of the first, if
    autovacuum would find them stale.

    Autovacuum would get to it within a minute or so. Until then the planner sees the catalog
    before the write: after a first sync of 50k entities the tables still looked empty, and the
    run's own dangling-reference check took 3 minutes of a core instead of a second, while every
    replica's queries queued behind it. Run inside the write's transaction, ANALYZE counts the
    transaction's own rows, and the statistics commit with them.
    """
    conn = session.connection()
    if conn.dialect.name != "postgresql" or changed <= ANALYZE_THRESHOLD:
        return
    counted = conn.execute(text("SELECT reltuples FROM pg_class WHERE oid = to_regclass(:t)"), {"t": tables[0]}).scalar()
    if changed > ANALYZE_THRESHOLD + ANALYZE_SCALE * max(float(counted or 0), 0.0):
        conn.exec_driver_sql(f"ANALYZE {', '.join(tables)}")


def upsert_insert(bind: Session | Connection) -> Callable[..., Any]:
    """The dialect's `insert` that supports `on_conflict_do_*`: claims and upserts that stay atomic
    when replicas race, which a read-then-write in Python cannot promise. Only the database's own
    dialect is imported: the other's cost a PostgreSQL replica's first Slack ack 8 ms."""
    dialect = bind.get_bind().dialect if isinstance(bind, Session) else bind.dialect
    if dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as postgresql_insert

        return postgresql_insert
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert


@contextmanager
def self_committing(engine: Engine) -> Iterator[Connection]:
    """A connection on which each statement is its own transaction, committed (durably) by the server.

    For a write that is one statement: on PostgreSQL it is then one round trip, not three (BEGIN,
    the statement, COMMIT), with the same synchronous commit.
    """
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        yield conn


def _alembic_config(engine: Engine) -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["engine"] = engine
    return cfg


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Apply migrations (`wayfinder db upgrade`)."""
    from alembic import command

    refuse_newer_schema(schema_status(engine)[0])
    command.upgrade(_alembic_config(engine), revision)


# Session-level PostgreSQL advisory lock key ("Wayfindr" in ASCII) held while migrating on start.
MIGRATION_LOCK = 0x5761_7966_696E_6472


def migrate_on_start(engine: Engine) -> bool:
    """Bring the schema to the code's head before serving or syncing; True if this call migrated.

    On PostgreSQL replicas starting together queue on an advisory lock and re-check the revision
    once they hold it, so exactly one of them migrates and the others find the schema current.
    """
    if engine.dialect.name != "postgresql":
        return _upgrade_if_behind(engine)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as lock:
        lock.execute(text("SELECT pg_advisory_lock(:key)"), {"key": MIGRATION_LOCK})
        try:
            return _upgrade_if_behind(engine)
        finally:
            lock.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": MIGRATION_LOCK})


def _upgrade_if_behind(engine: Engine) -> bool:
    current, head = schema_status(engine)
    if current == head:
        return False
    upgrade(engine)
    return True


def schema_status(engine: Engine) -> tuple[str | None, str]:
    """(current revision of the database, newest revision the code knows)."""
    with engine.connect() as conn:
        current = conn.execute(text("SELECT version_num FROM alembic_version")).scalar() if inspect(conn).has_table("alembic_version") else None
    return current, head_revision()


_REVISION = re.compile(r"^(down_)?revision\s*(?::[^=]*)?=\s*(.+)$", re.MULTILINE)
_QUOTED = re.compile(r"['\"]([^'\"]+)['\"]")


@functools.cache
def _migrations() -> tuple[frozenset[str], frozenset[str]]:
    """(every revision the migrations define, the revisions some migration names as its `down_revision`).

    Read from the migration files' text, as Alembic's `ScriptDirectory` would answer (tests/test_migrations.py
    checks they agree), without importing Alembic and executing every migration module, which cost each CLI
    question about a quarter of a second.
    """
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in (MIGRATIONS / "versions").glob("*.py"):
        for down, value in _REVISION.findall(path.read_text(encoding="utf-8")):
            (parents if down else revisions).update(_QUOTED.findall(value))
    return frozenset(revisions), frozenset(parents)


@functools.cache
def head_revision() -> str:
    """The newest migration: the one no other migration names as its `down_revision`."""
    revisions, parents = _migrations()
    heads = revisions - parents
    if len(heads) != 1:
        raise RuntimeError(f"the migrations have {len(heads)} heads ({', '.join(sorted(heads))}); merge them into one")
    return next(iter(heads))


def is_newer_than_code(revision: str | None) -> bool:
    """True for a revision none of this code's migrations define: a newer Wayfinder migrated the database."""
    return revision is not None and revision not in _migrations()[0]


def refuse_newer_schema(current: str | None) -> None:
    """Stop before using or migrating a schema from a newer Wayfinder: Alembic cannot place the revision
    (it crashed with "Can't locate revision"), and `db upgrade`, the usual advice, cannot help."""
    if is_newer_than_code(current):
        raise SchemaNewer(
            f"The database was migrated by a newer Wayfinder (to revision {current}; a deploy rolled back?) and this version "
            f"(schema {head_revision()}) cannot use it. Run the newer version, or restore a backup taken before it migrated."
        )


def require_current_schema(engine: Engine) -> None:
    """Refuse to run on an outdated or newer schema, saying which command fixes it."""
    current, head = schema_status(engine)
    if current is None:
        raise NoSchema("The database has no Wayfinder tables yet. Run `wayfinder db upgrade` to fix it.")
    refuse_newer_schema(current)
    if current != head:
        raise SchemaOutdated(f"The database is at revision {current}, the code needs {head}. Run `wayfinder db upgrade` to fix it.")


def bind_processors(dialect: Dialect, table: Table, columns: Iterable[str]) -> tuple[Callable[[Any], Any] | None, ...]:
    """What SQLAlchemy would do to a value of each of `columns` before handing it to the driver (`convert_rows`)."""
    return tuple(table.c[c].type.dialect_impl(dialect).bind_processor(dialect) for c in columns)


def convert_rows(rows: Iterable[Sequence[Any]], processors: Sequence[Callable[[Any], Any] | None]) -> list[tuple[Any, ...]]:
    """Apply SQLAlchemy type processors column by column, for rows that skip `Connection.execute`."""
    convert = [(i, f) for i, f in enumerate(processors) if f is not None]
    if not convert:
        return [tuple(row) for row in rows]
    out = []
    for row in rows:
        cells = list(row)
        for i, f in convert:
            cells[i] = f(cells[i])
        out.append(tuple(cells))
    return out
