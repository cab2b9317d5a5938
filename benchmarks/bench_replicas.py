"""The replica drill, full form (issue 16 point 4): three replicas, one PostgreSQL, a kill -9.

    python -m benchmarks.bench_replicas --pg postgresql+psycopg://postgres@127.0.0.1:5544/postgres
    python -m benchmarks.bench_replicas --pg ... --seconds 20 --entities 5000     # a quicker run

`tests/drill/drill.py` does the work (its docstring lists the traffic and how each delivery's
effect is counted at the fake Slack and fake GitHub): three `wayfinder serve` processes started
with compose.yaml's command and environment, a round-robin proxy, mixed traffic at `--rate` per
second for `--seconds` with 20% sent again to a different replica, a `wayfinder sync` of
`--entities` generated entities running meanwhile, and replica 0 killed with SIGKILL at a third of
the run and restarted at half. Goals: ack p99 <= 100 ms, answer p95 <= 500 ms, nothing done
twice, nothing lost, a killed replica's work picked up within 2 minutes.
"""

from __future__ import annotations

import argparse
import os
import time

from benchmarks.bench_catalog import percentile
from tests.drill.drill import run_drill

ACK_P99_MS, ANSWER_P95_MS, PICKUP_S = 100.0, 500.0, 120.0


def nearest_rank(values: list[float], p: float) -> float:
    """The percentile the report's lines print too (nearest rank); NaN when nothing was measured."""
    return percentile(values, p) if values else float("nan")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pg", required=True, help="a PostgreSQL server URL; a throwaway database is created on it and dropped")
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--rate", type=float, default=50)
    parser.add_argument("--entities", type=int, default=50_000)
    parser.add_argument("--replicas", type=int, default=3)
    args = parser.parse_args(argv)

    started, load_at_start = time.monotonic(), "/".join(f"{x:.1f}" for x in os.getloadavg())
    report = run_drill(
        args.pg, seconds=args.seconds, rate=args.rate, entities=args.entities, replica_count=args.replicas,
        progress=lambda line: print(f"[{time.monotonic() - started:6.1f} s] {line}", flush=True),
    )  # fmt: skip
    load = "/".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"\nReplica drill: {args.replicas} replicas on PostgreSQL, {os.cpu_count()} CPUs, load average {load_at_start} at start, {load} at end")
    print("\n".join(report.lines()))
    ack, answer = nearest_rank(report.acks_ms, 99), nearest_rank(report.answers_ms, 95)
    goals = [
        (f"ack p99 <= {ACK_P99_MS:.0f} ms", f"{ack:.1f} ms", ack <= ACK_P99_MS),
        (f"answer p95 <= {ANSWER_P95_MS:.0f} ms", f"{answer:.1f} ms", answer <= ANSWER_P95_MS),
        ("work done twice = 0", str(len(report.twice)), not report.twice),
        ("work lost = 0", str(len(report.lost)), not report.lost),
        (f"killed replica's work picked up <= {PICKUP_S:.0f} s", "nothing in flight" if report.pickup_seconds is None else f"{report.pickup_seconds:.1f} s",
         report.pickup_seconds is None or report.pickup_seconds <= PICKUP_S),
    ]  # fmt: skip
    print("\nGoals")
    for name, measured, ok in goals:
        print(f"  {'PASS' if ok else 'MISS'}  {name:<45} {measured}")
    return 0 if all(ok for *_, ok in goals) else 1


if __name__ == "__main__":
    raise SystemExit(main())
