"""The adoption report over 1 million usage events, on SQLite and (when given) PostgreSQL.

    python -m benchmarks.bench_adoption                                   # SQLite only
    python -m benchmarks.bench_adoption --pg postgresql+psycopg://postgres@127.0.0.1:5544/postgres
    WAYFINDER_BENCH_DATABASE_URL=postgresql+psycopg://... python -m benchmarks.bench_adoption

Each database is a throwaway one (`benchmarks.bench_contention.database`), filled with a year of
generated history: `--events` usage events (default 1,000,000) from `--people` people (2,000),
most of them questions, with threads, follow-ups, feedback and unanswered questions in the
question log. Then `Adoption.report` (every metric: the real code path of `wayfinder report
adoption`, `/adoption` and the digest) for the last 30 days and for the whole year, each run
`--repeat` times (the best and the median wall time, and the median CPU time, are printed):
before, from the events themselves (`rollups=False`, the previous code's queries), and after,
from the daily rollups (`catalog.adoption.rollup`), which are first built once from nothing
(timed too). "after a late event" writes one event for a day 100 days back before each report,
so the report rebuilds that day's rollup (and today's) first. CPU is this process's, plus on
PostgreSQL the server backends' of the benchmark's database (parallel workers not included).

The fill ends with ANALYZE (VACUUM ANALYZE on PostgreSQL), as autovacuum would have done on a
live database. Baselines in the same run, same database: `SELECT COUNT(*)` over the period (the floor of reading
the rows at all) and the naive way, reading the period's (day, who) rows into Python and counting
daily active people there (what "not Python loops" is measured against).

Goal (issue 15): the report over 1 million events under 2 s, on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

from sqlalchemy import func, insert, select, text

from benchmarks.bench_contention import database
from catalog.adoption.events import day_number
from catalog.adoption.models import AdoptionEvent
from catalog.adoption.service import Adoption
from catalog.config import AdoptionConfig, Config
from catalog.core import Catalog
from catalog.store.models import AnswerFeedback, QuestionLog, table_of

GOAL_S = 2.0
NOW = datetime(2026, 12, 1, tzinfo=UTC)
CHUNK = 20_000
SURFACES = ["slack_mention", "slack_dm", "slack_command", "slack_home", "web_page", "cli", "cli_remote"]
OUTCOMES = ["answered"] * 8 + ["not_found", "no_data"]
INTENTS = ["owner", "owner", "owner", "members", "oncall", "links", "depends_on"]


def fill(catalog: Catalog, events: int, people: int, seed: int) -> float:
    """A year of history; returns the seconds it took (not part of any measurement)."""
    rng = random.Random(seed)
    started = time.perf_counter()
    start = NOW - timedelta(days=365)
    regulars = [f"U{n:07d}" for n in range(people)]
    first_day = {who: rng.randrange(0, 330) for who in regulars}
    table = table_of(AdoptionEvent)
    with catalog.engine.begin() as conn:
        rows = []
        for i in range(events):
            who = regulars[int(rng.paretovariate(1.2)) % people]
            day = rng.randrange(first_day[who], 365)
            at = start + timedelta(days=day, seconds=rng.randrange(86_400))
            question = rng.random() < 0.7
            rows.append({
                "at": at, "day": day_number(at), "who": who, "surface": rng.choice(SURFACES),
                "kind": "question" if question else rng.choice(["home_opened", "feedback", "page_view"]),
                "outcome": rng.choice(OUTCOMES) if question else "ok", "intent": rng.choice(INTENTS) if question else None,
                "entity_ref": f"component:default/service-{rng.randrange(5000)}" if question else None,
                "latency_ms": rng.uniform(5, 400), "thread": f"C{rng.randrange(50)}:{i}" if question and rng.random() < 0.5 else None,
            })  # fmt: skip
            if question and rng.random() < 0.05:
                rows.append({**rows[-1], "who": None, "kind": "followup", "outcome": "ok", "surface": "slack_thread", "intent": None, "entity_ref": None})
            if len(rows) >= CHUNK:
                conn.execute(insert(table), rows)
                rows = []
        if rows:
            conn.execute(insert(table), rows)
        conn.execute(insert(table_of(QuestionLog)), [
            {"asked_at": NOW - timedelta(days=rng.randrange(60), seconds=rng.randrange(86_400)), "surface": "slack", "status": "not_found",
             "question": f"who owns thing-{int(rng.paretovariate(1.0)) % 3000}", "candidates": []}
            for _ in range(50_000)
        ])  # fmt: skip
        conn.execute(insert(table_of(AnswerFeedback)), [
            {"question": "q", "intent": rng.choice(INTENTS), "helpful": rng.random() < 0.8, "created_at": NOW - timedelta(days=rng.randrange(365))}
            for _ in range(20_000)
        ])  # fmt: skip
    analyze(catalog, "adoption_event")
    return time.perf_counter() - started


def analyze(catalog: Catalog, table: str = "") -> None:
    """Statistics (and on PostgreSQL the visibility map, for index-only scans) as a live database has them
    after autovacuum: a bulk load just now has neither, and autovacuum catching up mid-measurement is noise."""
    with catalog.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text(f"VACUUM ANALYZE {table}".strip() if conn.dialect.name == "postgresql" else "ANALYZE"))


def server_cpu(catalog: Catalog) -> float:
    """CPU seconds used so far by the PostgreSQL backends serving the benchmark's database (0 on SQLite)."""
    if catalog.engine.dialect.name != "postgresql":
        return 0.0
    with catalog.engine.connect() as conn:
        pids: list[int] = list(conn.execute(text("SELECT pid FROM pg_stat_activity WHERE datname = current_database()")).scalars())
        total = 0
        for pid in pids:
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / os.sysconf("SC_CLK_TCK")


