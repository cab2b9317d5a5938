"""Operators can see inside (issue 8, point 7): `/metrics`, `/livez`, `/readyz`, JSON logs, no secrets.

Why: an on-call engineer must tell from the outside whether Wayfinder answers, how fast, whether
its syncs succeed and whether Slack is throttling it, and must be able to follow an error id
from a person's apology to its traceback, without the logs ever holding a credential.
"""

from __future__ import annotations

import io
import json
import logging
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from bot.compose import Services
from bot.http.app import create_http_app
from bot.logs import configure_logging, request_scope
from catalog.config import Config
from catalog.core import Catalog
from catalog.tls import tls_context
from tests.e2e.harness import BOT_TOKEN, SIGNING_SECRET, ServerThread, Wayfinder, mention_json
from tests.fakes.github_api import FakeGitHub, webhook_signature
from tests.fakes.slack_api import FakeSlackAPI
from tests.github_world import TOKEN as GITHUB_TOKEN
from tests.github_world import component, github_yaml

WEBHOOK_SECRET = "whsec-observability-0000-secret"


def samples(wayfinder: Wayfinder) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    response = wayfinder.http.get("/metrics")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(response.text)
        for s in family.samples
    }


def value(found: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str) -> float | None:
    return found.get((name, frozenset(labels.items())))


def eventually(wayfinder: Wayfinder, name: str, expected: float, **labels: str) -> None:
    """Listeners count after Slack answers them, a moment after the fake has recorded the call."""
    deadline = time.monotonic() + 5
    while (found := value(samples(wayfinder), name, **labels)) != expected:
        assert time.monotonic() < deadline, f"{name}{labels} is {found}, expected {expected}"
        time.sleep(0.02)


def test_metrics_count_questions_latency_syncs_slack_calls_and_duplicates(wayfinder: Wayfinder, fake_slack: FakeSlackAPI) -> None:
    fake_slack.fail_next("chat.postMessage", 429, retry_after=0)
    assert wayfinder.post(mention_json("who owns payments-service?", event_id="Ev1"), "application/json").status_code == 200
    fake_slack.wait_for("chat.postMessage", count=2)  # the 429, then the retry
    assert wayfinder.post(mention_json("who owns payments-service?", event_id="Ev1"), "application/json").status_code == 200

    found = samples(wayfinder)

    assert value(found, "wayfinder_questions_total", surface="slack", intent="owner", status="answered") == 1
    assert value(found, "wayfinder_answer_seconds_count", surface="slack") == 1
    eventually(wayfinder, "wayfinder_duplicate_deliveries_dropped_total", 1, origin="slack")  # claimed after the ack
    eventually(wayfinder, "wayfinder_slack_api_calls_total", 2, method="chat.postMessage")  # the 429 and its retry
    assert value(found, "wayfinder_slack_api_rate_limited_total", method="chat.postMessage") == 1
    assert value(found, "wayfinder_slack_api_errors_total", method="chat.postMessage", error="http_429") == 1
    assert value(found, "wayfinder_sync_runs_total", source="northwind", status="ok") == 1
    assert (value(found, "wayfinder_entities", source="northwind") or 0) > 10
    last_success = value(found, "wayfinder_sync_last_success_timestamp_seconds", source="northwind")
    assert last_success is not None and abs(last_success - time.time()) < 600
    assert value(found, "wayfinder_database_up") == 1


def test_slack_api_errors_are_counted_by_error(wayfinder: Wayfinder, fake_slack: FakeSlackAPI) -> None:
    fake_slack.fail_next("chat.postMessage", 200, error="channel_not_found")
    wayfinder.post(mention_json("who owns payments-service?", event_id="Ev2"), "application/json")
    fake_slack.wait_for("chat.postMessage")
    eventually(wayfinder, "wayfinder_slack_api_errors_total", 1, method="chat.postMessage", error="channel_not_found")


