"""Alert metrics on `/metrics` (issue 12): received by provider and outcome, duplicates, latency, cards, unknown services.

Why: an operator must see that alerts arrive, are refused or deduplicated, and turn into cards in
time, from the same Prometheus scrape as the rest of Wayfinder.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from prometheus_client.parser import text_string_to_metric_families

from catalog.config import AlertsConfig
from catalog.core import Catalog
from tests.alert_payloads import ALERTS_CONFIG, generic, pagerduty, pagerduty_headers, token_headers
from tests.e2e.harness import Wayfinder
from tests.fakes.slack_api import FakeSlackAPI


def samples(wayfinder: Wayfinder) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    text = wayfinder.http.get("/metrics").text
    return {(s.name, frozenset(s.labels.items())): s.value for family in text_string_to_metric_families(text) for s in family.samples}


def test_alert_metrics_count_what_came_in_and_what_was_posted(
    start: Callable[..., Wayfinder], example_catalog: Catalog, fake_slack: FakeSlackAPI
) -> None:
    example_catalog.config.alerts = AlertsConfig.model_validate(ALERTS_CONFIG)
    server = start(example_catalog)
    known, acked = pagerduty("PM1", "triggered", service_id="PCHKWB2"), pagerduty("PM1", "acknowledged", service_id="PCHKWB2")
    for body in (known, known):
        server.http.post("/webhooks/alerts/pagerduty", content=body, headers=pagerduty_headers(body))
    fake_slack.wait_for("chat.postMessage", count=1)
    server.http.post("/webhooks/alerts/pagerduty", content=acked, headers=pagerduty_headers(acked))
    fake_slack.wait_for("chat.update", count=1)
    server.http.post("/webhooks/alerts/generic", content=generic("m2", "triggered", service="no-such-thing-anywhere"), headers=token_headers())
    server.http.post("/webhooks/alerts/generic", content=b"{not json", headers=token_headers())
    server.http.post("/webhooks/alerts/generic", content=generic("m3", "triggered", service="x"), headers=token_headers("wrong-token-0000-0000-0000"))
    fake_slack.wait_for("chat.postMessage", count=3)  # two cards and the acknowledgement's thread line

    deadline = time.monotonic() + 10
    while True:  # each delivery's last step is recording its latency, after its card and its counters
        got = samples(server)
        done = sum(v for (name, _), v in got.items() if name == "wayfinder_alert_processing_seconds_count")
        if done == 3 or time.monotonic() > deadline:
            break

    def value(name: str, **labels: str) -> float | None:
        return got.get((name, frozenset(labels.items())))

    assert value("wayfinder_alerts_received_total", provider="pagerduty", outcome="stored") == 2
    assert value("wayfinder_alerts_received_total", provider="pagerduty", outcome="duplicate") == 1
    assert value("wayfinder_alerts_received_total", provider="generic", outcome="malformed") == 1
    assert value("wayfinder_alerts_received_total", provider="generic", outcome="unauthorized") == 1
    assert value("wayfinder_duplicate_deliveries_dropped_total", origin="alerts") == 1
    assert value("wayfinder_alert_cards_total", provider="pagerduty", action="posted") == 1
    assert value("wayfinder_alert_cards_total", provider="pagerduty", action="updated") == 1
    assert value("wayfinder_alert_cards_total", provider="generic", action="posted") == 1
    assert value("wayfinder_alert_unknown_services_total", provider="generic") == 1
    assert value("wayfinder_alert_processing_seconds_count", provider="pagerduty") == 2
    assert value("wayfinder_alert_processing_seconds_count", provider="generic") == 1
