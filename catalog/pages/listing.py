"""Listing entities for `GET /api/v1/entities`: filters and keyset (cursor) pagination.

A cursor is the last ref of the previous page, encoded so clients treat it as opaque; pages stay
consistent while the catalog changes underneath (no offsets that shift when an entity is added).
"""

from __future__ import annotations

import base64
import binascii

from pydantic import BaseModel, Field
from sqlalchemy import func, or_, select
from sqlmodel import Session, col

from catalog.answers.models import EntitySummary
from catalog.errors import WayfinderError
from catalog.store.models import Entity
from catalog.store.reads import get_entities
from catalog.store.refs import parse_ref

MAX_LIMIT = 500


class BadCursor(WayfinderError):
    """The cursor was not one this server handed out."""


class EntityList(BaseModel):
    items: list[EntitySummary] = Field(default_factory=list)
    next_cursor: str | None = None  # pass back as `cursor` for the next page; None on the last page


def encode_cursor(ref: str) -> str:
    return base64.urlsafe_b64encode(ref.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> str:
    try:
        ref = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        ref = ""
    if ":" not in ref or encode_cursor(ref) != cursor:  # the decoder skips stray characters; a cursor we issued round-trips
        raise BadCursor("cursor is not valid; use the next_cursor of a previous page")
    return ref


def list_entities(
    session: Session,
    *,
    kind: str | None = None,
    owner: str | None = None,
    q: str | None = None,
    cursor: str | None = None,
    limit: int = 100,
) -> EntityList:
    """Active entities by ref; `owner` is a ref or a team name, `q` a case-insensitive part of the name or title."""
    limit = max(1, min(limit, MAX_LIMIT))
    query = (
        select(col(Entity.ref)).where(col(Entity.retired_at).is_(None)).group_by(col(Entity.ref)).order_by(col(Entity.ref)).limit(limit + 1)
    )
    if kind:
        query = query.where(col(Entity.kind) == kind.lower())
    owner_ref = str(parse_ref(owner, default_kind="group")) if owner else None
    if owner_ref:
        query = query.where(col(Entity.owner_ref) == owner_ref)
    if q:
        needle = q.lower()
        query = query.where(
            or_(
                func.lower(col(Entity.name)).contains(needle, autoescape=True),
                func.lower(col(Entity.title)).contains(needle, autoescape=True),
            )
        )
    if cursor:
        query = query.where(col(Entity.ref) > decode_cursor(cursor))
    refs = list(session.scalars(query))
    more = len(refs) > limit
    refs = refs[:limit]
    found = get_entities(session, refs)
    # a lower-precedence source's owner claim matched the filter but is not the merged owner
    items = [EntitySummary.of(found[r]) for r in refs if r in found and (owner_ref is None or found[r].owner_ref == owner_ref)]
    return EntityList(items=items, next_cursor=encode_cursor(refs[-1]) if more else None)