def test_each_catalog_has_its_own_registry(make_catalog: Callable[[Config], Catalog], example_config: Config) -> None:
    """Tests (and a CLI next to a server) build several apps in one process; no global registry to collide in."""
    first, second = (make_catalog(example_config) for _ in range(2))
    first.ask("who owns payments-service?")
    assert (
        first.metrics.registry.get_sample_value("wayfinder_questions_total", {"surface": "cli", "intent": "unknown", "status": "not_found"})
        == 1
    )
    assert (
        second.metrics.registry.get_sample_value(
            "wayfinder_questions_total", {"surface": "cli", "intent": "unknown", "status": "not_found"}
        )
        is None
    )


def test_livez_and_readyz_when_all_is_well(wayfinder: Wayfinder) -> None:
    assert wayfinder.http.get("/livez").json() == {"status": "ok"}
    ready = wayfinder.http.get("/readyz")
    assert (ready.status_code, ready.json()) == (200, {"status": "ok", "database": "ok", "schema": "ok", "slack": "ok"})
    assert [c.method for c in wayfinder.fake.calls()] == ["auth.test", "auth.test"]  # startup, then the probe


def test_health_routes_answer_head_as_they_answer_get(wayfinder: Wayfinder) -> None:
    """Uptime checkers probe with HEAD; `/readyz` and `/metrics` answered 405, read as down."""
    for path in ("/healthz", "/livez", "/readyz", "/metrics"):
        head, get = wayfinder.http.head(path), wayfinder.http.get(path)
        assert (head.status_code, head.content) == (get.status_code, b""), path


def test_readyz_fails_when_slack_rejects_the_token(wayfinder: Wayfinder, fake_slack: FakeSlackAPI) -> None:
    fake_slack.fail_next("auth.test", 200, error="token_revoked")
    ready = wayfinder.http.get("/readyz")
    assert (ready.status_code, ready.json()["slack"]) == (503, "auth.test failed: token_revoked")
    assert wayfinder.http.get("/livez").status_code == 200


@pytest.fixture
def serve_catalog() -> Iterator[Callable[[Catalog], httpx.Client]]:
    running: list[tuple[ServerThread, httpx.Client]] = []

    def serve(catalog: Catalog) -> httpx.Client:
        server = ServerThread(create_http_app(Services(catalog=catalog), slack=None)).start()
        running.append((server, httpx.Client(base_url=server.url, timeout=10, verify=tls_context())))
        return running[-1][1]

    yield serve
    for server, client in running:
        client.close()
        server.stop()


def test_readyz_fails_on_an_unmigrated_database(empty_database_url: str, serve_catalog: Callable[[Catalog], httpx.Client]) -> None:
    catalog = Catalog(empty_database_url, Config())
    try:
        ready = serve_catalog(catalog).get("/readyz")
    finally:
        catalog.dispose()
    assert ready.status_code == 503
    assert ready.json()["database"] == "ok" and ready.json()["schema"].startswith("at revision none, needs ")
    assert ready.json()["slack"] == "not configured"


def test_readyz_fails_when_the_database_is_unreachable(tmp_path: Path, serve_catalog: Callable[[Catalog], httpx.Client]) -> None:
    catalog = Catalog(f"sqlite:///{tmp_path / 'missing' / 'dir' / 'x.db'}", Config())
    client = serve_catalog(catalog)
    assert client.get("/livez").status_code == 200
    ready = client.get("/readyz")
    assert (ready.status_code, ready.json()["database"], ready.json()["schema"]) == (503, "unreachable", "not checked")
    catalog.dispose()


@pytest.fixture
def json_logs() -> Iterator[io.StringIO]:
    """The production logging setup (`WAYFINDER_LOG_FORMAT=json`) at DEBUG, into a buffer; restored afterwards."""
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    buffer = io.StringIO()
    configure_logging("json", level=logging.DEBUG, stream=buffer)
    yield buffer
    root.handlers[:] = saved[0]
    root.setLevel(saved[1])


