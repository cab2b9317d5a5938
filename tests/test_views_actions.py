"""The action views: every input type becomes a valid modal element and reads back; the card escapes catalog text.

Why: Slack refuses a whole modal for one bad element, and a requester's reason is untrusted text
rendered in a channel.
"""

from __future__ import annotations

from datetime import UTC, datetime

from actions.approvers import Person
from actions.definitions import ActionDefinition
from actions.read import InputField, RequestView, StageView, input_fields
from bot.slack.views.actions import entity_options, home_section, read_modal, render_card, render_request_modal
from catalog.core import Catalog

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
    "service": "external_select", "who": "users_select", "ttl": "plain_text_input", "day": "datepicker", "target": "external_select",
}  # fmt: skip


def test_every_input_type_has_its_element_and_reads_back() -> None:
    modal = render_request_modal(ALL_INPUTS, target=("resource:default/db", "db"), metadata="everything|C1")
    elements = {b["block_id"]: b["element"] for b in modal["blocks"] if b["type"] == "input"}
    assert {k: e["type"] for k, e in elements.items()} == ELEMENTS
    assert elements["target"]["initial_option"]["value"] == "resource:default/db"
    assert elements["service"]["min_query_length"] >= 1 and "initial_option" not in elements["service"]  # options come as people type
    assert elements["one"]["initial_option"]["value"] == "b" and elements["ttl"]["initial_value"] == "1d"
    state = {"values": {
        "text": {"value": {"type": "plain_text_input", "value": "hi"}}, "count": {"value": {"type": "number_input", "value": "3"}},
        "flag": {"value": {"type": "checkboxes", "selected_options": [{"value": "true"}]}},
        "one": {"value": {"type": "static_select", "selected_option": {"value": "a"}}},
        "many": {"value": {"type": "multi_static_select", "selected_options": [{"value": "x"}, {"value": "y"}]}},
        "who": {"value": {"type": "users_select", "selected_user": "U123"}}, "day": {"value": {"type": "datepicker", "selected_date": "2026-12-31"}},
        "service": {"wf_action_entity": {"type": "external_select", "selected_option": {"value": "component:default/api"}}},
    }}  # fmt: skip
    assert read_modal(state) == {
        "text": "hi", "count": "3", "flag": True, "one": "a", "many": ["x", "y"], "who": "U123", "day": "2026-12-31", "service": "component:default/api",
    }  # fmt: skip


def test_entity_options_are_plain_text_within_slack_limits() -> None:
    choices = [(f"component:default/svc-{n}", f"<!channel> *svc*\u202e {n} " + "x" * 100) for n in range(150)] + [("component:default/" + "a" * 200, "long")]
    options = entity_options(choices)
    assert len(options) == 100 and all(o["text"]["type"] == "plain_text" and len(o["text"]["text"]) <= 75 for o in options)
    assert "\u202e" not in str(options)  # Slack shows plain text as typed: only hidden characters are taken out
    assert all(len(o["value"]) <= 150 for o in options)  # a ref too long for an option's value is left out, not cut


def test_the_card_escapes_what_people_typed() -> None:
    now, typed = datetime(2026, 12, 2, tzinfo=UTC), "<!channel> & <https://evil|click>"
    view = RequestView(
        id=7, action_id="x", action_title="Access", state="pending", requester_ref=None, requester_slack_id="U1", requester_name="Eve",
        surface="slack", target_ref=None, inputs={"reason": typed}, fields=[InputField(id="reason", label="Reason", type="text", value=typed, text=typed)],
        policy="1 of owner-leads", stage=0,
        stages=[StageView(approvers=[Person(ref="user:default/a", name="Ann")], count=1)], channel="C1", ts="1.2", created_at=now,
        expires_at=None, result=None, entity_ref=None, ttl_expires_at=None,
    )  # fmt: skip
    text, blocks = render_card(view, {"user:default/a": "U0ANN"}, public_url="http://w")
    rendered = str(blocks)
    assert "<!channel>" not in rendered and "&lt;!channel&gt;" in rendered and "<@U0ANN>" in rendered
    assert "wf_action_approve" in rendered and "#7" in text


def test_inputs_are_shown_by_label_with_values_formatted_by_type(example_catalog: Catalog) -> None:
    """The card, the App Home (and the CLI) say "For how long: 2 days", not `ttl: 2d`."""
    labelled = ALL_INPUTS.model_copy(update={"inputs": [i.model_copy(update={"label": "Why? <b>"}) if i.id == "text" else i for i in ALL_INPUTS.inputs]})
    stored = {"day": "2026-12-31", "ttl": "2d", "who": "U0ELENA", "service": "component:default/payments-service", "flag": False, "many": ["x", "y"],
              "text": "<!channel> please", "count": 3, "gone": "kept"}  # fmt: skip
    with example_catalog.session() as session:
        fields = input_fields(session, labelled, stored)
    shown = {f.label: f.text for f in fields}
    assert [f.id for f in fields] == ["text", "count", "flag", "many", "service", "who", "ttl", "day", "gone"]  # the action's order; unknown ids last
    assert shown["Ttl"] == "2 days" and shown["Day"] == "Thu 31 Dec 2026" and shown["Flag"] == "No" and shown["Many"] == "x, y"
    assert shown["Service"].endswith("(component:default/payments-service)") and shown["gone"] == "kept"
    now = datetime(2026, 12, 2, tzinfo=UTC)
    view = RequestView(
        id=8, action_id="everything", action_title="Every input type", state="pending", requester_ref=None, requester_slack_id="U1",
        requester_name="Eve", surface="slack", target_ref=None, inputs=stored, fields=fields, policy="1 of owner-leads", stage=0, stages=[],
        channel="C1", ts="1.2", created_at=now, expires_at=None, result=None, entity_ref=None, ttl_expires_at=None,
    )  # fmt: skip
    _, blocks = render_card(view, {}, public_url="http://w")
    card = str(blocks)
    assert "*Ttl*\\n2 days" in card and "<@U0ELENA>" in card and "*Why? &lt;b&gt;*" in card and "&lt;!channel&gt; please" in card
    home = str([b.to_dict() for b in home_section([], [view])])
    assert "Why? &lt;b&gt;: &lt;!channel&gt; please" in home and "Count: 3" in home
