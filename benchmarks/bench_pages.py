"""Ownership pages and `/api/v1/ask` under load: p50/p99 with 20 concurrent connections.

A synthetic catalog (`benchmarks.generate`) is synced into a fresh SQLite file; `wayfinder serve`'s
HTTP app runs in a child process (uvicorn, one process unless `--workers`), so the load generator does not
share its interpreter. Each phase keeps 20 connections busy for the given seconds, cycling over
component names, and prints nearest-rank percentiles beside the baseline `/livez` (the server's
floor: routing and HTTP without the catalog). Goal: page p99 ≤ 50 ms on SQLite.

The clients are plain keep-alive connections (`Connection`), cheap enough not to compete with the
server for the CPU, and each phase also prints the server's own CPU time per request (from
/proc), which a busy shared machine does not inflate the way it inflates latency. With
`--baseline-src` both servers run side by side and take turns phase by phase (`--rounds` times,
alternating which goes first), so a load that changes during the run falls on both alike. With
`--workers 1 2` this code is served twice, by one process and by two workers on one port
(`wayfinder serve --workers 2`), taking turns the same way; the CPU column then sums the workers.

    .venv/bin/python -m benchmarks.bench_pages --entities 10000 --seconds 10 --baseline-src DIR --rounds 3
    .venv/bin/python -m benchmarks.bench_pages --entities 10000 --seconds 10 --workers 1 2 --rounds 3
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from statistics import median
from urllib.parse import quote, urlsplit

import httpx

GOAL_P99_MS = 50.0
SERVER_PIDS: dict[str, int] = {}  # base URL -> the serving child's pid, for its CPU time


def cpu_seconds(pid: int) -> dict[int, float]:
    """User + system CPU time so far of process `pid` and of each of its children (`--workers`):
    what a request costs the server, however busy the machine."""
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    spent = {pid: (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")}
    for child in children:
        spent |= cpu_seconds(int(child))
    return spent


def serve(database_url: str, port: int, workers: int = 1) -> None:
    """The child process: the production app over an already synced database, in `workers`
    processes on one port as `wayfinder serve --workers` runs them."""
    from bot.http.app import bind_port
    from bot.http.workers import supervise

    with bind_port("127.0.0.1", port) as sock:
        if workers == 1:
            serve_one(database_url, sock)
        else:
            supervise(workers, lambda _slot: serve_one(database_url, sock))


def serve_one(database_url: str, sock: socket.socket) -> None:
    from bot.compose import Services
    from bot.http.app import create_http_app, serve_http
    from catalog.config import Config
    from catalog.core import Catalog

    catalog = Catalog(database_url, Config())
    with catalog.session() as session:
        catalog.index(session)  # as a running server has it after its first question
    serve_http(create_http_app(Services(catalog=catalog), slack=None), sock)


@contextmanager
def served(database_url: str, *, tries: int = 300, src: Path | None = None, workers: int = 1) -> Iterator[str]:
    """`serve` in a child process on a free loopback port; yields its base URL once `/livez` answers.

    The child's stderr goes to a file that is printed when it dies or never answers, so a server
    that cannot start is reported with its own error rather than as "connection refused". With `src`
    (another checkout of the repository), the child imports Wayfinder from there: the baseline.
    `workers` > 1 is passed only to this checkout's server (the baseline's command line predates it).
    """
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    base = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryFile() as log:
        env = os.environ | ({"PYTHONPATH": str(src)} if src else {})
        command = [sys.executable, "-m", "benchmarks.bench_pages", "--serve", database_url, str(port)]
        command += ["--serve-workers", str(workers)] if workers > 1 else []
        server = subprocess.Popen(command, stderr=log, cwd=src, env=env)

        def failed(why: str) -> RuntimeError:
            log.seek(0)
            tail = log.read().decode(errors="replace")[-4000:]
            return RuntimeError(f"the benchmark server {why}; its stderr:\n{tail}")

        try:
            for _ in range(tries):
                if server.poll() is not None:
                    raise failed(f"exited with status {server.returncode} before answering")
                try:
                    httpx.get(base + "/livez", timeout=1)
                    break
                except httpx.TransportError:
                    time.sleep(0.1)  # waiting for the child to listen
            else:
                raise failed(f"did not answer /livez within {tries / 10:.0f} s")
            SERVER_PIDS[base] = server.pid
            try:
                yield base
            except Exception:
                print(failed("was serving when the benchmark failed"), file=sys.stderr)
                raise
        finally:
            SERVER_PIDS.pop(base, None)
            server.terminate()
            server.wait(timeout=10)


def prepare(workdir: Path, entities: int, seed: int) -> tuple[str, list[str]]:
    from benchmarks.generate import sample_names, write_catalog
    from catalog.config import Config
    from catalog.core import Catalog
    from catalog.store.engine import make_engine, upgrade
    from catalog.sync.engine import sync_source
    from catalog.sync.sources.backstage import BackstageSource

    files = workdir / "catalog"
    files.mkdir()
    write_catalog(files, entities, seed=seed)
    url = f"sqlite:///{workdir / 'pages.db'}"
    upgrade(make_engine(url))
    catalog = Catalog(url, Config())
    report = sync_source(catalog.factory, BackstageSource("bench", files), allow_large_delete=True)
    assert report.ok, report.error
    catalog.dispose()
    return url, sample_names(entities, seed, k=200)["exact"]


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, int(round(p / 100 * len(ordered))) - 1))]


class Connection:
    """One keep-alive HTTP/1.1 connection speaking just enough HTTP for this benchmark.

    The load generator shares the machine with the server; httpx's async client spent more CPU per
    request than the pages it measured, so on two cores the client's own cost showed up as server
    latency. This reads the status line, the headers and a Content-Length body, nothing else.
    """

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def get(self, path: str) -> int:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None
        self.writer.write(f"GET {path} HTTP/1.1\r\nHost: {self.host}\r\nAccept: text/html\r\n\r\n".encode())
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1])
        length = next((int(line.split(b":", 1)[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:")), None)
        if length is None:
            raise RuntimeError(f"{path}: a response without Content-Length: {head[:200]!r}")
        await self.reader.readexactly(length)
        return status

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


async def load(base: str, paths: list[str], *, connections: int, seconds: float) -> tuple[list[float], int]:
    """`connections` clients each sending the next path as soon as the last answer arrived; latencies in ms."""
    latencies: list[float] = []
    errors = 0
    deadline = time.perf_counter() + seconds
    address = urlsplit(base)
    assert address.hostname and address.port

    async def worker(offset: int) -> None:
        nonlocal errors
        i = offset
        connection = Connection(address.hostname, address.port)  # type: ignore[arg-type]
        try:
            while time.perf_counter() < deadline:
                started = time.perf_counter()
                status = await connection.get(paths[i % len(paths)])
                latencies.append((time.perf_counter() - started) * 1000)
                errors += status >= 400
                i += connections
        finally:
            connection.close()

    await asyncio.gather(*(worker(n) for n in range(connections)))
    return latencies, errors


def measure(base: str, paths: list[str], *, connections: int, seconds: float) -> tuple[list[float], int, float, str]:
    """One phase against one server: latencies (ms), errors, the server's CPU ms per request, and
    with workers the busiest one's share of their CPU (kept-alive connections stay with the worker
    that accepted them, so an uneven split of the connections shows here and in the p99)."""
    root = SERVER_PIDS[base]
    before = cpu_seconds(root)
    latencies, errors = asyncio.run(load(base, paths, connections=connections, seconds=seconds))
    spent = {pid: cpu - before.get(pid, 0.0) for pid, cpu in cpu_seconds(root).items()}
    workers: list[float] = [cpu for pid, cpu in spent.items() if pid != root]
    busiest = f"{max(workers) / sum(workers):.0%}" if len(workers) > 1 and sum(workers) > 0 else "-"
    return latencies, errors, sum(spent.values()) * 1000 / max(1, len(latencies)), busiest


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--entities", type=int, default=10000)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--connections", type=int, default=20)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--baseline-src", type=Path, help="another checkout (e.g. `git archive main | tar -x -C DIR`) served beside this one, on the same database")
    parser.add_argument("--rounds", type=int, default=1, help="measure each phase this many times per server, alternating which goes first; medians at the end")
    parser.add_argument(
        "--workers", type=int, nargs="+", default=[1], metavar="N", help="serve this code with N worker processes (`serve --workers N`); several: side by side"
    )
    parser.add_argument("--serve", nargs=2, metavar=("DATABASE_URL", "PORT"), help=argparse.SUPPRESS)
    parser.add_argument("--serve-workers", type=int, default=1, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve[0], int(args.serve[1]), args.serve_workers)
        return
    with tempfile.TemporaryDirectory(prefix="wayfinder-bench-pages-") as tmp, ExitStack() as servers:
        started = time.perf_counter()
        url, names = prepare(Path(tmp), args.entities, args.seed)
        print(f"catalog: {args.entities} entities synced in {time.perf_counter() - started:.1f} s; load average {os.getloadavg()[0]:.2f}")
        phases = {
            "/livez (baseline)": ["/livez"],
            "/o/component/default/NAME": [f"/o/component/default/{quote(n)}" for n in names],
            "/api/v1/ask?q=who owns NAME": [f"/api/v1/ask?q={quote('who owns ' + n)}" for n in names],
        }
        # Both servers run at once and take turns, so a shared machine's changing load falls on both alike.
        codes = [("baseline", args.baseline_src, 1)] if args.baseline_src else []
        codes += [("this" if args.workers == [1] else f"this w{n}", None, n) for n in args.workers]
        bases = {label: servers.enter_context(served(url, tries=200, src=src, workers=n)) for label, src, n in codes}
        print(f"{args.connections} connections, {args.seconds:.0f} s per phase, {args.rounds} round(s)")
        print(f"{'code':9} {'phase':32} {'requests':>9} {'req/s':>7} {'p50 ms':>8} {'p99 ms':>8} {'errors':>6} {'server cpu ms/req':>18} {'busiest':>7} {'load':>5}")
        results: dict[tuple[str, str], list[tuple[float, float, float]]] = {}
        for name, paths in phases.items():
            for base in bases.values():
                asyncio.run(load(base, paths, connections=args.connections, seconds=1))  # warm up on the same paths, as a running server is
            for turn in range(args.rounds):
                for label, base in list(bases.items())[:: 1 if turn % 2 == 0 else -1]:
                    latencies, errors, cpu_ms, busiest = measure(base, paths, connections=args.connections, seconds=args.seconds)
                    p50, p99 = percentile(latencies, 50), percentile(latencies, 99)
                    results.setdefault((label, name), []).append((p50, p99, cpu_ms))
                    print(
                        f"{label:9} {name:32} {len(latencies):9d} {len(latencies) / args.seconds:7.0f} {p50:8.1f} "
                        f"{p99:8.1f} {errors:6d} {cpu_ms:18.2f} {busiest:>7} {os.getloadavg()[0]:5.1f}",
                        flush=True,
                    )
        if args.rounds > 1:
            print(f"medians over {args.rounds} rounds:")
            for (label, name), rows in results.items():
                p50s, p99s, cpus = zip(*rows, strict=True)
                print(f"{label:9} {name:32} {'':9} {'':7} {median(p50s):8.1f} {median(p99s):8.1f} {'':6} {median(cpus):18.2f}")
        print(f"goal: page p99 <= {GOAL_P99_MS:.0f} ms on SQLite; load average now {os.getloadavg()[0]:.2f}")
        print(f"(with {args.connections} connections always waiting, p50 is about {args.connections} x the server's time per request)")


if __name__ == "__main__":
    main()
