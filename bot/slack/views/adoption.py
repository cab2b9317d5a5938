"""Adoption in Slack: the weekly platform-team digest, an alias proposal for admins, the pulse survey."""

from __future__ import annotations

from slack_sdk.models.blocks import (
    Block,
    ButtonElement,
    HeaderBlock,
    InputBlock,
    Option,
    PlainTextInputElement,
    StaticSelectElement,
)
from slack_sdk.models.views import View

from bot.slack.ids import ActionId, BlockId, CallbackId
from bot.slack.metadata import FixValue
from bot.slack.mrkdwn import escape, link
from bot.slack.views.parts import BUTTON_LABEL, LINE_TEXT, MESSAGE_BLOCKS, NAME_SHOWN, clip, context, fit, plain, section
from catalog.adoption.report import AdoptionReport, Fix, headlines

UNANSWERED_SHOWN = 5
GAPS_SHOWN = 5
MISSING_WORDS = {"owner": "no owner", "runbook": "no runbook"}


def render_digest(report: AdoptionReport, *, public_url: str) -> tuple[str, list[dict]]:
    """(fallback text, blocks): headline numbers against the bar, top unanswered questions with fixes, gaps."""
    lines = []
    for h in headlines(report):
        mark = "" if h.meets_bar is None else (" :white_check_mark:" if h.meets_bar else " :warning:")
        lines.append(f"*{escape(h.label)}:* {escape(h.value)}{mark}")
    body: list[Block] = [
        HeaderBlock(text=plain(f"Wayfinder adoption, {report.since:%b %d} – {report.until:%b %d}", 150)),
        section("\n".join(lines)),
    ]
    if report.unanswered:
        body.append(section("*Most asked, not answered*"))
        for q in report.unanswered[:UNANSWERED_SHOWN]:
            text = f"“{escape(clip(q.question, LINE_TEXT))}” · asked {q.asked}×"
            body.append(section(text, accessory=_fix_button(q.fix) if q.fix else None))
    if report.gaps:
        gaps = [
            f"• {escape(clip(g.name, NAME_SHOWN))} ({', '.join(MISSING_WORDS.get(m, m) for m in g.missing)}) · asked {g.asked}×"
            for g in report.gaps[:GAPS_SHOWN]
        ]
        body.append(section("*Catalog gaps that blocked answers*\n" + "\n".join(gaps)))
    tail: list[Block] = [context(f"Full report: {link(public_url.rstrip('/') + '/adoption', 'adoption report')} · `wayfinder report adoption`")]
    share = report.daily_active_share
    text = f"Wayfinder adoption: {report.daily_active_avg:g} daily active" + (f" ({share:.0%} of engineers)" if share is not None else "")
    return text, [b.to_dict() for b in fit(body, tail, MESSAGE_BLOCKS)]


def _fix_button(fix: Fix) -> ButtonElement:
    """"Add alias" when the name is close to an entity, "Create" when nothing is."""
    target = clip((fix.ref or "").rpartition("/")[2], 30)
    label = f"Add alias “{clip(fix.name, 30)}” → {target}" if fix.action == "add_alias" else f"Create “{clip(fix.name, 40)}”"
    value = FixValue(action=fix.action, name=fix.name[:200], ref=fix.ref).model_dump_json()
    return ButtonElement(text=plain(label, BUTTON_LABEL), action_id=ActionId.ADOPTION_FIX, value=value)


def render_pulse_invite() -> tuple[str, list[dict]]:
    text = "Two quick questions about Wayfinder?"
    button = ButtonElement(text=plain("Answer (30 seconds)", BUTTON_LABEL), action_id=ActionId.PULSE_OPEN, style="primary")
    return text, [section("You used Wayfinder recently: two quick questions help the platform team make it better.", accessory=button).to_dict()]


def render_pulse_modal() -> View:
    scores = [Option(value=str(n), text=plain(str(n), 5)) for n in range(11)]
    return View(
        type="modal", callback_id=CallbackId.PULSE_MODAL, title=plain("Wayfinder pulse", 24), submit=plain("Send", 24), close=plain("Cancel", 24),
        blocks=[
            InputBlock(
                block_id=BlockId.PULSE_SCORE, label=plain("How likely are you to recommend Wayfinder to a colleague? (0-10)", 2000),
                element=StaticSelectElement(action_id=ActionId.PULSE_SCORE, options=scores, placeholder=plain("0 = not at all, 10 = certainly", 150)),
            ),
            InputBlock(
                block_id=BlockId.PULSE_COMMENT, label=plain("What would make it better?", 2000), optional=True,
                element=PlainTextInputElement(action_id=ActionId.PULSE_COMMENT, multiline=True, max_length=2000),
            ),
        ],
    )  # fmt: skip
