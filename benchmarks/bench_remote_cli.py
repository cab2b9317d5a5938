"""`wayfinder ask --url` as a new process against a local server: what a laptop waits for.

A synthetic catalog (`benchmarks.bench_cli_startup.prepare`, reused from `--workdir`) is served by
`wayfinder serve`'s app in a child process (`benchmarks.bench_pages --serve`). Then the remote
command runs as a fresh process per question, with no database or config, and its wall time is
printed beside `python -c pass` (the interpreter's start) and the same request sent from this
process (the server's share). Goal: ≤ 0.3 s wall on loopback.

    .venv/bin/python -m benchmarks.bench_remote_cli --entities 10000
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

from benchmarks.bench_cli_startup import prepare, timed, wall
from benchmarks.bench_pages import served

GOAL_S = 0.3


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entities", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--workdir", type=Path, help="keep the generated catalog here (default: a temporary directory)")
    args = parser.parse_args(argv)
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="wf-remote-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    url, names = prepare(workdir, args.entities, args.seed)
    with served(url) as base:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("WAYFINDER_", "SLACK_", "DATABASE_URL"))}
        env |= {"WAYFINDER_URL": base, "DATABASE_URL": "postgresql+psycopg://nobody@127.0.0.1:9/none"}  # a laptop: no database
        questions = [f"who owns {name}?" for name in names]
        for q in questions:  # the server's first answers build its index; a running server has it
            httpx.get(base + "/api/v1/ask", params={"q": q}, timeout=60)
        floor = statistics.median(wall([sys.executable, "-c", "pass"], env) for _ in range(5))
        server_s = []
        for q in questions:
            started = time.perf_counter()
            httpx.get(base + "/api/v1/ask", params={"q": q}, timeout=60)
            server_s.append(time.perf_counter() - started)
        runs = [timed([sys.executable, "-m", "bot.cli.entry", "ask", q], env) for q in questions]
        cli, cpu = [w for w, _ in runs], [c for _, c in runs]
        print(f"{args.entities:,} entities; load average {os.getloadavg()[0]:.2f}")
        print(f"{'what':40} {'median s':>9} {'min s':>7} {'max s':>7}")
        for label, times in (
            ("python -c pass (baseline)", [floor]),
            ("GET /api/v1/ask from this process", server_s),
            ("wayfinder ask --url (new process)", cli),
        ):
            print(f"{label:40} {statistics.median(times):9.3f} {min(times):7.3f} {max(times):7.3f}")
        print(f"{'  its CPU (user + system)':40} {statistics.median(cpu):9.3f} {min(cpu):7.3f} {max(cpu):7.3f}")
        print(f"goal: remote ask <= {GOAL_S} s wall (on a busy machine wall is several times CPU)")


if __name__ == "__main__":
    main()
