"""A database that cannot be used ends a command with one `error:` line and exit 2, never a hang or a traceback.

Why: these commands run from cron, CI and deploy scripts; a hang holds the job (and its lock) for
ever, and a traceback hides the one fact an operator needs: which database, and what to do.
"""

from __future__ import annotations

import socket
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import literal_column, make_url, select, table
from sqlmodel import Session

from catalog.core import Catalog
from catalog.errors import DatabaseError
from catalog.store import engine as catalog_engine
from catalog.store.engine import make_engine
from catalog.store.raw import raw_rows
from tests.conftest import EXAMPLES, PG_URL
from tests.invoke_cli import one_source_config, wayfinder

EXAMPLE_CONFIG = EXAMPLES / "wayfinder.yaml"
PAGE = 4096  # SQLite's default page size


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A port that accepts TCP connections and never says a word (a hung server, a firewall dropping replies)."""
    listener = socket.create_server(("127.0.0.1", 0))
    accepted: list[socket.socket] = []

    def accept() -> None:
        while True:
            try:
                accepted.append(listener.accept()[0])
            except OSError:  # the listener was closed: the test is over
                return

    threading.Thread(target=accept, daemon=True).start()
    try:
        yield listener.getsockname()[1]
    finally:
        listener.close()
        for conn in accepted:
            conn.close()


@pytest.mark.parametrize("command", [("sync",), ("ask", "who owns payments-service?")])
def test_a_postgresql_server_that_never_answers_times_out(silent_server: int, monkeypatch: pytest.MonkeyPatch, command: tuple[str, ...]) -> None:
    monkeypatch.setattr(catalog_engine, "POSTGRES_CONNECT_TIMEOUT_S", 1)  # the default bound (10 s), made short
    url = f"postgresql+psycopg://wayfinder:s3cret-password@127.0.0.1:{silent_server}/wayfinder"
    ran = wayfinder(*command, database_url=url, config=EXAMPLE_CONFIG)
    assert ran.exit_code == 2
    assert ran.stderr.splitlines() == [
        f"error: database postgresql+psycopg://wayfinder:***@127.0.0.1:{silent_server}/wayfinder: connection timeout expired"
        " (the server did not answer in time; is it up and reachable? `?connect_timeout=N` in DATABASE_URL sets the wait)"
    ]


def test_connect_timeout_in_the_url_overrides_the_default(silent_server: int, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(catalog_engine, "POSTGRES_CONNECT_TIMEOUT_S", 3600)
    url = f"postgresql+psycopg://wayfinder@127.0.0.1:{silent_server}/wayfinder?connect_timeout=1"
    ran = wayfinder("ask", "who owns payments-service?", database_url=url, config=EXAMPLE_CONFIG)
    assert ran.exit_code == 2 and "connection timeout expired" in ran.stderr


def test_a_damaged_sqlite_file_is_one_error_saying_to_restore_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    one_source_config(tmp_path)
    database = tmp_path / "wf.db"
    url = f"sqlite:///{database}"
    assert wayfinder("sync", database_url=url).exit_code == 0
    with closing(sqlite3.connect(database)) as conn:  # everything into the file itself, none left in the write-ahead log
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    with database.open("r+b") as file:  # every page but the first (the schema) overwritten, as a failing disk might
        file.seek(PAGE)
        file.write(b"\xa5" * (database.stat().st_size - PAGE))
    for command in (("ask", "who owns billing?"), ("sync",)):
        ran = wayfinder(*command, database_url=url)
        assert ran.exit_code == 2, command
        assert ran.stderr.splitlines() == [f"error: database {url}: database disk image is malformed (restore it from a backup)"]


@pytest.mark.parametrize("url", ["mysql://wayfinder:s3cret-password@db/wayfinder", "postgresql+psycopg2://wayfinder:s3cret-password@db/wayfinder"])
def test_an_unsupported_database_url_names_the_supported_ones(url: str) -> None:
    ran = wayfinder("ask", "who owns payments-service?", database_url=url, config=EXAMPLE_CONFIG)
    assert ran.exit_code == 2
    assert ran.stderr.splitlines() == [
        f"error: DATABASE_URL: {url.replace('s3cret-password', '***')} is not supported: only sqlite (sqlite:///path.db) "
        "and postgresql (postgresql://user:pass@host/db) are supported"
    ]


@pytest.mark.parametrize("scheme", ["postgresql", "postgres"])
def test_a_postgresql_url_without_a_driver_uses_psycopg(scheme: str) -> None:
    """What hosts hand out (`postgres://…`) works as it is; psycopg2, SQLAlchemy's default for it, is not installed."""
    engine = make_engine(f"{scheme}://wayfinder:s3cret-password@db.example/wayfinder")
    assert engine.url.drivername == "postgresql+psycopg" and engine.url.password == "s3cret-password"


def test_a_driver_error_on_the_raw_cursor_is_a_database_error(database_url: str) -> None:
    """Reads on the DB-API cursor (`catalog.store.raw`) fail as SQLAlchemy's do, so `except DatabaseError` catches them."""
    engine = make_engine(database_url)
    try:
        with Session(engine) as session, pytest.raises(DatabaseError) as raised:
            raw_rows(session, select(literal_column("1")).select_from(table("no_such_table")))
        assert "no_such_table" in str(raised.value.orig)  # type: ignore[attr-defined]
    finally:
        engine.dispose()


@pytest.mark.skipif(not PG_URL, reason="PostgreSQL only: a server that closes pooled connections")
def test_connections_the_server_closed_while_pooled_are_replaced_before_an_answer_or_a_claim_uses_them(example_catalog: Catalog) -> None:
    """After a PostgreSQL restart or failover (here `pg_terminate_backend`), the first Slack ack answered 500 and
    the first answer apologised: each was handed a pooled connection the server had already closed."""
    assert example_catalog.ask("who owns payments-service?").status == "answered"
    assert example_catalog.start_delivery("slack:Ev1", "{}", now=datetime.now(UTC))
    database = make_url(example_catalog.database_url).database
    assert PG_URL
    with closing(psycopg.connect(make_url(PG_URL).set(drivername="postgresql").render_as_string(hide_password=False), autocommit=True)) as admin:
        pids = [pid for (pid,) in admin.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s", (database,))]
        admin.execute("SELECT pg_terminate_backend(pid) FROM unnest(%s::int[]) AS pid", (pids,))
        deadline = time.monotonic() + 10
        while admin.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = ANY(%s)", (pids,)).fetchone() != (0,):
            assert time.monotonic() < deadline, "the terminated backends did not exit"  # they exit once they have said goodbye
    assert len(pids) >= 2  # the catalog's pool and the claims ledger's

    assert example_catalog.ask("who owns ledger-db?").status == "answered"
    assert example_catalog.start_delivery("slack:Ev2", "{}", now=datetime.now(UTC))