def timed(repeat: int, run: Callable[[], object], catalog: Catalog) -> tuple[float, float, float]:
    """(best wall, median wall, median CPU) seconds of `repeat` runs."""
    walls, cpus = [], []
    for _ in range(repeat):
        cpu, server, started = time.process_time(), server_cpu(catalog), time.perf_counter()
        run()
        walls.append(time.perf_counter() - started)
        cpus.append(time.process_time() - cpu + server_cpu(catalog) - server)
    return min(walls), statistics.median(walls), statistics.median(cpus)


def late_event_then_report(catalog: Catalog, adoption: Adoption, since: datetime) -> None:
    """One event for a day long rolled up, then the report (which rebuilds that day first)."""
    at = NOW - timedelta(days=100)
    with catalog.engine.begin() as conn:
        conn.execute(insert(table_of(AdoptionEvent)), [{"at": at, "day": day_number(at), "who": "U0000001", "surface": "cli", "kind": "home_opened", "outcome": "ok"}])
    adoption.report(since=since, until=NOW)


def count_rows(catalog: Catalog, first: int, last: int) -> int:
    """The floor: counting the period's rows, and nothing else."""
    e: Any = table_of(AdoptionEvent).c
    with catalog.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table_of(AdoptionEvent)).where(e.day.between(first, last))).scalar_one())


def naive_daily_active(catalog: Catalog, first: int, last: int) -> dict[Any, int]:
    """The way not taken: the period's (day, who) rows into Python, one daily-active metric counted there."""
    e: Any = table_of(AdoptionEvent).c
    daily: dict[Any, set[Any]] = defaultdict(set)
    with catalog.engine.connect() as conn:
        for day, who in conn.execute(select(e.day, e.who).where(e.day.between(first, last), e.who.is_not(None))):
            daily[day].add(who)
    return {day: len(people) for day, people in daily.items()}


def measure(url: str, label: str, *, events: int, people: int, seed: int, repeat: int) -> list[tuple[str, str, float, float, float]]:
    catalog = Catalog(url, Config(adoption=AdoptionConfig(engineers=people)))
    try:
        print(f"[{label}] filling {events:,} events ...", flush=True)
        filled = fill(catalog, events, people, seed)
        with catalog.engine.connect() as conn:
            stored = conn.execute(select(func.count()).select_from(table_of(AdoptionEvent))).scalar_one()
        print(f"[{label}] {stored:,} events stored in {filled:.0f} s", flush=True)
        adoption, rows = Adoption(catalog), []
        rows.append((label, "rollups built once, from nothing", *timed(1, adoption.refresh_rollups, catalog)))
        for days in (30, 365):
            since = NOW - timedelta(days=days)
            first, last = day_number(since), day_number(NOW)
            report = partial(adoption.report, since=since, until=NOW)
            rows.append((label, f"{days}d: before: report from events", *timed(repeat, partial(report, rollups=False), catalog)))
            rows.append((label, f"{days}d: after: report from rollups", *timed(repeat, report, catalog)))
            rows.append((label, f"{days}d: after a late event", *timed(repeat, partial(late_event_then_report, catalog, adoption, since), catalog)))
            rows.append((label, f"{days}d: baseline COUNT(*)", *timed(repeat, partial(count_rows, catalog, first, last), catalog)))
            rows.append((label, f"{days}d: baseline naive DAU in Python", *timed(repeat, partial(naive_daily_active, catalog, first, last), catalog)))
        return rows
    finally:
        catalog.dispose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--people", type=int, default=2_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--pg", default=os.environ.get("WAYFINDER_BENCH_DATABASE_URL"), help="a PostgreSQL server URL (a throwaway database is made)")
    parser.add_argument("--check", action="store_true", help="exit 1 when a report misses the goal")
    args = parser.parse_args(argv)
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for label, spec in [("sqlite", "sqlite")] + ([("postgresql", args.pg)] if args.pg else []):
            with database(spec, Path(tmp)) as url:
                results += measure(url, label, events=args.events, people=args.people, seed=args.seed, repeat=args.repeat)
    print(f"\n{'database':<11} {'what':<38} {'best s':>8} {'median s':>9} {'CPU s':>7}   goal: report < {GOAL_S:g} s over {args.events:,} events")
    missed = False
    for label, what, best, median, cpu in results:
        flag = ""
        if "after" in what:
            flag = "  ok" if median < GOAL_S else "  MISSED"
            missed |= median >= GOAL_S
        print(f"{label:<11} {what:<38} {best:>8.3f} {median:>9.3f} {cpu:>7.3f}{flag}")
    print(f"load average: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    if not args.pg:
        print("(PostgreSQL skipped: pass --pg URL or set WAYFINDER_BENCH_DATABASE_URL)")
    return 1 if args.check and missed else 0


if __name__ == "__main__":
    raise SystemExit(main())
