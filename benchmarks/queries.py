"""Questions with known answers over a generated catalog, for measuring resolution accuracy.

Each query names one component the way people type it (exact, other separators, title, alias,
one or two typos, part of the name, inside a sentence), or names nothing and must not be answered
with confidence: an absent name, a real name with a word added (`catalog-config-rpc` when only
`catalog-config` exists), or a prefix several teams' components share. A variant that is as close
to another name as to its own (a typo that spells a different entity) is not used: no one could
tell which was meant.

    python -m benchmarks.queries --entities 10000 --per-category 5
"""

from __future__ import annotations

import argparse
import bisect
import random
import re
from collections import defaultdict
from dataclasses import dataclass

from rapidfuzz import process
from rapidfuzz.distance import OSA

from benchmarks.generate import API_SUFFIXES, COMPONENT_SUFFIXES, REGIONS, _Plan, _plan, _typo, title_case

_NON_ALNUM = re.compile(r"[^a-z0-9]")
# Queries that name an entity; the rest must not be answered confidently.
NAMED = ("exact", "separators", "title", "alias", "typo1", "typo2", "partial", "sentence")
DECLINED = ("absent", "extends", "ambiguous")
CATEGORIES = NAMED + DECLINED
SENTENCES = ("who owns {}?", "whos the owner of {} pls", "anyone know who maintains the {}", "which team owns {}",
             "where is the runbook for {}?", "is {} deprecated?", "who is on call for {} right now")
EXTENSIONS = tuple(REGIONS) + tuple(API_SUFFIXES) + ("v2", "legacy", "internal", "admin", "rpc")


@dataclass(frozen=True)
class Query:
    category: str
    text: str
    expected: str | None  # the component name it names; None: it must not be answered with confidence


def _compact(text: str) -> str:
    return _NON_ALNUM.sub("", text.lower())


class _Checker:
    """Whole-catalog checks that keep a generated query's expected answer true."""

    def __init__(self, plan: _Plan) -> None:
        self.exact = {_compact(n) for n in plan.names}
        # Shortest first: the names within k edits of a text are among those at most k letters longer or shorter,
        # a slice of this list (at 1M names, scanning them all made generating the queries take most of an hour).
        self.compact = sorted(self.exact, key=lambda n: (len(n), n))
        self.lengths = [len(n) for n in self.compact]
        self.postings: dict[str, set[int]] = defaultdict(set)
        for i, n in enumerate(plan.names):
            for word in n.replace(" ", "-").split("-"):
                self.postings[word].add(i)
        self.sorted_words = sorted(self.postings)
        self.owners_by_prefix: dict[str, set[int]] = defaultdict(set)
        for name, owner in zip(plan.components, plan.component_owner, strict=True):
            self.owners_by_prefix["-".join(name.split("-")[:2])].add(owner)

    def nearest_only(self, variant: str, target: str, within: int) -> bool:
        """`target` is the one name within `within` edits of `variant`, and `variant` is no name itself."""
        hits = process.extract(_compact(variant), self._near_in_length(variant, within), scorer=OSA.distance, score_cutoff=within, limit=3)
        return _compact(variant) not in self.exact and [h[0] for h in hits] == [_compact(target)]

    def far_from_all(self, text: str, within: int, besides: str = "") -> bool:
        """No name but `besides` is within `within` edits of `text`: it could not be a misspelling of one."""
        hits = process.extract(_compact(text), self._near_in_length(text, within), scorer=OSA.distance, score_cutoff=within, limit=2)
        return all(h[0] == _compact(besides) for h in hits)

    def _near_in_length(self, text: str, within: int) -> list[str]:
        """The names whose length is within `within` of the compact `text`'s: the only ones that edits could reach."""
        length = len(_compact(text))
        return self.compact[bisect.bisect_left(self.lengths, length - within) : bisect.bisect_right(self.lengths, length + within)]

    def word_prefix_matches(self, text: str) -> int:
        """How many names have a word starting with each word of `text` ("ledger serv")."""
        found: set[int] | None = None
        for w in (w for w in re.split(r"[^a-z0-9]+", text.lower()) if w):
            start = end = bisect.bisect_left(self.sorted_words, w)
            while end < len(self.sorted_words) and self.sorted_words[end].startswith(w):
                end += 1
            matching = set().union(*(self.postings[word] for word in self.sorted_words[start:end]))
            found = matching if found is None else found & matching
        return len(found or ())


