"""Slack's deliveries, claimed once: shared by every process on the catalog, never queued behind a sync (issue 7 point 11).

Why: on SQLite the catalog has one write lock, which a big sync holds for seconds, and an answer
claims its event before it is posted. Claims live in a ledger with its own lock there; it must
still decide once across replicas, and housekeeping must still forget old keys.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event, text
from sqlalchemy.engine import make_url
from sqlalchemy.engine.default import DefaultDialect

from catalog.config import Config
from catalog.core import REHEARSED_DELIVERY, Catalog
from catalog.store import claims, deliveries
from catalog.store.engine import make_engine
from catalog.sync.schedule import Scheduler
from tests.db_trips import round_trips

T0 = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def test_a_key_is_claimed_once_across_replicas_even_while_the_catalog_is_write_locked(
    example_catalog: Catalog, make_catalog: Callable[[Config], Catalog]
) -> None:
    replica = make_catalog(example_catalog.config)
    blocker = None
    if example_catalog.engine.dialect.name == "sqlite":
        blocker = sqlite3.connect(str(example_catalog.engine.url.database), isolation_level=None, timeout=0)
        blocker.execute("BEGIN IMMEDIATE")  # a sync's write transaction
    try:
        assert example_catalog.start_delivery("slack:Ev1", "{}", now=T0)
        assert not replica.start_delivery("slack:Ev1", "{}", now=T0)
        assert replica.start_delivery("slack:Ev2", "{}", now=T0)
    finally:
        if blocker is not None:
            blocker.execute("COMMIT")
            blocker.close()


def test_housekeeping_forgets_old_deliveries_in_the_ledger(example_catalog: Catalog) -> None:
    assert example_catalog.start_delivery("slack:old", "{}", now=T0 - deliveries.RETENTION - timedelta(minutes=1))
    assert example_catalog.start_delivery("slack:recent", "{}", now=T0 - timedelta(hours=1))
    assert Scheduler(example_catalog, clock=lambda: T0).housekeeping() >= 1
    assert example_catalog.start_delivery("slack:old", "{}", now=T0)
    assert not example_catalog.start_delivery("slack:recent", "{}", now=T0)


def test_a_claim_and_its_finish_are_one_round_trip_each(example_catalog: Catalog, make_catalog: Callable[[Config], Catalog]) -> None:
    # Why: on PostgreSQL a claim was BEGIN, SET LOCAL synchronous_commit, the INSERT and COMMIT: four
    # waits for a server under load on every Slack ack, and the replica drill's acks queued on them.
    replica = make_catalog(example_catalog.config)
    assert example_catalog.start_delivery("slack:warm-up", "{}", now=T0)  # the ledger's pool has its connection
    with round_trips(example_catalog, example_catalog.ledger.engine) as trips:
        assert example_catalog.start_delivery("slack:Ev1", '{"event": 1}', now=T0)
    assert trips == [1, 0]  # one statement, no BEGIN or COMMIT of its own
    assert not replica.start_delivery("slack:Ev1", "{}", now=T0)  # committed: another replica sees it at once
    with round_trips(example_catalog, example_catalog.ledger.engine) as trips:
        example_catalog.finish_delivery("slack:Ev1", now=T0)
    assert trips == [1, 0]
    later = T0 + deliveries.LEASE * 2
    assert replica.take_over_deliveries(now=later) == [("slack:warm-up", "{}")]  # the finished one is not taken over


def test_a_prepared_ledger_gives_a_servers_first_claim_its_connection_and_compiled_statements(
    example_catalog: Catalog, make_catalog: Callable[[Config], Catalog]
) -> None:
    # Why: a replica's first Slack ack opened the ledger's first connection (on PostgreSQL an engine of
    # its own, reading the server's settings) and compiled the claim: 22 ms instead of 11-14 on an idle
    # machine, paid by a restarted replica under the replica drill's load while its acks queued.
    def first_claim(catalog: Catalog, key: str) -> tuple[int, list[bool]]:
        opened, cached = [0], []

        def connected(*_: Any) -> None:
            opened[0] += 1

        def executed(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
            cached.append(context.cache_hit == DefaultDialect.CACHE_HIT)

        event.listen(catalog.ledger.engine.pool, "connect", connected)
        event.listen(catalog.ledger.engine, "after_cursor_execute", executed)
        try:
            assert catalog.start_delivery(key, "{}", now=T0)
            catalog.finish_delivery(key, now=T0)
        finally:
            event.remove(catalog.ledger.engine.pool, "connect", connected)
            event.remove(catalog.ledger.engine, "after_cursor_execute", executed)
        return opened[0], cached

    prepared, unprepared = make_catalog(example_catalog.config), make_catalog(example_catalog.config)
    prepared.prepare_deliveries()
    assert first_claim(prepared, "slack:Ev-first") == (0, [True, True])
    assert first_claim(unprepared, "slack:Ev-other")[0] == 1  # what the preparation spared
    assert prepared.start_delivery(REHEARSED_DELIVERY, "{}", now=T0)  # the rehearsal left no claim


def test_on_postgresql_the_ledger_commits_asynchronously_waits_2_s_for_a_lock_and_keeps_the_urls_options(database_url: str) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("synchronous_commit and libpq's options are PostgreSQL's")
    url = make_url(database_url).update_query_dict({"options": "-c statement_timeout=4321"})
    engine = make_engine(url.render_as_string(hide_password=False))
    ledger = claims.Ledger(engine)
    try:
        with ledger.session() as session:
            settings = session.execute(
                text("SELECT current_setting('synchronous_commit'), current_setting('statement_timeout'), current_setting('lock_timeout')")
            ).one()
        assert tuple(settings) == ("off", "4321ms", "2s")  # a claim behind a table lock fails in 2 s, within Slack's 3
        with engine.connect() as conn:  # the catalog's own connections keep the server's setting
            assert conn.execute(text("SELECT source FROM pg_settings WHERE name = 'synchronous_commit'")).scalar() != "client"
    finally:
        ledger.dispose()
        engine.dispose()
