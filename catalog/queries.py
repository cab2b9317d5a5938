"""Read queries over the catalog. Keyword-only `session`, never commit."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from sqlalchemy import select
from sqlmodel import Session

from catalog.descriptor import ALIASES_ANNOTATION
from catalog.models import CatalogState, Entity, Relation
from catalog.search import CatalogIndex, IndexedEntity
from catalog.views import CatalogEntity, merge, source_states

_ACTIVE = Entity.retired_at.is_(None)  # type: ignore[union-attr]


def get_entities(session: Session, refs: Iterable[str]) -> dict[str, CatalogEntity]:
    """Merged views of the given refs that exist and are active."""
    wanted = list(dict.fromkeys(r.lower() for r in refs))
    rows_by_ref: dict[str, list[Entity]] = defaultdict(list)
    for i in range(0, len(wanted), 500):
        for row in session.scalars(select(Entity).where(Entity.ref.in_(wanted[i : i + 500]), _ACTIVE)):  # type: ignore[attr-defined]
            rows_by_ref[row.ref].append(row)
    states = source_states(session) if rows_by_ref else {}
    merged = {ref: merge(rows, states) for ref, rows in rows_by_ref.items()}
    return {ref: m for ref in wanted if (m := merged.get(ref)) is not None}


def get_entity(session: Session, ref: str) -> CatalogEntity | None:
    return get_entities(session, [ref]).get(ref.lower())


def related_refs(session: Session, ref: str, types: Iterable[str]) -> list[tuple[str, str]]:
    """`(relation type, target ref)` pairs from `ref`, de-duplicated across sources, in stable order."""
    rows = session.execute(
        select(Relation.type, Relation.target_ref)
        .where(Relation.subject_ref == ref, Relation.type.in_(list(types)))  # type: ignore[attr-defined]
        .order_by(Relation.type, Relation.target_ref)
    )
    return list(dict.fromkeys((t, target) for t, target in rows))


def owned_refs(session: Session, owner_ref: str) -> list[str]:
    """Entities whose merged owner is `owner_ref` (a lower-precedence source's claim does not count)."""
    candidates = [target for _, target in related_refs(session, owner_ref, ["ownerOf"])]
    merged = get_entities(session, candidates)
    return [ref for ref in candidates if ref in merged and merged[ref].owner_ref == owner_ref]


def generation(session: Session) -> int:
    return session.scalar(select(CatalogState.generation).where(CatalogState.id == 1)) or 0


def load_index(session: Session) -> CatalogIndex:
    """Build the resolution index from every active entity (highest precedence row per ref)."""
    gen = generation(session)
    rows = session.execute(
        select(Entity.ref, Entity.kind, Entity.name, Entity.title, Entity.owner_ref, Entity.type, Entity.annotations, Entity.precedence)
        .where(_ACTIVE)
        .order_by(Entity.precedence.desc())  # type: ignore[attr-defined]
    )
    seen: dict[str, IndexedEntity] = {}
    for ref, kind, name, title, owner, typ, annotations, _ in rows:
        if ref not in seen:
            aliases = tuple(a.strip() for a in (annotations or {}).get(ALIASES_ANNOTATION, "").split(",") if a.strip())
            seen[ref] = IndexedEntity(ref=ref, kind=kind, name=name, title=title, owner_ref=owner, type=typ, aliases=aliases)
    return CatalogIndex(list(seen.values()), gen)


class IndexCache:
    """Keeps one index per process and rebuilds it when the catalog generation moves."""

    def __init__(self) -> None:
        self._index: CatalogIndex | None = None

    def get(self, session: Session) -> CatalogIndex:
        if self._index is None or self._index.generation != generation(session):
            self._index = load_index(session)
        return self._index
