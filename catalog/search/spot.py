"""Spot catalog names inside free text: for "Who owns this?" on any message, and in questions.

Unlike `CatalogIndex.resolve`, which must always find *something* for a question, spotting
must stay silent about ordinary words: only exact names, titles, aliases and other names
(display names, handles) count (case- and separator-insensitive), never prefixes or fuzzy
matches. The longest phrase wins over the words inside it ("API Gateway" over "api").
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from catalog.search.markup import clean
from catalog.search.resolve import CatalogIndex, IndexedEntity, compact

MAX_WORDS = 5  # longest name, in words, that is looked for ("payments ledger reconciler service api")
MIN_LENGTH = 3  # shorter keys ("db", "ui") are too likely to be ordinary words
SKIPPED_KINDS = {"location"}
WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-/:]*[A-Za-z0-9]|[A-Za-z0-9]")


@dataclass(frozen=True)
class Span:
    """Words `start` to `end` (exclusive) of a text name `entities` exactly."""

    start: int
    end: int
    text: str
    entities: tuple[IndexedEntity, ...]


def _named(index: CatalogIndex, text: str) -> tuple[IndexedEntity, ...]:
    if len(compact(text)) < MIN_LENGTH:
        return ()
    found = index.written_ref(text) if ":" in text else None
    named = [found] if found else index.named(text)
    return tuple(e for e in named if e.kind not in SKIPPED_KINDS)


def spot_spans(index: CatalogIndex, words: list[str], *, ordinary: Callable[[str], bool] = lambda w: False) -> list[Span]:
    """Exact names among `words`, left to right, longest first; a lone `ordinary` word is never a name."""
    spans: list[Span] = []
    i = 0
    while i < len(words):
        for n in range(min(MAX_WORDS, len(words) - i), 0, -1):
            if n == 1 and ordinary(words[i].lower()):
                continue
            text = " ".join(words[i : i + n])
            hits = _named(index, text)
            if hits:
                spans.append(Span(i, i + n, text, hits))
                i += n
                break
        else:
            i += 1
    return spans


def spot_entities(index: CatalogIndex, text: str, *, limit: int = 5) -> list[IndexedEntity]:
    """Entities named in `text`, in order of appearance; longer phrases win over their words."""
    found: list[IndexedEntity] = []
    for span in spot_spans(index, WORD.findall(clean(text))):
        found += [e for e in span.entities if e not in found]
        if len(found) >= limit:
            break
    return found[:limit]
