"""The answer card: an `Answer` as a Slack message (fallback text and Block Kit blocks).

Lists are cut with "and N more" and every text is cut to Slack's limits, so an answer about
an entity with 300 dependencies or a 5,000-character description still posts.
"""

from __future__ import annotations

from datetime import datetime

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextActionsBlock,
    DividerBlock,
    FeedbackButtonObject,
    FeedbackButtonsElement,
    HeaderBlock,
)

from bot.slack.ids import ActionId
from bot.slack.metadata import AskValue, FeedbackValue, ShareValue
from bot.slack.mrkdwn import escape, link, truncate
from bot.slack.views.parts import (
    BUTTON_LABEL,
    BUTTONS_SHOWN,
    HEADER_TEXT,
    MESSAGE_BLOCKS,
    NAME_SHOWN,
    SECTION_TEXT,
    card_title,
    channel,
    clip,
    contact_details,
    context,
    entity_line,
    entity_link,
    fit,
    freshness,
    inline,
    listing,
    mention,
    name_of,
    people,
    plain,
    section,
)
from bot.slack.views.urls import ownership_url
from catalog.answers.card import expects_runbook, is_runbook
from catalog.answers.models import Answer, Contact, EntityCard, EntitySummary, IncidentSummary, LinkInfo
from catalog.answers.text import gap_heading

FOCUS_ITEMS = 25  # the list the question asked for
OTHER_ITEMS = 8  # lists shown for context
FALLBACK_TEXT = 3000
DESCRIPTION_SHOWN = 1000


def render_answer(answer: Answer, *, public_url: str, now: datetime, ephemeral: bool = False) -> tuple[str, list[dict]]:
    """Fallback text and blocks for `answer`; `ephemeral` adds "Share in channel" (the asker alone sees it)."""
    body: list[Block] = []
    for part in answer.parts or [answer]:  # several subjects: one answer after the other
        body += ([DividerBlock()] if body else []) + _body(part, public_url)
    blocks = fit(body, _tail(answer, public_url, now, ephemeral), MESSAGE_BLOCKS)
    return _fallback(answer), [b.to_dict() for b in blocks]


def _body(answer: Answer, public_url: str) -> list[Block]:
    if answer.status in ("help", "unknown"):
        return _help(answer, public_url)
    if answer.status in ("ambiguous", "not_found"):
        return _choices(answer, public_url)
    if answer.intent == "gaps":
        return _gaps(answer, public_url)
    if answer.card is not None:
        return _card(answer, answer.card, public_url)
    # an answer built without a card: its plain text is still the answer
    return [section(escape(answer.text or "\n".join(answer.notes) or "No answer."))]


def _fallback(answer: Answer) -> str:
    """Notification and screen-reader text. It is mrkdwn too, so it is escaped like the rest."""
    return truncate(escape(answer.text or answer.question), FALLBACK_TEXT)


def _help(answer: Answer, public_url: str) -> list[Block]:
    """Help, small talk and "what did you mean?": a line, the nearest names if any, then examples to click."""
    if answer.message:
        intro = escape(answer.message)
    elif answer.status == "help":
        intro = "I answer questions about the software catalog: who owns what, who is in a team, dependencies and links."
    else:
        intro = f"Sorry, I didn't understand “{escape(clip(answer.question, NAME_SHOWN))}”."
    blocks: list[Block] = [section(f"{intro}\nAsk me in a channel with a mention, in a DM, or with `/wayfinder`. Try one of these:")]
    for c in answer.candidates[:BUTTONS_SHOWN]:
        value = AskValue(question=f"who owns {c.name}?", ref=c.ref, intent="owner")
        blocks.append(section(_candidate(c, public_url), accessory=_ask_button(name_of(c), value)))
    for question in answer.examples[:BUTTONS_SHOWN]:
        value = AskValue(question=question, ref=None, intent="help")
        blocks.append(section(f"• {escape(question)}", accessory=_ask_button("Ask", value)))
    return blocks


