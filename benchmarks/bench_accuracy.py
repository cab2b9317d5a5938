"""Resolution accuracy and latency at scale: Wayfinder beside a brute-force scan and SQLite FTS5.

For each catalog size the same generated catalog and the same questions with known answers
(`benchmarks.queries`) go to three resolvers, in one process:

- **wayfinder**: `CatalogIndex.resolve` for a typed name, `understand` for a sentence;
- **brute force**: `rapidfuzz.process.extractOne(query, every name, title and alias, scorer=WRatio,
  processor=default_process, score_cutoff=90)`, the scan the index must beat;
- **fts5**: an in-memory SQLite FTS5 table (`tokenize='trigram'`) over the same strings, the best
  `bm25` row for the query's trigrams.

A query that names an entity is right when that entity is the answer; a query that names nothing
(absent, extended or ambiguous) is right when no entity is answered. A confident wrong answer is an
answer (not a question back, not "did you mean") that is not the expected entity.

    .venv/bin/python -m benchmarks.bench_accuracy --sizes 10000,100000 --per-category 50
"""

from __future__ import annotations

import argparse
import gc
import os
import sqlite3
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass

from rapidfuzz import fuzz, process, utils

from benchmarks.bench_catalog import pcts
from benchmarks.generate import ALIASES_ANNOTATION, generate
from benchmarks.queries import CATEGORIES, Query, query_set
from catalog.search.resolve import CatalogIndex, IndexedEntity, tokens
from catalog.search.tags import MEMO as TAGS
from catalog.search.understand import understand

BRUTE_FORCE_CUTOFF = 90.0
Answer = Callable[[Query], str | None]  # the name answered with confidence, or None


@dataclass
class Scores:
    correct: Counter[str]
    confident_wrong: Counter[str]
    seconds: list[float]
    cpu_seconds: list[float]  # the process's CPU time per query: what a busy shared machine inflates least


def indexed(n_entities: int, seed: int) -> list[IndexedEntity]:
    """The generated catalog as the resolution index sees it (what `load_index` reads from the database)."""
    out = []
    for e in generate(n_entities, seed=seed):
        meta, spec, kind = e["metadata"], e["spec"], e["kind"].lower()
        aliases = tuple(a.strip() for a in meta.get("annotations", {}).get(ALIASES_ANNOTATION, "").split(",") if a.strip())
        owner = spec.get("owner")
        display = spec.get("profile", {}).get("displayName")
        out.append(IndexedEntity(
            ref=f"{kind}:default/{meta['name']}", kind=kind, name=meta["name"], title=meta.get("title"),
            owner_ref=f"group:default/{owner.rsplit('/', 1)[-1].split(':')[-1]}" if owner else None,
            type=spec.get("type"), aliases=aliases, other_names=(display,) if display else ()))
    return out


class NoTags(dict[str, frozenset[str]]):
    """The index's memo of tags (`catalog.search.tags`) where there is no database to read them from:
    every tag is known and tags nothing, so names are measured, as before tags narrowed lists."""

    def __contains__(self, tag: object) -> bool:
        return True

    def __missing__(self, tag: str) -> frozenset[str]:
        return frozenset()


def wayfinder(index: CatalogIndex) -> Answer:
    index.memo(TAGS, NoTags)

    def answer(q: Query) -> str | None:
        if q.category != "sentence":
            best = index.resolve(q.text).best
        else:  # no database: a sentence whose subject is a name never reaches it
            found = understand(None, index, q.text)  # type: ignore[arg-type]
            best = found.subjects[0].resolution.best if len(found.subjects) == 1 else None
        return best.name if best else None
    return answer


def strings(entities: list[IndexedEntity]) -> tuple[list[str], list[int]]:
    """Every name, title and alias, and the entity each belongs to."""
    texts, owners = [], []
    for i, e in enumerate(entities):
        for text in dict.fromkeys((e.name, e.title or e.name, *e.aliases)):
            texts.append(text)
            owners.append(i)
    return texts, owners


def brute_force(entities: list[IndexedEntity]) -> Answer:
    texts, owners = strings(entities)

    def answer(q: Query) -> str | None:
        hit = process.extractOne(q.text, texts, scorer=fuzz.WRatio,
                                 processor=utils.default_process, score_cutoff=BRUTE_FORCE_CUTOFF)
        return entities[owners[hit[2]]].name if hit else None
    return answer


