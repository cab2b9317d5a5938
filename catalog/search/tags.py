"""Tags as a list filter: "tier-1 services", "which services use kafka", "pci components owned by payments".

A tag is data, not grammar: words ask for a tag only when they spell one of the catalog's tags
and name nothing (an exact name wins: "search" is a team before it is a tag). Backstage writes
tags as lowercase words joined by `-`, so "Tier 1" asks for `tier-1`. The tag map is built once
per index (so once per catalog generation) by one query, the first time a question lists
something by a word that names nothing; other questions never pay for it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence

from sqlalchemy import select
from sqlmodel import Session

from catalog.search.resolve import CatalogIndex
from catalog.store.models import Entity, table_of

MEMO = "catalog.search.tags.map"  # the index's memo of tag -> refs
_E = table_of(Entity).c
MAX_WORDS = 3  # "tier 1", "pci dss scope": longer runs are sentences, not tags


def tag_of(words: Sequence[str]) -> str:
    """How Backstage would write `words` as one tag: `["Tier", "1"]` -> `tier-1`."""
    return "-".join(w.strip().lower() for w in words if w.strip())


def tagged(session: Session, index: CatalogIndex, tag: str) -> frozenset[str]:
    """Refs of the active entities carrying `tag` (any source's row counts: merged tags are their union)."""
    return index.memo(MEMO, lambda: _tag_map(session)).get(tag.lower(), frozenset())


def _tag_map(session: Session) -> dict[str, frozenset[str]]:
    found: dict[str, set[str]] = defaultdict(set)
    rows: Iterable[tuple[str, list[object] | None]] = session.execute(select(_E.ref, _E.tags).where(_E.retired_at.is_(None)))
    for ref, tags in rows:
        for tag in tags or ():
            if isinstance(tag, str) and tag.strip():
                found[tag.strip().lower()].add(ref)
    return {tag: frozenset(refs) for tag, refs in found.items()}
