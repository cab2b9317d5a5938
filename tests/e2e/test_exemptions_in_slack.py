"""Requesting an exemption from a digest and approving it, through the server with signed requests and the fake Slack.

Why: an exemption changes what a scorecard says; only a member of the scorecard's owning team may
grant it, once, and the requester cannot grant their own: the actions' approval card does all that.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.slack.ids import ActionId, BlockId, CallbackId
from bot.slack.metadata import ExemptionAsk
from tests.e2e.harness import USER_ID, Wayfinder, block_action, find_elements, view_submission

ADMIN = "C0PORTALADMIN"  # platform-engineering, the scorecard's owner, has no channel id: requests go to the admin channel
APPROVER = "U0TOMASZ"


def test_request_then_approve(wayfinder: Wayfinder) -> None:
    fake = wayfinder.fake
    fake.add_user(APPROVER, "tomasz.wierzbicki@northwind.example")  # a member of platform-engineering
    fake.add_user(USER_ID, "ana.folau@northwind.example")
    ask = ExemptionAsk(scorecard="production-readiness", rule="fresh", refs=["component:default/payment-gateway"], channel="C05ACQU1R3X")
    assert wayfinder.interact(block_action(ActionId.EXEMPTION_REQUEST, ask.model_dump_json(), response_url=fake.response_url("x"))).status_code == 200
    [opened] = fake.wait_for("views.open")
    assert opened.params["view"]["callback_id"] == CallbackId.EXEMPTION_MODAL
    expires = (datetime.now(UTC) + timedelta(days=30)).date().isoformat()
    submission = view_submission(
        CallbackId.EXEMPTION_MODAL,
        {
            BlockId.EXEMPTION_ENTITY: {ActionId.EXEMPTION_ENTITY: {"type": "static_select", "selected_option": {"value": "component:default/payment-gateway"}}},
            BlockId.EXEMPTION_REASON: {ActionId.EXEMPTION_REASON: {"type": "plain_text_input", "value": "Frozen during the audit"}},
            BlockId.EXEMPTION_EXPIRES: {ActionId.EXEMPTION_EXPIRES: {"type": "datepicker", "selected_date": expires}},
        },
    )
    submission["view"]["private_metadata"] = ask.model_dump_json()
    assert wayfinder.interact(submission).status_code == 200
    [card] = [c for c in fake.wait_for("chat.postMessage") if c.params["channel"] == ADMIN]  # the actions' approval card
    [approve] = find_elements(card.params["blocks"], ActionId.ACTION_APPROVE)
    assert "Frozen during the audit" in json.dumps(card.params["blocks"]) and f"<@{APPROVER}>" in json.dumps(card.params["blocks"])
    # The requester is no approver of it.
    wayfinder.interact(block_action(ActionId.ACTION_APPROVE, approve["value"], response_url=fake.response_url("self")))
    [refused] = fake.wait_for("response_url")
    assert "not an approver" in refused.params["text"]
    click = block_action(ActionId.ACTION_APPROVE, approve["value"], response_url=fake.response_url("owner"))
    click["user"] = {**click["user"], "id": APPROVER}
    wayfinder.interact(click)
    # Approved, running, done: the same card, updated in place. Wait for the done card itself: a client's retry of
    # an earlier update would also make a third update.
    calls = fake.wait_until(lambda calls: any(c.method == "chat.update" and "Done" in c.params["text"] for c in calls))
    done = next(c for c in calls if c.method == "chat.update" and "Done" in c.params["text"])
    assert done.params["channel"] == ADMIN and find_elements(done.params["blocks"], ActionId.ACTION_APPROVE) == []
    assert wayfinder.services.actions.get(int(approve["value"])).state == "succeeded"
    gate = wayfinder.services.catalog.gate("payment-gateway", scorecard="production-readiness", min_level="Gold", now=datetime.now(UTC) + timedelta(days=8))
    assert gate.status == "passed"  # stale data, but the freshness rule is waived
    wayfinder.interact(click)  # a second click changes nothing
    assert "already decided" in fake.wait_for("response_url", 2)[-1].params["text"]


def _submission(metadata: str, expires: str) -> dict[str, Any]:
    submission = view_submission(
        CallbackId.EXEMPTION_MODAL,
        {
            BlockId.EXEMPTION_ENTITY: {ActionId.EXEMPTION_ENTITY: {"type": "static_select", "selected_option": {"value": "component:default/payment-gateway"}}},
            BlockId.EXEMPTION_REASON: {ActionId.EXEMPTION_REASON: {"type": "plain_text_input", "value": "Frozen during the audit"}},
            BlockId.EXEMPTION_EXPIRES: {ActionId.EXEMPTION_EXPIRES: {"type": "datepicker", "selected_date": expires}},
        },
    )
    submission["view"]["private_metadata"] = metadata
    return submission


def test_a_form_wayfinder_did_not_open_or_a_date_that_is_none_gets_a_field_error_not_a_500(wayfinder: Wayfinder) -> None:
    """An empty or unreadable `private_metadata`, or a malformed date, answered 500: Slack then showed a generic error."""
    ask = ExemptionAsk(scorecard="production-readiness", rule="fresh", refs=["component:default/payment-gateway"], channel="C05ACQU1R3X").model_dump_json()
    in_a_month = (datetime.now(UTC) + timedelta(days=30)).date().isoformat()

    forged, undated = wayfinder.interact(_submission("", in_a_month)), wayfinder.interact(_submission(ask, "next tuesday"))

    assert (forged.status_code, forged.json()["response_action"]) == (200, "errors")
    assert "does not name a scorecard rule" in forged.json()["errors"][BlockId.EXEMPTION_REASON]
    assert (undated.status_code, undated.json()["errors"]) == (200, {BlockId.EXEMPTION_EXPIRES: "the expiry 'next tuesday' is not a date"})
    assert wayfinder.fake.calls("chat.postMessage") == []  # no apology, no approval card
