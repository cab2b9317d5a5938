"""`wayfinder ask` as a new process: the wall time an engineer waits in the terminal.

A synthetic catalog (`benchmarks.generate`) of each size is synced into a SQLite file (kept in
`--workdir` and reused by later runs); then `python -m bot.cli.entry ask "who owns NAME?"` (the console script) runs as a
fresh process for exact names, a typo and an absent name, and the wall times are printed beside
`python -c pass` (the interpreter's own start) measured in the same run. Goals: ≤ 0.5 s at 10k
entities, ≤ 1 s at 100k. The first question after a sync may also store the catalog's index; the
"first" column shows it, the others are what every later question costs.

`--baseline DIR` runs the same questions, interleaved, with another checkout of the code (e.g.
`git worktree add /tmp/base main`) first on `PYTHONPATH`, and prints its row beside: old and new
under the same load. Children run with bytecode caching on (`PYTHONDONTWRITEBYTECODE` is dropped),
as an installed `wayfinder` does; the first run of each writes the `.pyc` files.

    .venv/bin/python -m benchmarks.bench_cli_startup --entities 10000 --entities 100000
    .venv/bin/python -m benchmarks.bench_cli_startup --entities 10000 --baseline /tmp/base --workdir /tmp/wf-cli
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

GOALS = {10_000: 0.5, 100_000: 1.0}


def prepare(workdir: Path, entities: int, seed: int) -> tuple[str, list[str]]:
    """A synced SQLite catalog of `entities` (built once per workdir) and names to ask about."""
    from benchmarks.generate import sample_names, write_catalog
    from catalog.config import Config
    from catalog.core import Catalog
    from catalog.store.engine import make_engine, upgrade
    from catalog.sync.engine import sync_source
    from catalog.sync.sources.backstage import BackstageSource

    db = workdir / f"cli-{entities}-{seed}.db"
    url = f"sqlite:///{db}"
    if db.exists():
        upgrade(make_engine(url))  # a catalog kept from an older version of the code: bring its schema up to date
    else:
        files = workdir / f"catalog-{entities}-{seed}"
        write_catalog(files, entities, seed=seed)
        partial = db.with_suffix(".partial")
        partial_url = f"sqlite:///{partial}"
        upgrade(make_engine(partial_url))
        catalog = Catalog(partial_url, Config())
        report = sync_source(catalog.factory, BackstageSource("bench", files), allow_large_delete=True)
        assert report.ok, report.error
        catalog.dispose()
        partial.rename(db)
    samples = sample_names(entities, seed, k=20)
    return url, samples["exact"][:5] + samples["typo"][:2] + samples["absent"][:1]


def wall(argv: list[str], env: dict[str, str]) -> float:
    return timed(argv, env)[0]


def timed(argv: list[str], env: dict[str, str], cwd: Path | None = None) -> tuple[float, float]:
    """(wall, CPU) seconds of `argv` as a new process; CPU (user + system) barely moves with the machine's load.

    Exit codes 0 (answered) and 3 (not found: the absent name) are timed; any other is an error,
    which must not be timed as if it were an answer.
    """
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(argv, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=False, text=True)
    elapsed = time.perf_counter() - start
    if done.returncode not in (0, 3):
        raise SystemExit(f"{' '.join(argv)} exited {done.returncode}: {done.stderr.strip()}")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return elapsed, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entities", type=int, action="append", help="catalog size (repeatable; default 10000 and 100000)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--workdir", type=Path, help="keep the generated catalogs here (default: a temporary directory)")
    parser.add_argument("--baseline", type=Path, help="another checkout to measure beside this one, in the same run")
    args = parser.parse_args(argv)
    sizes = args.entities or [10_000, 100_000]
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="wf-cli-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WAYFINDER_", "SLACK_", "DATABASE_URL", "PYTHONDONTWRITEBYTECODE"))}
    env["WAYFINDER_CONFIG"] = str(workdir / "empty.yaml")
    (workdir / "empty.yaml").write_text("sources: []\n", encoding="utf-8")
    floor = statistics.median(wall([sys.executable, "-c", "pass"], env) for _ in range(5))
    print(f"load average {os.getloadavg()[0]:.2f}; python -c pass: {floor:.3f} s (median of 5)")
    print(
        f"{'entities':>9} {'first':>7} {'median':>7} {'min':>7} {'max':>7} {'cpu':>7} {'goal':>6}   (seconds; first/median/min/max wall, cpu: median user+sys)"
    )
    # Each tree keeps its saved index in its own cache folder: two versions sharing one would replace
    # each other's file at every question (its key names the code that wrote it), rebuilding the index each time.
    trees = {"this": env | {"XDG_CACHE_HOME": str(workdir / "cache-this")}} | (
        {"baseline": env | {"PYTHONPATH": str(args.baseline.resolve()), "XDG_CACHE_HOME": str(workdir / "cache-baseline")}} if args.baseline else {}
    )
    for size in sizes:
        url, names = prepare(workdir, size, args.seed)
        runs: dict[str, list[tuple[float, float]]] = {tree: [] for tree in trees}
        for name in names:  # interleaved, so both see the same load
            for tree, tree_env in trees.items():
                argv = [sys.executable, "-m", "bot.cli.entry", "ask", f"who owns {name}?"]
                runs[tree].append(timed(argv, tree_env | {"DATABASE_URL": url}, cwd=workdir))  # `-m` puts the cwd first on sys.path
        goal = GOALS.get(size)
        for tree, done in runs.items():
            times, cpu = [w for w, _ in done], [c for _, c in done[1:]]
            print(
                f"{size:>9,} {times[0]:>7.3f} {statistics.median(times[1:]):>7.3f} {min(times[1:]):>7.3f} {max(times[1:]):>7.3f}"
                f" {statistics.median(cpu):>7.3f} {goal if goal else '-':>6}" + (f"   {tree}" if args.baseline else "")
            )

if __name__ == "__main__":
    main()
