"""`POST /slack/events` and the webhook as an outsider sees them (issue 7, points 1-3).

Why: anyone can reach the URL. A request whose signature was not verified must run nothing,
post nothing and fetch nothing, whatever its headers or body look like: before this check ran
ahead of Bolt, a timestamp of `abc` made Bolt's verifier raise into the error handler, which
posted an apology with the bot token to the attacker's channel or `response_url`. Malformed
bodies must not produce a 500 with a traceback, bodies must be size-limited before they are
read, and a refused body must never be written to the log.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest

from bot.http.body_limit import SLACK_LIMIT, WEBHOOK_LIMIT
from tests.e2e.harness import CHANNEL_ID, USER_ID, Wayfinder, interaction_body, mention_json, signed_headers
from tests.fakes.slack_api import TEAM_ID, FakeSlackAPI

MARKER = "ATTACKER-BODY-MARKER"
FORM = "application/x-www-form-urlencoded"


@pytest.fixture
def attacker() -> Iterator[FakeSlackAPI]:
    """A listener standing in for the attacker's own `response_url`."""
    with FakeSlackAPI() as listener:
        yield listener


def mention_body(event_id: str = "EvAttack") -> str:
    """An `app_mention` naming a channel and thread: where the old error handler posted its apology."""
    return mention_json(f"who owns payments-service? {MARKER}", event_id=event_id, thread_ts="1700000000.000001")


def command_body(response_url: str) -> str:
    return urlencode({"command": "/wayfinder", "text": f"who owns payments-service? {MARKER}", "team_id": TEAM_ID,
                      "channel_id": CHANNEL_ID, "user_id": USER_ID, "response_url": response_url, "trigger_id": "1.2.3"})  # fmt: skip


def nothing_happened(wayfinder: Wayfinder, attacker: FakeSlackAPI) -> None:
    """Only the startup `auth.test` reached Slack, and the attacker's listener heard nothing."""
    assert [c.method for c in wayfinder.fake.calls()] == ["auth.test"]
    assert attacker.requests == 0


def headers_with(body: str, content_type: str, **override: str | None) -> dict[str, str]:
    headers = signed_headers(body, content_type)
    for name, value in override.items():
        key = {"timestamp": "X-Slack-Request-Timestamp", "signature": "X-Slack-Signature"}[name]
        if value is None:
            del headers[key]
        else:
            headers[key] = value
    return headers


TAMPERED: dict[str, dict[str, Any]] = {
    "timestamp abc": {"timestamp": "abc"},
    "timestamp empty": {"timestamp": ""},
    "timestamp missing": {"timestamp": None},
    "timestamp not an integer": {"timestamp": "1.7e9"},
    "timestamp negative": {"timestamp": "-1"},
    "timestamp huge": {"timestamp": "9" * 400},
    "signature missing": {"signature": None},
    "signature malformed": {"signature": "v0=not-hex"},
    "signature of other bytes": {"signature": "v0=" + "0" * 64},
    "stale timestamp": {"stale": True},
    "wrong secret": {"secret": "not-the-signing-secret"},
}


@pytest.mark.parametrize("case", TAMPERED, ids=list(TAMPERED))
@pytest.mark.parametrize("kind", ["event", "command"])
def test_an_unverified_request_is_a_bare_401_and_nothing_runs(wayfinder: Wayfinder, attacker: FakeSlackAPI, case: str, kind: str) -> None:
    body, content_type = (
        (mention_body(), "application/json")
        if kind == "event"
        else (command_body(attacker.response_url("r1")), "application/x-www-form-urlencoded")
    )
    spec = dict(TAMPERED[case])
    if spec.pop("stale", False):
        headers = signed_headers(body, content_type, timestamp=int(time.time()) - 301)
    elif "secret" in spec:
        headers = signed_headers(body, content_type, secret=spec.pop("secret"))
    else:
        headers = headers_with(body, content_type, **spec)

    response = wayfinder.http.post("/slack/events", content=body, headers=headers)

    assert (response.status_code, response.json()) == (401, {"ok": False, "error": "invalid_request"})
    nothing_happened(wayfinder, attacker)


MALFORMED = {
    "malformed JSON": ('{"type": "event_callback", ', "application/json"),
    "JSON array": ('[{"type": "event_callback"}]', "application/json"),
    "JSON string": ('"event_callback"', "application/json"),
    "form sent as JSON": ("command=/wayfinder&text=hi", "application/json"),
    "payload with bad JSON": ("payload=%7Bnot-json", "application/x-www-form-urlencoded"),
    "payload that is a list": ("payload=%5B1%2C2%5D", "application/x-www-form-urlencoded"),
    "event that is a string": ('{"type": "event_callback", "event": "x", "team_id": "T1"}', "application/json"),
    "click without actions": (interaction_body({"type": "block_actions", "actions": [], "user": {"id": USER_ID}, "team": {"id": TEAM_ID},
                                                "trigger_id": "1.2.3", "response_url": "https://hooks.slack.com/actions/T1/1/x"}), FORM),
    "submitted view without a type": (interaction_body({"type": "view_submission", "user": {"id": USER_ID}, "team": {"id": TEAM_ID},
                                                        "view": {"id": "V1", "callback_id": "wf_search", "state": {"values": {}}}}), FORM),
}


