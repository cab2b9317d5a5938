"""The request modal's entity pickers: the options Slack asks for as someone types (`block_suggestion`).

The options are the ack itself, so they must come in milliseconds at any catalog size. For each size,
in one process, on the same generated catalog (`benchmarks.generate`) and the same typed texts:

- **before**: what the modal did before it opened (the static select's 100 options): every entity
  filtered by the picker's kind, type and owner, sorted by name. Here in memory over the index, a
  lower bound of the SQL scan it was;
- **after**: `CatalogIndex.complete`, the picker's search per keystroke (`ActionService.entity_choices`
  minus its session).

Typed texts, per picker: the first 2 and 4 letters of a name, its first word, the whole name, and the
name with two letters swapped. "found" is the share whose entity is among the options, per typed
form (2 letters / 4 letters / first word / name / typo; the static select offered the first 100 names only). Wall and CPU per call, with the load average.

    .venv/bin/python -m benchmarks.bench_entity_picker --sizes 10000,100000
"""

from __future__ import annotations

import argparse
import os
import random
import time
from collections import Counter
from collections.abc import Callable

from benchmarks.bench_accuracy import indexed
from benchmarks.bench_catalog import pcts
from catalog.search.resolve import CatalogIndex, IndexedEntity, tokens

LIMIT = 100  # Slack's cap on options


def pickers(entities: list[IndexedEntity]) -> dict[str, Callable[[IndexedEntity], bool]]:
    """A wide picker (every component), a narrow one (resources of the commonest type) and an "owned by my team" one."""
    resource_type = Counter(e.type for e in entities if e.kind == "resource" and e.type).most_common(1)[0][0]
    team = Counter(e.owner_ref for e in entities if e.kind == "component" and e.owner_ref).most_common(1)[0][0]
    return {
        "components": lambda e: e.kind == "component",
        f"resources of type {resource_type}": lambda e: e.kind == "resource" and e.type == resource_type,
        "components of one team": lambda e: e.kind == "component" and e.owner_ref == team,
    }


def typed_texts(name: str, rng: random.Random) -> list[str]:
    swap = rng.randrange(1, len(name) - 1) if len(name) > 3 else 0
    typo = name[:swap] + name[swap + 1] + name[swap] + name[swap + 2 :] if swap else name
    return [name[:2], name[:4], tokens(name)[0], name, typo]


def run(size: int, per_picker: int, seed: int) -> None:
    entities = indexed(size, seed)
    index = CatalogIndex(entities)
    started = time.perf_counter()
    index.build_lazy_parts()  # once per catalog generation, by the first typo or a saved index
    print(f"\n{size:,} entities (trigram postings built once in {time.perf_counter() - started:.2f} s)")
    rng = random.Random(seed)
    print(f"{'picker':<32} {'side':<7} {'wall p50/p95/p99 ms':>22} {'CPU p50/p99 ms':>16}  found: 2l/4l/word/name/typo")
    for label, allowed in pickers(entities).items():
        pool = [e for e in entities if allowed(e)]
        wanted = rng.sample(pool, min(per_picker, len(pool)))
        cases = [(e, form, text) for e in wanted for form, text in enumerate(typed_texts(e.name, rng))]
        sides: dict[str, Callable[[str], list[IndexedEntity]]] = {
            "before": lambda _text, allowed=allowed: sorted((e for e in entities if allowed(e)), key=lambda e: e.name)[:LIMIT],  # type: ignore[misc]
            "after": lambda text, allowed=allowed: index.complete(text, allowed=allowed, limit=LIMIT),  # type: ignore[misc]
        }
        for side, pick in sides.items():
            wall, cpu, found = [], [], Counter[int]()
            for entity, form, text in cases:
                w0, c0 = time.perf_counter(), time.process_time()
                options = pick(text)
                cpu.append((time.process_time() - c0) * 1000)
                wall.append((time.perf_counter() - w0) * 1000)
                found[form] += entity in options
            w, c = pcts(wall), pcts(cpu)
            shares = "/".join(f"{found[form] / len(wanted):.0%}" for form in range(5))
            print(f"{label[:32]:<32} {side:<7} {w[0]:>6.2f} {w[1]:>6.2f} {w[2]:>7.2f} {c[0]:>7.2f} {c[2]:>7.2f}  {shares}")
    print(f"load average {os.getloadavg()[0]:.1f}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--per-picker", type=int, default=40, help="entities per picker (5 typed texts each)")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    print(f"load average at start {os.getloadavg()[0]:.1f}")
    for size in (int(s) for s in args.sizes.split(",")):
        run(size, args.per_picker, args.seed)


if __name__ == "__main__":
    main()
