"""Each provider's webhook body read into one `AlertEvent` (shapes: FORMATS.md §2 and §3).

The delivery `fingerprint` makes a redelivery a no-op; the `group_key` names the incident or
alert group the event belongs to (PagerDuty incident id, Alertmanager `groupKey`, Opsgenie alias,
Grafana and generic dedup keys). An Alertmanager or Grafana group also lists its `alerts`, each
with its own names, since one group can hold alerts for services of different owners. A body that
is not the provider's shape is refused with what is wrong, in words for its sender (`fields`);
text is read clean and display text cut to its column, so whatever was accepted can be stored on
SQLite and PostgreSQL alike.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, Field

from catalog.alerts.fields import Fields, WrongField, clip
from catalog.alerts.models import AlertIncident
from catalog.store.models import column_length

Status = Literal["triggered", "acknowledged", "resolved"]
PROVIDERS = ("pagerduty", "alertmanager", "opsgenie", "grafana", "generic")
_SHAPES = {
    "pagerduty": "a PagerDuty v3 webhook", "alertmanager": "an Alertmanager webhook", "opsgenie": "an Opsgenie webhook",
    "grafana": "a Grafana webhook", "generic": "a generic alert",
}  # fmt: skip
_KEY_LIMIT = 250
_URL_LIMIT = column_length(AlertIncident, "url")


class MalformedAlert(ValueError):
    """The body is not JSON, or not the provider's shape; the reply is 400 with this message and nothing is stored."""


def _fits(field: str) -> AfterValidator:
    """Cut to the incident's `field` column: a long value is shown shortened rather than losing the card."""
    limit = column_length(AlertIncident, field)
    return AfterValidator(lambda text: clip(text, limit))


Name = Annotated[str, _fits("matched")]  # what an alert calls its service (stored as `matched` when fuzzy)
Severity = Annotated[str, _fits("severity")]


class GroupAlert(BaseModel):
    """One alert of an Alertmanager or Grafana group: placed on its own entity, listed on that entity's card."""

    status: Literal["triggered", "resolved"]
    summary: str  # its line on the card: the summary annotation, else the alert's name
    title: str  # the card's title when this alert is its entity's first: the group's own title, as before groups were split
    severity: Severity | None = None
    url: str | None = None  # fits its column: see `_link`
    names: list[Name] = Field(default_factory=list)


class AlertEvent(BaseModel):
    provider: str
    fingerprint: str
    group_key: str
    status: Status | None  # None: an update that changes no state (a priority change, a note)
    title: str
    severity: Severity | None = None
    url: str | None = None  # fits its column: see `_link`
    service_ids: list[str] = Field(default_factory=list)  # PagerDuty service ids
    names: list[Name] = Field(default_factory=list)  # what the alert calls its service, most telling first
    actor: Annotated[str, _fits("acknowledged_by")] | None = None  # who acknowledged or resolved it
    alerts: list[GroupAlert] = Field(default_factory=list)  # a group's alerts (Alertmanager, Grafana); empty for one-alert providers
    occurred_at: datetime | None = None  # when it happened by the sender's clock, which orders late deliveries; None: not said


def parse_alert(provider: str, body: bytes, *, labels: Sequence[str]) -> AlertEvent:
    """The event in `body`; raises `MalformedAlert` saying what is wrong with anything else."""
    try:
        event = _PARSERS[provider](Fields(_json_object(body)), labels)
    except WrongField as wrong:
        raise MalformedAlert(f"not {_SHAPES[provider]}: {wrong}") from None
    except RecursionError:  # json's nesting limit, reading the body or digesting it
        raise MalformedAlert("the body is nested too deeply") from None
    return event.model_copy(update={"fingerprint": _key(provider, event.fingerprint), "group_key": _key(provider, event.group_key)})


def _json_object(body: bytes) -> dict[str, Any]:
    """The body's JSON object. JSON travels as UTF-8 (RFC 8259; a byte order mark is let pass) and the
    body is stored as that text, so another encoding is refused rather than guessed."""
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise MalformedAlert("the body is not UTF-8 text") from None
    if not text.strip():
        raise MalformedAlert("the body is empty")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise MalformedAlert(f"the body is not JSON ({exc})") from None
    except ValueError:  # int()'s limit on digits, the one other error of json.loads
        raise MalformedAlert("the body holds a number with too many digits") from None
    if not isinstance(data, dict):
        raise MalformedAlert("the body must be a JSON object")
    return data


