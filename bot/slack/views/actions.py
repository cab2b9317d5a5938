"""Block Kit for self-service actions: the list, the request modal (built from the action's inputs),
the approval card, the reject-reason modal, the TTL reminder and the App Home section. Pure renderers."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    CheckboxesElement,
    DatePickerElement,
    ExternalDataSelectElement,
    HeaderBlock,
    InputBlock,
    NumberInputElement,
    Option,
    PlainTextInputElement,
    StaticMultiSelectElement,
    StaticSelectElement,
    UserSelectElement,
)
from slack_sdk.models.views import View

from actions.approvers import Person
from actions.definitions import (
    ActionDefinition,
    BooleanInput,
    ChoiceInput,
    DateInput,
    DurationInput,
    EntityInput,
    NumberInput,
    TextInput,
    UserInput,
    format_duration,
)
from actions.inputs import TARGET
from actions.read import InputField, RequestView
from bot.slack.ids import ActionId, CallbackId
from bot.slack.mrkdwn import escape
from bot.slack.views.parts import BUTTON_LABEL, HEADER_TEXT, MESSAGE_BLOCKS, NAME_SHOWN, clip, context, fit, listing, plain, section

SLACK_USER = re.compile(r"[UW][A-Z0-9]{2,20}")
OPTIONS = 100  # Slack's cap on a select's options (static, or an external select's answer)
OPTION_VALUE = 150  # Slack's cap on an option's value: a longer ref cannot be offered
MIN_QUERY = 2  # letters typed before an entity picker asks Wayfinder (block_suggestion)
STATE_WORDS = {
    "pending": "⏳ Waiting for approval", "approved": "✅ Approved", "rejected": "⛔ Rejected", "expired": "⌛ Expired",
    "cancelled": "✖️ Cancelled", "running": "⚙️ Running", "succeeded": "✅ Done", "failed": "❌ Failed", "torn_down": "🧹 Torn down",
}  # fmt: skip


def who(person: Person, slack_ids: dict[str, str]) -> str:
    """A mention when the person's Slack id is known, else their name."""
    slack_id = slack_ids.get(person.ref)
    return f"<@{slack_id}>" if slack_id else escape(clip(person.name, NAME_SHOWN))


def render_action_list(actions: Sequence[ActionDefinition], *, target: str | None = None) -> list[dict[str, Any]]:
    """`/wayfinder run`: the actions this person may request, each with its Request button."""
    if not actions:
        return [section("There is no action you can request here. Actions are defined in `wayfinder.yaml` (`actions:`).").to_dict()]
    blocks: list[Block] = [section("*Actions you can request*")]
    for action in actions:
        value = f"{action.id}|{target or ''}"
        button = ButtonElement(text=plain("Request…", BUTTON_LABEL), action_id=ActionId.ACTION_REQUEST, value=value)
        blocks.append(section(f"*{escape(action.title)}* (`{action.id}`)\n{escape(clip(action.description, 300))}", accessory=button))
    return [b.to_dict() for b in fit(blocks, [], MESSAGE_BLOCKS)]


def request_buttons(actions: Sequence[ActionDefinition], target: str) -> list[dict[str, Any]]:
    """The "Request…" buttons under an answer card for actions whose target is this entity."""
    if not actions:
        return []
    buttons = [
        ButtonElement(text=plain(f"Request: {a.title}", BUTTON_LABEL), action_id=f"{ActionId.ACTION_REQUEST}:{a.id}", value=f"{a.id}|{target}")
        for a in actions[:5]
    ]
    return [ActionsBlock(elements=buttons).to_dict()]


def render_request_modal(action: ActionDefinition, *, target: tuple[str, str] | None, metadata: str) -> dict[str, Any]:
    """The modal for `action`: one input block per input (block_id = input id), the target first.

    Entity pickers are external selects: Slack asks for options as the person types (`entity_options`),
    so a catalog of any size fits; `target` is the (ref, label) picked in advance.
    """
    blocks: list[Block] = [section(escape(clip(action.description, 2000)))] if action.description else []
    if action.target:
        blocks.append(_picker(TARGET, "Target", initial=target))
    for spec in action.inputs:
        blocks.append(_input(spec))
    return View(
        type="modal", callback_id=CallbackId.ACTION_MODAL, private_metadata=metadata,
        title=plain(action.title, 24), submit=plain("Request", 24), close=plain("Cancel", 24), blocks=blocks,
    ).to_dict()  # fmt: skip


