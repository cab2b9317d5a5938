"""The weekly scorecard digest, the leadership digest, degradation alerts and the exemption modal as Block Kit
(the request's approval card is the actions' card).

Pure renderers over the catalog's read models (`catalog.scorecards`): every catalog string is
escaped (`bot.slack.mrkdwn`), and the sizes stay within Slack's limits (`parts`).
"""

from __future__ import annotations

from typing import Any

from slack_sdk.models.blocks import ActionsBlock, Block, ButtonElement, DividerBlock, HeaderBlock, InputBlock, Option, PlainTextInputElement, StaticSelectElement
from slack_sdk.models.blocks.block_elements import DatePickerElement
from slack_sdk.models.views import View

from bot.slack.ids import ActionId, BlockId, CallbackId
from bot.slack.metadata import EXEMPTION_REFS, ExemptionAsk
from bot.slack.mrkdwn import escape, link
from bot.slack.views.parts import BUTTON_LABEL, HEADER_TEXT, MESSAGE_BLOCKS, NAME_SHOWN, USER_ID, clip, context, fit, listing, plain, section
from bot.slack.views.urls import ownership_url
from catalog.scorecards.scores import EntityScore
from catalog.scorecards.service import AlertBatch, Fixer, LeadershipDigest, Movement, TeamDigest

ARROW = {1: ":arrow_up:", -1: ":arrow_down:"}


def _entity(ref: str, public_url: str | None) -> str:
    name = clip(ref.rpartition("/")[2], NAME_SHOWN)
    return link(ownership_url(public_url, ref), name) if public_url else f"*{escape(name)}*"


def _score_line(score: EntityScore, public_url: str | None) -> str:
    change = ""
    if score.change:
        was = score.levels[score.week_ago - 1] if score.week_ago else "no level"
        change = f" {ARROW[1 if score.change > 0 else -1]} from {escape(was)}"
    return f"• {_entity(score.ref, public_url)}: {escape(score.level or 'no level')}{change}"


def render_team_digest(digest: TeamDigest, *, public_url: str | None) -> tuple[str, list[dict[str, Any]]]:
    """(fallback text, blocks): levels per scorecard, what moved, the top fixes with their buttons, initiatives."""
    body: list[Block] = [HeaderBlock(text=plain(f"Weekly scorecards: {digest.team_name}", HEADER_TEXT))]
    by_card: dict[str, list[EntityScore]] = {}
    for score in digest.scores:
        by_card.setdefault(score.scorecard_title, []).append(score)
    for title, scores in by_card.items():
        body.append(section(f"*{escape(title)}*\n" + listing([_score_line(s, public_url) for s in scores], max_items=15)))
    moved = [
        f"{ARROW[1 if m in digest.rose else -1]} {_entity(m.ref, public_url)} on {escape(m.scorecard_title)}: {escape(m.from_level)} → {escape(m.to_level)}"
        + (f" (fixed: {_fixed(m)})" if m.fixed else "")
        + (f" (now failing: {escape(', '.join(m.broke))})" if m.broke else "")
        for m in [*digest.fell, *digest.rose]
    ]
    if moved:
        body += [DividerBlock(), section("*Since last week*\n" + listing(moved, max_items=10))]
    for fix in digest.top_fixes:
        names = ", ".join(escape(n) for n in fix.raises[:5]) + (f" and {len(fix.raises) - 5} more" if len(fix.raises) > 5 else "")
        text = f"*{escape(fix.rule.title)}* ({escape(fix.scorecard_title)}) would raise {len(fix.raises)} a level: {names}\n{escape(fix.rule.fix)}"
        body.append(section(text))
        refs = [f"{s.ref}" for s in digest.scores if s.scorecard == fix.scorecard and s.name in fix.raises][:EXEMPTION_REFS]
        ask = ExemptionAsk(scorecard=fix.scorecard, rule=fix.rule.id, refs=refs, channel=digest.channel)
        buttons = [ButtonElement(text=plain("Request exemption", BUTTON_LABEL), action_id=ActionId.EXEMPTION_REQUEST, value=ask.model_dump_json())]
        if fix.rule.fix_url:
            buttons.insert(0, ButtonElement(text=plain("Open fix-it link", BUTTON_LABEL), action_id=ActionId.LINK, url=fix.rule.fix_url, style="primary"))
        body.append(ActionsBlock(elements=buttons))
    tail: list[Block] = [context(_initiative(i)) for i in digest.initiatives if i.total]
    text = f"Weekly scorecards for {digest.team_name}: {len(digest.rose)} up, {len(digest.fell)} down since last week."
    return text, [b.to_dict() for b in fit(body, tail, MESSAGE_BLOCKS)]


