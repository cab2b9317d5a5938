"""Slack is acked and answered while a sync writes (issue 7 point 11).

Why: on SQLite a write transaction locks the whole database, and a 50k-entity sync holds it for
seconds. The event-id claim used to run before the ack, so every ack queued behind it past Slack's
3 s limit (Slack then retries, adding load); then the claim and the question-log row, both
written before the answer was posted, made answers wait for the lock instead. Now the ack
involves no write, Slack's claims go to a ledger with its own write lock (`store.claims`), and the
question-log row is written in the background, by the catalog's `RowBuffer` (`store.write_behind`),
which waits its turn for the lock: the answer goes out while the sync still holds the catalog's lock.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from sqlalchemy import func, select

from catalog.core import Catalog
from catalog.store.models import QuestionLog
from catalog.tls import tls_context
from tests.e2e.harness import Wayfinder, event_envelope, mention, signed_headers


def test_a_mention_is_answered_while_another_connection_holds_the_write_lock(wayfinder: Wayfinder, example_catalog: Catalog) -> None:
    if example_catalog.engine.dialect.name != "sqlite":
        pytest.skip("PostgreSQL locks rows, not the database: there is no database-wide write lock to wait on")
    with example_catalog.session() as session:
        logged_before = session.scalar(select(func.count()).select_from(QuestionLog))
    body = json.dumps(event_envelope(mention("who owns payments-service?", ts="1700000020.000100"), event_id="EvLocked"))
    blocker = sqlite3.connect(str(example_catalog.engine.url.database), isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")  # what a sync's write transaction holds until it commits
    try:
        # Well under the 30 s busy timeout a write before the ack or the answer would wait for.
        response = wayfinder.http.post("/slack/events", content=body, headers=signed_headers(body, "application/json"), timeout=5)
        assert response.status_code == 200
        [post] = wayfinder.fake.wait_for("chat.postMessage", timeout=10)  # answered with the lock still held
        assert post.params["thread_ts"] == "1700000020.000100"
        assert "payments" in post.params["text"].lower()
    finally:
        blocker.execute("COMMIT")
        blocker.close()
    deadline = time.monotonic() + 30
    while True:  # the question's log row follows once the lock is free
        with example_catalog.session() as session:
            logged = session.scalar(select(func.count()).select_from(QuestionLog))
        if logged == (logged_before or 0) + 1 or time.monotonic() > deadline:
            break
    assert logged == (logged_before or 0) + 1
    assert wayfinder.event(mention("who owns payments-service?", ts="1700000020.000100"), event_id="EvLocked").status_code == 200
    assert len(wayfinder.fake.calls("chat.postMessage")) == 1  # Slack's retry is still dropped: the claim held


def test_pages_stuck_on_a_slow_database_never_hold_up_a_slack_ack(wayfinder: Wayfinder, monkeypatch: pytest.MonkeyPatch) -> None:
    """45 page views waiting on PostgreSQL (more than Starlette's 40 default threads) use two
    threads of their own; Slack's request is acked, and /livez answers, while they wait."""
    if wayfinder.services.catalog.engine.dialect.name != "postgresql":
        pytest.skip("on SQLite pages run on the event loop (bot.http.web.reads): a local read never waits, so none gets stuck")
    release, lock = threading.Event(), threading.Lock()
    inside, most = [0], [0]

    def slow_page(*args: object, **kwargs: object) -> None:
        with lock:
            inside[0] += 1
            most[0] = max(most[0], inside[0])
        release.wait(20)
        with lock:
            inside[0] -= 1

    monkeypatch.setattr(wayfinder.services.catalog, "ownership_page", slow_page)
    with ThreadPoolExecutor(45) as pool:
        views = [pool.submit(httpx.get, f"{wayfinder.server.url}/o/component/default/payments-service", timeout=30, verify=tls_context()) for _ in range(45)]
        deadline = time.monotonic() + 10
        while inside[0] < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        try:
            acked = wayfinder.event(mention("who owns payments-service?", ts="1700000000.000300"), event_id="EvSLOWPAGES")
            alive = httpx.get(f"{wayfinder.server.url}/livez", timeout=5, verify=tls_context())
            waiting = sum(not view.done() for view in views)
        finally:
            release.set()
        assert acked.status_code == 200 and alive.status_code == 200
        assert waiting == 45  # acked while every page view still waited
        assert all(view.result().status_code == 404 for view in views)  # then each one finished
    assert most[0] == 2