def _gaps(answer: Answer, public_url: str) -> list[Block]:
    """Each gap: how many, then the entities (cut), each linked to its page."""
    blocks: list[Block] = []
    for gap in answer.gaps:
        head = f"*{escape(gap_heading(gap.scope, gap.label))} ({gap.total})*"
        empty = "None." if gap.is_listing else "None: nothing is missing here."
        lines = [entity_line(i, public_url) for i in gap.items]
        more = gap.total - len(gap.items)
        body = listing(lines, limit=SECTION_TEXT - len(head) - 40, max_items=FOCUS_ITEMS) if lines else empty
        blocks.append(section(f"{head}\n{body}" + (f"\n…and {more} more" if more > 0 else "")))
    return blocks


def _choices(answer: Answer, public_url: str) -> list[Block]:
    """"Did you mean …?": one section per candidate, each with its own button (action ids must be unique per block)."""
    if answer.message:  # a question back about a team's things: "payments has no runbook link of its own ..."
        intro = escape(answer.message)
    elif answer.status == "ambiguous":
        intro = f"Several things match “{escape(clip(answer.question, NAME_SHOWN))}”. Which one did you mean?"
    else:
        intro = "\n".join(escape(n) for n in answer.notes) or "Nothing in the catalog matches that."
        intro += "\nThe nearest names:" if answer.candidates else "\nTry `help` to see what I can answer."
    blocks: list[Block] = [section(intro)]
    for c in answer.candidates[:BUTTONS_SHOWN]:
        value = AskValue(question=answer.question, ref=c.ref, intent=answer.intent)
        blocks.append(section(_candidate(c, public_url), accessory=_ask_button(name_of(c), value)))
    if len(answer.candidates) > BUTTONS_SHOWN:
        # The kind narrows only candidates of several kinds: "who owns the api" offers APIs alone.
        narrow = "add the kind (“service”, “team”)" if len({c.kind for c in answer.candidates}) > 1 else "type more of the name"
        blocks.append(context(f"…and {len(answer.candidates) - BUTTONS_SHOWN} more; {narrow} to narrow it down."))
    return blocks


def _teams(answer: Answer, public_url: str) -> list[str]:
    lines = [f"• {_reach_line(t, public_url)}" for t in answer.teams]
    return ["*Teams*\n" + listing(lines, limit=SECTION_TEXT - 20, max_items=FOCUS_ITEMS)] if lines else []


def _candidate(c: EntitySummary, public_url: str) -> str:
    owner = f" · owned by {escape(clip(c.owner_ref.rpartition('/')[2], NAME_SHOWN))}" if c.owner_ref else ""
    description = f"\n{escape(clip(c.description, 200))}" if c.description else ""
    return entity_line(c, public_url) + owner + description


def _ask_button(label: str, value: AskValue) -> ButtonElement:
    return ButtonElement(text=plain(label, BUTTON_LABEL), action_id=ActionId.DID_YOU_MEAN, value=value.model_dump_json())


def _card(answer: Answer, card: EntityCard, public_url: str) -> list[Block]:
    e = card.entity
    lines = [_lead(answer, card, public_url)]
    lines += [f":warning: {escape(n)}" for n in answer.notes]
    if e.description:
        lines.append(escape(clip(e.description, DESCRIPTION_SHOWN)))
    blocks: list[Block] = [HeaderBlock(text=plain(card_title(card), HEADER_TEXT)), section("\n".join(lines))]
    focus = _focus(answer, card, public_url)
    blocks += [section(text) for text in focus if text]
    fields = _fields(card, public_url)
    if fields:
        blocks.append(section(None, fields=fields))
    extra = [
        _ask(card) if answer.intent != "members" else None,
        _links(card.links, bullets=False) if answer.intent != "links" else None,
        _runbook_warning(card),
        _list("Depends on", card.depends_on, public_url, OTHER_ITEMS) if answer.intent != "depends_on" else None,
        _list("Used by", card.dependents, public_url, OTHER_ITEMS) if answer.intent != "dependents" else None,
    ]
    blocks += [section(text) for text in extra if text]
    return blocks