def fts5(entities: list[IndexedEntity]) -> Answer:
    texts, owners = strings(entities)
    db = sqlite3.connect(":memory:")
    db.execute("CREATE VIRTUAL TABLE names USING fts5(text, entity UNINDEXED, tokenize='trigram')")
    db.executemany("INSERT INTO names VALUES (?, ?)", ((" ".join(tokens(t)), i) for t, i in zip(texts, owners, strict=True)))

    def answer(q: Query) -> str | None:
        spaced = " ".join(tokens(q.text))
        grams = {spaced[i:i + 3] for i in range(len(spaced) - 2)}
        if not grams:
            return None
        match = " OR ".join('"' + g.replace('"', '""') + '"' for g in sorted(grams))
        row = db.execute("SELECT entity FROM names WHERE names MATCH ? ORDER BY rank LIMIT 1", (match,)).fetchone()
        return entities[row[0]].name if row else None
    return answer


def measure(answer: Answer, queries: list[Query]) -> Scores:
    scores = Scores(Counter(), Counter(), [], [])
    gc.collect()
    for q in queries:
        start, cpu = time.perf_counter(), time.process_time()
        got = answer(q)
        scores.seconds.append(time.perf_counter() - start)
        scores.cpu_seconds.append(time.process_time() - cpu)
        scores.correct[q.category] += got == q.expected
        scores.confident_wrong[q.category] += got is not None and got != q.expected
    return scores


def report(n_entities: int, queries: list[Query], results: dict[str, Scores], build: dict[str, float]) -> None:
    total = len(queries)
    print(f"\n## {n_entities:,} entities, {total} queries ({total // len(CATEGORIES)} per category)\n")
    print(f"{'resolver':<12} {'top-1':>7} {'conf. wrong':>11} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'cpu p99 ms':>10} {'build s':>8}")
    for name, s in results.items():
        p50, p95, p99 = pcts(s.seconds)
        print(f"{name:<12} {100 * sum(s.correct.values()) / total:>6.1f}% {sum(s.confident_wrong.values()):>11} "
              f"{p50 * 1e3:>8.2f} {p95 * 1e3:>8.2f} {p99 * 1e3:>8.2f} {pcts(s.cpu_seconds)[2] * 1e3:>10.2f} {build[name]:>8.2f}")
    per: defaultdict[str, int] = defaultdict(int)
    for q in queries:
        per[q.category] += 1
    print(f"\n{'category':<12} " + " ".join(f"{name + ' ok/wrong':>22} {'p99 ms':>8}" for name in results))
    for category in CATEGORIES:
        print(f"{category:<12} " + " ".join(
            f"{f'{s.correct[category]}/{per[category]} {s.confident_wrong[category]}':>22} {_p99(s, queries, category):>8}" for s in results.values()))


def _p99(scores: Scores, queries: list[Query], category: str) -> str:
    """The category's p99 wall time in ms: which kind of query makes the tail."""
    seconds = [t for q, t in zip(queries, scores.seconds, strict=True) if q.category == category]
    return f"{pcts(seconds)[2] * 1e3:.2f}" if seconds else "-"


def run(n_entities: int, seed: int, per_category: int, baselines: bool) -> None:
    queries = query_set(n_entities, seed, per_category=per_category)
    entities = indexed(n_entities, seed)
    build: dict[str, float] = {}
    makers: dict[str, Callable[[], Answer]] = {"wayfinder": lambda: wayfinder(CatalogIndex(entities))}
    if baselines:
        makers |= {"brute force": lambda: brute_force(entities), "fts5": lambda: fts5(entities)}
    results = {}
    for name, make in makers.items():
        start = time.perf_counter()
        answer = make()
        if name == "wayfinder":  # the first question builds what the index builds lazily
            answer(Query("exact", entities[-1].name, entities[-1].name))
            answer(Query("typo1", entities[-1].name + "x", None))
        build[name] = time.perf_counter() - start
        results[name] = measure(answer, queries)
    report(n_entities, queries, results, build)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Resolution accuracy and latency beside brute force and FTS5.")
    parser.add_argument("--sizes", default="10000,100000", help="comma-separated catalog sizes (default 10000,100000)")
    parser.add_argument("--per-category", type=int, default=50, help=f"queries per category ({len(CATEGORIES)} categories)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--no-baselines", action="store_true", help="measure Wayfinder alone (for 1M entities)")
    args = parser.parse_args(argv)
    print(f"# Resolution accuracy (load average {os.getloadavg()[0]:.2f})")
    for size in (int(s) for s in args.sizes.split(",")):
        run(size, args.seed, args.per_category, not args.no_baselines)


if __name__ == "__main__":
    main()
