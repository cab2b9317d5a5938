"""Driving a real Wayfinder HTTP server the way Slack does: signed requests, Slack's payload shapes.

Used by the e2e tests and by `benchmarks/bench_slack.py`, so both measure the same path:
uvicorn -> FastAPI -> Bolt -> listeners -> the fake Slack Web API.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode

import httpx
import uvicorn
from fastapi import FastAPI
from slack_sdk.signature import SignatureVerifier

from bot.compose import Services
from bot.http.app import SlackCredentials, build_slack, create_http_app, tcp_listener
from catalog.core import Catalog
from catalog.tls import tls_context
from tests.conftest import DATA
from tests.fakes.slack_api import APP_ID, BOT_USER_ID, TEAM_ID, FakeSlackAPI

SIGNING_SECRET = "e2e-signing-secret"
BOT_TOKEN = "xoxb-e2e-0000-very-secret-token"  # distinctive, so a leak into logs is easy to spot
PUBLIC_URL = "http://wayfinder.test:3000"
USER_ID = "U0ASKER"
CHANNEL_ID = "C0GENERAL"
# Our own payloads in Slack's shapes; tests/test_slack_payloads.py keeps them in step with recorded ones.
SLACK_PAYLOADS = DATA / "slack"


def credentials(fake: FakeSlackAPI) -> SlackCredentials:
    return SlackCredentials(bot_token=BOT_TOKEN, signing_secret=SIGNING_SECRET, api_url=fake.url)


def signed_headers(body: str, content_type: str, *, secret: str = SIGNING_SECRET, timestamp: int | None = None) -> dict[str, str]:
    """The headers Slack sends: `v0=` HMAC-SHA256 over `v0:{ts}:{body}` (SLACK-FACTS §1.1)."""
    ts = str(int(time.time()) if timestamp is None else timestamp)
    signature = SignatureVerifier(secret).generate_signature(timestamp=ts, body=body)
    assert signature is not None
    return {"Content-Type": content_type, "X-Slack-Request-Timestamp": ts, "X-Slack-Signature": signature}


def _fixture(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((SLACK_PAYLOADS / name).read_text(encoding="utf-8"))
    return data


def event_envelope(event: dict[str, Any], *, event_id: str) -> dict[str, Any]:
    """An `event_callback` envelope with our team and app, carrying `event`."""
    body = _fixture("event_callback.json")
    body.update(team_id=TEAM_ID, api_app_id=APP_ID, event_id=event_id, event_time=int(time.time()), authed_users=[BOT_USER_ID])
    body["event"] = {"team": TEAM_ID, "event_ts": event.get("ts", "1700000000.000001"), **event}
    return body


def mention_json(text: str, *, event_id: str, ts: str = "1700000000.000100", thread_ts: str | None = None) -> str:
    """A minimal `app_mention` envelope built in code (no recorded fixture needed)."""
    event = {"type": "app_mention", "user": USER_ID, "text": f"<@{BOT_USER_ID}> {text}", "ts": ts, "channel": CHANNEL_ID, "team": TEAM_ID}
    envelope = {"type": "event_callback", "team_id": TEAM_ID, "api_app_id": APP_ID, "event_id": event_id, "event_time": int(time.time())}
    return json.dumps(envelope | {"event": event | ({"thread_ts": thread_ts} if thread_ts else {})})


def mention(text: str, *, ts: str, channel: str = CHANNEL_ID, user: str = USER_ID, **extra: Any) -> dict[str, Any]:
    return {"type": "app_mention", "user": user, "text": f"<@{BOT_USER_ID}> {text}", "ts": ts, "channel": channel, **extra}


def new_trigger_id() -> str:
    """Slack gives every invocation (command, click, shortcut) its own trigger_id; Wayfinder handles each once."""
    return f"{int(time.time())}.{uuid.uuid4().int % 10**10}.{uuid.uuid4().hex[:16]}"


def command_body(text: str, *, response_url: str, command: str = "/wayfinder", trigger_id: str | None = None) -> str:
    """A slash-command form body, with our command, text and response_url (a new trigger_id unless given)."""
    fields = dict(parse_qsl((SLACK_PAYLOADS / "slash_command.txt").read_text(encoding="utf-8")))
    fields.update(
        team_id=TEAM_ID, channel_id=CHANNEL_ID, user_id=USER_ID, command=command, text=text,
        response_url=response_url, trigger_id=trigger_id or new_trigger_id(), api_app_id=APP_ID,
    )  # fmt: skip
    return urlencode(fields)


def block_action(action_id: str, value: str, *, response_url: str, ephemeral: bool = False, **extra: Any) -> dict[str, Any]:
    """A `block_actions` payload clicking `action_id` with `value`."""
    payload = _fixture("block_actions.json")
    payload.update(api_app_id=APP_ID, response_url=response_url, **{"trigger_id": new_trigger_id(), **extra})
    payload["user"] = {**payload["user"], "id": USER_ID, "team_id": TEAM_ID}
    payload["team"] = {"id": TEAM_ID, "domain": "wayfinder-test"}
    payload["channel"] = {"id": CHANNEL_ID, "name": "general"}
    payload["container"] = {**payload["container"], "channel_id": CHANNEL_ID, "is_ephemeral": ephemeral}
    payload["actions"] = [{**payload["actions"][0], "action_id": action_id, "block_id": "b1", "value": value}]
    return payload


def message_shortcut(callback_id: str, message_text: str, *, response_url: str) -> dict[str, Any]:
    """A `message_action` payload, reusing the block_actions identities."""
    base = block_action("unused", "", response_url=response_url)
    return {
        "type": "message_action", "callback_id": callback_id, "token": base["token"], "action_ts": "1700000000.1",
        "team": base["team"], "user": base["user"], "channel": base["channel"], "trigger_id": base["trigger_id"],
        "response_url": response_url, "message_ts": "1700000000.000100",
        "message": {"type": "message", "user": "U0AUTHOR", "text": message_text, "ts": "1700000000.000100"},
    }  # fmt: skip


def view_submission(callback_id: str, values: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    payload = _fixture("view_submission.json")
    payload["user"] = {**payload["user"], "id": USER_ID, "team_id": TEAM_ID}
    payload["team"] = {"id": TEAM_ID, "domain": "wayfinder-test"}
    payload["view"] = {**payload["view"], "callback_id": callback_id, "state": {"values": values}, "private_metadata": ""}
    return payload


def block_suggestion(action_id: str, block_id: str, value: str, *, callback_id: str, metadata: str, user: str = USER_ID) -> dict[str, Any]:
    """A `block_suggestion` payload: `user` typed `value` into the external select `action_id` of an open modal."""
    view = {"id": "V0MODAL", "type": "modal", "callback_id": callback_id, "private_metadata": metadata, "state": {"values": {}}}
    return {
        "type": "block_suggestion", "user": {"id": user, "team_id": TEAM_ID}, "team": {"id": TEAM_ID, "domain": "wayfinder-test"},
        "api_app_id": APP_ID, "action_id": action_id, "block_id": block_id, "value": value, "container": {"type": "view", "view_id": "V0MODAL"}, "view": view,
    }  # fmt: skip


def interaction_body(payload: dict[str, Any]) -> str:
    return "payload=" + quote(json.dumps(payload))


def find_elements(blocks: list[dict[str, Any]], action_id: str) -> list[dict[str, Any]]:
    """Every interactive element (or feedback button) with `action_id`, wherever it sits in `blocks`."""
    found: list[dict[str, Any]] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("action_id") == action_id:
                found.append(node)
            for child in node.values():
                walk(child)
        elif isinstance(node, list):
            for child in node:
                walk(child)

    walk(blocks)
    return found


class ServerThread:
    """uvicorn serving `api` on a free 127.0.0.1 port from a daemon thread, until `stop()`."""

    def __init__(self, api: FastAPI) -> None:
        self.api = api
        self._sock = tcp_listener(("127.0.0.1", 0))  # as `wayfinder serve` listens: TCP_NODELAY on each connection
        self.url = f"http://127.0.0.1:{self._sock.getsockname()[1]}"
        self._server = uvicorn.Server(uvicorn.Config(api, log_level="warning", lifespan="off"))
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [self._sock]}, name="wayfinder-http", daemon=True)

    def start(self, timeout: float = 10.0) -> ServerThread:
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:  # uvicorn offers no startup event to wait on
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the Wayfinder HTTP server did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        """Stop the background threads started with the routes, then tell uvicorn to exit without
        waiting for it: uvicorn notices on its next 0.1 s tick and pauses another 0.1 s for open
        connections (≈ 0.2 s a test, most of an e2e test's teardown), and every request of the test
        has been answered by now. uvicorn closes the socket itself; the thread is a daemon."""
        for name in ("alert_worker", "delivery_takeover"):  # `bot.http.alerts`, `bot.slack.takeover`
            if worker := getattr(self.api.state, name, None):
                worker.stop()
        self._server.should_exit = True


@dataclass
class Wayfinder:
    """A running server under test and a client that talks to it as Slack would."""

    services: Services
    fake: FakeSlackAPI
    server: ServerThread
    http: httpx.Client

    def close(self) -> None:
        self.http.close()
        self.server.stop()

    def post(self, body: str, content_type: str, *, headers: dict[str, str] | None = None, **sign: Any) -> httpx.Response:
        return self.http.post("/slack/events", content=body, headers={**signed_headers(body, content_type, **sign), **(headers or {})})

    def event(self, event: dict[str, Any], *, event_id: str, headers: dict[str, str] | None = None) -> httpx.Response:
        return self.post(json.dumps(event_envelope(event, event_id=event_id)), "application/json", headers=headers)

    def command(self, text: str, *, response_url: str) -> httpx.Response:
        return self.post(command_body(text, response_url=response_url), "application/x-www-form-urlencoded")

    def interact(self, payload: dict[str, Any]) -> httpx.Response:
        return self.post(interaction_body(payload), "application/x-www-form-urlencoded")


def start_wayfinder(catalog: Catalog, fake: FakeSlackAPI, slack: SlackCredentials | None = None) -> Wayfinder:
    """The production composition (`wayfinder serve` in HTTP mode) on a free port."""
    slack = credentials(fake) if slack is None else slack
    services = Services(catalog=catalog, public_url=PUBLIC_URL)
    api = create_http_app(
        services, slack=build_slack(services, slack), signing_secret=slack.signing_secret, missing=slack.missing(socket_mode=False)
    )
    server = ServerThread(api).start()
    return Wayfinder(services, fake, server, httpx.Client(base_url=server.url, timeout=10, verify=tls_context()))
