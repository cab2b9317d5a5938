"""Tags as a list filter: "tier-1 services", "which services use kafka", "pci components owned by payments".

A tag is data, not grammar: words ask for a tag only when they spell one of the catalog's tags
and name nothing (an exact name wins: "search" is a team before it is a tag). Backstage writes
tags as lowercase words joined by `-`, so "Tier 1" asks for `tier-1`.

Every question whose words name nothing asks whether they spell a tag, so each lookup reads only
the rows whose tags' text holds the word (one query), and the index remembers the answer for its
catalog generation. Reading every row's tags into a map instead cost each `wayfinder ask` process
that asked about an unknown name 21 ms at 10k entities and 0.2 s at 100k (one query: 7 and 55 ms),
and a server as much after every change.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from sqlalchemy import String, cast, func, select
from sqlmodel import Session

from catalog.search.resolve import CatalogIndex
from catalog.store.models import Entity, table_of

MEMO = "catalog.search.tags"  # the index's memo: tag -> refs, for the tags questions asked about
_E = table_of(Entity).c
MAX_WORDS = 3  # "tier 1", "pci dss scope": longer runs are sentences, not tags
REMEMBERED = 4096  # tags whose refs an index keeps (most name nothing: words of unknown names)
# Tags a JSON column's text holds as they are (printable ASCII but `"` and `\`, which JSON escapes,
# like every other character): a substring of that text finds them
_VERBATIM = re.compile(r"[ !#-\[\]-~]+")


def tag_of(words: Sequence[str]) -> str:
    """How Backstage would write `words` as one tag: `["Tier", "1"]` -> `tier-1`."""
    return "-".join(w.strip().lower() for w in words if w.strip())


def tagged(session: Session, index: CatalogIndex, tag: str) -> frozenset[str]:
    """Refs of the active entities carrying `tag` (any source's row counts: merged tags are their union)."""
    tag = tag.strip().lower()
    if not tag:
        return frozenset()
    known: dict[str, frozenset[str]] = index.memo(MEMO, dict)
    if tag not in known:
        if len(known) >= REMEMBERED:
            known.clear()
        known[tag] = _refs_tagged(session, tag)
    return known[tag]


def _refs_tagged(session: Session, tag: str) -> frozenset[str]:
    query = select(_E.ref, _E.tags).where(_E.retired_at.is_(None))
    if _VERBATIM.fullmatch(tag):  # only rows that may hold it; each is checked below
        query = query.where(func.lower(cast(_E.tags, String)).contains(tag, autoescape=True))
    rows: Iterable[tuple[str, list[object] | None]] = session.execute(query)
    return frozenset(ref for ref, tags in rows if any(isinstance(t, str) and t.strip().lower() == tag for t in tags or ()))
