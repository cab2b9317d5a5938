"""A replica keeps the PostgreSQL connections a burst needed, instead of opening new ones for the next burst.

Why: the pool kept 5 connections and closed every one beyond them when it came back. When a big
sync committed, each replica's answers, alert workers and Slack listeners needed about 8 at once
for a few seconds; the replica drill then saw about 100 new PostgreSQL backends in 10 s, each a
process to fork, authenticate and warm up while the server was busiest, and ack p99 at 430 ms.
With 10 kept it saw 18 (each replica's pool growing once) and 158 ms (`benchmarks/bench_replicas.py`).
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import Engine

from catalog.store.engine import make_engine

AT_ONCE = 10  # connections a replica needed at the same time in the drill


def _burst(engine: Engine) -> set[int]:
    """The backend process ids of `AT_ONCE` connections held at the same time."""
    together = threading.Barrier(AT_ONCE)

    def one(_: int) -> int:
        with engine.connect() as conn:
            pid = int(conn.exec_driver_sql("SELECT pg_backend_pid()").scalar_one())
            together.wait(timeout=30)  # every connection is checked out at once
            return pid

    with ThreadPoolExecutor(AT_ONCE) as pool:
        return set(pool.map(one, range(AT_ONCE)))


def test_a_second_burst_reuses_the_first_ones_connections(database_url: str) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("connection reuse is PostgreSQL's concern: SQLite opens a file, not a server process")
    engine = make_engine(database_url)
    try:
        first = _burst(engine)
        assert len(first) == AT_ONCE
        assert _burst(engine) == first
    finally:
        engine.dispose()
