"""Alert webhooks through the real server: a refusal says why, and values the database cannot hold as
sent still make their card (run with `WAYFINDER_TEST_DATABASE_URL` set to cover PostgreSQL).

Why (a probe of the alert webhooks): every malformed body got "not a valid alert payload", with the
reason only in Wayfinder's log; an unknown provider read like one left out of the config; and on
PostgreSQL a 3,740-character generatorURL, a long severity or a NUL in a title lost the card, and a
long "acknowledged by" left the card acknowledged in Slack but triggered in the database, retried.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import pytest
from sqlmodel import col, select

from catalog.alerts.models import AlertIncident
from catalog.config import AlertsConfig
from catalog.core import Catalog
from catalog.store.models import column_length
from tests.alert_payloads import ALERTS_CONFIG, alertmanager, pagerduty_headers, token_headers
from tests.e2e.harness import Wayfinder
from tests.fakes.slack_api import FakeSlackAPI

PROVIDERS = "pagerduty, alertmanager, opsgenie, grafana, generic"


@pytest.fixture
def server(start: Callable[..., Wayfinder], example_catalog: Catalog) -> Wayfinder:
    """Alerts on, with every provider but PagerDuty configured."""
    providers = {k: v for k, v in ALERTS_CONFIG["providers"].items() if k != "pagerduty"}
    example_catalog.config.alerts = AlertsConfig.model_validate({**ALERTS_CONFIG, "providers": providers})
    return start(example_catalog)


@pytest.mark.parametrize(
    ("provider", "body", "headers", "status", "reply"),
    [
        ("alertmanager", json.dumps({**json.loads(alertmanager("g", "firing", service="checkout-web")), "alerts": 5}).encode(), token_headers(), 400,
         {"result": "malformed", "message": "not an Alertmanager webhook: 'alerts' must be a list"}),
        ("generic", b"[" * 5000 + b"]" * 5000, token_headers(), 400, {"result": "malformed", "message": "the body is nested too deeply"}),
        ("datadog", b"{}", token_headers(), 404,
         {"result": "unknown_provider", "message": f"unknown alert provider 'datadog'; the known ones are {PROVIDERS}"}),
        ("pagerduty", b"{}", pagerduty_headers(b"{}"), 404,
         {"result": "not_configured", "message": "alert provider 'pagerduty' is not configured (alerts.providers)"}),
        ("generic", b"{}", token_headers("wrong-token-0000-0000-0000"), 401,
         {"result": "unauthorized", "message": "missing or wrong Authorization: Bearer token"}),
    ],
    ids=["malformed", "nested too deeply", "unknown provider", "not configured", "wrong token"],
)  # fmt: skip
def test_a_refused_webhook_is_told_why(server: Wayfinder, provider: str, body: bytes, headers: dict[str, str], status: int, reply: dict[str, Any]) -> None:
    response = server.http.post(f"/webhooks/alerts/{provider}", content=body, headers=headers)
    assert (response.status_code, response.json()) == (status, {"ok": False, **reply})


def stored_incidents(catalog: Catalog, done: Callable[[dict[str, AlertIncident]], bool]) -> dict[str, AlertIncident]:
    """The worker commits just after Slack answers: read until `done` holds (bounded)."""
    deadline = time.monotonic() + 5
    while True:
        with catalog.session() as session:
            found = {i.group_key: i for i in session.exec(select(AlertIncident).order_by(col(AlertIncident.group_key)))}
        if done(found) or time.monotonic() > deadline:
            return found
        time.sleep(0.02)


def generic(dedup_key: str, status: str = "triggered", **fields: str) -> bytes:
    return json.dumps({"service": "checkout-web", "title": "Error budget burning", "status": status, "dedup_key": dedup_key, **fields}).encode()


def test_values_the_database_cannot_hold_as_sent_still_make_their_card(server: Wayfinder, fake_slack: FakeSlackAPI) -> None:
    am = json.loads(alertmanager("long-url", "firing", service="checkout-web"))
    am["alerts"][0]["generatorURL"] = "https://prometheus.northwind.example/graph?g0.expr=" + "sum%28rate%28x%5B5m%5D%29%29" * 140
    bodies = [
        ("alertmanager", json.dumps(am).encode()),
        ("generic", generic("long-severity", severity="critical - customer facing - page immediately (tier 1)")),
        ("generic", generic("nul-title", title="Error\u0000budget burning")),
    ]
    for provider, body in bodies:
        assert server.http.post(f"/webhooks/alerts/{provider}", content=body, headers=token_headers()).status_code == 202
    fake_slack.wait_for("chat.postMessage", count=3)
    ack = generic("long-severity", "acknowledged", actor="A" * 250)
    assert server.http.post("/webhooks/alerts/generic", content=ack, headers=token_headers()).status_code == 202

    found = stored_incidents(server.services.catalog, lambda f: "generic:long-severity" in f and f["generic:long-severity"].status == "acknowledged")
    assert sorted(found) == ["alertmanager:long-url", "generic:long-severity", "generic:nul-title"]
    assert found["alertmanager:long-url"].url == "https://alertmanager.northwind.example"  # the generatorURL did not fit
    assert found["generic:nul-title"].title == "Errorbudget burning"
    acked = found["generic:long-severity"]
    assert acked.severity is not None and len(acked.severity) == column_length(AlertIncident, "severity") and acked.severity.endswith("…")
    assert acked.status == "acknowledged" and acked.acknowledged_by == "A" * (column_length(AlertIncident, "acknowledged_by") - 1) + "…"
