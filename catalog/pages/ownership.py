"""What an ownership page (`/o/{kind}/{namespace}/{name}`) shows: the card, on-call now, and the gaps.

The page is what a responder opens from an alert, so it carries the same facts as the Slack card
(`catalog.answers.card`) plus who is on call now and, for every missing fact, where to add it. Retired
entities still have a page (old alerts and messages link to them), marked, with their last owner.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from pathlib import Path

from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlmodel import Session, col

from catalog.answers.card import SLACK_CHANNEL, build_card, expects_runbook, is_runbook
from catalog.answers.models import Contact, EntityCard, LinkInfo
from catalog.answers.oncall import OnCallAnswer, no_oncall_note, on_call, staleness_note
from catalog.safe_text import safe_href
from catalog.scorecards.scores import EntityScore
from catalog.store.merge import CatalogEntity, merge, source_states
from catalog.store.models import Entity
from catalog.store.reads import generation_seen, get_entity, load_neighbourhood

# Links in the order a responder reaches for them: runbook, dashboards, then code and docs.
LINK_ORDER = ("runbook", "dashboard", "repo", "docs")


class Gap(BaseModel):
    """A fact the catalog lacks, said out loud with where to fix it."""

    what: str
    fix: str


class OnCallNow(BaseModel):
    """On-call judged at the page's moment; `slack_user_ids` maps PagerDuty user ids to Slack ids for DM links."""

    answer: OnCallAnswer | None = None
    note: str | None = None  # why the shifts may be stale, or why nobody is shown
    slack_user_ids: dict[str, str] = Field(default_factory=dict)


class OwnershipPage(BaseModel):
    card: EntityCard
    retired_at: datetime | None = None
    defined_in: str | None = None  # the file that declares the entity, relative to the config when it can be
    oncall: OnCallNow | None = None  # None: not something that gets paged, and PagerDuty knows nothing of it
    links: list[LinkInfo] = Field(default_factory=list)  # the card's links, runbook and dashboards first
    gaps: list[Gap] = Field(default_factory=list)
    scorecards: list[EntityScore] = Field(default_factory=list)  # its levels and the fixes to the next (`Catalog.ownership_page` fills them in)
    as_of: datetime
    generation: int | None = Field(default=None, exclude=True)  # the catalog's, as the page's data was read (None: unknown)


def has_usable_runbook(links: Iterable[LinkInfo]) -> bool:
    """A runbook link a browser can open: a `javascript:` one is shown as text, so a responder has no runbook."""
    return any(is_runbook(link) and safe_href(link.url) for link in links)


def link_rank(link: LinkInfo) -> int:
    if is_runbook(link):
        return 0
    kind = (link.type or "").lower()
    if kind == "dashboard" or "dashboard" in link.title.lower():
        return 1
    return LINK_ORDER.index(kind) if kind in LINK_ORDER else len(LINK_ORDER)


def defined_in(location: str | None, base: Path | None) -> str | None:
    """`catalog/components/x.yaml` rather than the server's absolute path (the line number dropped)."""
    if not location:
        return None
    path = location.rsplit(":", 1)[0] if location.rsplit(":", 1)[-1].isdigit() else location
    if base is not None and path.startswith("/"):
        try:
            return str(Path(path).relative_to(base))
        except ValueError:
            return path
    return path


def retired_entity(session: Session, ref: str) -> tuple[CatalogEntity, datetime] | None:
    """The last known view of a ref whose every row is retired, and when it was retired."""
    rows = list(session.scalars(select(Entity).where(col(Entity.ref) == ref.lower())))
    if not rows or any(r.retired_at is None for r in rows):
        return None
    entity = merge(rows, source_states(session))
    assert entity is not None
    return entity, max(r.retired_at for r in rows if r.retired_at is not None)


def ownership_page(session: Session, ref: str, *, now: datetime, base: Path | None = None) -> OwnershipPage | None:
    """The page for the canonical `ref`, active or retired; None when the catalog never had it."""
    retired_at = None
    load_neighbourhood(session, ref)  # the entity and everything its card shows, in one statement
    entity = get_entity(session, ref)
    if entity is None:
        found = retired_entity(session, ref)
        if found is None:
            return None
        entity, retired_at = found
    card = build_card(session, entity)
    where = defined_in(entity.location, base)
    oncall = _oncall(entity, card.owner, now)
    return OwnershipPage(
        card=card, retired_at=retired_at, defined_in=where, oncall=oncall,
        links=sorted(card.links, key=link_rank), gaps=_gaps(session, entity, card, where, base), as_of=now,
        generation=generation_seen(session),
    )  # fmt: skip


def _oncall(entity: CatalogEntity, owner: Contact | None, now: datetime) -> OnCallNow | None:
    answer = on_call(entity, now)
    if answer is None and not expects_runbook(entity.kind, entity.type):
        return None
    by_email = {m.email.lower(): m.slack_user_id for m in (owner.members if owner else []) if m.email and m.slack_user_id}
    if answer is not None and answer.shifts:
        note = staleness_note(answer, now)
        ids = {s.user.id: by_email[s.user.email.lower()] for s in answer.shifts if s.user.email and s.user.email.lower() in by_email}
        return OnCallNow(answer=answer, note=note, slack_user_ids=ids)
    return OnCallNow(answer=answer, note=no_oncall_note(entity, answer, now))


def _gaps(session: Session, entity: CatalogEntity, card: EntityCard, where: str | None, base: Path | None) -> list[Gap]:
    in_file = f" in {where}" if where else ""
    gaps = []
    if card.owner is None:
        gaps.append(Gap(what="No owner.", fix=f"Add spec.owner{in_file}."))
    elif entity.owner_ref and card.owner.ref == entity.owner_ref and get_entity(session, entity.owner_ref) is None:
        gaps.append(Gap(what=f"The owner {entity.owner_ref} is not in the catalog.", fix=f"Fix spec.owner{in_file}, or add that team."))
    elif card.owner.kind == "group" and not (card.owner.slack_channel or card.owner.slack_channel_id):
        owner = get_entity(session, card.owner.ref)
        owner_file = defined_in(owner.location if owner else None, base)
        gaps.append(
            Gap(
                what=f"{card.owner.name} has no Slack channel.",
                fix=f"Add the {SLACK_CHANNEL} annotation" + (f" in {owner_file}." if owner_file else "."),
            )
        )
    if expects_runbook(entity.kind, entity.type) and not has_usable_runbook(card.links):
        unusable = next((link.url for link in card.links if is_runbook(link)), None)
        if unusable is None:
            gaps.append(Gap(what="No runbook.", fix=f"Add one{in_file} (a link with type: runbook)."))
        else:
            gaps.append(Gap(what=f"No runbook: its runbook link is not a web address ({unusable}).", fix=f"Replace it{in_file} with an https link."))
    return gaps  # nobody on call is said in the on-call section itself, with what to do
