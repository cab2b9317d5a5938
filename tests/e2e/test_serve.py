"""`wayfinder serve` and `demo` as commands, and Socket Mode against a local WebSocket server."""

from __future__ import annotations

import json
import queue
import threading
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlmodel import col
from typer.testing import CliRunner
from websockets.sync.server import ServerConnection, serve

from bot.cli.main import app as cli
from bot.compose import Services
from bot.http.app import SlackCredentials, SlackSetupError, build_slack, start_socket_mode
from catalog.core import Catalog
from catalog.store.models import SlackDelivery
from tests.cli import serving
from tests.conftest import REPO
from tests.e2e.harness import BOT_TOKEN, PUBLIC_URL, SIGNING_SECRET, event_envelope, mention, mention_json, signed_headers
from tests.fakes.slack_api import APP_ID, FakeSlackAPI

NO_SLACK = {"SLACK_BOT_TOKEN": None, "SLACK_SIGNING_SECRET": None, "SLACK_APP_TOKEN": None}


def test_socket_mode_without_an_app_token_fails_with_a_clear_message(database_url: str) -> None:
    result = CliRunner().invoke(cli, ["serve", "--socket"], env={**NO_SLACK, "SLACK_BOT_TOKEN": "xoxb-x", "DATABASE_URL": database_url})

    assert result.exit_code == 2
    assert "--socket needs SLACK_APP_TOKEN" in result.output


def test_a_rejected_bot_token_stops_startup_with_a_clear_error(example_catalog: Catalog, fake_slack: FakeSlackAPI) -> None:
    fake_slack.fail_next("auth.test", 200, error="invalid_auth")
    services = Services(catalog=example_catalog, public_url=PUBLIC_URL)

    with pytest.raises(SlackSetupError, match="check SLACK_BOT_TOKEN and SLACK_API_URL.*invalid_auth") as raised:
        build_slack(services, SlackCredentials(bot_token=BOT_TOKEN, signing_secret="s", api_url=fake_slack.url))
    assert BOT_TOKEN not in str(raised.value)


@pytest.mark.parametrize(("status", "error"), [(500, None), (503, None), (429, None), (200, "fatal_error")])
def test_slack_failing_at_startup_does_not_stop_serve_and_the_token_is_checked_by_the_first_request(
    example_catalog: Catalog, fake_slack: FakeSlackAPI, caplog: pytest.LogCaptureFixture, status: int, error: str | None
) -> None:
    """A restart during a Slack outage stopped the pages, the API and the alert webhooks too ("check SLACK_BOT_TOKEN");
    a 429 with a Retry-After of minutes kept `serve` waiting that long without its port."""
    fake_slack.fail_next("auth.test", status, error=error, retry_after=300)
    services = Services(catalog=example_catalog, public_url=PUBLIC_URL)

    slack = build_slack(services, SlackCredentials(bot_token=BOT_TOKEN, signing_secret="s", api_url=fake_slack.url))

    assert slack is not None and "serving anyway" in caplog.text and BOT_TOKEN not in caplog.text
    assert len(fake_slack.calls("auth.test")) == 1  # tried once, not retried after Retry-After


def test_demo_no_serve_prints_answers_and_returns(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["demo", "--no-serve"], env={**NO_SLACK, "DATABASE_URL": f"sqlite:///{tmp_path / 'demo.db'}"})

    assert result.exit_code == 0, result.output
    assert "> who owns payments-service?" in result.output and "Payments" in result.output


def test_serve_without_credentials_still_serves_health(database_url: str) -> None:
    """`wayfinder serve` without any Slack variable, as an operator would first run it."""
    with serving({"DATABASE_URL": database_url}, cwd=REPO) as served:
        health = httpx.get(f"{served.url}/healthz", timeout=5)
        assert health.json() == {"status": "ok", "database": "ok", "slack": "disabled"}
        events = httpx.post(f"{served.url}/slack/events", content="{}", timeout=5)
        assert events.status_code == 503 and "SLACK_BOT_TOKEN" in events.json()["message"]
        served_too = [httpx.get(f"{served.url}{path}", timeout=5).status_code for path in ("/", "/api/v1/entities?limit=1")]
        assert served_too == [200, 200]  # pages and API are served without Slack, as the log says
        assert "Slack is disabled: SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET not set. Serving the pages, the API, webhooks and /healthz" in served.stop()


