"""Who a principal list names, read from the catalog at the moment it matters (every click).

`owner-leads` are the users in the owning Group's `wayfinder.io/leads` annotation (comma-separated
user names or refs); a Group without it falls back to all its members (`wayfinder validate` warns).
`owner-members` are the owning Group's members (or the owning User), `group:` a Group's members,
`slack-usergroup:S…` the members of the Group synced with that Slack user group, `user:` one User,
`slack:U…` one Slack user by id (whether or not the catalog knows them: the catalog admins of `adoption.admins`).
"""

from __future__ import annotations

from collections.abc import Iterable

from pydantic import BaseModel
from sqlmodel import Session, col, select

from catalog.answers.card import lead_refs
from catalog.store.models import Entity
from catalog.store.reads import get_entities, get_entity, related_refs
from catalog.store.refs import parse_ref

USERGROUP_ANNOTATION = "slack.com/usergroup-id"


class Person(BaseModel):
    ref: str
    name: str
    email: str | None = None


def leads(session: Session, group_ref: str) -> list[str] | None:
    """The user refs a Group's `wayfinder.io/leads` names, or None when it has no such annotation."""
    group = get_entity(session, group_ref)
    return lead_refs(group) if group else None


def members(session: Session, group_ref: str) -> list[str]:
    if group_ref.startswith("user:"):
        return [group_ref]
    return [target for _, target in related_refs(session, group_ref, ["hasMember"]) if target.startswith("user:")]


def _usergroup(session: Session, usergroup_id: str) -> str | None:
    rows = session.exec(select(Entity.ref, Entity.annotations).where(Entity.kind == "group", col(Entity.retired_at).is_(None)))
    return next((ref for ref, annotations in rows if (annotations or {}).get(USERGROUP_ANNOTATION) == usergroup_id), None)


def resolve(session: Session, principals: Iterable[str], *, owner_ref: str | None) -> list[Person]:
    """The people `principals` name today, each once, in a stable order."""
    refs: list[str] = []
    for principal in principals:
        kind, _, rest = principal.partition(":")
        if principal in ("owner-leads", "owner-members"):
            if owner_ref:
                found = leads(session, owner_ref) if principal == "owner-leads" and owner_ref.startswith("group:") else None
                refs += found if found is not None else members(session, owner_ref)
        elif kind == "group":
            refs += members(session, str(parse_ref(principal)))
        elif kind == "slack-usergroup":
            group = _usergroup(session, rest)
            refs += members(session, group) if group else []
        elif kind == "user":
            refs.append(str(parse_ref(principal)))
        elif kind == "slack":
            refs.append(principal)  # Slack ids are case-sensitive and never catalog refs
    known = get_entities(session, refs)
    people = []
    for ref in dict.fromkeys(r if r.startswith("slack:") else r.lower() for r in refs):
        entity = known.get(ref)
        name = (entity.profile("displayName") or entity.display_name) if entity else ref
        people.append(Person(ref=ref, name=name, email=entity.profile("email") if entity else None))
    return people


def teams_of(session: Session, user_ref: str | None) -> list[str]:
    """The Groups a User belongs to."""
    return [target for _, target in related_refs(session, user_ref, ["memberOf"])] if user_ref else []


def owner_channel(session: Session, owner_ref: str | None) -> str | None:
    """The owning team's Slack channel id, for the approval card."""
    owner = get_entity(session, owner_ref) if owner_ref else None
    return owner.annotations.get("slack.com/channel-id") if owner else None
