"""The replica drill, short form (issue 16 point 4): three `wayfinder serve` processes on one
PostgreSQL behind a round-robin proxy, mixed traffic with redeliveries to other replicas while a
sync runs, one replica killed with -9 and restarted. Nothing may be done twice or lost.

Marked `drill` (deselected by default); `.ci/run` runs it against the PostgreSQL server it starts:
    WAYFINDER_TEST_DATABASE_URL=postgresql+psycopg://... python -m pytest -m drill
Latency goals are the benchmark's (`benchmarks/bench_replicas.py`), not this test's.
"""

from __future__ import annotations

import pytest

from tests.conftest import PG_URL
from tests.drill.drill import run_drill

pytestmark = [pytest.mark.drill, pytest.mark.skipif(not PG_URL, reason="the drill needs a PostgreSQL server (WAYFINDER_TEST_DATABASE_URL)")]


def test_three_replicas_do_every_piece_of_work_once_through_a_kill(tmp_path_factory: pytest.TempPathFactory) -> None:
    assert PG_URL
    report = run_drill(PG_URL, seconds=10, rate=20, entities=2000, settle_seconds=120, workdir=tmp_path_factory.mktemp("drill"), progress=print)
    print("\n".join(report.lines()))

    assert report.sent >= 150 and report.redelivered > 0 and report.killed_at > 0 and report.restarted_at > report.killed_at
    # Redeliveries and retries never do work twice, nor does a takeover of a mention or DM the killed
    # replica had answered (the answer is found in Slack by its metadata). Only a reply it had sent to a
    # command's or click's response_url (which cannot be read back) may come again; lost only for a
    # GitHub push whose resync it was running.
    response_url_replies = {key for key in report.twice if key.startswith(("cmd-", "click-"))}
    assert set(report.twice) == response_url_replies and response_url_replies <= report.in_flight, report.twice
    assert all(key.startswith("drill-") for key in report.lost) and set(report.lost) <= report.in_flight, report.lost
    assert report.unacked == []
    assert report.pickup_seconds is None or report.pickup_seconds <= 120
