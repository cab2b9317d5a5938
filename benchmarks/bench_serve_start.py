"""`wayfinder serve` from exec to serving: what a restarted replica, and every test that starts a server, waits for.

Each run starts `python -m bot.cli.entry serve --no-scheduler` (the console script) on a free
port, polls `GET /healthz` until it answers 200, sends SIGTERM and waits for the exit. It prints
the wall time to the first 200, the wall time to the exit, and the child's CPU (user + system,
its workers included), which barely moves with the machine's load.

`--baseline-src DIR` runs the same, interleaved, with another checkout of the code (e.g.
`git worktree add /tmp/base main`) first on `PYTHONPATH`, and prints its row beside: old and new
under the same load. Children run with bytecode caching on (`PYTHONDONTWRITEBYTECODE` is dropped),
as an installed `wayfinder` does; the first run of each tree writes the `.pyc` files and
migrates its database, and is left out.

    .venv/bin/python -m benchmarks.bench_serve_start --runs 10
    .venv/bin/python -m benchmarks.bench_serve_start --runs 10 --workers 2 --baseline-src /tmp/base
"""

from __future__ import annotations

import argparse
import http.client
import os
import resource
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def healthy(port: int) -> bool:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        connection.request("GET", "/healthz")
        return connection.getresponse().status == 200
    except OSError:
        return False
    finally:
        connection.close()


def start_once(env: dict[str, str], workdir: Path, workers: int) -> tuple[float, float, float]:
    """(wall to the first 200, wall to the exit, CPU) of one `serve`, started, polled and stopped."""
    port = free_port()
    argv = [sys.executable, "-m", "bot.cli.entry", "serve", "--port", str(port), "--no-scheduler", "--workers", str(workers)]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    child = subprocess.Popen(argv, env=env, cwd=workdir, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    while not healthy(port):
        if child.poll() is not None:
            raise SystemExit(f"serve exited with {child.returncode} before answering; run it by hand: {' '.join(argv)}")
        time.sleep(0.01)
    ready = time.perf_counter() - start
    child.send_signal(signal.SIGTERM)
    child.wait()
    ended = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ready, ended, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10, help="measured starts per tree (after one warm-up start)")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--workdir", type=Path, help="the databases and config live here (default: a temporary directory)")
    parser.add_argument("--baseline-src", type=Path, help="another checkout to measure beside this one, in the same run")
    args = parser.parse_args(argv)
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="wf-serve-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "empty.yaml").write_text("sources: []\n", encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WAYFINDER_", "SLACK_", "DATABASE_URL", "PYTHONDONTWRITEBYTECODE"))}
    env["WAYFINDER_CONFIG"] = str(workdir / "empty.yaml")
    here = str(Path(__file__).resolve().parents[1])
    trees = {"this": here} | ({"baseline": str(args.baseline_src.resolve())} if args.baseline_src else {})
    envs = {tree: env | {"PYTHONPATH": src, "DATABASE_URL": f"sqlite:///{workdir / f'serve-{tree}.db'}"} for tree, src in trees.items()}
    for tree_env in envs.values():
        start_once(tree_env, workdir, args.workers)  # writes the .pyc files and migrates the database
    runs: dict[str, list[tuple[float, float, float]]] = {tree: [] for tree in trees}
    for _ in range(args.runs):  # interleaved, so both see the same load
        for tree, tree_env in envs.items():
            runs[tree].append(start_once(tree_env, workdir, args.workers))
    print(f"load average {os.getloadavg()[0]:.2f}; serve --no-scheduler --workers {args.workers}, {args.runs} runs per tree (seconds, medians)")
    print(f"{'tree':>9} {'ready':>7} {'exit':>7} {'cpu':>7} {'cpu min':>8} {'cpu max':>8}")
    for tree, done in runs.items():
        cpu = [c for _, _, c in done]
        print(
            f"{tree:>9} {statistics.median(r for r, _, _ in done):>7.3f} {statistics.median(e for _, e, _ in done):>7.3f}"
            f" {statistics.median(cpu):>7.3f} {min(cpu):>8.3f} {max(cpu):>8.3f}"
        )


if __name__ == "__main__":
    main()
