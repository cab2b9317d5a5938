"""What applying a diff writes: entity rows, relation changes, and the guard against retiring too much.

Shared by the two ways a source is reconciled: a full snapshot (`catalog.sync.engine`) and a
file-based source's changed files (`catalog.sync.files`). Everything here runs before the write
transaction; the statements are executed by it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import select, update
from sqlalchemy.engine import Dialect
from sqlmodel import Session, col

from catalog.store.engine import refresh_statistics
from catalog.store.facts import ENTITY_FACTS
from catalog.store.models import CatalogState, Entity, Relation, table_of
from catalog.sync import writes
from catalog.sync.sources.descriptor import EntityDoc

ENTITY = table_of(Entity)
RELATION = table_of(Relation)
ROW_COLUMNS = (*ENTITY_FACTS, "source", "precedence", "api_version", "content_hash", "updated_at", "retired_at", "changed_by")
ADD_COLUMNS = (*ROW_COLUMNS, "first_seen_at")
# An update rewrites a row in place by id: its source and ref cannot change, so their indexes are left alone.
UPDATE_COLUMNS = tuple(c for c in ROW_COLUMNS if c not in ("source", "ref"))
RELATION_COLUMNS = ("source", "origin_ref", "subject_ref", "type", "target_ref")
DEFAULT_MAX_DELETE_FRACTION = 0.5
# Below this many entities the fraction guard would only get in the way of small catalogs.
MIN_ENTITIES_FOR_FRACTION_GUARD = 10
CHUNK = 500  # values per `IN (...)`: well under every database's parameter limit

Triple = tuple[str, str, str]
RelationKey = tuple[str, str, str, str]  # origin, subject, type, target


class Existing(NamedTuple):
    """A stored row, as a diff needs it."""

    id: int
    digest: str  # the content hash
    retired: bool
    location: str | None

    def moved(self, doc: EntityDoc) -> bool:
        """Whether only the row's location is out of date: the hash leaves it out, so nothing else rewrites it."""
        return not self.retired and self.location != doc.location


@dataclass(frozen=True)
class Statements:
    """The statements of a sync, for one database dialect."""

    add: writes.Statement
    update: writes.Statement
    retire: writes.Statement
    delete_relations: writes.Statement
    insert_relations: writes.Statement
    relocate: writes.Statement

    @classmethod
    def of(cls, dialect: Dialect) -> Statements:
        return cls(
            writes.insert_rows(dialect, ENTITY, ADD_COLUMNS),
            writes.update_rows(dialect, ENTITY, UPDATE_COLUMNS),
            writes.update_rows(dialect, ENTITY, ("retired_at", "updated_at")),
            writes.delete_rows(dialect, RELATION, ("id",)),
            writes.insert_rows(dialect, RELATION, RELATION_COLUMNS),
            writes.update_rows(dialect, ENTITY, ("location",)),
        )

    def all(self) -> tuple[writes.Statement, ...]:
        return (self.add, self.update, self.retire, self.delete_relations, self.insert_relations, self.relocate)


def entity_values(doc: EntityDoc, source: str, digest: str, now: datetime, author: str | None = None) -> dict[str, Any]:
    """The row of `doc` as stored, by column (without `first_seen_at`); `author` made this change, when known."""
    values = {name: getattr(doc, name) for name in ENTITY_FACTS}
    values["links"] = [link.model_dump(exclude_none=True) for link in doc.links]
    values.update(source=source, precedence=doc.precedence, api_version=doc.api_version, content_hash=digest, updated_at=now, retired_at=None, changed_by=author)
    return values


def entity_rows(
    statements: Statements,
    source: str,
    now: datetime,
    added: Sequence[tuple[EntityDoc, str]],
    updated: Sequence[tuple[int, EntityDoc, str]],
    authors: Mapping[str, str] | None = None,
) -> list[writes.Batch]:
    """Converted rows adding `(doc, content hash)` pairs and updating `(row id, doc, content hash)` triples;
    `authors` (ref -> who made the change) is what the source knows of who changed them."""
    who = (authors or {}).get
    adds = [tuple(entity_values(doc, source, digest, now, who(doc.ref)).values()) + (now,) for doc, digest in added]
    changed = []
    for row_id, doc, digest in updated:
        values = entity_values(doc, source, digest, now, who(doc.ref))
        changed.append((*(values[c] for c in UPDATE_COLUMNS), row_id))
    return [(statements.add, statements.add.rows(adds)), (statements.update, statements.update.rows(changed))]


