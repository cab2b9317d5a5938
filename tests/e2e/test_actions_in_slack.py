"""Self-service actions end to end: signed Slack requests to a real server, the fake Slack Web API,
and a local HTTP executor that checks every call's signature.

Why: the modal, the card, the thread and the DMs are where people see an action; a click that is
not re-authorised on the server, or a double click that runs twice, would only show up here.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

import pytest

from actions.service import Actor
from bot.slack.listeners.action_requests import NOT_A_REQUEST
from catalog.config import Config
from catalog.core import Catalog
from tests.actions_world import SLACK_APP, write_config
from tests.e2e.harness import Wayfinder, block_action, block_suggestion, command_body, interaction_body, signed_headers, view_submission
from tests.fakes.executor import FakeExecutor
from tests.fakes.slack_api import FakeSlackAPI

ELENA, NADIA, SAMUEL, BEN = "U0ELENA", "U0NADIA", "U0SAMUEL", "U0BEN"
PAYMENTS_CHANNEL = "C0123ABCD"
REASON = {"reason": "Investigating the refunds incident", "duration": "2d", "level": "read"}
ROTATE = """
  - id: rotate-key
    title: Rotate a service key
    inputs: [{id: service, type: entity, kind: component, owner: mine, label: "Which service"}]
    approval: {policy: none}
    executor: {type: internal, handler: noop}
"""


@pytest.fixture
def server(example_catalog: Catalog, start: Callable[..., Wayfinder], make_catalog: Callable[[Config], Catalog], fake_slack: FakeSlackAPI,
           executor: FakeExecutor, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Wayfinder:  # fmt: skip
    for user, name in ((ELENA, "elena.rossi"), (NADIA, "nadia.haddad"), (SAMUEL, "samuel.okafor"), (BEN, "ben.carter")):
        fake_slack.add_user(user, f"{name}@northwind.example", name=name)
    wayfinder = start(make_catalog(write_config(tmp_path, monkeypatch, executor.url, extra=ROTATE)))
    wayfinder.services.actions.sleep = lambda seconds: None  # retries back off without slowing the test
    return wayfinder


def command(wayfinder: Wayfinder, text: str, *, user: str, response_url: str) -> int:
    fields = dict(parse_qsl(command_body(text, response_url=response_url)))
    fields["user_id"] = user
    return wayfinder.post(urlencode(fields), "application/x-www-form-urlencoded").status_code


def click(wayfinder: Wayfinder, action_id: str, value: str, *, user: str, response_url: str) -> int:
    payload = block_action(action_id, value, response_url=response_url)
    payload["user"]["id"] = user
    return wayfinder.interact(payload).status_code


def submit(wayfinder: Wayfinder, callback_id: str, values: dict[str, Any], *, user: str, metadata: str) -> dict[str, Any]:
    payload = view_submission(callback_id, values)
    payload["user"]["id"] = user
    payload["view"]["private_metadata"] = metadata
    body = interaction_body(payload)
    response = wayfinder.http.post("/slack/events", content=body, headers=signed_headers(body, "application/x-www-form-urlencoded"))
    assert response.status_code == 200
    return response.json() if response.content else {}


def text_input(value: str) -> dict[str, Any]:
    return {"value": {"type": "plain_text_input", "value": value}}


def modal_values(reason: str, target: str = "resource:default/payments-db") -> dict[str, Any]:
    return {
        "target": {"value": {"type": "static_select", "selected_option": {"value": target}}},
        "reason": text_input(reason), "duration": text_input("2d"),
        "level": {"value": {"type": "static_select", "selected_option": {"value": "read"}}},
    }  # fmt: skip


def thread_says(fake: FakeSlackAPI, text: str) -> None:
    """Wait until a reply in a card's thread contains `text`."""
    fake.wait_until(lambda calls: any(c.method == "chat.postMessage" and c.params.get("thread_ts") and text in c.params.get("text", "") for c in calls))


