"""Each provider's webhook body read into one `AlertEvent` (shapes: FORMATS.md §2 and §3).

The delivery `fingerprint` makes a redelivery a no-op; the `group_key` names the incident or
alert group whose one card this event edits (PagerDuty incident id, Alertmanager `groupKey`,
Opsgenie alias, Grafana and generic dedup keys).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from typing import Any, Literal

from pydantic import BaseModel, Field

Status = Literal["triggered", "acknowledged", "resolved"]
PROVIDERS = ("pagerduty", "alertmanager", "opsgenie", "grafana", "generic")
_KEY_LIMIT = 250


class MalformedAlert(ValueError):
    """The body is not JSON, or not the provider's shape; the reply is 400 and nothing is stored."""


class AlertEvent(BaseModel):
    provider: str
    fingerprint: str
    group_key: str
    status: Status | None  # None: an update that changes no state (a priority change, a note)
    title: str
    severity: str | None = None
    url: str | None = None
    service_ids: list[str] = Field(default_factory=list)  # PagerDuty service ids
    names: list[str] = Field(default_factory=list)  # what the alert calls its service, most telling first
    actor: str | None = None  # who acknowledged or resolved it


def parse_alert(provider: str, body: bytes, *, labels: Sequence[str]) -> AlertEvent:
    """The event in `body`; raises `MalformedAlert` for anything else."""
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise MalformedAlert(f"the body is not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise MalformedAlert("the body must be a JSON object")
    try:
        event = _PARSERS[provider](data, labels)
    except (KeyError, TypeError, AttributeError) as exc:
        raise MalformedAlert(f"not a {provider} alert: missing or wrong {exc}") from None
    return event.model_copy(update={"fingerprint": _key(provider, event.fingerprint), "group_key": _key(provider, event.group_key)})


def _key(provider: str, key: str) -> str:
    """`provider:key`, hashed when long (Alertmanager group keys can be)."""
    key = key if len(key) <= _KEY_LIMIT else "sha256:" + hashlib.sha256(key.encode()).hexdigest()
    return f"{provider}:{key}"


def _digest(data: Any) -> str:
    """A redelivery's identity for senders without an event id: the canonical JSON of the body."""
    return hashlib.sha256(json.dumps(data, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def _text(value: Any) -> str | None:
    return str(value) if value not in (None, "") else None


def _pagerduty(data: dict[str, Any], labels: Sequence[str]) -> AlertEvent:
    event = data["event"]
    incident = event["data"]
    kind = str(event["event_type"])
    status = {"incident.acknowledged": "acknowledged", "incident.resolved": "resolved"}.get(kind)
    if kind in ("incident.triggered", "incident.reopened", "incident.unacknowledged"):
        status = "triggered"
    service = incident.get("service") or {}
    priority = incident.get("priority") or {}
    return AlertEvent(
        provider="pagerduty", fingerprint=str(event["id"]), group_key=str(incident["id"]), status=status,
        title=str(incident.get("title") or incident.get("summary") or kind), severity=_text(priority.get("summary") or incident.get("urgency")),
        url=_text(incident.get("html_url")), service_ids=[str(service["id"])] if service.get("id") else [],
        names=[str(service["summary"])] if service.get("summary") else [], actor=_text((event.get("agent") or {}).get("summary")),
    )  # fmt: skip


def _label_names(found: list[dict[str, Any]], labels: Sequence[str]) -> list[str]:
    """Values of the configured labels, in the configured order, across the given label maps."""
    names: list[str] = []
    for label in labels:
        for labelset in found:
            value = labelset.get(label)
            if isinstance(value, str) and value and value not in names:
                names.append(value)
    return names


def _alertmanager(data: dict[str, Any], labels: Sequence[str], provider: str = "alertmanager") -> AlertEvent:
    alerts = data["alerts"]
    if not isinstance(alerts, list):
        raise TypeError("alerts")
    firing = data.get("status", "firing") != "resolved" and data.get("state", "alerting") != "ok"
    common = data.get("commonLabels") or {}
    annotations = data.get("commonAnnotations") or {}
    first = alerts[0] if alerts else {}
    title = data.get("title") or annotations.get("summary") or common.get("alertname") or (first.get("labels") or {}).get("alertname") or "alert"
    url = first.get("panelURL") or first.get("dashboardURL") or first.get("generatorURL") or data.get("externalURL")
    return AlertEvent(
        provider=provider, fingerprint=_digest(data), group_key=str(data["groupKey"]), status="triggered" if firing else "resolved",
        title=str(title), severity=_text(common.get("severity")), url=_text(url),
        names=_label_names([common, data.get("groupLabels") or {}, *[a.get("labels") or {} for a in alerts]], labels),
    )  # fmt: skip


def _grafana(data: dict[str, Any], labels: Sequence[str]) -> AlertEvent:
    return _alertmanager(data, labels, provider="grafana")


_OPSGENIE_STATUS: dict[str, Status] = {"Create": "triggered", "UnAcknowledge": "triggered", "Acknowledge": "acknowledged", "Close": "resolved"}


def _opsgenie(data: dict[str, Any], labels: Sequence[str]) -> AlertEvent:
    alert, action = data["alert"], str(data["action"])
    tags = [str(t) for t in alert.get("tags") or []]
    # `service:payments` tags name the service outright; bare tags and teams are weaker hints
    names = [t.split(":", 1)[1] for t in tags if t.startswith("service:")] + [str(t) for t in alert.get("teams") or []] + tags
    priority = alert.get("priority")
    return AlertEvent(
        provider="opsgenie", fingerprint=f"{alert['alertId']}:{action}:{alert.get('updatedAt', '')}",
        group_key=str(alert.get("alias") or alert["alertId"]), status=_OPSGENIE_STATUS.get(action), title=str(alert.get("message") or "alert"),
        severity=(f"P{priority}" if isinstance(priority, int) else _text(priority)), names=[n for n in names if n],
        actor=_text(alert.get("username")) if action in ("Acknowledge", "Close") else None,
    )  # fmt: skip


_GENERIC_STATUS: dict[str, Status] = {"triggered": "triggered", "firing": "triggered", "acknowledged": "acknowledged", "resolved": "resolved"}


def _generic(data: dict[str, Any], labels: Sequence[str]) -> AlertEvent:
    """The documented shape: `service`, `title`, `status`, `url`, `dedup_key` (and optional `severity`)."""
    status = _GENERIC_STATUS.get(str(data["status"]))
    if status is None or not isinstance(data["service"], str) or not isinstance(data["title"], str):
        raise KeyError("status (triggered, acknowledged or resolved), service or title")
    return AlertEvent(
        provider="generic", fingerprint=_digest(data), group_key=str(data.get("dedup_key") or f"{data['service']}:{data['title']}"),
        status=status, title=data["title"], severity=_text(data.get("severity")), url=_text(data.get("url")), names=[data["service"]],
        actor=_text(data.get("actor")),
    )  # fmt: skip


_PARSERS: dict[str, Callable[[dict[str, Any], Sequence[str]], AlertEvent]] = {
    "pagerduty": _pagerduty, "alertmanager": _alertmanager, "opsgenie": _opsgenie, "grafana": _grafana, "generic": _generic,
}  # fmt: skip
