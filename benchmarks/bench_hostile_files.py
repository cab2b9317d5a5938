"""What one hostile catalog file costs a sync, beside an ordinary file of the same size.

    python -m benchmarks.bench_hostile_files

Each case runs in a fresh process (so its peak RSS is its own): a source directory with the one
file, synced into a new SQLite database through `catalog.sync.sync_source`. Printed per case:
seconds, peak RSS, entity and relation rows written, problems reported. Issue 7 point 8 measured
the 600k-reference file at 40 s, 600 MB and 750k relation rows before files were bounded, and the
alias bomb ran to a 4 GB memory cap.
"""

from __future__ import annotations

import argparse
import multiprocessing
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from benchmarks.bench_catalog import serving_peak_rss_mb

HEAD = "apiVersion: backstage.io/v1alpha1\nkind: {kind}\nmetadata:\n  name: {name}\nspec:\n"


def _ordinary(target_bytes: int) -> str:
    """A team and its Components, three references each, up to about `target_bytes` (the baseline)."""
    docs, size, i = [HEAD.format(kind="Group", name="team-a") + "  type: team\n  children: []\n"], 0, 0
    while size < target_bytes:
        refs = "".join(f"    - component:svc-{max(0, i - k)}\n" for k in range(1, 4))
        doc = (
            HEAD.format(kind="Component", name=f"svc-{i}")
            + f"  type: service\n  lifecycle: production\n  owner: team-a\n  dependsOn:\n{refs}"
        )
        docs.append(doc)
        size, i = size + len(doc) + 4, i + 1
    return "---\n".join(docs)


def _many_refs(n: int) -> str:
    """One Component declaring `n` dependsOn references in a flow list (600k: about 4.3 MB)."""
    refs = ",".join(f"c:{_base36(k)}" for k in range(n))
    return HEAD.format(kind="Component", name="hub") + f"  type: service\n  owner: team-a\n  dependsOn: [{refs}]\n"


def _base36(k: int) -> str:
    digits = ""
    while True:
        k, r = divmod(k, 36)
        digits = "0123456789abcdefghijklmnopqrstuvwxyz"[r] + digits
        if not k:
            return digits


def _alias_bomb() -> str:
    levels = ['  l0: &l0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    levels += [f"  l{i}: &l{i} [{','.join([f'*l{i - 1}'] * 9)}]" for i in range(1, 10)]
    return (
        HEAD.format(kind="Component", name="bomb")
        + "  type: service\n  owner: team-a\n  profile:\n"
        + "\n".join("  " + line for line in levels)
        + "\n"
    )


def _deep(levels: int) -> str:
    return HEAD.format(kind="Component", name="deep") + f"  type: service\n  owner: team-a\n  profile: {'[' * levels}x{']' * levels}\n"


CASES: dict[str, Callable[[], str]] = {
    "baseline: ordinary 4.0 MB file": lambda: _ordinary(4_000_000),
    "600k dependsOn refs (4.3 MB)": lambda: _many_refs(600_000),
    "alias bomb (billion laughs)": _alias_bomb,
    "300-level nested value": lambda: _deep(300),
    "990-level nested value": lambda: _deep(990),
}


# What the child process reports: seconds, peak MB, entities, relations, problems, characters of problems, status.
Result = tuple[float, float, int, int, int, int, str]


def _run(name: str, queue: multiprocessing.Queue[Result]) -> None:
    from sqlalchemy import func, select

    from catalog.store.engine import make_engine, session_factory, session_scope, upgrade
    from catalog.store.models import Entity, Relation
    from catalog.sync.engine import sync_source
    from catalog.sync.sources.backstage import BackstageSource

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "catalog"
        root.mkdir()
        (root / "file.yaml").write_text(CASES[name](), encoding="utf-8")
        engine = make_engine(f"sqlite:///{tmp}/bench.db")
        upgrade(engine)
        factory = session_factory(engine)
        started = time.perf_counter()
        report = sync_source(factory, BackstageSource("bench", root))
        seconds = time.perf_counter() - started
        with session_scope(factory) as session:
            entities = session.scalar(select(func.count()).select_from(Entity)) or 0
            relations = session.scalar(select(func.count()).select_from(Relation)) or 0
        engine.dispose()
        problems = sum(len(str(p)) for p in report.problems)
        queue.put((seconds, serving_peak_rss_mb(), entities, relations, len(report.problems), problems, report.status))


def main(argv: list[str] | None = None) -> int:
    argparse.ArgumentParser(description=__doc__.splitlines()[0]).parse_args(argv)
    context = multiprocessing.get_context("spawn")
    print(f"{'case':34} {'seconds':>8} {'peak MB':>8} {'entities':>9} {'relations':>10} {'problems':>9} {'kB of problems':>15}  status")
    for name in CASES:
        queue = context.Queue()
        process = context.Process(target=_run, args=(name, queue))
        process.start()
        seconds, rss, entities, relations, count, chars, status = queue.get()
        process.join()
        print(f"{name:34} {seconds:8.2f} {rss:8.0f} {entities:9} {relations:10} {count:9} {chars / 1000:15.1f}  {status}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
