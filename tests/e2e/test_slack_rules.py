"""Slack's rules over real HTTP: signatures, retries, rate limits, failures, text safety, no credentials."""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from slack_sdk import WebClient
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from bot.http.app import SlackCredentials
from bot.slack.app import LISTENER_THREADS
from bot.slack.deliveries import answer_metadata
from bot.slack.ids import ActionId
from bot.slack.metadata import FeedbackValue
from catalog.config import Config
from catalog.core import Catalog
from catalog.store import deliveries
from catalog.store.models import AnswerFeedback, SlackDelivery
from tests.e2e.harness import (
    BOT_TOKEN,
    CHANNEL_ID,
    Wayfinder,
    block_action,
    block_suggestion,
    command_body,
    event_envelope,
    interaction_body,
    mention,
    view_submission,
)
from tests.fakes.slack_api import APP_ID, BOT_USER_ID, TEAM_ID, FakeSlackAPI


@pytest.mark.parametrize("tamper", ["signature", "secret", "stale", "future"])
def test_unverifiable_requests_get_401_and_do_nothing(wayfinder: Wayfinder, tamper: str) -> None:
    body = json.dumps({"type": "event_callback", "event_id": "EvBad", "event": mention("who owns payments-service", ts="1.1")})
    variants: dict[str, dict[str, Any]] = {
        "signature": {},
        "secret": {"secret": "not-the-signing-secret"},
        "stale": {"timestamp": int(time.time()) - 301},
        "future": {"timestamp": int(time.time()) + 330},  # 301 s failed when the server read its clock a second later
    }
    sign = variants[tamper]
    headers = {"X-Slack-Signature": "v0=" + "0" * 64} if tamper == "signature" else None

    resp = wayfinder.post(body, "application/json", headers=headers, **sign)

    assert resp.status_code == 401
    with wayfinder.services.catalog.session() as session:
        assert session.scalar(select(func.count()).select_from(SlackDelivery)) == 0
    wayfinder.event(mention("who owns ledger-db", ts="1.2"), event_id="EvGood")  # a valid request still works
    assert [c.params["thread_ts"] for c in wayfinder.fake.wait_for("chat.postMessage")] == ["1.2"]


def test_a_retried_event_is_answered_once_even_by_another_replica(
    wayfinder: Wayfinder, start: Callable[..., Wayfinder], make_catalog: Callable[[Config], Catalog], example_catalog: Catalog
) -> None:
    event = mention("who owns payments-service?", ts="1700000010.000100")
    retry = {"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"}
    assert wayfinder.event(event, event_id="EvOnce").status_code == 200
    wayfinder.fake.wait_for("chat.postMessage")

    assert wayfinder.event(event, event_id="EvOnce", headers=retry).status_code == 200
    restarted = start(make_catalog(example_catalog.config))  # a new process on the same database
    assert restarted.event(event, event_id="EvOnce", headers={**retry, "X-Slack-Retry-Num": "2"}).status_code == 200
    restarted.event(mention("who owns ledger-db?", ts="1700000010.000200"), event_id="EvNext")  # proves the replica answers

    posts = wayfinder.fake.wait_for("chat.postMessage", count=2)
    assert [p.params["thread_ts"] for p in posts] == ["1700000010.000100", "1700000010.000200"]


def test_rate_limited_post_is_retried_after_retry_after(wayfinder: Wayfinder) -> None:
    wayfinder.fake.fail_next("chat.postMessage", 429, retry_after=1)

    wayfinder.event(mention("who owns payments-service?", ts="1700000011.000100"), event_id="Ev429")

    limited, posted = wayfinder.fake.wait_for("chat.postMessage", count=2, timeout=10)
    assert limited.params["blocks"] == posted.params["blocks"]
    assert len(wayfinder.fake.calls("chat.postMessage")) == 2  # no apology: the retry succeeded


