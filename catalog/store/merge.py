"""Read models: an entity as the catalog presents it, merged across sources.

Each field keeps the source it came from, and each source carries its freshness, so
every answer can say "from northwind, synced 3 min ago".
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any, Protocol

from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlmodel import Session

from catalog.store.facts import IDENTITY_FIELDS, MAP_FACTS, SCALAR_FACTS, EntityFacts
from catalog.store.models import SourceState


class Freshness(BaseModel):
    source: str
    source_type: str | None = None
    synced_at: datetime | None = None
    failing_since: datetime | None = None
    last_error: str | None = None
    refused: bool = False  # the failing runs read the source fine but were refused (they would retire too much)
    broken_since: datetime | None = None  # the entity's descriptor file cannot be read: see `catalog.sync.broken_files`
    broken_reason: str | None = None

    @property
    def stale(self) -> bool:
        return self.failing_since is not None or self.broken_since is not None


class CatalogEntity(EntityFacts):
    """One ref's rows merged: each fact from the highest-precedence source that has it (`merge`)."""

    links: list[dict[str, Any]] = Field(default_factory=list)
    source: str
    field_sources: dict[str, str] = Field(default_factory=dict)
    freshness: dict[str, Freshness] = Field(default_factory=dict)

    def profile(self, key: str) -> str | None:
        return profile_value(self.spec.get("profile"), key)


def profile_value(profile: Any, key: str) -> str | None:
    """`key` of a person's or team's `spec.profile` (`displayName`, `email`), as text; None when missing or empty."""
    value = profile.get(key) if isinstance(profile, dict) else None
    return str(value) if value else None


class SourceFreshness(Protocol):
    """What `merge` reads of a source's state: a `SourceState`, or the same columns read alongside an entity row."""

    @property
    def type(self) -> str: ...
    @property
    def last_success_at(self) -> datetime | None: ...
    @property
    def last_error(self) -> str | None: ...
    @property
    def last_error_at(self) -> datetime | None: ...
    @property
    def last_error_status(self) -> str | None: ...


def merge(rows: Iterable[Any], states: Mapping[str, SourceFreshness]) -> CatalogEntity | None:
    """Merge one ref's rows: per field, the highest-precedence source that has a value wins.

    A row is an `Entity` or a result row with its columns (`catalog.store.reads` reads only those it needs).

    A field is a column (`SCALAR_FACTS`) or one key of `labels`, `annotations` or `spec`
    (recorded as e.g. `spec.pagerduty`), so a source that adds one fact neither hides nor is
    hidden by the facts other sources give. Links and tags are the union of all sources.
    """
    ordered = sorted(rows, key=lambda r: (-r.precedence, r.source))
    if not ordered:
        return None
    top = ordered[0]
    values: dict[str, Any] = {}
    field_sources: dict[str, str] = {}
    for name in SCALAR_FACTS:
        for row in ordered:
            value = getattr(row, name)
            if value not in (None, ""):
                values[name], field_sources[name] = value, row.source
                break
    maps: dict[str, dict[str, Any]] = {name: {} for name in MAP_FACTS}
    for name, merged in maps.items():
        for row in ordered:  # comprehensions, not a loop per key: a page merges a dozen entities
            found = {key: value for key, value in getattr(row, name).items() if key not in merged and value not in (None, "")}
            merged |= found
            field_sources |= {f"{name}.{key}": row.source for key in found}
    links: list[dict[str, Any]] = []
    tags: list[str] = []
    for row in ordered:
        links += [link for link in row.links if link not in links]
        tags += [t for t in row.tags if t not in tags]
    return CatalogEntity(
        **{name: getattr(top, name) for name in IDENTITY_FIELDS},
        **maps,
        tags=tags,
        links=links,
        source=top.source,
        field_sources=field_sources,
        freshness={row.source: _freshness(row, states) for row in ordered},
        **values,
    )


def _freshness(row: Any, states: Mapping[str, SourceFreshness]) -> Freshness:
    """Built in one validation: assigning fields one by one afterwards validated each assignment again."""
    broken = {"broken_since": row.broken_since, "broken_reason": row.broken_reason if row.broken_since else None}
    state = states.get(row.source)
    return Freshness(source=row.source, **broken) if state is None else source_freshness(row.source, state, **broken)


def source_freshness(name: str, state: SourceFreshness, **broken: Any) -> Freshness:
    """How fresh a source's data is: its last good sync, and since when it fails (or is refused) if its last try did."""
    failing = (
        state.last_error_at if state.last_error_at and (not state.last_success_at or state.last_error_at > state.last_success_at) else None
    )
    return Freshness(
        source=name, source_type=state.type, synced_at=state.last_success_at, failing_since=failing,
        last_error=state.last_error if failing else None, refused=bool(failing) and state.last_error_status == "refused", **broken,
    )  # fmt: skip


def source_states(session: Session) -> dict[str, SourceState]:
    return {s.name: s for s in session.scalars(select(SourceState))}