def existing_rows(session: Session, source: str, refs: Iterable[str] | None = None) -> dict[str, Existing]:
    """The source's rows by ref, all of them or those of `refs`."""
    # Columns, not entities: no ORM row processing, no parsing of every retired_at.
    columns = (col(Entity.ref), col(Entity.id), col(Entity.content_hash), col(Entity.retired_at).is_not(None), col(Entity.location))
    query = select(*columns).where(col(Entity.source) == source)
    chunks = [query] if refs is None else [query.where(col(Entity.ref).in_(chunk)) for chunk in chunked(list(refs))]
    found: dict[str, Existing] = {}
    for q in chunks:
        found_rows: Iterable[tuple[str, int | None, str, bool, str | None]] = session.execute(q)
        for ref, row_id, digest, retired, location in found_rows:
            assert row_id is not None  # a stored row has its id
            found[ref] = Existing(row_id, digest, bool(retired), location)
    return found


def stored_relations(session: Session, source: str, refs: list[str]) -> dict[RelationKey, list[int]]:
    """Row ids of the stored relations that `refs` originate, by (origin, subject, type, target)."""
    columns = select(col(Relation.id), col(Relation.origin_ref), col(Relation.subject_ref), col(Relation.type), col(Relation.target_ref))
    stored: dict[RelationKey, list[int]] = {}
    for chunk in chunked(refs):
        query = columns.where(col(Relation.source) == source, col(Relation.origin_ref).in_(chunk))
        relation_rows: Iterable[tuple[int | None, str, str, str, str]] = session.execute(query)
        for row_id, origin, subject, type_, target in relation_rows:
            assert row_id is not None  # a stored row has its id
            stored.setdefault((origin, subject, type_, target), []).append(row_id)
    return stored


def relation_changes(
    source: str, fresh: Iterable[str], relations: Mapping[str, list[Triple]], stored: Mapping[RelationKey, list[int]]
) -> tuple[list[tuple[int]], list[tuple[str, str, str, str, str]]]:
    """`(ids to delete, rows to insert)` making the stored relations of the changed entities what they are now.

    `fresh` are the refs added or updated, `stored` the relations of those updated or retired.
    Relations are diffed, so an update that leaves an entity's relations as they were (a new
    description) rewrites none of them.
    """
    wanted = dict.fromkeys((origin, *triple) for origin in fresh for triple in relations.get(origin, ()))
    gone = [(row_id,) for key, ids in stored.items() for row_id in (ids if key not in wanted else ids[1:])]
    return gone, [(source, *key) for key in wanted if key not in stored]


def relocate_rows(statements: Statements, moved: Sequence[tuple[int, EntityDoc]]) -> writes.Batch:
    """Rows setting the location of `(row id, doc)` pairs whose content is unchanged: one column, `updated_at` stays."""
    return statements.relocate, statements.relocate.rows([(doc.location, row_id) for row_id, doc in moved])


def retire_rows(retire: Sequence[tuple[int, str]], now: datetime) -> list[tuple[datetime, datetime, int]]:
    return [(now, now, row_id) for row_id, _ in retire]


# Around a run's writes, in their transaction: only the holder of the source's lease may write (`engine.HeldSource.fence`).
Fence = Callable[[Session], AbstractContextManager[None]]


@dataclass(frozen=True)
class Limits:
    """How much one run may retire without `--allow-large-delete`."""

    allow_large_delete: bool = False
    max_fraction: float = DEFAULT_MAX_DELETE_FRACTION

    def refusal(self, retiring: int, active: int, empty: bool) -> str | None:
        """Why retiring `retiring` of `active` entities must not happen, if it must not; `empty`: the source now asserts nothing."""
        if self.allow_large_delete or not retiring:
            return None
        if empty:
            return f"the snapshot is empty and would retire all {active} entities; rerun with --allow-large-delete if that is intended"
        if active >= MIN_ENTITIES_FOR_FRACTION_GUARD and retiring > self.max_fraction * active:
            return (
                f"the snapshot would retire {retiring} of {active} entities (more than {self.max_fraction:.0%}); "
                "rerun with --allow-large-delete if that is intended"
            )
        return None


def bump_generation(session: Session) -> None:
    """Tell the caches keyed on the catalog's generation that it changed; the caller owns the transaction."""
    session.execute(update(CatalogState).where(col(CatalogState.id) == 1).values(generation=col(CatalogState.generation) + 1))


def catalog_written(session: Session, changed: int) -> None:
    """End a sync's write that added, updated or retired `changed` entities: bump the generation and,
    after a big write, refresh PostgreSQL's statistics of the tables it wrote (`refresh_statistics`)."""
    bump_generation(session)
    refresh_statistics(session, changed, (ENTITY.name, RELATION.name))


def chunked(items: list[str], size: int = CHUNK) -> list[list[str]]:
    return [items[i : i + size] for i in range(0, len(items), size)]
