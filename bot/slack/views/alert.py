"""The ownership card for an alert (`catalog.alerts.card.AlertCard`) as a Slack message, and its thread lines.

Everything from the alert and the catalog is escaped (`bot.slack.mrkdwn`); people are mentioned
only by ids that look like Slack ids. An unknown or ownerless entity gets a loud header instead of
a card with blanks in it.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime

from slack_sdk.models.blocks import ActionsBlock, Block, ButtonElement, HeaderBlock

from bot.slack.ids import ActionId
from bot.slack.mrkdwn import escape, link, truncate
from bot.slack.views.parts import (
    BUTTON_LABEL,
    HEADER_TEXT,
    MESSAGE_BLOCKS,
    NAME_SHOWN,
    channel,
    clip,
    context,
    entity_line,
    entity_link,
    fit,
    freshness,
    inline,
    listing,
    mention,
    name_of,
    plain,
    section,
)
from bot.slack.views.urls import ownership_url
from catalog.alerts.card import NOT_A_CHANNEL_ID, AlertCard
from catalog.answers.card import is_runbook
from catalog.answers.freshness import ago
from catalog.answers.models import Person

STATUS_ICON = {"triggered": ":rotating_light:", "acknowledged": ":eyes:", "resolved": ":white_check_mark:"}
BLAST_RADIUS_SHOWN = 8
ONCALL_SHOWN = 3
ALERTS_SHOWN = 10  # of a group's alerts on one entity
FALLBACK_TEXT = 300  # the notification: the alert and its owner, not the card
ALERT_CARD = "alert_card"  # the value of the card's URL button: its clicks count as alert cards opened


def render_alert_card(card: AlertCard, *, public_url: str, now: datetime) -> tuple[str, list[dict]]:
    """(fallback text, blocks) for `chat.postMessage` / `chat.update`."""
    icon = STATUS_ICON.get(card.status, ":bell:")
    header = HeaderBlock(text=plain(f"{card.status.upper()}: {card.title}", HEADER_TEXT))
    title = link(card.url, clip(card.title, NAME_SHOWN)) if card.url else escape(clip(card.title, NAME_SHOWN))
    facts = [f"{icon} *{escape(card.status)}* · {escape(card.provider)}", f"*Alert:* {title}"]
    if card.severity:
        facts.append(f"*Severity:* {escape(clip(card.severity, NAME_SHOWN))}")
    if card.acknowledged_by:
        facts.append(f"*Acknowledged by:* {escape(clip(card.acknowledged_by, NAME_SHOWN))}")
    body: list[Block] = [header, section(None, fields=facts)]
    body += [_alert_list(card)] if len(card.alerts) > 1 else []
    body += [_rerouted(card)] if card.rerouted else []
    body += _loud(card, public_url) if card.loud else []
    body += _ownership(card, public_url) if card.page else []
    tail: list[Block] = []
    if card.page and (line := freshness(card.page.card.sources, now)):
        tail.append(context(line))
    if card.page:
        url = ownership_url(public_url, card.page.card.entity.ref)
        tail.append(ActionsBlock(elements=[ButtonElement(text=plain("Ownership page", BUTTON_LABEL), url=url, action_id=ActionId.LINK, value=ALERT_CARD)]))
    return _fallback(card), [b.to_dict() for b in fit(body, tail, MESSAGE_BLOCKS)]


def render_alert_line(card: AlertCard) -> str:
    """The thread line for a change of state: `:eyes: Acknowledged by Ana`."""
    who = f" by {escape(clip(card.acknowledged_by, NAME_SHOWN))}" if card.status == "acknowledged" and card.acknowledged_by else ""
    return f"{STATUS_ICON.get(card.status, ':bell:')} {escape(card.status.capitalize())}{who}"


def _fallback(card: AlertCard) -> str:
    """Notification text. Slack parses it as mrkdwn too, so the alert and the owner's name are escaped like the blocks."""
    whose = f" (owner: {escape(name_of(card.owner))})" if card.owner else " (owner unknown)"
    return truncate(f"{escape(card.status.upper())}: {escape(card.title)}{whose}", FALLBACK_TEXT)


def _alert_list(card: AlertCard) -> Block:
    """The group's alerts on this entity, alike ones counted once: what fires here, and what has resolved."""
    counts = Counter((a.status, a.summary) for a in card.alerts)
    lines = [f"{STATUS_ICON.get(status, ':bell:')} {escape(clip(summary, NAME_SHOWN))}" + (f" ×{n}" if n > 1 else "") for (status, summary), n in counts.items()]
    return section(f"*Alerts ({len(card.alerts)}):*\n" + listing(lines, max_items=ALERTS_SHOWN))