def test_a_failing_handler_apologises_with_an_error_id_and_logs_no_token(wayfinder: Wayfinder, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    wayfinder.fake.fail_next("chat.postMessage", 200, error="invalid_blocks")

    wayfinder.event(mention("who owns payments-service?", ts="1700000012.000100"), event_id="EvFail")

    failed, apology = wayfinder.fake.wait_for("chat.postMessage", count=2)
    assert (apology.params["channel"], apology.params["thread_ts"]) == (CHANNEL_ID, "1700000012.000100")
    error_id = re.search(r"error id `([0-9a-f]{12})`", apology.params["text"])
    assert error_id, apology.params["text"]
    logged = [r for r in caplog.records if error_id.group(1) in r.getMessage()]
    assert logged and logged[0].exc_info and "invalid_blocks" in caplog.text
    assert BOT_TOKEN not in caplog.text and "e2e-signing-secret" not in caplog.text


def test_a_server_started_while_slack_was_down_answers_once_slack_is_back(
    start: Callable[..., Wayfinder], example_catalog: Catalog, fake_slack: FakeSlackAPI
) -> None:
    fake_slack.fail_next("auth.test", 503)
    wayfinder = start(example_catalog)  # serves, though Slack could not check its token

    wayfinder.event(mention("who owns payments-service?", ts="1700000015.000100"), event_id="EvBack")

    [answer] = wayfinder.fake.wait_for("chat.postMessage")
    assert answer.params["thread_ts"] == "1700000015.000100" and "Payments" in answer.params["text"]
    assert len(fake_slack.calls("auth.test")) == 2  # the failed one at start, then the first request's


def test_a_click_a_form_or_a_picker_nothing_handles_is_acked_and_a_stale_button_says_so(wayfinder: Wayfinder) -> None:
    """Bolt answered 404 "unhandled request": Slack showed the person an error on the button or the form."""
    click = wayfinder.interact(block_action("wf_removed_long_ago", "1", response_url=wayfinder.fake.response_url("old")))
    form = wayfinder.interact(view_submission("wf_no_such_form", {}))
    picker = wayfinder.interact(block_suggestion("wf_no_such_picker", "b", "pay", callback_id="wf_no_such_form", metadata=""))

    assert (click.status_code, form.status_code, picker.status_code, picker.json()) == (200, 200, 200, {"options": []})
    [told] = wayfinder.fake.wait_for("response_url")
    assert "older Wayfinder message" in told.params["text"] and told.params["response_type"] == "ephemeral"


def _failing_claims(wayfinder: Wayfinder, monkeypatch: pytest.MonkeyPatch, times: int) -> None:
    """The claims ledger fails `times` times, as on a PostgreSQL restarting under it, then works."""
    catalog, left = wayfinder.services.catalog, [times]
    claim = catalog.start_delivery

    def flaky(*args: Any, **kwargs: Any) -> bool:
        if left[0]:
            left[0] -= 1
            raise OperationalError("INSERT INTO slack_delivery ...", {}, Exception("server closed the connection unexpectedly"))
        return claim(*args, **kwargs)

    monkeypatch.setattr(catalog, "start_delivery", flaky)


def test_an_event_failing_before_its_ack_is_not_apologised_for_since_slack_delivers_it_again(
    wayfinder: Wayfinder, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The person got "Sorry, something went wrong" and then, from Slack's retry a moment later, the answer."""
    _failing_claims(wayfinder, monkeypatch, times=1)
    event = mention("who owns payments-service?", ts="1700000013.000100")

    assert wayfinder.event(event, event_id="EvDown").status_code == 500
    assert wayfinder.event(event, event_id="EvDown", headers={"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_error"}).status_code == 200

    [answer] = wayfinder.fake.wait_for("chat.postMessage")  # an apology is posted before the 500 is sent: none was
    assert "Payments" in answer.params["text"] and "Sorry" not in answer.params["text"]


def test_an_event_failing_before_its_ack_on_slacks_last_retry_is_apologised_for(wayfinder: Wayfinder, monkeypatch: pytest.MonkeyPatch) -> None:
    _failing_claims(wayfinder, monkeypatch, times=1)

    last = {"X-Slack-Retry-Num": "3", "X-Slack-Retry-Reason": "http_error"}
    assert wayfinder.event(mention("who owns ledger-db?", ts="1700000014.000100"), event_id="EvGone", headers=last).status_code == 500

    [apology] = wayfinder.fake.calls("chat.postMessage")
    assert apology.params["thread_ts"] == "1700000014.000100" and "Sorry, something went wrong" in apology.params["text"]


def test_catalog_text_cannot_ping_or_spoof_links(
    start: Callable[..., Wayfinder], write_config: Callable[[str], Config], make_catalog: Callable[[Config], Catalog], tmp_path: Path
) -> None:
    evil = "<!channel> <https://evil.example|docs> <@U0VICTIM> & <!here>"
    (tmp_path / "catalog").mkdir()
    (tmp_path / "catalog" / "all.yaml").write_text(
        f"""apiVersion: backstage.io/v1alpha1
kind: Group
metadata: {{name: red-team, title: {json.dumps(evil)}, description: {json.dumps(evil)}}}
spec: {{type: team, children: [], profile: {{displayName: {json.dumps(evil)}, email: red@example.com}}}}
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: evil-service
  description: {json.dumps(evil)}
  links: [{{url: "https://evil.example/runbook", title: {json.dumps(evil)}}}]
spec: {{type: service, lifecycle: {json.dumps(evil)}, owner: red-team}}
""",
        encoding="utf-8",
    )
    catalog = make_catalog(write_config("sources:\n  - name: evil\n    type: backstage\n    path: catalog\n"))
    assert all(r.ok for r in catalog.sync())
    wayfinder = start(catalog)

    wayfinder.event(mention("who owns evil-service?", ts="1700000013.000100"), event_id="EvEvil")

    [call] = wayfinder.fake.wait_for("chat.postMessage")
    posted = json.dumps([call.params["text"], call.params["blocks"]])
    for control in ("<!channel>", "<!here>", "<@U0VICTIM>", "<https://evil.example|docs>"):
        assert control not in posted
    assert "&lt;!channel&gt;" in posted and "&amp;" in posted


def test_healthz_reports_liveness_database_and_slack_mode(wayfinder: Wayfinder) -> None:
    resp = wayfinder.http.get("/healthz")

    assert resp.status_code == 200
    assert resp.json() == {"status": "ok", "database": "ok", "slack": "http"}


def test_without_credentials_health_works_and_slack_says_what_is_missing(
    start: Callable[..., Wayfinder], example_catalog: Catalog, fake_slack: FakeSlackAPI
) -> None:
    wayfinder = start(example_catalog, SlackCredentials(api_url=fake_slack.url))

    assert wayfinder.http.get("/healthz").json() == {"status": "ok", "database": "ok", "slack": "disabled"}
    resp = wayfinder.event(mention("who owns payments-service?", ts="1.1"), event_id="EvOff")
    assert resp.status_code == 503
    assert resp.json()["error"] == "slack_unavailable" and "SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET" in resp.json()["message"]
    assert fake_slack.calls() == []


def test_a_command_and_a_click_redelivered_to_another_replica_are_handled_once(
    wayfinder: Wayfinder, start: Callable[..., Wayfinder], make_catalog: Callable[[Config], Catalog], example_catalog: Catalog
) -> None:
    """A load balancer may resend a slash command or a button click to another replica: its trigger_id is claimed once."""
    other = start(make_catalog(example_catalog.config))  # another replica on the same database
    command = command_body("who owns payments-service?", response_url=wayfinder.fake.response_url("cmd"))
    click = interaction_body(block_action(ActionId.FEEDBACK, _feedback_value(), response_url=wayfinder.fake.response_url("vote")))
    for replica in (wayfinder, other):
        assert replica.post(command, "application/x-www-form-urlencoded").status_code == 200  # both ack
        assert replica.post(click, "application/x-www-form-urlencoded").status_code == 200
    other.command("who owns ledger-db?", response_url=wayfinder.fake.response_url("next"))  # a new invocation is answered

    wayfinder.fake.wait_for("response_url", count=3)

    def dropped() -> float:  # either replica may claim first: the other drops
        return sum(r.services.catalog.metrics.duplicates.labels("slack")._value.get() for r in (wayfinder, other))

    deadline = time.monotonic() + 5
    while dropped() < 2 and time.monotonic() < deadline:  # both redeliveries seen and dropped: nothing more will come
        time.sleep(0.01)
    assert dropped() == 2
    assert sorted(p.path.rsplit("/", 1)[-1] for p in wayfinder.fake.calls("response_url")) == ["cmd", "next", "vote"]
    with wayfinder.services.catalog.session() as session:
        assert session.scalar(select(func.count()).select_from(AnswerFeedback)) == 1


def _feedback_value() -> str:
    return FeedbackValue(question="who owns payments-service?", intent="owner", ref="component:default/payments-service", helpful=True).model_dump_json()


def _burst_delivery(kind: str, fake: FakeSlackAPI) -> tuple[str, str, str, Callable[[], Any]]:
    """A delivery of `kind` as (body, content type, its ledger key, a wait for its answer)."""
    if kind == "event":
        body = json.dumps(event_envelope(mention("who owns payments-service?", ts="1700000030.000100"), event_id="EvBurst"))
        return body, "application/json", "slack:EvBurst", lambda: fake.wait_for("chat.postMessage")[0].params["thread_ts"] == "1700000030.000100"
    trigger = f"trigger-burst-{kind}"
    if kind == "command":
        body = command_body("who owns payments-service?", response_url=fake.response_url("burst"), trigger_id=trigger)
    else:
        body = interaction_body(block_action(ActionId.FEEDBACK, _feedback_value(), response_url=fake.response_url("burst"), trigger_id=trigger))
    return body, "application/x-www-form-urlencoded", f"slack-trigger:{trigger}", lambda: len(fake.wait_for("response_url")) == 1


@pytest.mark.parametrize("kind", ["event", "command", "click"])
def test_a_delivery_is_claimed_and_acked_while_every_listener_thread_is_busy(wayfinder: Wayfinder, example_catalog: Catalog, kind: str) -> None:
    """An ack with no claim behind it is lost if the replica dies next: Slack never retries what it got an ack for.

    Every listener thread is kept busy, as under a burst, so no listener can start: the ack still
    comes at once (Bolt would wait for a listener to ack a command or a click, up to its 3 s), and the
    delivery is in the ledger by then, for another replica to take over.
    """
    body, content_type, key, answered = _burst_delivery(kind, wayfinder.fake)
    pool = wayfinder.server.api.state.slack_app.listener_runner.listener_executor
    release = threading.Event()
    busy = [pool.submit(release.wait, 10) for _ in range(LISTENER_THREADS)]
    try:
        response = wayfinder.post(body, content_type)
        assert response.status_code == 200 and response.text == ""
        assert wayfinder.fake.calls("chat.postMessage") == wayfinder.fake.calls("response_url") == []  # acked before any answer
        with example_catalog.ledger.session() as session:
            assert session.get(SlackDelivery, key) is not None
    finally:
        release.set()
        for task in busy:
            task.result()
    assert answered()  # answered once the burst is over
    deadline = time.monotonic() + 5
    while not _done(example_catalog, key) and time.monotonic() < deadline:  # marked done just after the answer is sent
        time.sleep(0.01)
    assert _done(example_catalog, key)


def test_a_delivery_whose_replica_died_mid_answer_is_taken_over_and_answered_once(
    wayfinder: Wayfinder, start: Callable[..., Wayfinder], make_catalog: Callable[[Config], Catalog], example_catalog: Catalog
) -> None:
    """Slack got the ack from a replica killed before it answered, so it will not retry: another replica answers instead."""
    ts = "1700000020.000100"
    body = event_envelope(mention("who owns payments-service?", ts=ts), event_id="EvDied")
    died = datetime.now(UTC) - 2 * deliveries.LEASE
    assert example_catalog.start_delivery("slack:EvDied", json.dumps(body), now=died)  # the dead replica's claim, never finished
    assert wayfinder.event(body["event"], event_id="EvDied").status_code == 200  # a retry anyway changes nothing
    other = start(make_catalog(example_catalog.config))

    taken = [w.server.api.state.delivery_takeover.run_once() for w in (other, wayfinder)]

    assert taken == [1, 0]  # exactly one replica takes it over
    [answer] = wayfinder.fake.wait_for("chat.postMessage")
    assert answer.params["thread_ts"] == ts and "payments" in json.dumps(answer.params["blocks"])
    assert _done(example_catalog, "slack:EvDied")
    assert example_catalog.take_over_deliveries(now=datetime.now(UTC) + 2 * deliveries.LEASE) == []  # done: never handled again


@pytest.mark.parametrize("where", ["thread", "dm"])
def test_a_taken_over_delivery_whose_dead_replica_had_answered_is_not_answered_again(
    wayfinder: Wayfinder, example_catalog: Catalog, where: str
) -> None:
    """Killed after posting its answer and before marking the delivery done: the answer, found in Slack by its metadata, is not repeated."""
    ts = "1700000000.000050"  # the question came before the answer
    event = mention("who owns payments-service?", ts=ts) if where == "thread" else {
        "type": "message", "channel_type": "im", "channel": "D0DEADREPLICA", "user": "U0ASKER", "text": "who owns payments-service?", "ts": ts
    }
    body = event_envelope(event, event_id=f"EvAnswered{where}")
    key = f"slack:EvAnswered{where}"
    died = datetime.now(UTC) - 2 * deliveries.LEASE
    assert example_catalog.start_delivery(key, json.dumps(body), now=died)
    dead = WebClient(token=BOT_TOKEN, base_url=wayfinder.fake.url)  # the dead replica's answer, posted just before the kill
    dead.chat_postMessage(channel=event["channel"], thread_ts=ts if where == "thread" else None, text="payments-service is owned by…", metadata=answer_metadata(key))
    posted = len(wayfinder.fake.calls("chat.postMessage"))

    assert wayfinder.server.api.state.delivery_takeover.run_once() == 1

    assert _done(example_catalog, key)  # marked done by the takeover, without a second answer
    assert len(wayfinder.fake.calls("chat.postMessage")) == posted


def _done(catalog: Catalog, key: str) -> bool:
    """Whether `key` is marked done within 5 s (the listener runs on Bolt's thread pool, and marks it just after posting)."""
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        with catalog.ledger.session() as session:  # Slack's deliveries' own ledger (a database of their own on SQLite)
            row = session.get(SlackDelivery, key)
            if row is not None and row.done_at is not None:
                return True
        time.sleep(0.01)
    return False


def test_slacks_notices_about_the_app_get_200_and_are_logged_and_counted(wayfinder: Wayfinder, caplog: pytest.LogCaptureFixture) -> None:
    """Slack counts a non-2xx as a failed delivery and may disable the app's events: `app_rate_limited` got a 404."""
    caplog.set_level(logging.WARNING)
    rate_limited = {"type": "app_rate_limited", "token": "t", "team_id": TEAM_ID, "minute_rate_limited": 1518467820, "api_app_id": APP_ID}
    revoked = {"type": "tokens_revoked", "tokens": {"bot": [BOT_USER_ID]}}

    assert wayfinder.post(json.dumps(rate_limited), "application/json").status_code == 200
    assert wayfinder.event(revoked, event_id="EvRevoked").status_code == 200
    assert wayfinder.event({"type": "app_uninstalled"}, event_id="EvUninstalled").status_code == 200

    registry = wayfinder.services.catalog.metrics.registry
    deadline = time.monotonic() + 5  # the two events are logged on Bolt's listener threads, after their ack
    while registry.get_sample_value("wayfinder_slack_app_notices_total", {"type": "app_uninstalled"}) is None and time.monotonic() < deadline:
        time.sleep(0.01)
    for kind in ("app_rate_limited", "tokens_revoked", "app_uninstalled"):
        assert registry.get_sample_value("wayfinder_slack_app_notices_total", {"type": kind}) == 1
        assert any(r.levelno == logging.WARNING and f"Slack {kind}: team {TEAM_ID}" in r.getMessage() for r in caplog.records)
    assert [c.method for c in wayfinder.fake.calls()] == ["auth.test"]


@pytest.mark.parametrize(("action_id", "value"), [(ActionId.EXEMPTION_REQUEST, "{"), (ActionId.DID_YOU_MEAN, "{")])
def test_an_error_right_after_the_ack_keeps_the_200_and_apologises_once(
    wayfinder: Wayfinder, caplog: pytest.LogCaptureFixture, action_id: str, value: str
) -> None:
    """Bolt's thread runner drops the ack of a listener that raises after acking unless it saw the ack first (every
    10 ms): Slack then got a 404 after 3 s, on top of the apology. Five clicks, since that race was lost 7 times in 9."""
    caplog.set_level(logging.WARNING)
    clicks = [wayfinder.interact(block_action(action_id, value, response_url=wayfinder.fake.response_url(f"c{n}"))) for n in range(5)]

    assert [c.status_code for c in clicks] == [200] * 5
    apologies = wayfinder.fake.wait_for("response_url", count=5)
    assert sorted(a.path[-2:] for a in apologies) == [f"c{n}" for n in range(5)] and all("error id" in a.params["text"] for a in apologies)
    assert "didn't call ack" not in caplog.text


def test_a_damaged_button_value_is_logged_without_the_text_it_carries(wayfinder: Wayfinder, caplog: pytest.LogCaptureFixture) -> None:
    """A button value holds a person's question; pydantic's error quotes its input, which went into the error log."""
    caplog.set_level(logging.DEBUG)
    value = '{"question": "who owns PRIVATE-QUESTION-MARKER'  # cut short: not JSON

    assert wayfinder.interact(block_action(ActionId.FEEDBACK, value, response_url=wayfinder.fake.response_url("fb"))).status_code == 200

    [apology] = wayfinder.fake.wait_for("response_url")
    error_id = re.search(r"error id `([0-9a-f]{12})`", apology.params["text"])
    assert error_id and error_id.group(1) in caplog.text and "invalid FeedbackValue" in caplog.text
    assert "PRIVATE-QUESTION-MARKER" not in caplog.text
