"""Odd alert bodies are refused with their reason, or read sensibly; never a 500, never a Python repr.

Why (a probe of the alert webhooks): alert tools retry a 5xx for ever, and authenticated bodies
nested 5,000 deep, with a 5,000-digit number or in UTF-16 crashed the handler; every refusal said
only "not a valid alert payload"; a NUL or a lone surrogate in a dedup key crashed the insert;
values longer than their columns (a Prometheus generatorURL, a severity, who acknowledged) lost the
card on PostgreSQL; and `groupKey: null` became the group key "None", one card for all such alerts.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlmodel import col

from catalog.alerts.models import AlertDelivery, AlertIncident
from catalog.alerts.payloads import MalformedAlert, instant, parse_alert
from catalog.alerts.service import Alerts
from catalog.config import AlertsConfig
from catalog.core import Catalog
from catalog.store.models import column_length
from tests.alert_payloads import ALERTS_CONFIG, pagerduty, pagerduty_headers, token_headers

LABELS = ["service", "app", "job", "namespace"]
NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
GENERIC = {"service": "checkout-web", "title": "Error budget burning", "status": "triggered"}
ALERTMANAGER = {
    "version": "4", "groupKey": "{}:{alertname=\"HighLatency\"}", "status": "firing", "receiver": "wayfinder",
    "commonLabels": {"alertname": "HighLatency", "service": "checkout-web"}, "commonAnnotations": {"summary": "p99 high"},
    "externalURL": "https://alertmanager.northwind.example", "alerts": [{"status": "firing", "labels": {"service": "checkout-web"}}],
}  # fmt: skip
OPSGENIE_ALERT = {"alertId": "og-1", "message": "checkout down"}
PD_INCIDENT = {"id": "PINC1", "title": "Checkout errors"}


@pytest.fixture
def alerts(example_catalog: Catalog) -> Alerts:
    example_catalog.config.alerts = AlertsConfig.model_validate(ALERTS_CONFIG)
    return Alerts(example_catalog)


def headers(provider: str, body: bytes) -> dict[str, str]:
    """As the HTTP layer hands them over: names in lower case."""
    found = pagerduty_headers(body) if provider == "pagerduty" else token_headers()
    return {k.lower(): v for k, v in found.items()}


def receive(alerts: Alerts, provider: str, body: bytes | dict[str, Any]) -> tuple[int, str, str]:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    received = alerts.receive(provider, raw, headers(provider, raw), now=NOW)
    return received.status, received.outcome, received.message


def parse(provider: str, body: dict[str, Any]) -> Any:
    return parse_alert(provider, json.dumps(body).encode(), labels=LABELS)


def deliveries(alerts: Alerts) -> int:
    with alerts.catalog.session() as session:
        return session.scalar(select(func.count()).select_from(AlertDelivery)) or 0


FIELDS = '{"service": "checkout-web", "title": "t", "status": "triggered", '


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ((FIELDS + '"d": ' + "[" * 5000 + "]" * 5000 + "}").encode(), "the body is nested too deeply"),
        ((FIELDS + '"n": ' + "9" * 5000 + "}").encode(), "the body holds a number with too many digits"),
        (json.dumps(GENERIC).encode("utf-16"), "the body is not UTF-8 text"),
        (FIELDS.encode() + b'"d": "caf\xe9"}', "the body is not UTF-8 text"),  # Latin-1
        (FIELDS.encode() + b'"d": "\xed\xa0\x80"}', "the body is not UTF-8 text"),  # a surrogate written as UTF-8 bytes
        (b"", "the body is empty"),
        (b"{not json", "the body is not JSON (Expecting property name enclosed in double quotes: line 1 column 2 (char 1))"),
        (b"[]", "the body must be a JSON object"),
    ],
    ids=["nested 5000 deep", "5000-digit number", "UTF-16", "Latin-1", "UTF-8 surrogate", "empty", "not JSON", "a list"],
)
def test_a_body_that_cannot_be_read_is_refused_with_the_reason_and_nothing_stored(alerts: Alerts, body: bytes, reason: str) -> None:
    assert receive(alerts, "generic", body) == (400, "malformed", reason)
    assert deliveries(alerts) == 0


def test_a_utf8_body_with_a_byte_order_mark_is_read(alerts: Alerts) -> None:
    assert receive(alerts, "generic", b"\xef\xbb\xbf" + json.dumps(GENERIC).encode())[:2] == (202, "stored")


@pytest.mark.parametrize(
    ("provider", "body", "reason"),
    [
        ("alertmanager", {**ALERTMANAGER, "alerts": 5}, "not an Alertmanager webhook: 'alerts' must be a list"),
        ("alertmanager", {**ALERTMANAGER, "alerts": None}, "not an Alertmanager webhook: 'alerts' is missing"),
        ("alertmanager", {**ALERTMANAGER, "alerts": [1, "x"]}, "not an Alertmanager webhook: 'alerts[0]' must be an object"),
        ("alertmanager", {**ALERTMANAGER, "commonLabels": ["service"]}, "not an Alertmanager webhook: 'commonLabels' must be an object"),
        ("alertmanager", {**ALERTMANAGER, "groupKey": None}, "not an Alertmanager webhook: 'groupKey' is missing or empty"),
        ("alertmanager", {**ALERTMANAGER, "groupKey": ""}, "not an Alertmanager webhook: 'groupKey' is missing or empty"),
        ("alertmanager", {**ALERTMANAGER, "commonAnnotations": {"summary": {"a": 1}}},
         "not an Alertmanager webhook: 'commonAnnotations.summary' must be a string or a number"),
        ("alertmanager", {**ALERTMANAGER, "alerts": [{"labels": {"service": ["x"]}}]},
         "not an Alertmanager webhook: 'alerts[0].labels.service' must be a string or a number"),
        ("grafana", {**ALERTMANAGER, "groupKey": None}, "not a Grafana webhook: 'groupKey' is missing or empty"),
        ("pagerduty", {"foo": 1}, "not a PagerDuty v3 webhook: 'event' is missing"),
        ("pagerduty", {"event": {"id": "E1", "event_type": "incident.triggered", "data": None}}, "not a PagerDuty v3 webhook: 'event.data' is missing"),
        ("pagerduty", {"event": {"id": None, "event_type": "incident.triggered", "data": {"id": None}}},
         "not a PagerDuty v3 webhook: 'event.data.id' is missing or empty"),
        ("pagerduty", {"event": {"id": "E1", "event_type": "incident.triggered", "data": {**PD_INCIDENT, "service": "PSVC1"}}},
         "not a PagerDuty v3 webhook: 'event.data.service' must be an object"),
        ("opsgenie", {"action": "Create", "alert": None}, "not an Opsgenie webhook: 'alert' is missing"),
        ("opsgenie", {"action": "Create", "alert": {"message": "m"}}, "not an Opsgenie webhook: 'alert.alertId' is missing or empty"),
        ("opsgenie", {"action": "Create", "alert": {**OPSGENIE_ALERT, "priority": True}},
         "not an Opsgenie webhook: 'alert.priority' must be a string or a number"),
        ("opsgenie", {"action": "Create", "alert": {**OPSGENIE_ALERT, "teams": [{"name": "payments"}]}},
         "not an Opsgenie webhook: 'alert.teams' must be a list of strings"),
        ("generic", {**GENERIC, "status": "exploded"}, "not a generic alert: 'status' must be triggered (or firing), acknowledged or resolved"),
        ("generic", {**GENERIC, "service": "   "}, "not a generic alert: 'service' is blank: it names the service the alert is about"),
        ("generic", {**GENERIC, "service": None}, "not a generic alert: 'service' is missing or empty"),
        ("generic", {**GENERIC, "dedup_key": {"a": 1}}, "not a generic alert: 'dedup_key' must be a string or a number"),
    ],
)  # fmt: skip
def test_a_body_of_the_wrong_shape_is_refused_saying_what_is_wrong(provider: str, body: dict[str, Any], reason: str) -> None:
    with pytest.raises(MalformedAlert) as refused:
        parse(provider, body)
    assert str(refused.value) == reason


def test_an_event_without_an_id_is_told_apart_by_its_content(alerts: Alerts) -> None:
    """PagerDuty's event id makes a redelivery a no-op; without one, the body does (as for the other providers)."""
    bodies = []
    for incident in ("PINC1", "PINC2"):
        body = json.loads(pagerduty(incident, "triggered", service_id="PCHKWB2"))
        body["event"]["id"] = None
        bodies.append(json.dumps(body).encode())
    assert [receive(alerts, "pagerduty", b)[:2] for b in (*bodies, bodies[0])] == [(202, "stored"), (202, "stored"), (202, "duplicate")]
    event = parse_alert("pagerduty", bodies[0], labels=LABELS)
    assert "None" not in event.fingerprint and event.group_key == "pagerduty:PINC1"


