"""Scorecards at scale: 10 scorecards of 8 rules over 10k and 100k entities, and 1,000 team digests.

    python -m benchmarks.bench_scorecards                  # 10k and 100k entities, 1,000 teams
    python -m benchmarks.bench_scorecards --entities 10000 --check

The catalog is written straight into the entity and relation tables (a sync of 100k descriptor
files would measure the sync, not the scorecards) in SQLite, owned by 1,000 teams. Each size is
evaluated twice: the first evaluation ever writes every result; the second, a day later, finds them
unchanged and writes nothing (results are recorded on change), which is the steady state the goal is about: every
entity's inputs fingerprint as they did, so none is read in full or evaluated again.
Peak RSS is the process's (`ru_maxrss`), measured in a child process per size, so one size's
memory does not count for the next. Baseline in the same run: reading every entity row once
(`SELECT` of the columns the evaluation reads), the floor any evaluation over the catalog pays.

Goals (issue 14): 10k entities < 1 s, 100k < 10 s with peak RSS < 300 MB, 1,000 digests built < 5 s.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import random
import resource
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select

from catalog.config import Config
from catalog.core import Catalog
from catalog.scorecards.service import Scorecards
from catalog.store.engine import make_engine, upgrade
from catalog.store.models import Entity, Relation, SourceState, table_of

GOALS = {10_000: 1.0, 100_000: 10.0}
RSS_GOAL_MB = 300.0
DIGESTS_GOAL_S = 5.0
TEAMS = 1000
NOW = datetime(2026, 12, 7, 8, 0, tzinfo=UTC)
CHECKS: list[dict[str, Any]] = [
    {"field": "owner", "op": "exists"},
    {"annotation": "pagerduty.com/service-id", "op": "exists"},
    {"link_type": "runbook", "op": "exists"},
    {"synced_within": "7d"},
    {"label": "tier", "op": "in", "value": ["1", "2"]},
    {"annotation": "github.com/project-slug", "op": "matches", "value": "^acme/"},
    {"relation": "dependsOn", "op": "<=", "value": 10},
    {"spec": "replicas", "op": ">=", "value": 2},
    {"tag": "java", "op": "exists"},
    {"field": "lifecycle", "op": "equals", "value": "production"},
]


def config() -> Config:
    cards = []
    for i in range(10):
        rules = [{"id": f"r{j}", "level": ("Bronze", "Silver", "Gold")[min(j // 3, 2)], "check": CHECKS[(i + j) % len(CHECKS)], "fix": f"Fix rule {j}."} for j in range(8)]
        cards.append({"id": f"card-{i}", "title": f"Card {i}", "levels": ["Bronze", "Silver", "Gold"], "applies_to": {"kind": "component"}, "rules": rules})
    return Config.model_validate({"scorecards": cards, "initiatives": [{"id": "q1", "scorecard": "card-0", "target_level": "Silver", "deadline": "2027-03-31"}]})


def fill(url: str, n: int, seed: int = 7) -> None:
    """`n` components owned by `TEAMS` teams, with facts that pass some rules and fail others."""
    rng = random.Random(seed)
    engine = make_engine(url)
    upgrade(engine)
    now = NOW - timedelta(days=1)
    teams = [f"group:default/team-{t}" for t in range(TEAMS)]
    with engine.begin() as conn:
        conn.execute(insert(table_of(SourceState)), [{"name": "bench", "type": "backstage", "last_success_at": now, "last_attempt_at": now}])
        conn.execute(insert(table_of(Entity)), [_row(f"group:default/team-{t}", "group", f"team-{t}", None, {}, now) for t in range(TEAMS)])
        for start in range(0, n, 5000):
            rows, relations = [], []
            for i in range(start, min(n, start + 5000)):
                ref = f"component:default/svc-{i:06d}"
                facts = {
                    "annotations": {k: v for k, v in (("pagerduty.com/service-id", f"P{i}"), ("github.com/project-slug", f"acme/svc-{i}")) if rng.random() < 0.7},
                    "links": [{"url": f"https://runbooks/{i}", "type": "runbook"}] if rng.random() < 0.6 else [],
                    "labels": {"tier": str(rng.randint(1, 3))}, "tags": ["java"] if rng.random() < 0.5 else ["go"],
                    "spec": {"type": "service", "lifecycle": "production", "replicas": rng.randint(1, 4)},
                }  # fmt: skip
                rows.append(_row(ref, "component", f"svc-{i:06d}", teams[i % TEAMS], facts, now))
                relations += [
                    {"source": "bench", "origin_ref": ref, "subject_ref": ref, "type": "dependsOn", "target_ref": f"component:default/svc-{rng.randrange(n):06d}"}
                    for _ in range(rng.randint(0, 3))
                ]
            conn.execute(insert(table_of(Entity)), rows)
            if relations:
                conn.execute(insert(table_of(Relation)), relations)
    engine.dispose()


def _row(ref: str, kind: str, name: str, owner: str | None, facts: dict[str, Any], now: datetime) -> dict[str, Any]:
    spec = facts.get("spec", {})
    return {
        "source": "bench", "precedence": 50, "ref": ref, "kind": kind, "namespace": "default", "name": name, "type": spec.get("type"),
        "lifecycle": spec.get("lifecycle"), "owner_ref": owner, "labels": facts.get("labels", {}), "annotations": facts.get("annotations", {}),
        "tags": facts.get("tags", []), "links": facts.get("links", []), "spec": spec, "content_hash": "x", "first_seen_at": now, "updated_at": now,
    }  # fmt: skip


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure(n: int, workdir: str, queue: Any) -> None:
    url = f"sqlite:///{Path(workdir) / f'bench-{n}.db'}"
    fill(url, n)
    catalog = Catalog(url, config())
    start = time.perf_counter()
    with catalog.session() as session:
        count = sum(1 for _ in session.execute(select(*[table_of(Entity).c[c] for c in ("ref", "labels", "annotations", "tags", "links", "spec")])))
    baseline = time.perf_counter() - start
    rss_before = _rss_mb()
    first, first_cpu, report = _timed(lambda: catalog.evaluate_scorecards(now=NOW))
    second, second_cpu, second_report = _timed(lambda: catalog.evaluate_scorecards(now=NOW + timedelta(days=1)))
    digests = None
    if n == min(GOALS):
        seconds, cpu, built = _timed(lambda: catalog_digests(catalog))
        digests = (built, seconds, cpu)
    queue.put({
        "n": n, "rows": count, "baseline": baseline, "first": first, "first_cpu": first_cpu, "second": second, "second_cpu": second_cpu,
        "results": report.changed, "unchanged": second_report.unchanged, "rss": _rss_mb(), "rss_before": rss_before, "digests": digests, "load": os.getloadavg()[0],
    })  # fmt: skip


def _timed(work: Any) -> tuple[float, float, Any]:
    """(wall seconds, CPU seconds of this process, the result): on a shared machine CPU time is the steadier figure."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = work()
    return time.perf_counter() - wall, time.process_time() - cpu, result


