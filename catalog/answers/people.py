"""Answers about reaching people: which team a person is on, and how to reach a team.

A team is reached through its Slack channel and user group, its email, its members, and the
PagerDuty services of what it owns (that is where its on-call lives); any of them may be missing,
so the answer gives every way there is and says which are absent.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlmodel import Session

from catalog.answers.card import DASHBOARD_WORDS, DOCS_WORDS, contact, entity_links, has_dashboard, has_docs, has_runbook, merge_sources, owner_contact, summaries
from catalog.answers.models import Answer, EntitySummary
from catalog.answers.oncall import is_paged, on_call
from catalog.search.resolve import tokens
from catalog.store.merge import CatalogEntity
from catalog.store.reads import get_entities, get_entity, owned_refs, related_refs


def team_of(session: Session, entity: CatalogEntity, answer: Answer) -> None:
    """The teams `entity` (a person, or a team inside a department) belongs to, with their channels."""
    add_teams(session, entity, answer)
    if not answer.teams:
        answer.status = "no_data"
        answer.notes.append(f"{entity.name} is not a member of any team in the catalog.")


def add_teams(session: Session, entity: CatalogEntity, answer: Answer) -> None:
    """`entity`'s teams (`answer.teams`, each with its channel, without its members) and their sources."""
    refs = [t for _, t in related_refs(session, entity.ref, ["memberOf", "childOf"])]
    found = get_entities(session, refs)
    answer.teams = [contact(session, found[r]).model_copy(update={"members": []}) for r in refs if r in found]
    answer.sources = merge_sources(entity, *found.values())


def reach(session: Session, entity: CatalogEntity, answer: Answer) -> None:
    """How to reach `entity`'s team: itself when it is a team or person, else its owner."""
    assert answer.asked_at is not None
    answer.oncall = on_call(entity, answer.asked_at)
    if entity.kind in ("group", "user"):
        team: CatalogEntity | None = entity
        answer.owner = contact(session, entity)
    else:
        team = get_entity(session, entity.owner_ref) if entity.owner_ref else None
        answer.owner = owner_contact(session, entity, team)
    if answer.owner is None:
        answer.status = "no_data"
        answer.notes.append(
            f"{entity.name} has no owner in the catalog, so nobody to reach."
            + (f" Add spec.owner in {entity.location}." if entity.location else "")
        )
        return
    answer.sources = merge_sources(entity, team)
    if team is not None and team.kind == "group":
        answer.paged_via = summaries(session, paged_refs(session, team))
    if not answer.owner.slack_channel and answer.owner.kind == "group":
        answer.notes.append(f"{answer.owner.name} has no Slack channel in the catalog.")


def paged_refs(session: Session, team: CatalogEntity) -> list[str]:
    """What `team` owns that names a PagerDuty service, by ref: where its on-call lives."""
    return sorted(_owned_where(session, team, is_paged))


# The links a question can ask for by name ("runbook for payments"); None: any link.
HAS_LINK: dict[str | None, Callable[[CatalogEntity], bool]] = {
    "runbook": has_runbook, "docs": has_docs, "dashboard": has_dashboard,
    None: lambda e: bool(entity_links(e)),
}  # fmt: skip


def asked_link(question: str) -> str | None:
    """The kind of link `question` names (runbook, docs, dashboard), or None for any."""
    words = set(tokens(question))
    return "runbook" if words & {"runbook", "runbooks"} else "docs" if words & DOCS_WORDS else "dashboard" if words & DASHBOARD_WORDS else None


def linked_things(session: Session, owner: CatalogEntity, asked: str | None) -> list[EntitySummary]:
    """What `owner` (a team or person) owns that has the link asked for: a team's links are mostly its services'."""
    return summaries(session, _owned_where(session, owner, HAS_LINK[asked]))


def _owned_where(session: Session, owner: CatalogEntity, keep: Callable[[CatalogEntity], bool]) -> list[str]:
    """The refs of what `owner` owns that `keep` keeps."""
    return [ref for ref, e in get_entities(session, owned_refs(session, owner.ref)).items() if keep(e)]