def test_numbers_read_as_text_and_a_lone_string_as_a_list_of_one() -> None:
    tagged = parse("opsgenie", {"action": "Create", "alert": {**OPSGENIE_ALERT, "tags": "service:checkout-web", "teams": [None, 5], "priority": 3}})
    assert tagged.names == ["checkout-web", "5", "service:checkout-web"] and tagged.severity == "P3"
    numbered = parse("generic", {**GENERIC, "title": 500, "dedup_key": 42, "severity": 1})
    assert (numbered.title, numbered.group_key, numbered.severity) == ("500", "generic:42", "1")


def test_text_loses_nul_and_lone_surrogates_and_display_text_is_cut_to_its_column() -> None:
    severity, acknowledged_by = column_length(AlertIncident, "severity"), column_length(AlertIncident, "acknowledged_by")
    event = parse(
        "generic",
        {**GENERIC, "title": "nul\u0000title \ud800", "dedup_key": "k\u0000\udc00ey", "severity": "s" * 60, "actor": "a" * 250, "url": "https://x/" + "q" * 2000},
    )
    assert (event.title, event.group_key) == ("nultitle ", "generic:key")
    assert event.severity == "s" * (severity - 1) + "…" and event.actor == "a" * (acknowledged_by - 1) + "…"
    assert event.url is None  # a link cut short would lead nowhere
    with pytest.raises(MalformedAlert, match="'dedup_key' must be a string"):
        parse("generic", {**GENERIC, "dedup_key": ["\u0000"]})
    nothing_left = parse("generic", {**GENERIC, "dedup_key": "\u0000"})
    assert nothing_left.group_key == "generic:checkout-web:Error budget burning"  # as without a key, not one key for all


