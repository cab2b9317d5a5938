"""Source sync benchmark: a 5,000-repository GitHub org and a 2,000-service PagerDuty account.

    python -m benchmarks.bench_sources
    python -m benchmarks.bench_sources --repos 500 --services 200          # a quick look
    python -m benchmarks.bench_sources --db postgresql+psycopg://user@host/empty_db

What it does, through the same path as `wayfinder sync` (`Catalog.sync` over a config file):

1. starts the local fakes of GitHub and PagerDuty (tests/fakes) in a child process, so their
   CPU and memory are not charged to Wayfinder, as the real APIs would not be;
2. first sync of both sources into an empty database: wall time, requests Wayfinder made
   (its count, including retries) and requests the fakes answered;
3. the same again with nothing changed upstream, which must ride on conditional requests;
4. peak RSS of this process (the fakes live elsewhere).

The org is shaped like a real one: 30% of repositories carry a `catalog-info.yaml`, the rest
are inferred from the repository with their owner from `.github/CODEOWNERS`; one repository
holds the teams. PagerDuty services are named like the repositories, so each links to its
Component by name. GitHub's fake allows 15,000 requests an hour (an Enterprise Cloud app's
limit): a first sync of 5,000 repositories needs more than a personal token's 5,000.

Goals (issue 4): first sync < 60 s, unchanged resync < 10 s, peak memory < 300 MB.
"""

from __future__ import annotations

import argparse
import multiprocessing
import resource
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from multiprocessing.connection import Connection
from pathlib import Path

GOAL_FIRST_SECONDS = 60.0
GOAL_RESYNC_SECONDS = 10.0
GOAL_PEAK_MB = 300.0
ORG = "acme"
TEAMS = 50
POLICIES = 20
GITHUB_TOKEN = "ghp-bench"
PAGERDUTY_TOKEN = "pd-bench"
GITHUB_HOURLY_LIMIT = 15_000


def repo_name(i: int) -> str:
    return f"service-{i:05d}"


def _repo_files(name: str) -> dict[str, str]:
    """A descriptor for 3 repositories in 10, CODEOWNERS for the rest."""
    i = int(name.rsplit("-", 1)[1])
    team = f"team-{i % TEAMS:02d}"
    if i % 10 < 3:
        return {
            "catalog-info.yaml": (
                "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n"
                f"  name: {name}\n  description: Service {i}\n  annotations:\n    github.com/project-slug: {ORG}/{name}\n"
                f"spec:\n  type: service\n  lifecycle: production\n  owner: {team}\n"
            )
        }
    return {".github/CODEOWNERS": f"# owners\n* @{ORG}/{team}\n/docs/ @{ORG}/tech-writers\n"}


def _teams_descriptor() -> str:
    return "---\n".join(
        f"apiVersion: backstage.io/v1alpha1\nkind: Group\nmetadata:\n  name: team-{t:02d}\n"
        f"  annotations:\n    github.com/team-slug: {ORG}/team-{t:02d}\nspec:\n  type: team\n  children: []\n"
        for t in range(TEAMS)
    )


def serve_fakes(conn: Connection, repos: int, services: int) -> None:
    """Child process: populate and run both fakes; answer `counts` and `stop` over the pipe."""
    from tests.fakes.github_api import FakeGitHub
    from tests.fakes.pagerduty_api import FakePagerDuty

    now = datetime.now(UTC)
    with (
        FakeGitHub(org=ORG, token=GITHUB_TOKEN, rate_limit=GITHUB_HOURLY_LIMIT) as github,
        FakePagerDuty(token=PAGERDUTY_TOKEN) as pagerduty,
    ):
        github.add_repo("teams", description="Who is who", files={"catalog-info.yaml": _teams_descriptor()})
        github.bulk_add_repos(repos, name_format="service-{i:05d}", files=_repo_files)
        for p in range(POLICIES):
            pagerduty.add_team(f"PT{p:04d}", f"Team {p}")
            pagerduty.add_user(f"PU{p:04d}", f"Engineer {p}", f"engineer{p}@{ORG}.example", team_ids=[f"PT{p:04d}"])
            pagerduty.add_schedule(f"PSC{p:03d}", f"Primary {p}", user_ids=[f"PU{p:04d}"])
            pagerduty.add_escalation_policy(f"PEP{p:03d}", f"Policy {p}", [[f"PSC{p:03d}"]], team_ids=[f"PT{p:04d}"])
            pagerduty.add_oncall(f"PU{p:04d}", f"PEP{p:03d}", f"PSC{p:03d}", start=now - timedelta(days=1), end=now + timedelta(days=6))
        for i in range(services):
            pagerduty.add_service(
                f"PS{i:05d}", repo_name(i), escalation_policy_id=f"PEP{i % POLICIES:03d}", team_ids=[f"PT{i % POLICIES:04d}"]
            )
        conn.send((github.url, pagerduty.url))
        while (command := conn.recv()) != "stop":
            assert command == "counts", command
            conn.send((github.requests, pagerduty.requests))