def blocks_of(call: Any) -> str:
    return json.dumps(call.params.get("blocks"))


def request_via_modal(server: Wayfinder, fake: FakeSlackAPI) -> int:
    """Elena: `/wayfinder run db-read-access payments-db`, the modal, a valid submission; the request id."""
    assert command(server, "run db-read-access resource:default/payments-db", user=ELENA, response_url=fake.response_url("run")) == 200
    modal = json.loads(json.dumps(fake.wait_for("views.open")[-1].params["view"]))
    assert modal["callback_id"] == "wf_action"
    target = next(b for b in modal["blocks"] if b.get("block_id") == "target")
    assert target["element"]["initial_option"]["value"] == "resource:default/payments-db"
    assert {b.get("block_id") for b in modal["blocks"]} >= {"reason", "duration", "level", "api_token"}
    cards = len(fake.calls("chat.postMessage"))
    assert submit(server, "wf_action", modal_values("Investigating the refunds incident"), user=ELENA, metadata=modal["private_metadata"]) == {}
    posted = fake.wait_for("chat.postMessage", cards + 2)
    card = next(c for c in posted[cards:] if c.params.get("channel") == PAYMENTS_CHANNEL)
    assert f"<@{NADIA}>" in blocks_of(card) and f"<@{SAMUEL}>" in blocks_of(card) and "wf_action_approve" in blocks_of(card)
    return server.services.actions.list_requests()[0].id


def test_run_lists_only_what_the_caller_may_request(server: Wayfinder, fake_slack: FakeSlackAPI) -> None:
    command(server, "run", user=ELENA, response_url=fake_slack.response_url("elena"))
    command(server, "run", user=BEN, response_url=fake_slack.response_url("ben"))
    replies = {c.path.rsplit("/", 1)[-1]: json.dumps(c.params) for c in fake_slack.wait_for("response_url", 2)}
    assert "payments-only" in replies["elena"] and "db-read-access" in replies["elena"]
    assert "payments-only" not in replies["ben"] and "db-read-access" in replies["ben"]


def test_invalid_input_is_shown_on_the_field(server: Wayfinder, fake_slack: FakeSlackAPI) -> None:
    answer = submit(server, "wf_action", modal_values("too short"), user=ELENA, metadata="db-read-access|C0GENERAL")
    assert answer["response_action"] == "errors" and "reason" in answer["errors"]
    assert server.services.actions.list_requests() == []


