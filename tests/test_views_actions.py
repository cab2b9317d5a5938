"""The action views: every input type becomes a valid modal element and reads back; the card escapes catalog text.

Why: Slack refuses a whole modal for one bad element, and a requester's reason is untrusted text
rendered in a channel.
"""

from __future__ import annotations

from datetime import UTC, datetime

from actions.approvers import Person
from actions.definitions import ActionDefinition
from actions.read import RequestView, StageView
from bot.slack.views.actions import read_modal, render_card, render_request_modal

ALL_INPUTS = ActionDefinition.model_validate({
    "id": "everything", "title": "Every input type", "description": "All of them.", "target": {"kind": "resource"},
    "executor": {"type": "internal", "handler": "x"},
    "inputs": [
        {"id": "text", "type": "text", "min_length": 2}, {"id": "count", "type": "number", "min": 1, "max": 9},
        {"id": "flag", "type": "boolean", "default": True}, {"id": "one", "type": "choice", "options": ["a", "b"], "default": "b"},
        {"id": "many", "type": "multi-choice", "options": ["x", "y"]}, {"id": "service", "type": "entity", "kind": "component"},
        {"id": "who", "type": "user"}, {"id": "ttl", "type": "duration", "default": "1d", "max": "1w"}, {"id": "day", "type": "date"},
    ],
})  # fmt: skip

ELEMENTS = {
    "text": "plain_text_input", "count": "number_input", "flag": "checkboxes", "one": "static_select", "many": "multi_static_select",
    "service": "static_select", "who": "users_select", "ttl": "plain_text_input", "day": "datepicker", "target": "static_select",
}  # fmt: skip


def test_every_input_type_has_its_element_and_reads_back() -> None:
    options = {"target": [("resource:default/db", "db")], "service": [("component:default/api", "api")]}
    modal = render_request_modal(ALL_INPUTS, target="resource:default/db", entity_options=options, metadata="everything|C1")
    elements = {b["block_id"]: b["element"] for b in modal["blocks"] if b["type"] == "input"}
    assert {k: e["type"] for k, e in elements.items()} == ELEMENTS
    assert elements["target"]["initial_option"]["value"] == "resource:default/db"
    assert elements["one"]["initial_option"]["value"] == "b" and elements["ttl"]["initial_value"] == "1d"
    state = {"values": {
        "text": {"value": {"type": "plain_text_input", "value": "hi"}}, "count": {"value": {"type": "number_input", "value": "3"}},
        "flag": {"value": {"type": "checkboxes", "selected_options": [{"value": "true"}]}},
        "one": {"value": {"type": "static_select", "selected_option": {"value": "a"}}},
        "many": {"value": {"type": "multi_static_select", "selected_options": [{"value": "x"}, {"value": "y"}]}},
        "who": {"value": {"type": "users_select", "selected_user": "U123"}}, "day": {"value": {"type": "datepicker", "selected_date": "2026-12-31"}},
    }}  # fmt: skip
    assert read_modal(state) == {"text": "hi", "count": "3", "flag": True, "one": "a", "many": ["x", "y"], "who": "U123", "day": "2026-12-31"}


def test_the_card_escapes_what_people_typed() -> None:
    now = datetime(2026, 12, 2, tzinfo=UTC)
    view = RequestView(
        id=7, action_id="x", action_title="Access", state="pending", requester_ref=None, requester_slack_id="U1", requester_name="Eve",
        surface="slack", target_ref=None, inputs={"reason": "<!channel> & <https://evil|click>"}, policy="1 of owner-leads", stage=0,
        stages=[StageView(approvers=[Person(ref="user:default/a", name="Ann")], count=1)], channel="C1", ts="1.2", created_at=now,
        expires_at=None, result=None, entity_ref=None, ttl_expires_at=None,
    )  # fmt: skip
    text, blocks = render_card(view, {"user:default/a": "U0ANN"}, public_url="http://w")
    rendered = str(blocks)
    assert "<!channel>" not in rendered and "&lt;!channel&gt;" in rendered and "<@U0ANN>" in rendered
    assert "wf_action_approve" in rendered and "#7" in text