def peak_rss_mb() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024  # bytes on macOS, KiB on Linux


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Benchmark GitHub and PagerDuty syncs against local fakes.")
    parser.add_argument("--repos", type=int, default=5_000)
    parser.add_argument("--services", type=int, default=2_000)
    parser.add_argument("--db", default="sqlite", help="'sqlite' (a temporary file, default) or the URL of an EMPTY database")
    parser.add_argument("--check", action="store_true", help="exit 1 if any goal is missed")
    args = parser.parse_args(argv)
    if args.services > args.repos:
        parser.error("--services must not exceed --repos: each service links to a repository's component")

    from catalog.config import load_config
    from catalog.core import Catalog
    from catalog.store.engine import make_engine, upgrade
    from catalog.sync.engine import SyncReport

    workdir = Path(tempfile.mkdtemp(prefix="wayfinder-bench-sources-"))
    url = f"sqlite:///{workdir / 'bench.db'}" if args.db == "sqlite" else args.db
    parent, child = multiprocessing.get_context("spawn").Pipe()
    fakes = multiprocessing.get_context("spawn").Process(target=serve_fakes, args=(child, args.repos, args.services), daemon=True)
    started = time.perf_counter()
    fakes.start()
    github_url, pagerduty_url = parent.recv()
    print(f"fakes: {args.repos:,} repositories, {args.services:,} services, ready in {time.perf_counter() - started:.1f}s")

    config = workdir / "wayfinder.yaml"
    config.write_text(
        "sources:\n"
        f"  - {{name: github, type: github, org: {ORG}, token: {GITHUB_TOKEN}, api_url: '{github_url}'}}\n"
        f"  - {{name: pagerduty, type: pagerduty, token: {PAGERDUTY_TOKEN}, api_url: '{pagerduty_url}'}}\n",
        encoding="utf-8",
    )
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    catalog = Catalog(url, load_config(config))

    def timed_sync(label: str) -> tuple[float, list[SyncReport], tuple[int, int]]:
        parent.send("counts")
        before = parent.recv()
        start = time.perf_counter()
        reports = catalog.sync()
        seconds = time.perf_counter() - start
        parent.send("counts")
        after = parent.recv()
        answered = (after[0] - before[0], after[1] - before[1])
        print(f"\n{label}: {seconds:.2f}s on {catalog.engine.dialect.name}")
        for r, served in zip(reports, answered, strict=True):
            print(
                f"  {r.source:<10} {r.status:<7} {r.seconds:6.2f}s  requests {r.requests:>6,} (fake answered {served:,})  "
                f"+{r.added} ~{r.updated} -{r.removed} ={r.unchanged}  problems {len(r.problems)}"
            )
            if r.error:
                print(f"  {r.source}: {r.error}")
        return seconds, reports, answered

    try:
        first_seconds, first, _ = timed_sync("first sync")
        resync_seconds, resync, _ = timed_sync("unchanged resync")
    finally:
        parent.send("stop")
        fakes.join(timeout=10)
        catalog.dispose()
    peak = peak_rss_mb()
    ok = all(r.ok for r in first + resync)
    unchanged = all(r.added == r.updated == r.removed == 0 for r in resync)
    goals = [
        (
            f"first sync < {GOAL_FIRST_SECONDS:.0f} s",
            ok and first_seconds < GOAL_FIRST_SECONDS,
            f"{first_seconds:.2f} s, {sum(r.requests for r in first):,} requests",
        ),
        (
            f"unchanged resync < {GOAL_RESYNC_SECONDS:.0f} s",
            ok and unchanged and resync_seconds < GOAL_RESYNC_SECONDS,
            f"{resync_seconds:.2f} s, {sum(r.requests for r in resync):,} requests",
        ),
        (f"peak memory < {GOAL_PEAK_MB:.0f} MB", peak < GOAL_PEAK_MB, f"{peak:.0f} MB peak RSS"),
    ]
    print(f"\nGoals ({args.repos:,} repositories, {args.services:,} services{'' if ok else '; a sync FAILED'})")
    for name, passed, measured in goals:
        print(f"  {'PASS' if passed else 'MISS'}  {name:<24} {measured}")
    return 1 if args.check and not all(passed for _, passed, _ in goals) else 0


if __name__ == "__main__":
    sys.exit(main())
