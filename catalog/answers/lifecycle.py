"""Lifecycle answers: "is payments-service deprecated?" gets a yes or a no, and what still uses it."""

from __future__ import annotations

import re

from sqlmodel import Session

from catalog.answers.card import dependents, merge_sources, owner_contact
from catalog.answers.models import Answer
from catalog.store.merge import CatalogEntity
from catalog.store.reads import get_entity

DEPRECATED = "deprecated"
# "being replaced by invoicing-service", "superseded by feature-flags and ...": the name right after it
_SUCCESSOR = re.compile(r"\b(?:replaced|superseded|succeeded) by ([a-z0-9][a-z0-9_.-]*[a-z0-9])", re.IGNORECASE)


def lifecycle(session: Session, entity: CatalogEntity, answer: Answer) -> None:
    """A verdict in one sentence; for a deprecated entity, what still depends on it (they need to move)."""
    owner = get_entity(session, entity.owner_ref) if entity.owner_ref else None
    answer.owner = owner_contact(session, entity, owner)
    answer.sources = merge_sources(entity, owner)
    stage = (entity.lifecycle or "").strip()
    asked_deprecated = "deprecat" in answer.question.lower()
    if not stage:
        answer.status = "no_data"
        answer.message = f"{entity.name} has no lifecycle in the catalog."
    elif stage.lower() == DEPRECATED:
        answer.items = dependents(session, entity)
        still = f" {len(answer.items)} still {'depends' if len(answer.items) == 1 else 'depend'} on it." if answer.items else " Nothing in the catalog depends on it any more."
        answer.message = ("Yes: " if asked_deprecated else "") + f"{entity.name} is deprecated." + still
        if (after := successor(session, entity)) is not None:
            answer.message += f" Its description names what replaces it: {after.name}."
    else:
        where = f"in {stage}" if stage.lower() == "production" else stage
        answer.message = f"No: {entity.name} is {where}, not deprecated." if asked_deprecated else f"{entity.name} is {where}."


def successor(session: Session, entity: CatalogEntity) -> CatalogEntity | None:
    """The entity of the same kind that `entity`'s description says replaces it ("being replaced by invoicing-service")."""
    found = _SUCCESSOR.search(entity.description or "")
    return get_entity(session, f"{entity.ref.rpartition('/')[0]}/{found[1].lower()}") if found else None
