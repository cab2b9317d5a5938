"""The replica drill's report and the benchmark's goals read one percentile (issue 16 point 4).

Why: the report's lines picked the rank above the nearest rank, so one run printed an ack p99 of
208.8 ms in its figures and 201.2 ms against the goal.
"""

from __future__ import annotations

from collections import Counter

from benchmarks.bench_replicas import nearest_rank
from tests.drill.drill import DrillReport


def test_the_printed_figures_are_the_ones_held_against_the_goals() -> None:
    acks = [float(ms) for ms in range(3000, 0, -1)]  # 1..3000 ms, in no order
    report = DrillReport(
        seconds=60, rate=50, entities=50_000, sent=3000, redelivered=600, acks_ms=acks, answers_ms=[], twice={}, lost=[],
        in_flight=set(), unacked=[], pickup_seconds=None, killed_at=20, restarted_at=30, sync_seconds=35, per_kind=Counter(),
    )  # fmt: skip
    assert nearest_rank(acks, 99) == 2970.0 and nearest_rank(acks, 50) == 1500.0
    assert "ack p50 / p99        1500.0 ms / 2970.0 ms" in "\n".join(report.lines())
    assert "answer p50 / p95     n/a / n/a" in "\n".join(report.lines())
