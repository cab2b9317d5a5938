"""The alert parsers and the PagerDuty signature against the vendors' real payloads (conformance).

Why: PagerDuty, Alertmanager and Opsgenie send what they send, fields left out included; a parser
written only against our own payloads would turn a real alert into a 400 and lose it.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from catalog.alerts.auth import pagerduty_signature_ok
from catalog.alerts.payloads import MalformedAlert, parse_alert

LABELS = ["service", "app", "job", "namespace"]


def test_pagerduty_signature_vector(third_party: Path) -> None:
    vector = json.loads((third_party / "pagerduty" / "webhook-v3-signature-test-vector.json").read_text())
    body = (third_party / "pagerduty" / vector["body_file"]).read_bytes()
    assert pagerduty_signature_ok(vector["secret"], body, vector["valid_header_value"])
    assert pagerduty_signature_ok(vector["secret"], body, f"{vector['mismatch_header_value']}, {vector['valid_header_value']}")  # rotation
    assert not pagerduty_signature_ok(vector["secret"], body, vector["mismatch_header_value"])
    assert not pagerduty_signature_ok(vector["secret"], body + b" ", vector["valid_header_value"])
    assert not pagerduty_signature_ok(vector["secret"], body, "")
    assert not pagerduty_signature_ok(vector["secret"], body, "v1=é")  # not ASCII: refused, not an error


@pytest.mark.parametrize(
    ("name", "status"),
    [("webhook-v3-incident.triggered.json", "triggered"), ("webhook-v3-incident.acknowledged.json", "acknowledged"),
     ("webhook-v3-incident.resolved.json", "resolved"), ("webhook-v3-incident.priority_updated.json", None)],
)  # fmt: skip
def test_pagerduty_webhooks(third_party: Path, name: str, status: str | None) -> None:
    event = parse_alert("pagerduty", (third_party / "pagerduty" / name).read_bytes(), labels=LABELS)
    assert event.status == status and event.service_ids and event.group_key.startswith("pagerduty:")
    assert event.url and event.url.startswith("https://")


@pytest.mark.parametrize(
    ("name", "status", "names"),
    [("alertmanager-v4-firing-2-alerts.json", "triggered", []), ("alertmanager-v4-resolved-single.json", "resolved", None),
     ("alertmanager-v4-prometheus-msteams.json", "triggered", ["docker_nodes"])],
)  # fmt: skip
def test_alertmanager_webhooks(third_party: Path, name: str, status: str, names: list[str] | None) -> None:
    event = parse_alert("alertmanager", (third_party / "alerts" / name).read_bytes(), labels=LABELS)
    assert event.status == status and event.title
    assert names is None or event.names == names


@pytest.mark.parametrize(
    ("name", "status"),
    [
        ("opsgenie-webhook-create.json", "triggered"),
        ("opsgenie-webhook-acknowledge.json", "acknowledged"),
        ("opsgenie-webhook-close.json", "resolved"),
    ],
)
def test_opsgenie_webhooks(third_party: Path, name: str, status: str) -> None:
    event = parse_alert("opsgenie", (third_party / "alerts" / name).read_bytes(), labels=LABELS)
    assert event.status == status and event.group_key.startswith("opsgenie:")


def test_each_redelivery_has_the_same_fingerprint_and_distinct_events_do_not(third_party: Path) -> None:
    folder = third_party / "pagerduty"
    first = parse_alert("pagerduty", (folder / "webhook-v3-incident.triggered.json").read_bytes(), labels=LABELS)
    again = parse_alert("pagerduty", (folder / "webhook-v3-incident.triggered.json").read_bytes(), labels=LABELS)
    later = parse_alert("pagerduty", (folder / "webhook-v3-incident.resolved.json").read_bytes(), labels=LABELS)
    assert first.fingerprint == again.fingerprint != later.fingerprint


@pytest.mark.parametrize("body", [b"", b"null", b"[1]", b'{"event": {}}', b"\xff\xfe"])
def test_malformed_pagerduty_bodies(body: bytes) -> None:
    with pytest.raises(MalformedAlert):
        parse_alert("pagerduty", body, labels=LABELS)
