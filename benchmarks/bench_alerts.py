"""Alert webhooks: reply latency, and webhook -> card posted at the fake Slack.

    python -m benchmarks.bench_alerts                      # 10k entities, 200 incidents = 1,000 webhooks
    python -m benchmarks.bench_alerts --incidents 50 --check
    python -m benchmarks.bench_alerts --db postgresql+psycopg://postgres@127.0.0.1:5544/postgres

All in this process, over real HTTP on 127.0.0.1: the production server (`tests.e2e.harness.start_wayfinder`,
the alert worker included) in front of the fake Slack Web API, on a generated Backstage catalog in
SQLite (or, with `--db`, a throwaway database on a PostgreSQL server). Each incident is triggered, redelivered, acknowledged, redelivered and resolved (5 webhooks,
so 200 incidents make 1,000, 400 of them redeliveries); half are PagerDuty (found by service id,
some unknown: loud cards), half generic (found by component name). Each event is sent, then waited
for at the fake Slack (the card, or its `chat.update`), one at a time.

Baselines in the same run, same server: `GET /livez` (the HTTP floor) and a bare `chat.postMessage`
from this process (the fake Slack's floor).

Then, with the server stopped, `Alerts.receive` is called directly for `--store-count` new alerts and
their redeliveries: round trips (PostgreSQL; statements on SQLite) and CPU per stored webhook, beside
the previous way of storing (the same INSERT in a session's transaction) in the same run.

Goals (issue 12): webhook reply p99 <= 50 ms; webhook -> card posted p95 <= 500 ms.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from unittest import mock

from slack_sdk import WebClient

from benchmarks.bench_catalog import percentile
from benchmarks.bench_contention import database
from benchmarks.bench_slack import build_catalog
from benchmarks.generate import _pagerduty_id, sample_names
from catalog.alerts import inbox, service
from catalog.alerts.inbox import _store_statement
from catalog.alerts.payloads import AlertEvent
from catalog.alerts.service import Alerts
from catalog.config import AlertsConfig
from catalog.core import Catalog
from catalog.store.engine import upsert_insert
from tests.alert_payloads import ALERTS_CONFIG, generic, pagerduty, pagerduty_headers, token_headers
from tests.db_trips import round_trips
from tests.e2e.harness import BOT_TOKEN, Wayfinder, start_wayfinder
from tests.fakes.slack_api import FakeSlackAPI

REPLY_P99_GOAL_MS = 50.0
POSTED_P95_GOAL_MS = 500.0


def webhooks(n_entities: int, seed: int, incidents: int) -> list[list[tuple[str, bytes, dict[str, str], str | None]]]:
    """Per incident, its five webhooks: (provider, body, headers, what to wait for at Slack or None for a redelivery)."""
    names = sample_names(n_entities, seed, k=incidents)["exact"]
    out = []
    for i in range(incidents):
        if i % 2:
            def make(status: str, i: int = i) -> bytes:
                return generic(f"bench-{i}", status, service=names[i])

            headers = token_headers()
            provider = "generic"
        else:
            def make(status: str, i: int = i) -> bytes:
                return pagerduty(f"PBENCH{i}", status, service_id=_pagerduty_id(i))

            headers = {}
            provider = "pagerduty"
        steps = []
        for status, waits in (
            ("triggered", "card"),
            ("triggered", None),
            ("acknowledged", "update"),
            ("acknowledged", None),
            ("resolved", "update"),
        ):
            body = make(status)
            steps.append((provider, body, pagerduty_headers(body) if provider == "pagerduty" else headers, waits))
        out.append(steps)
    return out


def measure(
    wayfinder: Wayfinder, fake: FakeSlackAPI, plan: list[list[tuple[str, bytes, dict[str, str], str | None]]]
) -> tuple[list[float], list[float], list[float]]:
    """(reply ms per webhook, of those the redeliveries', webhook -> card or update ms per state change).

    A redelivery is sent as soon as the card it repeats reached Slack, so its reply overlaps the
    worker recording that card: the contended case.
    """
    replies: list[float] = []
    redeliveries: list[float] = []
    posted: list[float] = []
    cards = updates = 0
    for steps in plan:
        for provider, body, headers, waits in steps:
            start = time.perf_counter()
            response = wayfinder.http.post(f"/webhooks/alerts/{provider}", content=body, headers=headers)
            replies.append((time.perf_counter() - start) * 1000)
            if waits is None:
                redeliveries.append(replies[-1])
            if response.status_code != 202:
                raise SystemExit(f"{provider} webhook got HTTP {response.status_code}: {response.text}")
            if waits == "card":
                cards += 1
                fake.wait_for("chat.postMessage", count=cards + updates, timeout=30)  # each update also posts its thread line
            elif waits == "update":
                updates += 1
                fake.wait_for("chat.update", count=updates, timeout=30)
            if waits:
                posted.append((time.perf_counter() - start) * 1000)
    return replies, redeliveries, posted


def baselines(wayfinder: Wayfinder, fake: FakeSlackAPI, count: int) -> tuple[list[float], list[float]]:
    """(`GET /livez` ms, bare `chat.postMessage` ms)."""
    client = WebClient(token=BOT_TOKEN, base_url=fake.url)
    livez, post = [], []
    for _ in range(count):
        start = time.perf_counter()
        wayfinder.http.get("/livez")
        livez.append((time.perf_counter() - start) * 1000)
        start = time.perf_counter()
        client.chat_postMessage(channel="C0BASELINE", text="baseline")
        post.append((time.perf_counter() - start) * 1000)
    return livez, post


def store_path(catalog: Catalog, count: int) -> dict[str, tuple[float, float, float, float]]:
    """Per way of storing: (round trips per webhook, CPU ms per webhook, wall p50 ms, wall p99 ms) of
    `Alerts.receive` called directly (no HTTP, no worker), for `count` new alerts then their redeliveries.

    Baseline in the same run: the same INSERT inside a session's transaction (BEGIN, INSERT, COMMIT),
    as `inbox.store` did before it was made self-committing.
    """

    def in_a_session(engine: Any, event_: AlertEvent, body: bytes, *, now: datetime) -> bool:
        row = {
            "provider": event_.provider, "fingerprint": event_.fingerprint, "group_key": event_.group_key,
            "body": body.decode("utf-8"), "received_at": now, "attempts": 0,
        }  # fmt: skip
        with catalog.session() as session:
            return session.execute(_store_statement(upsert_insert(session)), row).first() is not None

    out = {}
    alerts = Alerts(catalog)
    headers = {k.lower(): v for k, v in token_headers().items()}  # as the HTTP layer hands them over
    for label, way in (("baseline: in a session", in_a_session), ("self-committing", inbox.store)):
        bodies = [generic(f"store-{label}-{i}", "triggered", service="nothing") for i in range(count)]
        for what, batch in (("new", bodies), ("redelivered", bodies)):
            walls, cpu = [], 0.0
            with mock.patch.object(service, "store", way), round_trips(catalog) as trips:
                for body in batch:
                    start, start_cpu = time.perf_counter(), time.thread_time()
                    received = alerts.receive("generic", body, headers, now=datetime.now(UTC))
                    cpu += time.thread_time() - start_cpu
                    walls.append((time.perf_counter() - start) * 1000)
                    assert received.outcome == ("stored" if what == "new" else "duplicate"), received
            out[f"{label}, {what}"] = (trips[0] / count, cpu * 1000 / count, percentile(walls, 50), percentile(walls, 99))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entities", type=int, default=10_000)
    parser.add_argument("--incidents", type=int, default=200, help="each makes 5 webhooks (default 200: 1,000 webhooks)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--db", default="sqlite", help="'sqlite' (a temporary file, default) or a PostgreSQL server URL")
    parser.add_argument("--store-count", type=int, default=300, help="alerts stored directly, per way of storing")
    parser.add_argument("--check", action="store_true", help="exit 1 if a goal is missed")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="wayfinder-bench-alerts-") as tmp, database(args.db, Path(tmp)) as url:
        started = time.perf_counter()
        catalog: Catalog = build_catalog(Path(tmp), args.entities, args.seed, url=url)
        backend = catalog.engine.dialect.name
        catalog.config.alerts = AlertsConfig.model_validate(ALERTS_CONFIG)
        print(f"catalog: {args.entities:,} entities generated and synced in {time.perf_counter() - started:.1f}s ({backend})")
        plan = webhooks(args.entities, args.seed, args.incidents)
        try:
            with FakeSlackAPI() as fake:
                wayfinder = start_wayfinder(catalog, fake)
                try:
                    cpu_start = time.process_time()
                    replies, redeliveries, posted = measure(wayfinder, fake, plan)
                    cpu_ms = (time.process_time() - cpu_start) * 1000 / len(replies)
                    livez, bare_post = baselines(wayfinder, fake, 200)
                finally:
                    wayfinder.close()
            stored = store_path(catalog, args.store_count)
        finally:
            catalog.dispose()

    results = [
        ("webhook reply", "p50", percentile(replies, 50), None),
        ("webhook reply", "p99", percentile(replies, 99), REPLY_P99_GOAL_MS),
        ("  of which redeliveries", "p99", percentile(redeliveries, 99), None),
        ("  baseline: GET /livez", "p50", percentile(livez, 50), None),
        ("  baseline: GET /livez", "p99", percentile(livez, 99), None),
        ("webhook -> card posted/updated", "p50", percentile(posted, 50), None),
        ("webhook -> card posted/updated", "p95", percentile(posted, 95), POSTED_P95_GOAL_MS),
        ("  baseline: bare chat.postMessage", "p95", percentile(bare_post, 95), None),
    ]
    print(f"\n{len(replies)} webhooks ({args.incidents} incidents, {len(posted)} cards and edits), {args.entities:,} entities, {backend}")
    print(f"  process CPU per webhook (server, worker, fake Slack and client together): {cpu_ms:.1f} ms")
    missed = False
    for what, p, value, goal in results:
        verdict = "" if goal is None else f"  goal <= {goal:.0f} ms: {'PASS' if value <= goal else 'MISS'}"
        missed |= goal is not None and value > goal
        print(f"  {what:<36} {p}: {value:7.1f} ms{verdict}")
    unit = "round trips" if backend == "postgresql" else "statements"
    print(f"\nstoring one webhook: Alerts.receive called directly, {args.store_count} alerts, {backend}")
    for what, (trips, cpu, p50, p99) in stored.items():
        print(f"  {what:<36} {trips:4.1f} {unit}  CPU {cpu:5.2f} ms  wall p50 {p50:6.2f} ms  p99 {p99:6.2f} ms")
    return 1 if args.check and missed else 0


if __name__ == "__main__":
    raise SystemExit(main())
