"""Spot catalog names inside free text, for "Who owns this?" on any message.

Unlike `CatalogIndex.resolve`, which must always find *something* for a question, spotting
must stay silent about ordinary words: only exact names, titles and aliases count (case- and
separator-insensitive), never prefixes or fuzzy matches.
"""

from __future__ import annotations

import re
from weakref import WeakKeyDictionary

from catalog.search.resolve import CatalogIndex, IndexedEntity, compact
from catalog.search.understand import clean

MAX_WORDS = 4  # longest name, in words, that is looked for ("payments ledger reconciler service")
MIN_LENGTH = 3  # shorter keys ("db", "ui") are too likely to be ordinary words
SKIPPED_KINDS = {"location"}
_WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-/:]*[A-Za-z0-9]|[A-Za-z0-9]")

_keys: WeakKeyDictionary[CatalogIndex, dict[str, list[IndexedEntity]]] = WeakKeyDictionary()


def _names(index: CatalogIndex) -> dict[str, list[IndexedEntity]]:
    """Compact name/title/alias -> entities, built once per index (an index never changes)."""
    if index not in _keys:
        keys: dict[str, list[IndexedEntity]] = {}
        for e in index.entities:
            if e.kind in SKIPPED_KINDS:
                continue
            for key in {compact(e.name), compact(e.title or ""), *(compact(a) for a in e.aliases)}:
                if len(key) >= MIN_LENGTH:
                    keys.setdefault(key, []).append(e)
        _keys[index] = keys
    return _keys[index]


def spot_entities(index: CatalogIndex, text: str, *, limit: int = 5) -> list[IndexedEntity]:
    """Entities named in `text`, in order of appearance; longer phrases win over their words."""
    names = _names(index)
    words = _WORD.findall(clean(text))
    found: list[IndexedEntity] = []
    i = 0
    while i < len(words) and len(found) < limit:
        for n in range(min(MAX_WORDS, len(words) - i), 0, -1):
            hits = names.get(compact(" ".join(words[i : i + n])))
            if hits:
                found += [e for e in hits if e not in found]
                i += n
                break
        else:
            i += 1
    return found[:limit]
