"""Slack is acked while a sync writes (issue 7 point 11).

Why: on SQLite a write transaction locks the whole database. The event-id claim used to run
before the ack, so every ack queued behind a big sync's write for seconds, past Slack's 3 s
limit (Slack then retries, adding load). The ack now involves no write; the claim happens after
it, on the listener's thread, and the answer follows once the lock is free.
"""

from __future__ import annotations

import json
import sqlite3

import pytest

from catalog.core import Catalog
from tests.e2e.harness import Wayfinder, event_envelope, mention, signed_headers


def test_a_mention_is_acked_while_another_connection_holds_the_write_lock(wayfinder: Wayfinder, example_catalog: Catalog) -> None:
    if example_catalog.engine.dialect.name != "sqlite":
        pytest.skip("PostgreSQL locks rows, not the database: there is no database-wide write lock to wait on")
    body = json.dumps(event_envelope(mention("who owns payments-service?", ts="1700000020.000100"), event_id="EvLocked"))
    blocker = sqlite3.connect(str(example_catalog.engine.url.database), isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")  # what a sync's write transaction holds until it commits
    try:
        # Well under the 30 s busy timeout a claim before the ack would wait for.
        response = wayfinder.http.post("/slack/events", content=body, headers=signed_headers(body, "application/json"), timeout=5)
        assert response.status_code == 200
        assert wayfinder.fake.calls("chat.postMessage") == []  # the claim (and so the answer) waits for the lock
    finally:
        blocker.execute("COMMIT")
        blocker.close()
    [post] = wayfinder.fake.wait_for("chat.postMessage", timeout=30)
    assert post.params["thread_ts"] == "1700000020.000100"