def _lead(answer: Answer, card: EntityCard, public_url: str) -> str:
    e, owner = card.entity, card.owner
    subject = entity_link(e, public_url)
    if answer.message:
        return f"{subject}: {escape(answer.message)}"
    if answer.intent in ("owner", "about", "oncall", "contact") and owner is not None and owner.ref != e.ref:
        where = channel(owner)
        return f"{subject} is owned by {entity_link(owner, public_url)}" + (f" · {where}" if where else "")
    return f"{subject} · {escape(', '.join(x for x in (e.kind, e.type) if x))}"


def _focus(answer: Answer, card: EntityCard, public_url: str) -> list[str]:
    """The list the question asked about, long and first."""
    if answer.intent == "about":  # the description, system and lifecycle are on every card; tags only here
        return [f"*Tags*: {escape(clip(', '.join(card.tags), SECTION_TEXT - 20))}"] if card.tags else []
    if answer.intent == "owned_by":  # a person's own things, then the teams they are in
        return [_list("Owns", answer.items, public_url, FOCUS_ITEMS) or "*Owns*: nothing in the catalog", *_teams(answer, public_url)]
    if answer.intent == "members":
        lines = [f"• {mention(p)}" + (f" · {escape(p.email)}" if p.email else "") for p in answer.members]
        leads = [f"*Leads*: {people(answer.owner.leads, max_items=OTHER_ITEMS)}"] if answer.owner and answer.owner.leads else []
        return ([f"*Members ({len(lines)})*\n" + listing(lines, limit=SECTION_TEXT - 20, max_items=FOCUS_ITEMS)] if lines else []) + leads
    if answer.intent == "depends_on":
        return [_list("Depends on", card.depends_on, public_url, FOCUS_ITEMS) or "*Depends on*: nothing declared"]
    if answer.intent == "dependents":
        return [_list("Used by", card.dependents, public_url, FOCUS_ITEMS) or "*Used by*: nothing in the catalog"]
    if answer.intent == "apis":
        return [_list("APIs", answer.items, public_url, FOCUS_ITEMS) or "*APIs*: none in the catalog"]
    if answer.intent == "links":
        return [_links(card.links, bullets=True) or "*Links*: none in the catalog"]
    if answer.intent in ("team_of", "owner"):  # "what team is nadia on", "who is nadia": a person's teams
        return _teams(answer, public_url)
    if answer.intent == "contact" and answer.owner is not None:
        lines = [f"*Reach*: {_reach_line(answer.owner, public_url)}"]
        if answer.paged_via:
            lines.append(_list("On call through PagerDuty for", answer.paged_via, public_url, OTHER_ITEMS) or "")
        return lines
    if answer.intent == "lifecycle" and answer.items:
        return [_list("Still used by", answer.items, public_url, FOCUS_ITEMS) or ""]
    if answer.intent == "incidents":
        lines = [_incident_line(i) for i in answer.incidents]
        return (
            [f"*Open alerts ({len(lines)})*\n" + listing(lines, limit=SECTION_TEXT - 30, max_items=FOCUS_ITEMS)]
            if lines
            else ["*Open alerts*: none received"]
        )
    return []


def _incident_line(i: IncidentSummary) -> str:
    """`• <url|title> · acknowledged by Ana · pagerduty`: who is handling it, or that nobody has said so yet."""
    title = link(i.url, clip(i.title, NAME_SHOWN)) if i.url else escape(clip(i.title, NAME_SHOWN))
    who = f"acknowledged by {escape(clip(i.acknowledged_by, NAME_SHOWN))}" if i.acknowledged_by else "not acknowledged yet"
    return f"• {title} · {escape(i.status)} · {who} · {escape(i.provider)}"


def _reach_line(c: Contact, public_url: str) -> str:
    """A team or person with every way to reach it: channel, user group, email."""
    details = contact_details(c)
    return entity_link(c, public_url) + (
        " · " + " · ".join(details) if details else " · :warning: no Slack channel or email in the catalog"
    )


