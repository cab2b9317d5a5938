"""The project's own alert payloads, in each provider's shape (FORMATS.md §2-3), built in code.

Shared by the e2e tests and `benchmarks/bench_alerts.py`; the real vendor samples are read only by
the conformance tests.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime
from typing import Any

PAGERDUTY_SECRET = "pd-webhook-secret-0000-for-tests"
TOKEN = "alerts-token-0000-for-tests-only"
CHANNEL = "C0INCIDENTS"
# The fake Slack stamps messages from 1700000000 on; the clock starts there so `oldest` means the same.
START = datetime.fromtimestamp(1_700_000_000, UTC)

ALERTS_CONFIG: dict[str, Any] = {
    "channel": CHANNEL,
    "route_to_owner_channel": True,
    "fallback_contact": "@platform-oncall",
    "labels": ["service", "app", "job", "namespace"],
    "providers": {
        "pagerduty": {"secret": PAGERDUTY_SECRET},
        "alertmanager": {"token": TOKEN},
        "opsgenie": {"token": TOKEN},
        "grafana": {"token": TOKEN},
        "generic": {"token": TOKEN},
    },
}

_PD_EVENTS = {"triggered": "incident.triggered", "acknowledged": "incident.acknowledged", "resolved": "incident.resolved"}


def pagerduty(
    incident: str, status: str, *, service_id: str, event_id: str | None = None, title: str = "Checkout errors above 5%",
    occurred_at: str = "2026-12-02T10:00:00Z",
) -> bytes:
    user = {"id": "PUSER01", "type": "user_reference", "summary": "Ana Responder", "html_url": "https://northwind.pagerduty.com/users/PUSER01"}
    event: dict[str, Any] = {
        "id": event_id or f"{incident}-{status}", "event_type": _PD_EVENTS[status], "resource_type": "incident",
        "occurred_at": occurred_at, "agent": user, "client": None,
        "data": {
            "id": incident, "type": "incident", "html_url": f"https://northwind.pagerduty.com/incidents/{incident}", "number": 1,
            "status": status, "title": title, "urgency": "high", "priority": None, "assignees": [], "teams": [],
            "service": {"id": service_id, "type": "service_reference", "summary": "checkout", "html_url": "https://northwind.pagerduty.com/services/x"},
        },
    }  # fmt: skip
    return json.dumps({"event": event}).encode()


def pagerduty_headers(body: bytes, *, secret: str = PAGERDUTY_SECRET) -> dict[str, str]:
    signature = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return {"Content-Type": "application/json", "X-PagerDuty-Signature": f"v1={'0' * 64},v1={signature}"}  # a rotated-out one first


def token_headers(token: str = TOKEN) -> dict[str, str]:
    return {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}


def group_alert(service: str, status: str = "firing", *, summary: str | None = None, starts_at: str = "2026-12-02T10:00:00Z") -> dict[str, Any]:
    """One alert of an Alertmanager or Grafana group, on `service` (its fingerprint follows from what it says)."""
    summary = summary or f"{service} p99 latency high"
    return {
        "status": status, "labels": {"alertname": "HighLatency", "service": service, "severity": "critical"},
        "annotations": {"summary": summary}, "startsAt": starts_at, "endsAt": "0001-01-01T00:00:00Z",
        "generatorURL": "https://prometheus.northwind.example/graph", "fingerprint": hashlib.sha256(f"{service}:{summary}".encode()).hexdigest()[:16],
    }  # fmt: skip


def alert_group(group: str, status: str, *alerts: dict[str, Any], grafana: bool = False) -> bytes:
    """An Alertmanager (or Grafana) webhook for the group `group` holding `alerts`, its common labels those they all share."""
    common = {k: v for k, v in alerts[0]["labels"].items() if all(a["labels"].get(k) == v for a in alerts)}
    annotations = {k: v for k, v in alerts[0]["annotations"].items() if all(a["annotations"].get(k) == v for a in alerts)}
    body: dict[str, Any] = {
        "version": "1" if grafana else "4", "groupKey": group, "status": status, "receiver": "wayfinder",
        "groupLabels": {"alertname": "HighLatency"}, "commonLabels": common, "commonAnnotations": annotations,
        "externalURL": "https://alertmanager.northwind.example", "alerts": list(alerts),
    }  # fmt: skip
    if grafana:
        body |= {"orgId": 1, "state": "alerting" if status == "firing" else "ok", "title": f"[{status.upper()}] HighLatency", "message": ""}
        for alert in alerts:
            alert |= {"dashboardURL": "https://grafana.northwind.example/d/x", "panelURL": "https://grafana.northwind.example/d/x?viewPanel=1"}
    return json.dumps(body).encode()


def alertmanager(group: str, status: str, *, service: str, grafana: bool = False) -> bytes:
    """A group of one alert, on `service`."""
    return alert_group(group, status, group_alert(service, status), grafana=grafana)


def opsgenie(alias: str, action: str, *, service: str, updated: int = 1) -> bytes:
    alert = {
        "alertId": f"{alias}-id", "tinyId": "7", "alias": alias, "message": f"{service} is down", "tags": [f"service:{service}"],
        "teams": [], "recipients": [], "entity": "", "source": "api", "username": "ana@northwind.example", "userId": "u1",
        "priority": "P2", "createdAt": 1764669600000, "updatedAt": 1764669600000000000 + updated,
    }  # fmt: skip
    return json.dumps({"action": action, "alert": alert, "source": {"name": "api", "type": "API"}, "integrationId": "i1", "integrationName": "Webhook"}).encode()


def generic(dedup_key: str, status: str, *, service: str, title: str = "Error budget burning") -> bytes:
    return json.dumps({"service": service, "title": title, "status": status, "url": "https://alerts.northwind.example/1", "dedup_key": dedup_key}).encode()


class Clock:
    """The worker's injected clock, moved on by the test: leases and retry times pass without sleeping."""

    def __init__(self, start: datetime = START) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now