def query_set(n_entities: int, seed: int = 7, *, per_category: int = 50) -> list[Query]:
    """`per_category` queries per category of `CATEGORIES`, over the catalog `generate(n_entities, seed)` makes."""
    plan = _plan(n_entities, seed)
    check = _Checker(plan)
    rng = random.Random(f"{seed}:queries")
    components = plan.components
    out: dict[str, list[Query]] = defaultdict(list)

    def add(category: str, text: str, expected: str | None) -> None:
        if len(out[category]) < per_category:
            out[category].append(Query(category, text, expected))

    def full(category: str) -> bool:
        return len(out[category]) >= per_category

    aliased = sorted(plan.component_alias.items())
    for _ in range(per_category):
        name = rng.choice(components)
        add("exact", name, name)
        add("separators", rng.choice((name.replace("-", "_"), name.replace("-", " "), name.replace("-", ""), name.upper())), name)
        add("title", title_case(name), name)
        add("sentence", rng.choice(SENTENCES).format(rng.choice((name, name.replace("-", " "), title_case(name)))), name)
        if aliased:
            i, alias = rng.choice(aliased)
            add("alias", rng.choice((alias, alias.title())), components[i])
    for _ in range(per_category * 40):
        if all(full(category) for category in CATEGORIES):
            break
        name = rng.choice(components)
        if not full("typo1"):
            variant = _typo(name, rng)
            if check.nearest_only(variant, name, 2):
                add("typo1", variant, name)
        if not full("typo2") and len(name) >= 12:
            variant = _typo(_typo(name, rng), rng)
            if OSA.distance(variant, name) == 2 and check.nearest_only(variant, name, 3):
                add("typo2", variant, name)
        if not full("partial"):
            words = name.split("-")
            partial = " ".join(w for j, w in enumerate(words) if j != rng.randrange(len(words)))
            if rng.random() < 0.5:
                partial = name[: rng.randint(len(name) * 2 // 3, len(name) - 2)].rstrip("-")
            if _compact(partial) not in check.exact and check.word_prefix_matches(partial) == 1:
                add("partial", partial, name)
        if not full("extends"):
            longer = f"{name}-{rng.choice(EXTENSIONS)}"
            if check.far_from_all(longer, 3, besides=name) and check.word_prefix_matches(longer) == 0:
                add("extends", longer, None)
        if not full("ambiguous"):
            prefix = "-".join(name.split("-")[:2])
            if _compact(prefix) not in check.exact and len(check.owners_by_prefix[prefix]) >= 2:
                add("ambiguous", prefix.replace("-", " ") if rng.random() < 0.5 else prefix, None)
        if not full("absent"):
            area, noun = rng.choice(components).split("-")[:2]
            absent = f"{area}-{noun}-{rng.choice(tuple(COMPONENT_SUFFIXES))}"
            if check.far_from_all(absent, 3) and check.word_prefix_matches(absent) == 0:
                add("absent", absent, None)
    return [q for category in CATEGORIES for q in out[category]]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Print a query set with known answers.")
    parser.add_argument("--entities", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--per-category", type=int, default=5)
    args = parser.parse_args(argv)
    for q in query_set(args.entities, args.seed, per_category=args.per_category):
        print(f"{q.category}\t{q.text}\t{q.expected or '-'}")


if __name__ == "__main__":
    main()