@pytest.mark.parametrize("case", MALFORMED, ids=list(MALFORMED))
def test_a_malformed_body_is_401_unsigned_and_400_signed_never_500(wayfinder: Wayfinder, attacker: FakeSlackAPI, case: str) -> None:
    body, content_type = MALFORMED[case]

    unsigned = wayfinder.http.post(
        "/slack/events", content=body, headers={"Content-Type": content_type, "X-Slack-Request-Timestamp": "abc"}
    )
    signed = wayfinder.post(body, content_type)

    assert unsigned.status_code == 401
    assert (signed.status_code, signed.json()["error"]) == (400, "malformed_body")
    assert "Traceback" not in signed.text
    nothing_happened(wayfinder, attacker)


def test_a_binary_body_is_refused_signed_or_not(wayfinder: Wayfinder, attacker: FakeSlackAPI) -> None:
    body = bytes(range(256)) * 4
    headers = {
        "Content-Type": "application/json",
        "X-Slack-Request-Timestamp": str(int(time.time())),
        "X-Slack-Signature": "v0=" + "a" * 64,
    }
    assert wayfinder.http.post("/slack/events", content=body, headers=headers).status_code == 401
    nothing_happened(wayfinder, attacker)


def test_a_verified_request_still_works_after_refusals(wayfinder: Wayfinder, attacker: FakeSlackAPI) -> None:
    """The gate refuses only what it must: a properly signed mention is answered in its thread."""
    wayfinder.http.post(
        "/slack/events", content=mention_body(), headers={"Content-Type": "application/json", "X-Slack-Request-Timestamp": "abc"}
    )

    assert wayfinder.post(mention_body("EvReal"), "application/json").status_code == 200

    [post] = wayfinder.fake.wait_for("chat.postMessage")
    assert post.params["channel"] == CHANNEL_ID and post.params["thread_ts"] == "1700000000.000001"
    assert attacker.requests == 0


def test_refusals_are_logged_with_a_reason_never_the_body(wayfinder: Wayfinder, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    body = mention_body() + " " * 1000 + MARKER

    wayfinder.http.post("/slack/events", content=body, headers=headers_with(body, "application/json", signature="v0=" + "1" * 64))
    wayfinder.http.post("/slack/events", content=body, headers=headers_with(body, "application/json", timestamp="abc"))
    wayfinder.post('{"broken": ' + MARKER, "application/json")
    with contextlib.suppress(httpx.TransportError):  # the server may close on the client before it has sent the whole body
        wayfinder.http.post("/slack/events", content=MARKER * (SLACK_LIMIT // len(MARKER) + 1), headers={"Content-Type": "text/plain"})

    assert MARKER not in caplog.text
    refusals = [r.getMessage() for r in caplog.records if "refused" in r.getMessage()]
    assert refusals == [
        "refused POST /slack/events with 401: the signature does not match or the timestamp is more than 5 minutes off",
        "refused POST /slack/events with 401: X-Slack-Request-Timestamp is missing or not a number",
        "refused POST /slack/events with 400: the signed body is not a Slack payload (a JSON object, a form, or a form with a "
        "JSON payload)",
        f"refused POST /slack/events: body over the {SLACK_LIMIT}-byte limit",
    ]


@pytest.mark.parametrize(("path", "limit"), [("/slack/events", SLACK_LIMIT), ("/webhooks/github", WEBHOOK_LIMIT), ("/livez", SLACK_LIMIT)])
def test_bodies_over_the_limit_are_refused_with_413(wayfinder: Wayfinder, attacker: FakeSlackAPI, path: str, limit: int) -> None:
    response = wayfinder.http.post(path, content=b"x" * (limit + 1), headers={"Content-Type": "application/json"})
    assert (response.status_code, response.json()["error"]) == (413, "body_too_large")
    nothing_happened(wayfinder, attacker)


def test_the_fake_response_url_listener_does_record_posts(attacker: FakeSlackAPI) -> None:
    """Guards the assertions above: the listener would have noticed an apology."""
    httpx.post(attacker.response_url("r1"), json={"text": "sorry"}, timeout=5)
    assert attacker.requests == 1