def _rerouted(card: AlertCard) -> Block:
    """Why the card is here and not in its owner's channel, so someone fixes the annotation or the channel."""
    owner = card.owner
    whose = f"{escape(clip(name_of(owner), NAME_SHOWN))}'s channel" if owner else "The owner's channel"
    where = f" `{escape(clip(owner.slack_channel_id, NAME_SHOWN))}`" if owner and owner.slack_channel_id else ""
    why = "it is not a Slack channel id" if card.rerouted == NOT_A_CHANNEL_ID else f"Slack answered `{escape(card.rerouted or '')}`"
    return context(f":warning: Posted here: {whose}{where} could not be used ({why}).")


def _loud(card: AlertCard, public_url: str) -> list[Block]:
    contact = escape(card.fallback_contact)
    if card.loud == "unknown":
        names = inline([f"`{escape(clip(n, NAME_SHOWN))}`" for n in card.alert_names], max_items=5)
        # a name may match nothing, or several things with no one owner: either way it names no one entity
        named = f"No one entity in the catalog answers to {names}." if names else "The alert names no service in the labels or fields Wayfinder reads (`alerts.labels`)."
        text = (
            f":warning: *Nobody in the catalog owns this alert.* {named} "
            f"Contact {contact}, and declare the service with its `spec.owner` in a catalog-info.yaml."
        )
    else:
        where = card.page.defined_in if card.page else None
        declare = f"in `{escape(where)}`" if where else "in its catalog-info.yaml"
        if card.missing_owner:
            text = (
                f":warning: *This entity has no owner:* its owner `{escape(card.missing_owner)}` is not in the catalog. "
                f"Contact {contact}, and fix `spec.owner` {declare} or add the owner to the catalog."
            )
        else:
            text = f":warning: *This entity has no owner.* Contact {contact}, and add `spec.owner` {declare}."
    return [section(text)]


def _ownership(card: AlertCard, public_url: str) -> list[Block]:
    page = card.page
    assert page is not None
    entity = page.card.entity
    matched = f" (matched from `{escape(clip(card.matched, NAME_SHOWN))}`)" if card.matched else ""
    fields = [f"*Service:* {entity_link(entity, public_url)}{matched}"]
    if page.card.owner is not None:
        owner = page.card.owner
        where = channel(owner)
        fields.append(f"*Owner:* {entity_link(owner, public_url)}" + (f" · {where}" if where else ""))
    fields.append(f"*On call now:* {_oncall(card)}")
    if page.oncall and page.oncall.answer and page.oncall.answer.escalation_policy:
        policy = page.oncall.answer.escalation_policy
        fields.append(
            f"*Escalation:* {link(policy.url, clip(policy.name, NAME_SHOWN)) if policy.url else escape(clip(policy.name, NAME_SHOWN))}"
        )
    runbooks = [x for x in page.links if is_runbook(x)]
    dashboards = [x for x in page.links if (x.type or "").lower() == "dashboard" or "dashboard" in x.title.lower()]
    fields.append("*Runbook:* " + (inline([link(x.url, clip(x.title, NAME_SHOWN)) for x in runbooks], max_items=2) or ":warning: none declared"))
    if dashboards:
        fields.append("*Dashboards:* " + inline([link(x.url, clip(x.title, NAME_SHOWN)) for x in dashboards], max_items=3))
    blocks: list[Block] = [section(None, fields=fields)]
    if card.dependents:
        lines = [entity_line(d, public_url) + _owned_by(card, d.owner_ref) for d in card.dependents]
        blocks.append(section("*Blast radius (depends on it):*\n" + listing(lines, max_items=BLAST_RADIUS_SHOWN)))
    if card.changes:
        changes = [f"{escape(c.what)} by {escape(c.source)} {ago(c.at, card.as_of)}" for c in card.changes]
        blocks.append(context("*Catalog changes in the last 24 h:* " + inline(changes, max_items=3)))
    if page.oncall and page.oncall.note:
        blocks.append(context(escape(page.oncall.note)))
    return blocks


def _owned_by(card: AlertCard, owner_ref: str | None) -> str:
    return f" · owner {escape(clip(card.owner_names.get(owner_ref, owner_ref.rpartition('/')[2]), NAME_SHOWN))}" if owner_ref else " · no owner"


def _oncall(card: AlertCard) -> str:
    oncall = card.page.oncall if card.page else None
    if oncall is None or oncall.answer is None or not oncall.answer.shifts:
        return ":warning: nobody known"
    shown = []
    for shift in oncall.answer.shifts[:ONCALL_SHOWN]:
        shown.append(mention(Person(ref=shift.user.id, name=shift.user.name, slack_user_id=oncall.slack_user_ids.get(shift.user.id))))
    return inline(shown, max_items=ONCALL_SHOWN)
