"""Pieces every renderer shares: Slack's size limits, safe text objects, people, owners, lists.

Catalog strings enter mrkdwn only through `bot.slack.mrkdwn` (escaped, verbatim) and plain_text
neutralised but otherwise as they are (Slack parses no markup there); Slack ids are used only when they look like ids, so
an annotation cannot smuggle in `<!channel>`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime

from slack_sdk.models.blocks import Block, BlockElement, ContextBlock, MarkdownTextObject, PlainTextObject, SectionBlock

from bot.slack.mrkdwn import ELLIPSIS, escape, link, truncate
from bot.slack.views.urls import ownership_url
from catalog.answers.card import is_channel_id
from catalog.answers.freshness import describe_all
from catalog.answers.models import Contact, EntityCard, EntitySummary, Person
from catalog.safe_text import neutralise
from catalog.store.merge import Freshness

# Slack's documented limits (SLACK-FACTS.md §4).
MESSAGE_BLOCKS = 50
VIEW_BLOCKS = 100
SECTION_TEXT = 3000
FIELD_TEXT = 2000
SECTION_FIELDS = 10
BUTTON_LABEL = 75
HEADER_TEXT = 150
BUTTONS_SHOWN = 5
NAME_SHOWN = 80  # a name in a list; long titles would crowd out the rest
LINE_TEXT = 500  # one line of a list

USER_ID = re.compile(r"^[UW][A-Z0-9]{2,20}$")
RELATION_WORDS = {"partOf": "part of"}  # other relations read naturally from the list heading


def clip(text: str, limit: int) -> str:
    """Shorten plain (unescaped) text to `limit` characters with "…"."""
    return text if len(text) <= limit else text[: limit - len(ELLIPSIS)] + ELLIPSIS


def md(text: str, limit: int = SECTION_TEXT) -> MarkdownTextObject:
    """A mrkdwn object for text already escaped by the caller; verbatim stops auto-linking of names."""
    return MarkdownTextObject(text=truncate(text, limit), verbatim=True)


def plain(text: str, limit: int) -> PlainTextObject:
    return PlainTextObject(text=clip(neutralise(text), limit), emoji=True)


def section(text: str | None, *, fields: Sequence[str] = (), accessory: BlockElement | None = None) -> SectionBlock:
    return SectionBlock(
        text=md(text) if text else None, fields=[md(f, FIELD_TEXT) for f in fields[:SECTION_FIELDS]] or None, accessory=accessory
    )


def context(text: str) -> ContextBlock:
    return ContextBlock(elements=[md(text)])


def listing(lines: Sequence[str], *, limit: int = SECTION_TEXT, max_items: int | None = None) -> str:
    """Whole lines joined by newlines, ending "and N more" when they do not all fit in `limit`."""
    shown: list[str] = []
    size = 0
    cap = len(lines) if max_items is None else min(max_items, len(lines))
    for i, line in enumerate(lines[:cap]):
        rest = len(lines) - i - 1
        reserve = len(f"\n…and {len(lines)} more") if rest else 0
        if size + len(line) + 1 + reserve > limit:
            break
        shown.append(line)
        size += len(line) + 1
    hidden = len(lines) - len(shown)
    return "\n".join(shown + ([f"…and {hidden} more"] if hidden else []))


def fit(body: list[Block], tail: list[Block], max_blocks: int) -> list[Block]:
    """`body + tail` within `max_blocks`: body blocks beyond the budget become one "and N more" line."""
    room = max_blocks - len(tail)
    if len(body) <= room:
        return body + tail
    kept = body[: room - 1]
    return kept + [context(f"…and {len(body) - len(kept)} more sections not shown")] + tail


def name_of(e: EntitySummary | Contact | Person) -> str:
    return e.display_name or e.name


def card_title(card: EntityCard) -> str:
    """A team's or person's display name lives in its profile, which the contact carries."""
    own = card.owner if card.owner and card.owner.ref == card.entity.ref else None
    return (own and own.display_name) or name_of(card.entity)


def entity_link(e: EntitySummary | Contact, public_url: str | None) -> str:
    label = clip(name_of(e), NAME_SHOWN)
    return link(ownership_url(public_url, e.ref), label) if public_url else f"*{escape(label)}*"


def entity_line(e: EntitySummary, public_url: str | None) -> str:
    """`• Name (kind, type)`, plus how it relates (`API`, `via payments-grpc`) in dependency lists."""
    what = ", ".join(escape(clip(x, NAME_SHOWN)) for x in (e.kind, e.type) if x)
    how = RELATION_WORDS.get(e.relation or "", "")
    via = f"via {escape(clip(e.via.rpartition('/')[2], NAME_SHOWN))}" if e.via else ""
    extra = " · ".join(x for x in (how, via) if x)
    return truncate(f"• {entity_link(e, public_url)} ({what})" + (f" · {extra}" if extra else ""), LINE_TEXT)


def mention(p: Person | Contact) -> str:
    """`<@U…>` only for an id that looks like a Slack user id; otherwise the escaped name."""
    uid = p.slack_user_id
    return f"<@{uid}>" if uid and USER_ID.match(uid) else escape(clip(name_of(p), NAME_SHOWN))


def channel(c: Contact) -> str | None:
    """`<#C…>` when the channel id is known, else the channel name as text."""
    if is_channel_id(c.slack_channel_id):
        return f"<#{c.slack_channel_id}>"
    return escape(c.slack_channel) if c.slack_channel else None


def contact_details(c: Contact) -> list[str]:
    """Channel, user group handle and email. The handle is text, not `<!subteam^…>`: a card must not page a team."""
    handle = f"`@{escape(c.slack_usergroup_handle.lstrip('@'))}`" if c.slack_usergroup_handle else None
    return [x for x in (channel(c), handle, escape(c.email) if c.email else None) if x]


def inline(parts: Sequence[str], *, max_items: int, sep: str = ", ") -> str:
    """The first `max_items` parts on one line, then "and N more"."""
    more = f" and {len(parts) - max_items} more" if len(parts) > max_items else ""
    return sep.join(parts[:max_items]) + more


def people(persons: Sequence[Person], *, max_items: int = 10) -> str:
    return inline([mention(p) for p in persons], max_items=max_items)


def freshness(sources: Sequence[Freshness], now: datetime) -> str | None:
    """The context line: "from northwind, synced 3 min ago"; a failing source leads with a warning."""
    if not sources:
        return None
    warn = ":warning: " if any(f.stale for f in sources) else ""
    return warn + escape(describe_all(list(sources), now))