def entity_options(choices: Sequence[tuple[str, str]]) -> list[dict[str, Any]]:
    """An entity picker's options (the `block_suggestion` ack): catalog names as plain text, clipped to Slack's limits."""
    return [_option(ref, label).to_dict() for ref, label in choices if len(ref) <= OPTION_VALUE][:OPTIONS]


def _option(ref: str, label: str) -> Option:
    return Option(value=ref, text=plain(label, 75))


def _input(spec: Any) -> Block:
    label, optional = plain(spec.title, 2000), spec.optional
    hint = plain(spec.hint, 2000) if spec.hint else None
    element: Any
    if isinstance(spec, TextInput):
        element = PlainTextInputElement(
            action_id="value", multiline=spec.multiline, min_length=spec.min_length or None, max_length=spec.max_length, initial_value=spec.default
        )
    elif isinstance(spec, NumberInput):
        element = NumberInputElement(action_id="value", is_decimal_allowed=not spec.integer, min_value=_num(spec.min), max_value=_num(spec.max),
                                     initial_value=_num(spec.default))  # fmt: skip
    elif isinstance(spec, BooleanInput):
        yes = Option(value="true", text=plain("Yes", 75))
        element = CheckboxesElement(action_id="value", options=[yes], initial_options=[yes] if spec.default else None)
        optional = True
    elif isinstance(spec, ChoiceInput):
        opts = [Option(value=o, text=plain(o, 75)) for o in spec.options[:OPTIONS]]
        defaults = [o for o in opts if o.value in (spec.default if isinstance(spec.default, list) else [spec.default])]
        if spec.type == "choice":
            element = StaticSelectElement(action_id="value", options=opts, initial_option=defaults[0] if defaults else None)
        else:
            element = StaticMultiSelectElement(action_id="value", options=opts, initial_options=defaults or None)
    elif isinstance(spec, EntityInput):
        return _picker(spec.id, spec.title, optional=optional)
    elif isinstance(spec, UserInput):
        element = UserSelectElement(action_id="value")
    elif isinstance(spec, DurationInput):
        element = PlainTextInputElement(action_id="value", initial_value=format_duration(spec.default) if spec.default else None,
                                        placeholder=plain("e.g. 4h, 1d, 1w", 150))  # fmt: skip
        hint = hint or (plain(f"At most {format_duration(spec.max)}.", 2000) if spec.max else None)
    elif isinstance(spec, DateInput):
        element = DatePickerElement(action_id="value")
    else:
        raise ValueError(f"no modal element for {spec.type}")
    return InputBlock(block_id=spec.id, label=label, element=element, optional=optional, hint=hint)


def _num(value: float | None) -> str | None:
    return None if value is None else f"{value:g}"


def _picker(block_id: str, label: str, *, initial: tuple[str, str] | None = None, optional: bool = False) -> Block:
    element = ExternalDataSelectElement(action_id=ActionId.ACTION_ENTITY, min_query_length=MIN_QUERY, placeholder=plain("Type a name", 150),
                                        initial_option=_option(*initial) if initial and len(initial[0]) <= OPTION_VALUE else None)  # fmt: skip
    return InputBlock(block_id=block_id, label=plain(label, 2000), optional=optional, element=element)


def read_modal(state: dict[str, Any]) -> dict[str, Any]:
    """The submitted values by block id (input id), whatever the element; the server validates them."""
    values: dict[str, Any] = {}
    for block_id, fields in state.get("values", {}).items():
        field = next(iter(fields.values()), None) or {}  # one element per input block
        kind = field.get("type")
        if kind in ("plain_text_input", "number_input"):
            values[block_id] = field.get("value")
        elif kind in ("static_select", "external_select"):
            values[block_id] = (field.get("selected_option") or {}).get("value")
        elif kind == "multi_static_select":
            values[block_id] = [o["value"] for o in field.get("selected_options") or []]
        elif kind == "checkboxes":
            values[block_id] = bool(field.get("selected_options"))
        elif kind == "users_select":
            values[block_id] = field.get("selected_user")
        elif kind == "datepicker":
            values[block_id] = field.get("selected_date")
    return values


