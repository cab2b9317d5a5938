"""What a source asserts about an entity, written once.

The sync reads the facts from a descriptor (`EntityDoc`), writes them to `Entity` rows, reads load
the rows and `merge` combines them into the `CatalogEntity` the answers show. The names below say
how each fact merges; `EntityFacts` declares their types for both pydantic models, and the answers'
models that repeat some of them (`EntitySummary`, `Contact`) extend its bases. The `Entity`
table declares its columns itself (sizes, JSON columns); `tests/test_merge.py` checks it has them all.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

IDENTITY_FIELDS = ("ref", "kind", "namespace", "name")  # the same in every source's row of a ref
SCALAR_FACTS = ("title", "description", "type", "lifecycle", "owner_ref", "system_ref", "location")  # merged per field
MAP_FACTS = ("labels", "annotations", "spec")  # merged per key
LIST_FACTS = ("tags", "links")  # the union of all sources
ENTITY_FACTS = (*IDENTITY_FIELDS, *SCALAR_FACTS, *MAP_FACTS, *LIST_FACTS)


class EntityName(BaseModel):
    """How every model that points at an entity names it: the facts, an answer's summary, a contact."""

    # Each model of this family is built on first use, not at import: an answer never validates
    # `EntityDoc` (the sync does), and `wayfinder ask` is a new process per question.
    model_config = ConfigDict(defer_build=True)

    ref: str
    kind: str
    name: str


class EntityHeadline(EntityName):
    """What an entity is, in one line: the facts an answer repeats about every entity it lists."""

    title: str | None = None
    description: str | None = None
    type: str | None = None
    lifecycle: str | None = None
    owner_ref: str | None = None

    @property
    def display_name(self) -> str:
        return self.title or self.name


class EntityFacts(EntityHeadline):
    """The facts as typed fields; subclasses add `links` (a descriptor's `Link`s, or stored dicts) and their own bookkeeping."""

    namespace: str
    system_ref: str | None = None
    location: str | None = None
    labels: dict[str, str] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)
    tags: list[str] = Field(default_factory=list)
    spec: dict[str, Any] = Field(default_factory=dict)