def _fixed(movement: Movement) -> str:
    """The rules fixed, each with who fixed it when a push named them: a Slack mention, else `@login`."""
    by = {f.rule: f for f in movement.fixed_by}
    return ", ".join(escape(rule) + (f" by {_who(by[rule])}" if rule in by else "") for rule in movement.fixed)


def _who(fixer: Fixer) -> str:
    uid = fixer.slack_user_id
    return f"<@{uid}>" if uid and USER_ID.match(uid) else escape(clip(fixer.handle, NAME_SHOWN))


def _initiative(i: Any) -> str:
    when = f"{i.days_left} days left" if i.days_left >= 0 else f"{-i.days_left} days past the deadline"
    mark = ":white_check_mark:" if i.on_track else ":hourglass_flowing_sand:"
    return f"{mark} *{escape(i.title)}*: {i.at_target} of {i.total} at {escape(i.target_level)} or above on {escape(i.scorecard_title)}, {when} ({i.deadline:%d %b %Y})"


def render_leadership_digest(digest: LeadershipDigest) -> tuple[str, list[dict[str, Any]]]:
    body: list[Block] = [HeaderBlock(text=plain("Weekly scorecards: every team", HEADER_TEXT))]
    by_card: dict[str, list[str]] = {}
    for team in digest.teams:
        counts = " · ".join(f"{escape(level)} {n}" for level, n in sorted(team.counts.items()))
        by_card.setdefault(team.scorecard_title, []).append(f"• *{escape(clip(team.team_name, NAME_SHOWN))}*: {counts}")
    for title, lines in by_card.items():
        body.append(section(f"*{escape(title)}*\n" + listing(lines)))
    tail: list[Block] = [context(_initiative(i)) for i in digest.initiatives]
    return "Weekly scorecards across every team.", [b.to_dict() for b in fit(body, tail, MESSAGE_BLOCKS)]


def render_alert_batch(batch: AlertBatch, *, team_name: str, public_url: str | None) -> tuple[str, list[dict[str, Any]]]:
    """One message for everything that got worse for a team in the window, each with its fix-it hint."""
    lines = []
    for item in batch.items:
        head = f"• {_entity(item.ref, public_url)} on {escape(item.scorecard_title)}" + (f": {escape(item.from_level)} → {escape(item.to_level)}" if item.fell else "")
        fixes = [f"    ◦ {escape(r.title)}: {escape(r.fix)}" + (f" ({link(r.fix_url, 'fix it')})" if r.fix_url else "") for r in item.rules]
        lines.append("\n".join([head, *fixes]))
    text = f"Scorecards: {len(batch.items)} change(s) for {team_name} need attention."
    body: list[Block] = [section(f":warning: *{escape(text)}*"), section(listing(lines))]
    return text, [b.to_dict() for b in body]


def render_exemption_modal(ask: ExemptionAsk, *, rule_title: str) -> View:
    options = [Option(text=plain(ref.rpartition("/")[2], 75), value=ref) for ref in ask.refs] or [Option(text=plain("(none)", 75), value="-")]
    entity = StaticSelectElement(action_id=ActionId.EXEMPTION_ENTITY, options=options, initial_option=options[0])
    reason = PlainTextInputElement(action_id=ActionId.EXEMPTION_REASON, multiline=True, max_length=2000)
    return View(
        type="modal", callback_id=CallbackId.EXEMPTION_MODAL, private_metadata=ask.model_dump_json(),
        title=plain("Request exemption", 24), submit=plain("Request", 24), close=plain("Cancel", 24),
        blocks=[
            section(f"Waive *{escape(rule_title)}* for one entity until a date. A member of the scorecard's owning team approves it."),
            InputBlock(block_id=BlockId.EXEMPTION_ENTITY, label=plain("Entity", 50), element=entity),
            InputBlock(block_id=BlockId.EXEMPTION_REASON, label=plain("Why should the rule not apply?", 50), element=reason),
            InputBlock(block_id=BlockId.EXEMPTION_EXPIRES, label=plain("Until", 50), element=DatePickerElement(action_id=ActionId.EXEMPTION_EXPIRES)),
        ],
    )  # fmt: skip
