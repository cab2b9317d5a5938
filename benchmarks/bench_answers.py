"""Exact-name answers on SQLite and PostgreSQL side by side: statements per answer and latency.

    python -m benchmarks.bench_answers --entities 10000 --pg postgresql+psycopg://postgres@127.0.0.1:5544/postgres

One generated catalog (`benchmarks.generate`) is synced into a fresh SQLite file and into a
throwaway database on the PostgreSQL server (created and dropped here); then the same exact-name
questions (`who owns NAME?`) go through `Catalog.ask` on each, in this one process. On PostgreSQL
the round trips come from libpq's protocol trace (`tests.db_trips`, as the tests count them), so a
statement run on the driver's cursor (`store.raw.CursorRead`, the neighbourhood read) counts too,
and so do the BEGIN and COMMIT among them (an answer reads without them: `read_engine`). On
SQLite the statements are counted with a SQLAlchemy `before_cursor_execute` listener, which the
cursor reads bypass. Beside wall time, the asking thread's CPU time, and the whole process's CPU
per answer: an answer's question log row and usage event are written in batches by the catalog's
`RowBuffer` thread (`store.write_behind`), whose work the asking thread's time does not show. The
statements are counted with that thread held back (and its batch written between answers), the
timed loop runs with it as a server does.
Goal (issue 16 point 2): at most 3 statements per answer and p95 <= 3 ms, on PostgreSQL at 10k.
The `ask` section of `bench_catalog` measures the other name categories and 100k on SQLite.

With `--baseline-src DIR` (a checkout of the previous code, e.g. `git worktree add /tmp/base main`)
each backend is measured twice, in child processes run one after the other on the same catalog
files: DIR's code first, then this checkout's, printed side by side.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import event

from benchmarks.bench_adoption import analyze
from benchmarks.bench_catalog import percentile, pick_queries, question, run_sync
from benchmarks.bench_contention import database
from benchmarks.generate import write_catalog
from bot.http.app import freeze_heap
from catalog.config import Config
from catalog.core import Catalog
from catalog.store.write_behind import RowBuffer
from tests.db_trips import round_trips

REPO = Path(__file__).resolve().parents[1]
STATEMENTS_GOAL = 3
PG_P95_GOAL_MS = 3.0


@dataclass
class Measured:
    backend: str
    counts: list[tuple[int, int]]  # per answer: statements, BEGIN + COMMIT
    times: list[float]
    cpu: list[float]  # the asking thread's CPU time: steadier than wall time on a shared machine
    # The whole process's CPU per answer over the timed loop, the buffer's thread writing the question log included
    # (None from code that has no such thread: there the asking thread wrote, so `cpu` holds it).
    process_cpu: float | None = None

    @property
    def statements(self) -> int:
        return max(s for s, _ in self.counts)

    @classmethod
    def in_checkout(cls, src: Path, label: str, spec: str, workdir: Path, files: Path, names: list[str], rounds: int) -> Measured:
        """`measure` run by the code in `src` (its `catalog` and `benchmarks` come first on the child's path)."""
        workdir.mkdir()
        child = (
            "import json, sys; from pathlib import Path; from benchmarks.bench_answers import measure; "
            "from benchmarks.bench_contention import database\n"
            "spec, workdir, files, names, rounds = json.loads(sys.argv[1])\n"
            "with database(spec, Path(workdir)) as url:\n"
            "    m = measure('', url, Path(files), names, rounds)\n"
            "print(json.dumps([m.counts, m.times, m.cpu, getattr(m, 'process_cpu', None)]))"
        )  # fmt: skip
        args = json.dumps([spec, str(workdir), str(files), names, rounds])
        out = subprocess.run([sys.executable, "-c", child, args], cwd=src, capture_output=True, text=True, check=True).stdout
        counts, times, cpu, process_cpu = json.loads(out.splitlines()[-1])
        return cls(label, [tuple(c) for c in counts], times, cpu, process_cpu)

    def row(self) -> str:
        p50, p95, p99 = (percentile(self.times, p) * 1000 for p in (50, 95, 99))
        c50, c95 = (percentile(self.cpu, p) * 1000 for p in (50, 95))
        mean = (self.process_cpu if self.process_cpu is not None else sum(self.cpu) / len(self.cpu)) * 1000
        spread = ", ".join(f"{n}: {k}x" for n, k in sorted(Counter(s for s, _ in self.counts).items()))
        trips = max(s + t for s, t in self.counts)
        return (
            f"  {self.backend:<22} {self.statements:>10} {trips:>16}   {p50:6.2f} / {p95:6.2f} / {p99:6.2f} ms   {c50:5.2f} / {c95:5.2f} ms"
            f"   {mean:5.2f} ms{'' if self.process_cpu is not None else '*'}   (statements: {spread})"
        )


@contextmanager
def counting(catalog: Catalog) -> Iterator[list[int]]:
    """[statements, BEGIN + COMMIT] executed while the block runs."""
    counts = [0, 0]

    def statement(*_: object) -> None:
        counts[0] += 1

    def transaction(*_: object) -> None:
        counts[1] += 1

    postgres = catalog.engine.dialect.name == "postgresql"
    listeners = [] if postgres else [("begin", transaction), ("commit", transaction), ("before_cursor_execute", statement)]
    for name, fn in listeners:
        event.listen(catalog.engine, name, fn)
    try:
        with round_trips(catalog) as trips:
            yield counts
    finally:
        for name, fn in listeners:
            event.remove(catalog.engine, name, fn)
    if postgres:  # every round trip in the protocol trace; the BEGIN and COMMIT are those the client sent as such
        counts[:] = [trips[0] - trips[1], trips[1]]


def measure(backend: str, url: str, files: Path, names: list[str], rounds: int) -> Measured:
    catalog = Catalog(url, Config())
    catalog.records.interval = 3600  # held back while statements are counted: the test flushes between answers
    try:
        run_sync(catalog.factory, files, "sync")
        analyze(catalog)  # as autovacuum leaves a live catalog, instead of catching up during the timed loop
        with catalog.session() as session:
            catalog.index(session)
        for name in names[:20]:  # warm up: statement caches, connection pool
            catalog.ask(question(name))
        freeze_heap()  # as `wayfinder serve` does at startup and after each index rebuild: no full collection walks the index
        counted: list[tuple[int, int]] = []
        for name in names:  # counted apart from the timed loop, so the listeners cost it nothing
            catalog.flush_records()
            with counting(catalog) as counts:
                catalog.ask(question(name))
            counted.append((counts[0], counts[1]))
        catalog.records.close()
        catalog.records = RowBuffer(catalog.factory)  # the timed loop's rows are written as a server's are
        times: list[float] = []
        cpu: list[float] = []
        catalog.flush_records()
        gc.collect()
        started_process = time.process_time()
        for _ in range(rounds):
            for name in names:
                start, start_cpu = time.perf_counter(), time.thread_time()
                catalog.ask(question(name))
                times.append(time.perf_counter() - start)
                cpu.append(time.thread_time() - start_cpu)
        catalog.flush_records()  # the last batch, which the buffer's thread would write within the second
        return Measured(backend, counted, times, cpu, (time.process_time() - started_process) / len(times))
    finally:
        catalog.dispose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entities", type=int, default=10_000)
    parser.add_argument("--queries", type=int, default=200, help="distinct exact names asked")
    parser.add_argument("--rounds", type=int, default=3, help="times each name is asked in the timed loop")
    parser.add_argument("--pg", help="a PostgreSQL server URL (a throwaway database is created on it); without it, SQLite only")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--baseline-src", type=Path, help="a checkout of the previous code, measured beside this one (both in child processes)")
    args = parser.parse_args(argv)

    load_at_start = "/".join(f"{x:.1f}" for x in os.getloadavg())
    with tempfile.TemporaryDirectory(prefix="wayfinder-answers-") as tmp, ExitStack() as stack:
        workdir = Path(tmp)
        files = workdir / "catalog"
        write_catalog(files, args.entities, seed=args.seed, per_file=500)
        names = pick_queries(args.entities, args.seed, args.queries)["exact"]
        backends = [("sqlite", "sqlite")] + ([("postgresql", args.pg)] if args.pg else [])
        results = []
        for backend, spec in backends:
            if args.baseline_src:
                for label, src in ((f"{backend} (baseline)", args.baseline_src), (backend, REPO)):
                    results.append(Measured.in_checkout(src, label, spec, workdir / label.replace(" ", "-"), files, names, args.rounds))
            else:
                results.append(measure(backend, stack.enter_context(database(spec, workdir)), files, names, args.rounds))

    load = "/".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"\nExact-name answers: {args.entities:,} entities, {len(names)} names x {args.rounds}, Python {sys.version.split()[0]}, "
          f"{os.cpu_count()} CPUs, load average {load_at_start} at start, {load} at end")  # fmt: skip
    print(f"  {'backend':<22} {'statements':>10} {'+ BEGIN/COMMIT':>16}   wall p50 / p95 / p99            CPU p50 / p95   all threads")
    for m in results:
        print(m.row())
    print("  CPU p50 / p95: the asking thread's per answer. All threads: the process's CPU per answer over the timed loop, the")
    print("  question log's batched writes included (* the previous code: its mean thread CPU, as it wrote in the asking thread).")
    print("\nGoals")
    for m in results:
        if m.backend == "postgresql":
            p95 = percentile(m.times, 95) * 1000
            print(f"  {'PASS' if m.statements <= STATEMENTS_GOAL else 'MISS'}  PostgreSQL statements per answer <= {STATEMENTS_GOAL}: {m.statements}")
            print(f"  {'PASS' if p95 <= PG_P95_GOAL_MS else 'MISS'}  PostgreSQL p95 <= {PG_P95_GOAL_MS:.0f} ms: {p95:.2f} ms")
    if not args.pg:
        print("  (the goals are PostgreSQL's: run with --pg)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
