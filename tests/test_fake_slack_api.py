"""Contract tests: the real slack_sdk WebClient against FakeSlackAPI.

They keep the fake honest: if slack_sdk changes how it encodes requests or reads errors,
these fail here rather than as confusing e2e failures elsewhere.
"""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Iterator

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler
from slack_sdk.webhook import WebhookClient

from tests.fakes.slack_api import FakeSlackAPI


@pytest.fixture()
def fake() -> Iterator[FakeSlackAPI]:
    with FakeSlackAPI() as server:
        yield server


@pytest.fixture()
def client(fake: FakeSlackAPI) -> WebClient:
    return WebClient(token="xoxb-test", base_url=fake.url)


def test_auth_test_identifies_the_bot(fake: FakeSlackAPI, client: WebClient) -> None:
    resp = client.auth_test()

    assert (resp["user_id"], resp["bot_id"], resp["team_id"], resp["user"]) == (
        "UBOT",
        "BBOT",
        "T0001",
        "wayfinder",
    )
    [call] = fake.calls("auth.test")
    assert call.token == "xoxb-test"
    assert call.params == {}


def test_post_message_records_json_blocks_and_returns_increasing_ts(
    fake: FakeSlackAPI, client: WebClient
) -> None:
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "*payments-api*"}}]

    first = client.chat_postMessage(channel="C1", text="fallback", blocks=blocks)
    second = client.chat_postMessage(channel="C1", text="again", thread_ts=first["ts"])

    assert first["channel"] == "C1"
    assert first["message"]["blocks"] == blocks
    assert second["message"]["thread_ts"] == first["ts"]
    assert float(second["ts"]) > float(first["ts"])
    call = fake.calls("chat.postMessage")[0]
    assert call.params == {"channel": "C1", "text": "fallback", "blocks": blocks}
    assert call.headers["content-type"].startswith("application/json")


def test_lookup_by_email_finds_registered_user(fake: FakeSlackAPI, client: WebClient) -> None:
    fake.add_user("U123", "ada@example.com", name="ada")

    resp = client.users_lookupByEmail(email="ada@example.com")

    assert resp["user"]["id"] == "U123"
    assert resp["user"]["profile"]["email"] == "ada@example.com"
    assert fake.calls("users.lookupByEmail")[0].params == {"email": "ada@example.com"}


def test_lookup_by_unknown_email_raises_users_not_found(client: WebClient) -> None:
    with pytest.raises(SlackApiError) as excinfo:
        client.users_lookupByEmail(email="nobody@example.com")

    assert excinfo.value.response["error"] == "users_not_found"


def test_usergroup_members_come_from_registry(fake: FakeSlackAPI, client: WebClient) -> None:
    fake.add_usergroup("S1", "payments-oncall", "Payments on-call", users=["U1", "U2"])

    groups = client.usergroups_list()["usergroups"]
    members = client.usergroups_users_list(usergroup="S1")["users"]

    assert [(g["id"], g["handle"]) for g in groups] == [("S1", "payments-oncall")]
    assert members == ["U1", "U2"]


def test_rate_limit_then_success_with_retry_handler(fake: FakeSlackAPI, client: WebClient) -> None:
    client.retry_handlers.append(RateLimitErrorRetryHandler(max_retry_count=1))
    fake.fail_next("chat.postMessage", status=429, retry_after=0)

    resp = client.chat_postMessage(channel="C1", text="hi")

    assert resp["ok"] is True
    assert len(fake.calls("chat.postMessage")) == 2


def test_rate_limit_without_handler_surfaces_429(fake: FakeSlackAPI, client: WebClient) -> None:
    fake.fail_next("users.info", status=429, retry_after=7)

    with pytest.raises(SlackApiError) as excinfo:
        client.users_info(user="U1")

    assert excinfo.value.response.status_code == 429
    assert excinfo.value.response.headers["Retry-After"] == "7"
    assert excinfo.value.response["error"] == "ratelimited"


@pytest.mark.parametrize(("status", "error"), [(200, "channel_not_found"), (500, "fatal_error")])
def test_scripted_errors_apply_once(
    fake: FakeSlackAPI, client: WebClient, status: int, error: str
) -> None:
    fake.fail_next("chat.update", status=status, error=error)

    with pytest.raises(SlackApiError) as excinfo:
        client.chat_update(channel="C1", ts="1700000000.000100", text="x")

    assert (excinfo.value.response.status_code, excinfo.value.response["error"]) == (status, error)
    assert client.chat_update(channel="C1", ts="1700000000.000100", text="x")["ok"] is True


def test_plain_get_and_form_post_are_parsed(fake: FakeSlackAPI) -> None:
    urllib.request.urlopen(f"{fake.url}conversations.info?channel=C9").read()
    form = urllib.request.Request(
        f"{fake.url}chat.unfurl", data=b"token=xoxb-form&channel=C9&ts=1.2", method="POST"
    )
    form.add_header("Content-Type", "application/x-www-form-urlencoded")
    body = json.loads(urllib.request.urlopen(form).read())

    assert body == {"ok": True}
    assert fake.calls("conversations.info")[0].params == {"channel": "C9"}
    unfurl = fake.calls("chat.unfurl")[0]
    assert unfurl.token == "xoxb-form"
    assert unfurl.params["ts"] == "1.2"


def test_wait_for_times_out_with_the_calls_seen(fake: FakeSlackAPI, client: WebClient) -> None:
    client.auth_test()
    started = time.monotonic()

    with pytest.raises(AssertionError, match=r"'chat.postMessage'.*got 0.*\['auth.test'\]"):
        fake.wait_for("chat.postMessage", timeout=0.2)

    assert time.monotonic() - started < 2


def test_response_url_posts_are_recorded(fake: FakeSlackAPI) -> None:
    url = fake.response_url("abc")

    resp = WebhookClient(url).send(text="done", response_type="ephemeral", replace_original=True)

    assert resp.status_code == 200
    [call] = fake.wait_for("response_url")
    assert call.path == "/response_url/abc"
    assert call.params == {"text": "done", "response_type": "ephemeral", "replace_original": True}


def test_reset_forgets_calls_and_registries(fake: FakeSlackAPI, client: WebClient) -> None:
    fake.add_user("U1", "a@example.com")
    client.users_info(user="U1")

    fake.reset()

    assert fake.calls() == []
    with pytest.raises(SlackApiError):
        client.users_info(user="U1")