def test_an_over_long_generator_url_gives_way_to_the_next_link() -> None:
    alert = {"labels": {"service": "checkout-web"}, "generatorURL": "https://prometheus.northwind.example/graph?g0.expr=" + "x" * 3700}
    event = parse("alertmanager", {**ALERTMANAGER, "alerts": [alert]})
    assert event.url == "https://alertmanager.northwind.example"


@pytest.mark.parametrize("key", ["k\u0000ey", "k\ud800ey"], ids=["NUL", "lone surrogate"])
def test_a_dedup_key_with_characters_no_database_stores_is_stored_without_them(alerts: Alerts, key: str) -> None:
    assert receive(alerts, "generic", {**GENERIC, "dedup_key": key})[:2] == (202, "stored")
    with alerts.catalog.session() as session:
        assert session.scalars(select(col(AlertDelivery.group_key))).all() == ["generic:key"]


@pytest.mark.parametrize("provider", ["grafana", "alertmanager"])
def test_a_title_leading_with_the_groups_state_loses_it_so_a_resolved_card_does_not_say_firing(provider: str) -> None:
    """Grafana's titles are "[FIRING:1] ..." and the card keeps the first title: it read "RESOLVED: [FIRING:1] HighLatency"."""
    group = {"groupKey": "g", "status": "firing", "title": "[FIRING:1] HighLatency", "alerts": [{"labels": {"service": "checkout-web"}}]}
    firing = parse_alert(provider, json.dumps(group).encode(), labels=LABELS)
    resolved = parse_alert(provider, json.dumps({**group, "status": "resolved", "title": "[RESOLVED] HighLatency"}).encode(), labels=LABELS)

    assert (firing.title, resolved.title, firing.alerts[0].title) == ("HighLatency", "HighLatency", "HighLatency")
    only_state = parse_alert(provider, json.dumps({**group, "title": "[FIRING:2]", "commonLabels": {"alertname": "DiskFull"}}).encode(), labels=LABELS)
    assert only_state.title == "DiskFull"


def test_opsgenie_actions_are_read_whatever_their_case_and_team_tags_name_teams() -> None:
    """`"action": "create"` was stored and never made a card; a `team:payments` tag was tried only as the name "team:payments"."""
    alert = {"alertId": "a1", "message": "down", "tags": ["team:payments", "critical"], "teams": [], "username": "ana@northwind.example"}
    created = parse_alert("opsgenie", json.dumps({"action": "create", "alert": alert}).encode(), labels=LABELS)
    closed = parse_alert("opsgenie", json.dumps({"action": "CLOSE", "alert": alert}).encode(), labels=LABELS)

    assert (created.status, closed.status, closed.actor) == ("triggered", "resolved", "ana@northwind.example")
    assert created.names[0] == "payments"


@pytest.mark.parametrize(
    ("written", "read"),
    [("2026-12-02T10:05:00.123456789Z", datetime(2026, 12, 2, 10, 5, 0, 123456, tzinfo=UTC)),  # Go's nanoseconds
     ("2026-12-02T10:05:00+01:00", datetime(2026, 12, 2, 9, 5, tzinfo=UTC)), ("2026-12-02T10:05:00", datetime(2026, 12, 2, 10, 5, tzinfo=UTC)),
     ("1764669900000000001", datetime(2025, 12, 2, 10, 5, tzinfo=UTC)), ("1764669900123", datetime(2025, 12, 2, 10, 5, 0, 123000, tzinfo=UTC)),
     ("1764669900", datetime(2025, 12, 2, 10, 5, tzinfo=UTC)), ("0001-01-01T00:00:00Z", None), ("yesterday", None), ("9" * 400, None), ("9" * 20, None), (None, None)],
)  # fmt: skip
def test_event_times_are_read_as_each_sender_writes_them(written: str | None, read: datetime | None) -> None:
    """They order late deliveries; a time that cannot be read leaves the event unordered rather than refusing it."""
    assert instant(written) == read


def test_a_generic_status_is_read_whatever_its_case() -> None:
    """`"status": "RESOLVED"` was refused with 400 while `"firing"` was taken."""
    event = parse_alert("generic", json.dumps({**GENERIC, "status": "RESOLVED"}).encode(), labels=LABELS)
    assert event.status == "resolved"