def render_card(request: RequestView, slack_ids: dict[str, str], *, public_url: str) -> tuple[str, list[dict[str, Any]]]:
    """The approval card: who asks for what, the inputs, the policy, who may decide, and the buttons while pending."""
    state = STATE_WORDS.get(request.state, request.state)
    requester = f"<@{request.requester_slack_id}>" if request.requester_slack_id else escape(request.requester_name)
    text = f"{request.requester_name} requests {request.action_title} (#{request.id}): {state}"
    fields = [f"*Requester*\n{requester}", f"*State*\n{state}"]
    if request.target_ref:
        fields.append(f"*Target*\n`{escape(request.target_ref)}`")
    fields += [f"*{escape(f.label)}*\n{shown(f)}" for f in request.fields]
    blocks: list[Block] = [HeaderBlock(text=plain(f"{request.action_title} · #{request.id}", HEADER_TEXT)), section(None, fields=fields)]
    lines = [f"*Extends* #{request.extends_id}: approving it extends that request's end"] if request.extends_id else []
    lines.append(f"*Approval*: {escape(request.policy)}")
    for n, stage in enumerate(request.stages):
        names = ", ".join(who(p, slack_ids) for p in stage.approvers) or "nobody (escalated)"
        got = f" · approved by {escape(', '.join(stage.approved_by))}" if stage.approved_by else ""
        lines.append(f"{'Stage ' + str(n + 1) + ': ' if len(request.stages) > 1 else ''}{stage.count} of {names}{got}")
    if request.escalated and request.escalation:
        lines.append("Escalated to " + ", ".join(who(p, slack_ids) for p in request.escalation))
    if request.rejection:
        lines.append(f"Rejected by {escape(request.rejection.approver_name)}: {escape(clip(request.rejection.reason or '', 500))}")
    if request.result:
        lines.append(f"Result: {escape(clip(request.result, 500))}")
    if request.ttl_expires_at and request.state == "succeeded":
        lines.append(f"Ends {request.ttl_expires_at:%Y-%m-%d %H:%M} UTC")
    blocks.append(section(listing(lines)))
    if request.state == "pending":
        value = str(request.id)
        blocks.append(ActionsBlock(block_id=f"decide-{request.id}", elements=[
            ButtonElement(text=plain("Approve", BUTTON_LABEL), action_id=ActionId.ACTION_APPROVE, value=value, style="primary"),
            ButtonElement(text=plain("Reject…", BUTTON_LABEL), action_id=ActionId.ACTION_REJECT, value=value, style="danger"),
        ]))  # fmt: skip
    blocks.append(context(f"Discuss in the thread · `wayfinder actions show {request.id}`"))
    return text, [b.to_dict() for b in blocks]


def shown(field: InputField) -> str:
    """An input's value as mrkdwn: a Slack user is mentioned, everything else is its formatted text, escaped."""
    if field.type == "user" and SLACK_USER.fullmatch(str(field.value)):
        return f"<@{field.value}>"
    return escape(clip(field.text, 500))


def input_lines(request: RequestView, limit: int = 6) -> list[str]:
    """`Label: value` lines for a DM or App Home (the first `limit` inputs)."""
    return [f"{escape(clip(f.label, 80))}: {shown(f)}" for f in request.fields[:limit]]


def render_reject_modal(request_id: int) -> dict[str, Any]:
    reason = InputBlock(block_id="reason", label=plain("Why? The requester will see this.", 2000),
                        element=PlainTextInputElement(action_id="value", multiline=True, max_length=1000))  # fmt: skip
    return View(type="modal", callback_id=CallbackId.ACTION_REJECT_MODAL, private_metadata=str(request_id), title=plain(f"Reject #{request_id}", 24),
                submit=plain("Reject", 24), close=plain("Cancel", 24), blocks=[reason]).to_dict()  # fmt: skip


def ttl_buttons(request: RequestView) -> list[dict[str, Any]]:
    value = str(request.id)
    return [ActionsBlock(elements=[
        ButtonElement(text=plain("Extend", BUTTON_LABEL), action_id=ActionId.ACTION_EXTEND, value=value, style="primary"),
        ButtonElement(text=plain("Tear down now", BUTTON_LABEL), action_id=ActionId.ACTION_TEARDOWN, value=value, style="danger"),
    ]).to_dict()]  # fmt: skip


def home_section(mine: Sequence[RequestView], waiting: Sequence[RequestView]) -> list[Block]:
    """App Home: your requests and the approvals waiting for you."""
    blocks: list[Block] = []
    if waiting:
        lines = [f"• #{r.id} {escape(r.action_title)} for {escape(r.requester_name)}" + (f" on `{escape(r.target_ref)}`" if r.target_ref else "")
                 + "".join(f"\n      {line}" for line in input_lines(r, 3)) for r in waiting]  # fmt: skip
        blocks.append(section("*Waiting for your approval*\n" + listing(lines)))
    if mine:
        lines = [f"• #{r.id} {escape(r.action_title)}: {STATE_WORDS.get(r.state, r.state)}" for r in mine]
        blocks.append(section("*Your requests*\n" + listing(lines)))
    return blocks