def _key(provider: str, key: str) -> str:
    """`provider:key`, hashed when long (Alertmanager group keys can be)."""
    key = key if len(key) <= _KEY_LIMIT else "sha256:" + hashlib.sha256(key.encode()).hexdigest()
    return f"{provider}:{key}"


def _digest(data: Fields) -> str:
    """A redelivery's identity for senders without an event id: the canonical JSON of the body."""
    return hashlib.sha256(json.dumps(data.values, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def _link(*candidates: str | None) -> str | None:
    """The first link that fits its column. A link cut short would lead nowhere, so an over-long one
    (a Prometheus generatorURL carrying a long PromQL expression) gives way to the next, or to none."""
    return next((url for url in candidates if url and len(url) <= _URL_LIMIT), None)


_FRACTION = re.compile(r"(\.\d{6})\d+")  # Go writes nanoseconds; Python reads at most microseconds
_EPOCH_UNITS = ((10**17, 10**9), (10**14, 10**6), (10**11, 10**3), (0, 1))  # nanoseconds (Opsgenie), micro-, milli-, seconds


def instant(text: str | None) -> datetime | None:
    """A time as senders write it: ISO 8601 (PagerDuty's `occurred_at`, Alertmanager's `startsAt`) or a number since
    1970 in any unit from seconds to nanoseconds (Opsgenie's `updatedAt`). None for none, for Go's zero time
    (`0001-01-01T00:00:00Z`, an alert still firing) and for anything unreadable: the event is then not ordered."""
    if not text:
        return None
    try:
        if text.isdigit() and len(text) <= 20:
            number = int(text)
            scale = next(scale for least, scale in _EPOCH_UNITS if number >= least)
            at = datetime.fromtimestamp(number // scale, UTC) + timedelta(microseconds=number % scale * 10**6 // scale)
        else:
            at = datetime.fromisoformat(_FRACTION.sub(r"\1", text.strip()))
    except (ValueError, OverflowError, OSError):  # not a time, or past the year 9999
        return None
    at = at if at.tzinfo else at.replace(tzinfo=UTC)
    return at if 1971 <= at.year < 2200 else None  # Go's zero time, or a number in a unit not guessed right


def _present(*values: str | None) -> list[str]:
    return [v for v in values if v]


def _pagerduty(data: Fields, labels: Sequence[str]) -> AlertEvent:
    event = data.child("event", required=True)
    incident = event.child("data", required=True)
    kind = event.required_text("event_type")
    status = {"incident.acknowledged": "acknowledged", "incident.resolved": "resolved"}.get(kind)
    if kind in ("incident.triggered", "incident.reopened", "incident.unacknowledged"):
        status = "triggered"
    service = incident.child("service")
    return AlertEvent(
        provider="pagerduty", fingerprint=event.text("id") or _digest(data), group_key=incident.required_text("id"), status=status,
        title=incident.text("title") or incident.text("summary") or kind, severity=incident.child("priority").text("summary") or incident.text("urgency"),
        url=_link(incident.text("html_url")), service_ids=_present(service.text("id")), names=_present(service.text("summary")),
        actor=event.child("agent").text("summary"), occurred_at=instant(event.text("occurred_at")),
    )  # fmt: skip


def _label_names(found: list[Fields], labels: Sequence[str]) -> list[str]:
    """Values of the configured labels, in the configured order, across the given label maps."""
    names: list[str] = []
    for label in labels:
        for labelset in found:
            value = labelset.text(label)
            if value and value not in names:
                names.append(value)
    return names


def _alertmanager(data: Fields, labels: Sequence[str], provider: str = "alertmanager") -> AlertEvent:
    firing = data.text("status") != "resolved" and data.text("state") != "ok"
    group = [data.child("commonLabels"), data.child("groupLabels")]
    # a group without alerts is read as one alert of its group labels, so every group has one to place
    alerts = data.children("alerts") or [Fields({})]
    members = [_group_alert(data, alert, group, labels, firing=firing) for alert in alerts]
    # a firing group happened when its latest alert started; a resolved one when its last alert ended
    times = [t for alert in alerts if (t := instant(alert.text("startsAt" if firing else "endsAt")))]
    return AlertEvent(
        provider=provider, fingerprint=_digest(data), group_key=data.required_text("groupKey"), status="triggered" if firing else "resolved",
        title=members[0].title, severity=group[0].text("severity"), url=members[0].url,
        names=_label_names([*group, *[a.child("labels") for a in alerts]], labels), alerts=members, occurred_at=max(times, default=None),
    )  # fmt: skip


def _group_alert(data: Fields, alert: Fields, group: list[Fields], labels: Sequence[str], *, firing: bool) -> GroupAlert:
    """One alert of the group, its names read from the group's labels and then its own (FORMATS.md §3).

    An alert without a status of its own (senders leave it out) has the group's; in a resolved group every alert is resolved.
    """
    own, common = alert.child("labels"), group[0]
    title = _untagged(data.text("title")) or data.child("commonAnnotations").text("summary") or common.text("alertname") or own.text("alertname") or "alert"
    resolved = not firing or alert.text("status") == "resolved"
    return GroupAlert(
        status="resolved" if resolved else "triggered", summary=alert.child("annotations").text("summary") or own.text("alertname") or title,
        title=title, severity=own.text("severity") or common.text("severity"),
        url=_link(alert.text("panelURL"), alert.text("dashboardURL"), alert.text("generatorURL"), data.text("externalURL")),
        names=_label_names([*group, own], labels),
    )  # fmt: skip


# Alertmanager's and Grafana's default titles lead with the group's state ("[FIRING:2] HighLatency"), which the
# card shows itself: a resolved card read "RESOLVED: [FIRING:1] ...", since its title is the first notification's.
_STATE_TAG = re.compile(r"\s*\[(?:FIRING|RESOLVED)(?::\s*\d+)?\]\s*", re.IGNORECASE)


def _untagged(title: str | None) -> str | None:
    return _STATE_TAG.sub("", title, count=1) if title and _STATE_TAG.match(title) else title


def _grafana(data: Fields, labels: Sequence[str]) -> AlertEvent:
    return _alertmanager(data, labels, provider="grafana")


# Opsgenie's actions by their lower-case names: its docs write "Create", some integrations "create".
_OPSGENIE_STATUS: dict[str, Status] = {"create": "triggered", "unacknowledge": "triggered", "acknowledge": "acknowledged", "close": "resolved"}


def _opsgenie(data: Fields, labels: Sequence[str]) -> AlertEvent:
    alert, action = data.child("alert", required=True), data.required_text("action")
    alert_id, tags = alert.required_text("alertId"), alert.texts("tags")
    # `service:payments` tags name the service outright; teams (also as `team:payments` tags) and bare tags are weaker hints
    named = [t.split(":", 1)[1] for t in tags if t.startswith("service:")]
    names = named + alert.texts("teams") + [t.split(":", 1)[1] for t in tags if t.startswith("team:")] + tags
    priority = alert.text("priority")  # 3 or "P3"
    return AlertEvent(
        provider="opsgenie", fingerprint=f"{alert_id}:{action}:{alert.text('updatedAt') or ''}",
        group_key=alert.text("alias") or alert_id, status=_OPSGENIE_STATUS.get(action.lower()), title=alert.text("message") or "alert",
        severity=f"P{priority}" if priority and priority.isdigit() else priority, names=[n for n in names if n],
        actor=alert.text("username") if action.lower() in ("acknowledge", "close") else None, occurred_at=instant(alert.text("updatedAt")),
    )  # fmt: skip


_GENERIC_STATUS: dict[str, Status] = {"triggered": "triggered", "firing": "triggered", "acknowledged": "acknowledged", "resolved": "resolved"}


def _generic(data: Fields, labels: Sequence[str]) -> AlertEvent:
    """The documented shape: `service`, `title`, `status`, `url`, `dedup_key` (and optional `severity`, `actor`)."""
    status = _GENERIC_STATUS.get(data.required_text("status").strip().lower())  # "RESOLVED" as well
    if status is None:
        raise WrongField(f"{data.name('status')} must be triggered (or firing), acknowledged or resolved")
    service, title = data.required_text("service").strip(), data.required_text("title")
    if not service:
        raise WrongField(f"{data.name('service')} is blank: it names the service the alert is about")
    return AlertEvent(
        provider="generic", fingerprint=_digest(data), group_key=data.text("dedup_key") or f"{service}:{title}", status=status, title=title,
        severity=data.text("severity"), url=_link(data.text("url")), names=[service], actor=data.text("actor"),
    )  # fmt: skip


_PARSERS: dict[str, Callable[[Fields, Sequence[str]], AlertEvent]] = {
    "pagerduty": _pagerduty, "alertmanager": _alertmanager, "opsgenie": _opsgenie, "grafana": _grafana, "generic": _generic,
}  # fmt: skip