def _fields(card: EntityCard, public_url: str) -> list[str]:
    e, owner = card.entity, card.owner
    fields = []
    if owner is None:
        fields.append("*Owner*\n:warning: none in the catalog")
    elif owner.ref != e.ref:
        fields.append(f"*Owner*\n{entity_link(owner, public_url)}")
    if owner is not None and (details := contact_details(owner)):
        fields.append("*Contact*\n" + " · ".join(details))
    for label, part in (("System", card.system), ("Domain", card.domain), ("Part of", card.parent)):
        if part is not None:
            fields.append(f"*{label}*\n{entity_link(part, public_url)}")
    if e.lifecycle:
        fields.append(f"*Lifecycle*\n{escape(clip(e.lifecycle, NAME_SHOWN))}")
    return fields


def _ask(card: EntityCard) -> str | None:
    """Who to ask: the team's leads and members, or the owning person."""
    owner = card.owner
    if owner is None:
        return None
    if owner.kind == "user":
        return f"*Ask*: {mention(owner)}" + (f" · {escape(owner.email)}" if owner.email else "")
    leads = f"*Leads*: {people(owner.leads, max_items=OTHER_ITEMS)}\n" if owner.leads else ""
    return f"{leads}*Ask*: {people(owner.members, max_items=OTHER_ITEMS)}" if owner.members else leads.strip() or None


def _links(links: list[LinkInfo], *, bullets: bool) -> str | None:
    if not links:
        return None
    parts = [link(x.url, clip(x.title, NAME_SHOWN)) for x in links]
    if bullets:
        return f"*Links ({len(parts)})*\n" + listing([f"• {p}" for p in parts], limit=SECTION_TEXT - 20, max_items=FOCUS_ITEMS)
    return "*Links*: " + inline(parts, max_items=OTHER_ITEMS, sep=" · ")


def _runbook_warning(card: EntityCard) -> str | None:
    e = card.entity
    if expects_runbook(e.kind, e.type) and not any(is_runbook(x) for x in card.links):
        return ":warning: No runbook link in the catalog."
    return None


def _list(title: str, items: list[EntitySummary], public_url: str, max_items: int) -> str | None:
    if not items:
        return None
    heading = f"*{title} ({len(items)})*\n"
    return heading + listing([entity_line(i, public_url) for i in items], limit=SECTION_TEXT - len(heading), max_items=max_items)


def _tail(answer: Answer, public_url: str, now: datetime, ephemeral: bool) -> list[Block]:
    """Freshness, the page and share buttons, and feedback: kept whatever the body had to drop."""
    tail: list[Block] = []
    sources = answer.card.sources if answer.card else answer.sources
    for part in answer.parts:
        sources = sources + [s for s in (part.card.sources if part.card else part.sources) if s not in sources]
    if answer.intent != "sources" and (line := freshness(sources, now)):  # a sources answer is its freshness
        tail.append(context(line))
    ref = answer.subject.ref if answer.subject else None
    buttons = []
    if ref:
        url = ownership_url(public_url, ref)
        buttons.append(ButtonElement(text=plain("Open in Wayfinder", BUTTON_LABEL), url=url, action_id=ActionId.LINK))
    if ephemeral:
        share = ShareValue(question=answer.question).model_dump_json()
        buttons.append(ButtonElement(text=plain("Share in channel", BUTTON_LABEL), action_id=ActionId.SHARE, value=share, style="primary"))
    if buttons:
        tail.append(ActionsBlock(elements=buttons))
    tail.append(_feedback(answer, ref))
    return tail


def _feedback(answer: Answer, ref: str | None) -> ContextActionsBlock:
    """👍/👎 as one feedback_buttons element: one action id, the value says which."""

    def button(text: str, label: str, helpful: bool) -> FeedbackButtonObject:
        value = FeedbackValue(question=answer.question, intent=answer.intent, ref=ref, helpful=helpful)
        return FeedbackButtonObject(text=plain(text, BUTTON_LABEL), accessibility_label=label, value=value.model_dump_json())

    return ContextActionsBlock(
        elements=[
            FeedbackButtonsElement(
                action_id=ActionId.FEEDBACK,
                positive_button=button("👍", "This answer was helpful", True),
                negative_button=button("👎", "This answer was not helpful", False),
            )
        ]
    )