def test_a_stopped_server_finishes_the_answers_it_acked_first(database_url: str, example_catalog: Catalog, fake_slack: FakeSlackAPI) -> None:
    """SIGTERM ended the process half a second later: answers Slack had its 200 for (and sends no more) waited for
    another replica's takeover, a minute on, or for ever with one replica."""
    fake_slack.delay("chat.postMessage", 1.5)  # Slack slow to take each answer
    env = {"DATABASE_URL": database_url, "SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_SIGNING_SECRET": SIGNING_SECRET, "SLACK_API_URL": fake_slack.url}
    with serving(env, cwd=REPO) as served:
        for n in range(3):
            body = mention_json("who owns payments-service?", event_id=f"EvStop{n}", ts=f"1700000030.00010{n}")
            assert httpx.post(f"{served.url}/slack/events", content=body, headers=signed_headers(body, "application/json"), timeout=5).status_code == 200
        served.stop(timeout=30)

    assert len(fake_slack.calls("chat.postMessage")) == 3
    with example_catalog.ledger.session() as session:  # on SQLite a file beside the catalog's
        assert sorted(session.scalars(select(col(SlackDelivery.done_at).is_not(None)))) == [True, True, True]


def test_serve_builds_the_resolution_index_before_it_accepts_a_connection(database_url: str, example_catalog: Catalog) -> None:
    """A replica restarted under load took its share of the questions while it built the index, at
    full speed on the thread of the first one: its acks waited for the GIL up to 1.2 s (issue 16's drill)."""
    with example_catalog.session() as session:
        entities = len(example_catalog.index(session))
    with serving({"DATABASE_URL": database_url}, cwd=REPO) as served:
        assert "payments-service" in httpx.get(f"{served.url}/api/v1/ask", params={"q": "who owns payments-service?"}, timeout=5).text
        log = served.stop()
    built = log.index(f"resolution index of {entities} entities built in ")
    assert built < log.index("Started server process")  # uvicorn's first line, once the socket listens


def test_socket_mode_receives_an_event_acks_it_and_answers(example_catalog: Catalog, fake_slack: FakeSlackAPI) -> None:
    """SLACK-FACTS §7 layer 4: apps.connections.open hands out a local ws:// URL; Bolt acks envelopes on it."""
    frames: queue.Queue[dict[str, Any]] = queue.Queue()
    envelope = {
        "envelope_id": "env-1", "type": "events_api", "accepts_response_payload": False, "retry_attempt": 0, "retry_reason": "",
        "payload": event_envelope(mention("who owns payments-service?", ts="1700000020.000100"), event_id="EvSocket"),
    }  # fmt: skip

    def slack_side(ws: ServerConnection) -> None:
        ws.send(json.dumps({"type": "hello", "num_connections": 1, "connection_info": {"app_id": APP_ID}}))
        ws.send(json.dumps(envelope))
        for frame in ws:
            frames.put(json.loads(frame))

    with serve(slack_side, "127.0.0.1", 0) as ws_server:
        threading.Thread(target=ws_server.serve_forever, daemon=True).start()
        fake_slack.socket_url = f"ws://127.0.0.1:{ws_server.socket.getsockname()[1]}/link/?ticket=test"
        services = Services(catalog=example_catalog, public_url=PUBLIC_URL)
        slack = build_slack(
            services, SlackCredentials(bot_token=BOT_TOKEN, app_token="xapp-test", api_url=fake_slack.url), socket_mode=True
        )
        assert slack is not None
        handler = start_socket_mode(slack, "xapp-test")
        try:
            assert frames.get(timeout=10)["envelope_id"] == "env-1"
            [post] = fake_slack.wait_for("chat.postMessage")
        finally:
            handler.close()
            ws_server.shutdown()

    assert post.params["thread_ts"] == "1700000020.000100" and "Payments" in json.dumps(post.params["blocks"])
    [connect] = fake_slack.calls("apps.connections.open")
    assert connect.token == "xapp-test"
