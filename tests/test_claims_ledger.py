"""Slack's deliveries, claimed once: shared by every process on the catalog, never queued behind a sync (issue 7 point 11).

Why: on SQLite the catalog has one write lock, which a big sync holds for seconds, and an answer
claims its event before it is posted. Claims live in a ledger with its own lock there; it must
still decide once across replicas, and housekeeping must still forget old keys.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from catalog.config import Config
from catalog.core import Catalog
from catalog.store import deliveries
from catalog.sync.schedule import Scheduler

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
