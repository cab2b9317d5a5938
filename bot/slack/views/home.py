"""App Home for one person, and the search modal its button opens."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from slack_sdk.models.blocks import Block, ButtonElement, HeaderBlock, InputBlock, PlainTextInputElement
from slack_sdk.models.views import View

from bot.slack.ids import ActionId, BlockId, CallbackId
from bot.slack.mrkdwn import escape
from bot.slack.views.parts import (
    BUTTON_LABEL,
    NAME_SHOWN,
    SECTION_TEXT,
    VIEW_BLOCKS,
    clip,
    contact_details,
    context,
    entity_line,
    fit,
    listing,
    name_of,
    plain,
    section,
)
from catalog.answers.home import EntityGaps, HomeSummary, Missing, TeamSummary

OWNED_SHOWN = 15
GAPS_SHOWN = 25
MISSING_WORDS = {
    Missing.OWNER: "no owner",
    Missing.SLACK_CHANNEL: "owner team has no Slack channel",
    Missing.RUNBOOK: "no runbook link",
    Missing.FRESH_DATA: "stale data",
}
QUESTION_MAX = 500


def render_home(summary: HomeSummary, *, examples: list[str], now: datetime, public_url: str | None = None, requests: Sequence[Block] = ()) -> dict:
    """The `home` view: your teams, what they own, what needs fixing, how to ask. Names link to pages when `public_url` is given."""
    search = ButtonElement(text=plain("Search the catalog", BUTTON_LABEL), action_id=ActionId.HOME_SEARCH, style="primary")
    body: list[Block] = [
        HeaderBlock(text=plain("Wayfinder: who owns what", 150)),
        section(
            "Ask me about services, teams, APIs and their owners: mention me in a channel, send me a DM, or use `/wayfinder`.",
            accessory=search,
        ),
    ]
    if summary.user is None:
        body.append(section(
            "I couldn't match your Slack account to a User in the catalog, so I can't show your teams. "
            "Ask the catalog's maintainers to add a User whose `spec.profile.email` is your Slack email."
        ))  # fmt: skip
    elif not summary.teams:
        body.append(
            section(f"You're in the catalog as *{escape(clip(name_of(summary.user), NAME_SHOWN))}*, but not in any team (`spec.memberOf`).")
        )
    body += list(requests)  # your action requests and the approvals waiting for you
    body += [_team(t, public_url) for t in summary.teams]
    if summary.gaps:
        body.append(_gaps(summary.gaps, public_url))
    if examples:
        body.append(section("*Try asking*\n" + listing([f"• {escape(q)}" for q in examples], limit=SECTION_TEXT - 20)))
    tail: list[Block] = [context(f"Updated {now:%Y-%m-%d %H:%M} UTC")]
    return View(type="home", blocks=fit(body, tail, VIEW_BLOCKS)).to_dict()


def _team(t: TeamSummary, public_url: str | None) -> Block:
    head = " · ".join([f"*{escape(clip(name_of(t.team), NAME_SHOWN))}*", *contact_details(t.team)])
    owns = f"Owns {len(t.owns)}:\n" + listing(
        [entity_line(e, public_url) for e in t.owns], limit=SECTION_TEXT - len(head) - 20, max_items=OWNED_SHOWN
    )
    levels = "".join(f"\n{escape(x.scorecard_title)}: " + " · ".join(f"{escape(label)} {n}" for label, n in x.counts.items()) for x in t.levels)
    return section(f"{head}\n{owns if t.owns else 'Owns nothing in the catalog yet.'}{levels}")


def _gaps(gaps: list[EntityGaps], public_url: str | None) -> Block:
    def line(g: EntityGaps) -> str:
        words = [MISSING_WORDS[m] for m in g.missing if m is not Missing.FRESH_DATA]
        if g.stale_sources:
            words.append("stale source " + ", ".join(escape(s) for s in g.stale_sources))
        return f"{entity_line(g.entity, public_url)}: {'; '.join(words)}"

    heading = f"*Needs attention ({len(gaps)})*\n"
    return section(heading + listing([line(g) for g in gaps], limit=SECTION_TEXT - len(heading), max_items=GAPS_SHOWN))


def render_search_modal() -> dict:
    """A one-field modal; its submission is answered like any other question."""
    question = InputBlock(
        block_id=BlockId.QUESTION,
        label=plain("Question", 2000),
        element=PlainTextInputElement(
            action_id=ActionId.QUESTION, placeholder=plain("who owns payments-service?", 150), max_length=QUESTION_MAX
        ),
    )
    return View(
        type="modal", callback_id=CallbackId.SEARCH_MODAL, title=plain("Search Wayfinder", 24), submit=plain("Ask", 24),
        close=plain("Cancel", 24), blocks=[question],
    ).to_dict()  # fmt: skip