def lines(buffer: io.StringIO) -> list[dict[str, str]]:
    return [json.loads(line) for line in buffer.getvalue().splitlines()]


def test_json_logs_are_one_object_a_line_with_ids(json_logs: io.StringIO) -> None:
    log = logging.getLogger("wayfinder.test")
    with request_scope("req-123"):
        log.warning("refused: %s", "why")
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        log.error("error abc while handling x", exc_info=True, extra={"error_id": "abc123", "event_id": "Ev9"})

    first, second = lines(json_logs)
    assert {k: first[k] for k in ("level", "logger", "message", "request_id")} == {
        "level": "WARNING", "logger": "wayfinder.test", "message": "refused: why", "request_id": "req-123"
    }  # fmt: skip
    assert (second["error_id"], second["event_id"], "request_id" in second) == ("abc123", "Ev9", False)
    assert "RuntimeError: boom" in second["exception"]


def test_a_full_run_never_logs_a_configured_secret(
    json_logs: io.StringIO,
    start: Callable[[Catalog], Wayfinder],
    fake_slack: FakeSlackAPI,
    write_config: Callable[[str], Config],
    make_catalog: Callable[[Config], Catalog],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Sync, questions, a 429, a failing listener, refused requests and a webhook, all logged at DEBUG."""
    monkeypatch.setenv("GITHUB_TOKEN", GITHUB_TOKEN)
    monkeypatch.setenv("GITHUB_WEBHOOK_SECRET", WEBHOOK_SECRET)
    with FakeGitHub(org="acme", token=GITHUB_TOKEN) as github:
        github.add_repo("payments", files={"catalog-info.yaml": component("payments-api")})
        catalog = make_catalog(write_config("sources:\n" + github_yaml(github.url, webhook_secret="${GITHUB_WEBHOOK_SECRET}")))
        assert all(r.ok for r in catalog.sync())
        wayfinder = start(catalog)

        fake_slack.fail_next("chat.postMessage", 429, retry_after=0)
        wayfinder.post(mention_json("who owns payments-api?", event_id="EvA"), "application/json")
        fake_slack.wait_for("chat.postMessage", count=2)
        fake_slack.fail_next("chat.postMessage", 500, times=5)
        wayfinder.post(mention_json("who owns payments-api?", event_id="EvB"), "application/json")
        wayfinder.command("who owns payments-api?", response_url=fake_slack.response_url("r1"))
        fake_slack.wait_for("response_url")
        wayfinder.http.post("/slack/events", content="{}", headers={"X-Slack-Request-Timestamp": "abc"})
        wayfinder.post("{broken", "application/json")
        body = json.dumps({"ref": "refs/heads/main", "repository": {"name": "payments", "full_name": "acme/payments",
                           "default_branch": "main", "html_url": f"{github.url}/acme/payments"}}).encode()  # fmt: skip
        headers = {
            "X-GitHub-Event": "push",
            "X-GitHub-Delivery": str(uuid.uuid4()),
            "X-Hub-Signature-256": webhook_signature(WEBHOOK_SECRET, body),
        }
        assert wayfinder.http.post("/webhooks/github", content=body, headers=headers).status_code == 202
        wayfinder.http.get("/readyz")
        wayfinder.http.get("/metrics")
        deadline = time.monotonic() + 10
        while not any(line.get("error_id") for line in lines(json_logs)):  # the failing listener logs after its ack
            assert time.monotonic() < deadline, "the failing listener logged no error"
            time.sleep(0.05)

    logged = json_logs.getvalue()
    assert len(logged) > 2000, "the run logged too little to prove anything"
    for secret in (BOT_TOKEN, SIGNING_SECRET, GITHUB_TOKEN, WEBHOOK_SECRET):
        assert secret not in logged
    error = next(line for line in lines(json_logs) if line.get("error_id"))
    assert error["event_id"] == "EvB" and error["level"] == "ERROR" and "exception" in error
