"""Link unfurls: a pasted ownership page link becomes a compact ownership card (chat.unfurl)."""

from __future__ import annotations

from datetime import datetime

from slack_sdk.models.blocks import Block

from bot.slack.mrkdwn import escape
from bot.slack.views.parts import NAME_SHOWN, card_title, clip, contact_details, context, freshness, mention, name_of, section
from bot.slack.views.urls import parse_ownership_url
from catalog.answers.models import EntityCard, Person
from catalog.pages.ownership import OwnershipPage

__all__ = ["parse_ownership_url", "render_alert_unfurl", "render_unfurl"]

DESCRIPTION_SHOWN = 300


def render_alert_unfurl(page: OwnershipPage, *, now: datetime, unchecked: str | None = None) -> dict:
    """A pasted alert link: the compact card plus who is on call now, so any shared alert carries both.

    `unchecked` names a vendor lookup that failed: the card then says it was placed from the link alone.
    """
    oncall = page.oncall
    shifts = oncall.answer.shifts if oncall and oncall.answer else []
    people = (
        [mention(Person(ref=s.user.id, name=s.user.name, slack_user_id=oncall.slack_user_ids.get(s.user.id))) for s in shifts[:3]]
        if oncall
        else []
    )
    line = "*On call now*: " + (", ".join(people) if people else ":warning: nobody known")
    if unchecked:
        line += f"\n:warning: Placed from the link alone: {escape(unchecked)}."
    return render_unfurl(page.card, now=now, oncall=line)


def render_unfurl(card: EntityCard, *, now: datetime, oncall: str | None = None) -> dict:
    """The value for one URL in chat.unfurl's `unfurls`: a few blocks, no buttons (the link is the page)."""
    e, owner = card.entity, card.owner
    what = ", ".join(escape(clip(x, NAME_SHOWN)) for x in (e.kind, e.type, e.lifecycle) if x)
    lines = [f"*{escape(clip(card_title(card), NAME_SHOWN))}* · {what}"]
    if e.description:
        lines.append(escape(clip(e.description, DESCRIPTION_SHOWN)))
    if owner is None:
        lines.append(":warning: No owner in the catalog.")
    else:
        label = "Team" if owner.ref == e.ref else "Owner"
        lines.append(" · ".join([f"*{label}*: {escape(clip(name_of(owner), NAME_SHOWN))}", *contact_details(owner)]))
    placed = [f"{label}: {escape(clip(name_of(p), NAME_SHOWN))}" for label, p in (("System", card.system), ("Domain", card.domain)) if p]
    if placed:
        lines.append(" · ".join(placed))
    lines += [oncall] if oncall else []
    blocks: list[Block] = [section("\n".join(lines))]
    if line := freshness(card.sources, now):
        blocks.append(context(line))
    return {"blocks": [b.to_dict() for b in blocks]}