def catalog_digests(catalog: Catalog) -> int:
    """Build (not send) the digest of every team (`Scorecards` is imported before the clock starts: its chart module loads matplotlib)."""
    return sum(1 for _ in Scorecards(catalog).build_all_digests(now=NOW))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--entities", type=int, action="append", help="catalog size (repeatable; default 10000 and 100000)")
    parser.add_argument("--check", action="store_true", help="exit 1 when a goal is missed")
    args = parser.parse_args(argv)
    sizes = args.entities or sorted(GOALS)
    missed = False
    with tempfile.TemporaryDirectory() as workdir:
        for n in sizes:
            queue: Any = multiprocessing.Queue()
            child = multiprocessing.Process(target=measure, args=(n, workdir, queue))
            child.start()
            child.join()  # the result is a small dict: the queue's buffer never blocks the child's exit
            if child.exitcode:
                raise SystemExit(f"measuring {n} entities failed (exit {child.exitcode})")
            result = queue.get(timeout=10)
            goal = GOALS.get(n, GOALS[100_000] * n / 100_000)
            ok = result["second"] < goal and (n < 100_000 or result["rss"] < RSS_GOAL_MB)
            missed |= not ok
            print(
                f"{n:>7} entities (load average {result['load']:.1f}): evaluate {result['second']:.2f} s wall / {result['second_cpu']:.2f} s CPU "
                f"(a day later, nothing changed: {result['unchanged']} entities' inputs unchanged, not evaluated again); "
                f"the first evaluation ever, writing all {result['results']} results: "
                f"{result['first']:.2f} s / {result['first_cpu']:.2f} s CPU; baseline, reading every entity row once: {result['baseline']:.2f} s; "
                f"goal < {goal:.0f} s; peak RSS {result['rss']:.0f} MB (before evaluating {result['rss_before']:.0f} MB, goal < {RSS_GOAL_MB:.0f} MB) "
                f"{'OK' if ok else 'MISSED'}"
            )
            if result["digests"]:
                built, seconds, cpu = result["digests"]
                ok = seconds < DIGESTS_GOAL_S
                missed |= not ok
                print(f"{built} team digests built in {seconds:.2f} s wall / {cpu:.2f} s CPU (goal < {DIGESTS_GOAL_S:.0f} s) {'OK' if ok else 'MISSED'}")
    sys.stdout.flush()
    return 1 if missed and args.check else 0


if __name__ == "__main__":
    raise SystemExit(main())