def test_request_approve_run_once_and_tell_everyone(server: Wayfinder, fake_slack: FakeSlackAPI, executor: FakeExecutor) -> None:
    request_id = request_via_modal(server, fake_slack)
    dm = next(c.params["text"] for c in fake_slack.calls("chat.postMessage") if c.params.get("channel") == ELENA)  # the requester's DM
    assert "Why do you need it?: Investigating the refunds incident" in dm and "For how long: 2 days" in dm  # labels, values by type
    click(server, "wf_action_approve", str(request_id), user=BEN, response_url=fake_slack.response_url("ben"))
    refusal = fake_slack.wait_for("response_url")[-1]
    assert "not an approver" in refusal.params["text"] and "Nadia" in refusal.params["text"]
    assert executor.runs == []
    clicks = [(NADIA, "n1"), (NADIA, "n2"), (SAMUEL, "s1"), (NADIA, "n3")]  # a double click and two approvers at once
    threads = [
        threading.Thread(target=click, args=(server, "wf_action_approve", str(request_id)), kwargs={"user": u, "response_url": fake_slack.response_url(r)})
        for u, r in clicks
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    told = fake_slack.wait_for("response_url", 1 + len(clicks) - 1)  # every losing click is told why
    assert all("already decided by" in c.params["text"] for c in told[1:])
    updates = fake_slack.wait_for("chat.update", 3)  # approved, running, done: the same card, in place
    assert len(executor.runs) == 1 and executor.bad_signatures == 0
    assert server.services.actions.get(request_id).state == "succeeded"
    assert {c.params["channel"] for c in updates} == {PAYMENTS_CHANNEL} and "Done" in blocks_of(updates[-1])
    thread_says(fake_slack, "approved the request")
    thread_says(fake_slack, "done by the fake")


def test_self_approval_is_refused_with_a_clear_message(server: Wayfinder, fake_slack: FakeSlackAPI, executor: FakeExecutor) -> None:
    nadia = Actor("slack", user_ref="user:default/nadia.haddad", slack_user_id=NADIA, name="Nadia")
    server.services.actions.request("db-read-access", nadia, REASON, target="resource:default/payments-db")
    request_id = server.services.actions.list_requests()[0].id
    click(server, "wf_action_approve", str(request_id), user=NADIA, response_url=fake_slack.response_url("self"))
    assert "cannot approve or reject your own request" in fake_slack.wait_for("response_url")[-1].params["text"]
    assert executor.runs == []


def test_reject_asks_for_a_reason(server: Wayfinder, fake_slack: FakeSlackAPI, executor: FakeExecutor) -> None:
    request_id = request_via_modal(server, fake_slack)
    opened = len(fake_slack.calls("views.open"))
    click(server, "wf_action_reject", str(request_id), user=SAMUEL, response_url=fake_slack.response_url("reject"))
    modal = fake_slack.wait_for("views.open", opened + 1)[-1].params["view"]
    modal = json.loads(modal) if isinstance(modal, str) else modal
    assert modal["callback_id"] == "wf_action_reject"
    assert submit(server, "wf_action_reject", {"reason": text_input(" ")}, user=SAMUEL, metadata=modal["private_metadata"])["response_action"] == "errors"
    assert submit(server, "wf_action_reject", {"reason": text_input("Use the read replica")}, user=SAMUEL, metadata=modal["private_metadata"]) == {}
    assert "Use the read replica" in blocks_of(fake_slack.wait_for("chat.update")[-1])
    fake_slack.wait_until(lambda calls: any(c.params.get("channel") == ELENA and "Use the read replica" in c.params.get("text", "") for c in calls))  # the DM
    assert server.services.actions.get(request_id).state == "rejected" and executor.runs == []


def test_executor_500_is_retried_and_reported_in_the_thread(server: Wayfinder, fake_slack: FakeSlackAPI, executor: FakeExecutor) -> None:
    executor.fail("/", status=500, times=1)
    request_id = request_via_modal(server, fake_slack)
    click(server, "wf_action_approve", str(request_id), user=NADIA, response_url=fake_slack.response_url("n"))
    thread_says(fake_slack, "HTTP 500; retrying")
    thread_says(fake_slack, "done by the fake")
    assert len(executor.runs) == 1


def test_long_running_status_reaches_the_thread(server: Wayfinder, fake_slack: FakeSlackAPI, executor: FakeExecutor) -> None:
    executor.answer = "running"
    request_id = request_via_modal(server, fake_slack)
    click(server, "wf_action_approve", str(request_id), user=NADIA, response_url=fake_slack.response_url("n"))
    thread_says(fake_slack, "done by the fake")  # the executor's answer: accepted, running
    assert server.services.actions.get(request_id).state == "running"
    token = executor.runs[0]["status_token"]
    url = f"/actions/runs/{request_id}/status"
    assert server.http.post(url, json={"status": "progress", "message": "granting"}, headers={"Authorization": "Bearer nope"}).status_code == 403
    assert server.http.post(url, json={"status": "progress", "message": "granting"}, headers={"Authorization": f"Bearer {token}"}).status_code == 200
    assert server.http.post(url, json={"status": "succeeded", "message": "granted"}, headers={"Authorization": f"Bearer {token}"}).status_code == 200
    assert server.services.actions.get(request_id).state == "succeeded"
    thread_says(fake_slack, "granting")
    thread_says(fake_slack, "granted")
    assert server.http.post(url, json={"status": "failed"}, headers={"Authorization": f"Bearer {token}"}).status_code == 403
    # an id no database integer holds: the same refusal, not a 500 from the database (and a dropped connection)
    huge = server.http.post("/actions/runs/9223372036854775808/status", json={"status": "succeeded"}, headers={"Authorization": "Bearer x"})
    assert (huge.status_code, huge.json()["ok"]) == (403, False)


def suggest(wayfinder: Wayfinder, field: str, typed: str, *, user: str, metadata: str) -> list[str]:
    """The option values Wayfinder acks while `user` types `typed` into the modal's `field` picker."""
    response = wayfinder.interact(block_suggestion("wf_action_entity", field, typed, callback_id="wf_action", metadata=metadata, user=user))
    assert response.status_code == 200
    options = response.json()["options"]
    assert all(o["text"]["type"] == "plain_text" and len(o["text"]["text"]) <= 75 for o in options)
    return [o["value"] for o in options]


def test_entity_pickers_search_the_catalog_as_people_type(server: Wayfinder, fake_slack: FakeSlackAPI, executor: FakeExecutor) -> None:
    assert command(server, "run db-read-access", user=ELENA, response_url=fake_slack.response_url("run")) == 200
    modal = fake_slack.wait_for("views.open")[-1].params["view"]
    modal = json.loads(modal) if isinstance(modal, str) else modal
    target = next(b for b in modal["blocks"] if b.get("block_id") == "target")["element"]
    assert target["type"] == "external_select" and target["min_query_length"] >= 1 and "options" not in target
    metadata = modal["private_metadata"]

    assert suggest(server, "target", "paymnts", user=ELENA, metadata=metadata)[0] == "resource:default/payments-db"  # a typo still finds it
    databases = suggest(server, "target", "db", user=ELENA, metadata=metadata)
    assert set(databases) == {f"resource:default/{n}-db" for n in ("ledger", "payments", "orders", "identity", "catalog", "loyalty")}  # no caches or buckets
    assert suggest(server, "target", "resource:default/payments-db", user=ELENA, metadata=metadata) == ["resource:default/payments-db"]

    mine = suggest(server, "service", "pay", user=ELENA, metadata="rotate-key|C0GENERAL")
    assert {"component:default/payments-service", "component:default/payouts-service"} <= set(mine)
    assert "component:default/payment-gateway" not in mine  # owned by acquiring, not Elena's payments team
    assert not set(suggest(server, "service", "pay", user=BEN, metadata="rotate-key|C0GENERAL")) & set(mine)  # Ben is in another team
    assert suggest(server, "service", "pay", user=ELENA, metadata="no-such-action|C0GENERAL") == []

    picked = {"service": {"wf_action_entity": {"type": "external_select", "selected_option": {"value": "component:default/payment-gateway"}}}}
    refused = submit(server, "wf_action", picked, user=ELENA, metadata="rotate-key|C0GENERAL")  # the server checks what the picker offered
    assert refused["response_action"] == "errors" and "not owned by one of your teams" in refused["errors"]["service"]
    values = modal_values("Investigating the refunds incident")
    values["target"] = {"wf_action_entity": {"type": "external_select", "selected_option": {"value": "resource:default/ledger-db"}}}
    assert submit(server, "wf_action", values, user=ELENA, metadata=metadata) == {}
    fake_slack.wait_until(lambda calls: bool(server.services.actions.list_requests()))
    assert server.services.actions.list_requests()[0].target_ref == "resource:default/ledger-db"


def test_answer_cards_offer_matching_actions(server: Wayfinder, fake_slack: FakeSlackAPI) -> None:
    command(server, "who owns payments-db?", user=ELENA, response_url=fake_slack.response_url("ask"))
    answer = json.dumps(fake_slack.wait_for("response_url")[-1].params)
    assert "wf_action_request:db-read-access" in answer and "resource:default/payments-db" in answer


def request_links(page: str) -> dict[str, str]:
    """`Request…` button id -> href on an ownership page."""
    return dict(re.findall(r'<a class="button" id="(request-[^"]+)" href="([^"]+)">Request…</a>', page))


def test_ownership_pages_say_how_to_request_matching_actions(server: Wayfinder) -> None:
    """Without the Slack app's id, a page cannot link to Wayfinder in Slack: it gives the command alone."""
    page = server.http.get("/o/resource/default/payments-db").text
    assert "Request in Slack" in page and "/wayfinder run db-read-access resource:default/payments-db" in page
    assert request_links(page) == {}
    assert "Request in Slack" not in server.http.get("/o/group/default/payments").text


def test_a_pages_request_button_opens_wayfinder_and_its_command_prefills_the_modal(
    example_catalog: Catalog, start: Callable[..., Wayfinder], make_catalog: Callable[[Config], Catalog], fake_slack: FakeSlackAPI, executor: FakeExecutor,
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    """Elena opens payments-db's page, presses "Request…" (Slack opens on Wayfinder), sends the command shown: the form has payments-db."""
    fake_slack.add_user(ELENA, "elena.rossi@northwind.example", name="elena.rossi")
    wayfinder = start(make_catalog(write_config(tmp_path, monkeypatch, executor.url, extra=SLACK_APP)))
    page = wayfinder.http.get("/o/resource/default/payments-db").text

    assert request_links(page)["request-db-read-access"] == "https://slack.com/app_redirect?app=A0WAYFINDER&amp;team=T0NORTHWIND"
    assert 'href="slack://app?team=T0NORTHWIND&amp;id=A0WAYFINDER&amp;tab=messages"' in page
    [shown] = re.findall(r'<code class="command" id="command-db-read-access">([^<]+)</code>', page)
    assert shown == "/wayfinder run db-read-access resource:default/payments-db"
    assert command(wayfinder, shown.removeprefix("/wayfinder "), user=ELENA, response_url=fake_slack.response_url("run")) == 200
    modal = fake_slack.wait_for("views.open")[-1].params["view"]
    target = next(b for b in json.loads(json.dumps(modal))["blocks"] if b.get("block_id") == "target")
    assert target["element"]["initial_option"]["value"] == "resource:default/payments-db"


@pytest.mark.parametrize("typed", ["payments-db", "Payments-DB", "resource:payments-db"])
def test_run_prefills_the_target_from_a_name_as_people_type_it(server: Wayfinder, fake_slack: FakeSlackAPI, typed: str) -> None:
    assert command(server, f"run db-read-access {typed}", user=ELENA, response_url=fake_slack.response_url("run")) == 200
    modal = json.loads(json.dumps(fake_slack.wait_for("views.open")[-1].params["view"]))
    target = next(b for b in modal["blocks"] if b.get("block_id") == "target")
    assert target["element"]["initial_option"]["value"] == "resource:default/payments-db"


def test_run_leaves_the_target_empty_when_the_name_is_not_a_possible_target(server: Wayfinder, fake_slack: FakeSlackAPI) -> None:
    assert command(server, "run db-read-access payments-service", user=ELENA, response_url=fake_slack.response_url("run")) == 200
    modal = json.loads(json.dumps(fake_slack.wait_for("views.open")[-1].params["view"]))
    target = next(b for b in modal["blocks"] if b.get("block_id") == "target")
    assert "initial_option" not in target["element"]


def slow_or_limited(fake: FakeSlackAPI, how: str) -> None:
    """The next users.info takes 3.5 s, or is refused with 429 Retry-After 3: either would sleep past Slack's 3 s."""
    if how == "slow":
        fake.delay("users.info", 3.5, times=1)
    else:
        fake.fail_next("users.info", 429, retry_after=3)


@pytest.mark.parametrize("how", ["slow", "rate limited"])
def test_the_entity_picker_answers_in_time_when_slack_cannot_say_who_types(server: Wayfinder, fake_slack: FakeSlackAPI, how: str) -> None:
    """The options ride in the ack: a lookup of the typist that waits out users.info left Slack with a 404 after 3 s."""
    slow_or_limited(fake_slack, how)

    assert "resource:default/payments-db" in suggest(server, "target", "pay", user=ELENA, metadata="db-read-access|C0GENERAL")
    assert "resource:default/payments-db" in suggest(server, "target", "paym", user=ELENA, metadata="db-read-access|C0GENERAL")

    assert fake_slack.count("/users.info") == 1  # once, not retried, and the failure is remembered for the next keystroke


@pytest.mark.parametrize("how", ["slow", "rate limited"])
def test_a_submission_is_acked_in_time_when_slack_cannot_say_who_submits(server: Wayfinder, fake_slack: FakeSlackAPI, how: str) -> None:
    """Field errors ride in the ack, so the submitter is looked up before it, in a hurry."""
    slow_or_limited(fake_slack, how)
    answer = submit(server, "wf_action", modal_values("too short"), user=ELENA, metadata="db-read-access|C0GENERAL")  # asserts the 200
    assert answer["response_action"] == "errors" and "reason" in answer["errors"]

    slow_or_limited(fake_slack, how)
    assert submit(server, "wf_action_reject", {"reason": text_input("no")}, user=SAMUEL, metadata="1")["response_action"] == "errors"


@pytest.mark.parametrize("how", ["slow", "rate limited"])
def test_run_opens_the_modal_before_its_trigger_expires_when_slack_cannot_say_who_asks(server: Wayfinder, fake_slack: FakeSlackAPI, how: str) -> None:
    """A trigger_id lives 3 s: views.open went out after users.info gave up retrying (4.7 s), and Slack would refuse it."""
    slow_or_limited(fake_slack, how)

    assert command(server, "run db-read-access payments-db", user=ELENA, response_url=fake_slack.response_url("run")) == 200

    fake_slack.wait_for("views.open")
    if how == "slow":
        assert fake_slack.calls("users.info") == []  # the modal opened while users.info was still on its way
    received = [r.path.rsplit("/", 1)[-1] for r in fake_slack.log if r.path.endswith(("/users.info", "/views.open"))]
    assert received == ["users.info", "views.open"]  # one lookup: not retried after Retry-After, not repeated for the modal


def test_a_reject_form_that_names_no_request_says_so_on_its_field(server: Wayfinder, fake_slack: FakeSlackAPI) -> None:
    """private_metadata comes back as Wayfinder wrote it (the request id) unless forged: an error on the field, not a 500."""
    answer = submit(server, "wf_action_reject", {"reason": text_input("Use the read replica")}, user=SAMUEL, metadata="abc")

    assert answer == {"response_action": "errors", "errors": {"reason": NOT_A_REQUEST}}
    assert fake_slack.calls("chat.postMessage") == []


@pytest.mark.parametrize("value", ["abc", "", "1.5", '{"id": 1}', "99999999999999999999"])
def test_a_button_naming_no_request_tells_the_person_rather_than_apologising(server: Wayfinder, fake_slack: FakeSlackAPI, value: str) -> None:
    """A forged or garbled value raised in `int()` or the database: an apology with an error id and an ERROR traceback."""
    for action_id in ("wf_action_approve", "wf_action_reject", "wf_action_extend", "wf_action_teardown"):
        assert click(server, action_id, value, user=NADIA, response_url=fake_slack.response_url(action_id)) == 200
    told = fake_slack.wait_for("response_url", 4)
    assert all("no request" in t.params["text"] and "Sorry" not in t.params["text"] for t in told), [t.params["text"] for t in told]
