"""Alert webhooks through the real server (issue 12, points 1-3): stored first, one card per incident.

Why: a responder must see owner and on-call within seconds of an alert, in one card that follows
the incident; a retried or replayed webhook, a restart or a second replica must never post twice,
and a forged request must change nothing.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from bot.http.app import SlackCredentials
from catalog.answers.models import Answer
from catalog.config import AlertsConfig
from catalog.core import Catalog
from tests.alert_payloads import (
    ALERTS_CONFIG,
    CHANNEL,
    alertmanager,
    generic,
    opsgenie,
    pagerduty,
    pagerduty_headers,
    token_headers,
)
from tests.e2e.harness import Wayfinder, mention_json
from tests.fakes.slack_api import FakeSlackAPI

FIRST_TS = "1700000000.000100"  # the fake Slack's first message ts
STOREFRONT_CHANNEL = "C04STF7R0NT"  # checkout-web's owner, storefront, has slack.com/channel-id


@pytest.fixture
def alerting(example_catalog: Catalog) -> Catalog:
    example_catalog.config.alerts = AlertsConfig.model_validate(ALERTS_CONFIG)
    return example_catalog


@pytest.fixture
def server(start: Callable[..., Wayfinder], alerting: Catalog) -> Wayfinder:
    return start(alerting)


def post(wayfinder: Wayfinder, provider: str, body: bytes, headers: dict[str, str]) -> int:
    return wayfinder.http.post(f"/webhooks/alerts/{provider}", content=body, headers=headers).status_code


def text_of(call: Any) -> str:
    return json.dumps(call.params.get("blocks"))


def test_pagerduty_incident_edits_one_card_through_its_life(server: Wayfinder, fake_slack: FakeSlackAPI) -> None:
    body = pagerduty("PINC1", "triggered", service_id="PCHKWB2")
    assert post(server, "pagerduty", body, pagerduty_headers(body)) == 202
    card = fake_slack.wait_for("chat.postMessage")[0]
    assert card.params["channel"] == STOREFRONT_CHANNEL
    blocks = text_of(card)
    assert "Checkout Web" in blocks and "runbooks.northwind.example/checkout-web" in blocks
    assert "Service dashboard" in blocks and "/o/component/default/checkout-web" in blocks

    for status in ("acknowledged", "resolved"):
        body = pagerduty("PINC1", status, service_id="PCHKWB2")
        assert post(server, "pagerduty", body, pagerduty_headers(body)) == 202
    updates = fake_slack.wait_for("chat.update", count=2)
    replies = fake_slack.wait_for("chat.postMessage", count=3)[1:]
    ts = FIRST_TS
    assert {u.params["ts"] for u in updates} == {ts} and all(r.params["thread_ts"] == ts for r in replies)
    assert "Acknowledged by Ana Responder" in replies[0].params["text"] and "Resolved" in replies[1].params["text"]
    assert "RESOLVED" in text_of(updates[-1])


@pytest.mark.parametrize(
    ("provider", "body", "needle"),
    [
        ("alertmanager", alertmanager("{}:{alertname=\"HighLatency\"}", "firing", service="checkout-web"), "Checkout Web"),
        ("grafana", alertmanager("{}:{}", "firing", service="checkout-web", grafana=True), "Checkout Web"),
        ("opsgenie", opsgenie("checkout-down", "Create", service="checkout-web"), "Checkout Web"),
        ("generic", generic("k1", "triggered", service="checkout-web"), "Checkout Web"),
    ],
)
def test_each_token_provider_posts_the_owner_card(
    server: Wayfinder, fake_slack: FakeSlackAPI, provider: str, body: bytes, needle: str
) -> None:
    assert post(server, provider, body, token_headers()) == 202
    card = fake_slack.wait_for("chat.postMessage")[0]
    assert card.params["channel"] == STOREFRONT_CHANNEL and needle in text_of(card)


def test_a_fuzzy_match_says_which_name_it_matched(server: Wayfinder, fake_slack: FakeSlackAPI) -> None:
    assert post(server, "generic", generic("k2", "triggered", service="checkout-wbe"), token_headers()) == 202
    blocks = text_of(fake_slack.wait_for("chat.postMessage")[0])
    assert "matched from `checkout-wbe`" in blocks


def test_a_name_cut_short_is_no_name_but_a_team_named_exactly_gets_the_card(server: Wayfinder, fake_slack: FakeSlackAPI) -> None:
    """`service: prod` (a namespace, an environment) sent the card to product-catalog-service's team, a page to the
    wrong people; an alert naming a team (Opsgenie routes by team) got the loud card though the team is in the catalog."""
    assert post(server, "generic", generic("cut", "triggered", service="prod"), token_headers()) == 202
    [cut] = fake_slack.wait_for("chat.postMessage")
    assert cut.params["channel"] == CHANNEL and "Nobody in the catalog owns this alert" in text_of(cut)

    assert post(server, "generic", generic("team", "triggered", service="storefront"), token_headers()) == 202
    team = fake_slack.wait_for("chat.postMessage", count=2)[1]
    assert team.params["channel"] == STOREFRONT_CHANNEL and "Nobody in the catalog owns this alert" not in text_of(team)


def test_an_unknown_service_gets_a_loud_card_with_the_fallback_contact(server: Wayfinder, fake_slack: FakeSlackAPI) -> None:
    assert post(server, "generic", generic("k3", "triggered", service="zz-nothing-like-it", title="<!channel> *boom*"), token_headers()) == 202
    card = fake_slack.wait_for("chat.postMessage")[0]
    blocks = text_of(card)
    assert card.params["channel"] == CHANNEL
    assert "Nobody in the catalog owns this alert" in blocks and "@platform-oncall" in blocks
    assert "No one entity in the catalog answers to `zz-nothing-like-it`." in blocks  # it read "knows `x` by no name"
    mrkdwn = json.dumps([b for b in card.params["blocks"] if b["type"] != "header"])  # plain_text headers are never parsed
    assert "<!channel>" not in mrkdwn and "&lt;!channel&gt;" in mrkdwn  # alert text is escaped


def test_an_alert_naming_no_service_says_so(server: Wayfinder, fake_slack: FakeSlackAPI) -> None:
    """It read "The catalog knows nothing this alert names by no name"."""
    body = json.dumps({"groupKey": "{}:{host=\"andromeda\"}", "status": "firing", "alerts": [{"labels": {"host": "andromeda"}}]}).encode()
    assert post(server, "alertmanager", body, token_headers()) == 202
    assert "The alert names no service in the labels or fields Wayfinder reads (`alerts.labels`)." in text_of(fake_slack.wait_for("chat.postMessage")[0])


def test_redelivery_and_flapping_post_one_card(server: Wayfinder, fake_slack: FakeSlackAPI) -> None:
    body = pagerduty("PINC2", "triggered", service_id="PCHKWB2")
    for _ in range(3):
        assert post(server, "pagerduty", body, pagerduty_headers(body)) == 202
    firing, resolved = alertmanager("g", "firing", service="checkout-web"), alertmanager("g", "resolved", service="checkout-web")
    for payload in (firing, resolved, firing):
        assert post(server, "alertmanager", payload, token_headers()) == 202
    fake_slack.wait_for("chat.update", count=1)
    fake_slack.wait_for("chat.postMessage", count=3)  # two cards and the resolved line
    assert len([c for c in fake_slack.calls("chat.postMessage") if "thread_ts" not in c.params]) == 2


def test_a_restart_between_storing_and_processing_posts_once(
    start: Callable[..., Wayfinder], alerting: Catalog, fake_slack: FakeSlackAPI, make_catalog: Callable[..., Catalog]
) -> None:
    without_slack = start(alerting, SlackCredentials(api_url=fake_slack.url))  # stores, cannot post
    body = pagerduty("PINC3", "triggered", service_id="PCHKWB2")
    assert post(without_slack, "pagerduty", body, pagerduty_headers(body)) == 202
    assert fake_slack.calls("chat.postMessage") == []
    without_slack.close()
    restarted = [start(alerting), start(alerting)]  # the restarted server and a second replica drain the inbox at start
    fake_slack.wait_for("chat.postMessage")
    assert post(restarted[0], "pagerduty", body, pagerduty_headers(body)) == 202  # and a late redelivery
    assert len(fake_slack.wait_for("chat.postMessage")) == 1


@pytest.mark.parametrize(
    ("provider", "body", "headers", "status"),
    [
        ("pagerduty", pagerduty("P9", "triggered", service_id="PCHKWB2"), pagerduty_headers(b"other body"), 401),
        ("pagerduty", pagerduty("P9", "triggered", service_id="PCHKWB2"), {"Content-Type": "application/json"}, 401),
        ("generic", generic("k", "triggered", service="checkout-web"), {"Content-Type": "application/json"}, 401),
        ("generic", generic("k", "triggered", service="checkout-web"), token_headers("wrong-token-0000-0000-0000"), 401),
        ("generic", b"{not json", token_headers(), 400),
        ("generic", json.dumps({"title": "no service"}).encode(), token_headers(), 400),
        ("opsgenie", b"[]", token_headers(), 400),
        ("nagios", generic("k", "triggered", service="checkout-web"), token_headers(), 404),
        ("generic", b"x" * (5 * 1024 * 1024 + 1), token_headers(), 413),
    ],
)
def test_refused_requests_change_nothing(server: Wayfinder, fake_slack: FakeSlackAPI, provider: str, body: bytes, headers: dict[str, str], status: int) -> None:
    assert post(server, provider, body, headers) == status
    good = generic("after", "triggered", service="checkout-web")
    assert post(server, "generic", good, token_headers()) == 202  # the worker is alive: the only card is this one
    assert len(fake_slack.wait_for("chat.postMessage")) == 1


def test_a_provider_left_out_of_the_config_is_not_found(start: Callable[..., Wayfinder], alerting: Catalog) -> None:
    alerting.config.alerts = AlertsConfig.model_validate({**ALERTS_CONFIG, "providers": {"generic": ALERTS_CONFIG["providers"]["generic"]}})
    body = pagerduty("P9", "triggered", service_id="PCHKWB2")
    assert post(start(alerting), "pagerduty", body, pagerduty_headers(body)) == 404


def answered_once(catalog: Catalog, question: str, done: Callable[[Answer], bool]) -> Answer:
    """The worker commits just after Slack has the card: ask until the answer shows it (bounded)."""
    deadline = time.monotonic() + 5
    while not done(answer := catalog.ask(question)) and time.monotonic() < deadline:
        time.sleep(0.02)
    return answer


def test_asking_who_handles_an_incident_answers_from_stored_alerts(server: Wayfinder, fake_slack: FakeSlackAPI) -> None:
    for status in ("triggered", "acknowledged"):
        body = pagerduty("PINC4", status, service_id="PCHKWB2", title="Checkout <b>5xx</b>")
        assert post(server, "pagerduty", body, pagerduty_headers(body)) == 202
    fake_slack.wait_for("chat.update")
    catalog = server.services.catalog

    handling = answered_once(
        catalog, "who is handling the checkout-web incident?", lambda a: bool(a.incidents and a.incidents[0].acknowledged_by)
    )
    assert handling.intent == "incidents" and handling.status == "answered"
    assert [(i.title, i.status, i.acknowledged_by) for i in handling.incidents] == [("Checkout <b>5xx</b>", "acknowledged", "Ana Responder")]
    assert "acknowledged by Ana Responder" in handling.text
    assert handling.to_json()["answer"]["incidents"][0]["acknowledged_by"] == "Ana Responder"

    by_team = catalog.ask("what's firing for storefront?")  # the owning team: through what it owns
    assert by_team.subject and by_team.subject.ref == "group:default/storefront" and len(by_team.incidents) == 1
    everywhere = catalog.ask("what's firing?")  # no subject: across the catalog, each alert with its entity
    assert (everywhere.intent, everywhere.status, len(everywhere.incidents)) == ("incidents", "answered", 1)
    assert "on component:default/checkout-web" in (everywhere.text or "")

    body = pagerduty("PINC4", "resolved", service_id="PCHKWB2")
    assert post(server, "pagerduty", body, pagerduty_headers(body)) == 202
    fake_slack.wait_for("chat.update", count=2)
    assert answered_once(catalog, "what's firing for checkout-web?", lambda a: a.status == "no_data")
    assert catalog.ask("any open incidents?").status == "no_data"
    assert catalog.ask("what's firing for kumquat-service?").status == "not_found"  # a name that names nothing is said so


def test_the_incident_answer_in_slack_escapes_alert_text(server: Wayfinder, fake_slack: FakeSlackAPI) -> None:
    body = pagerduty("PINC5", "triggered", service_id="PCHKWB2", title="<!here> checkout down")
    assert post(server, "pagerduty", body, pagerduty_headers(body)) == 202
    fake_slack.wait_for("chat.postMessage")
    answered_once(server.services.catalog, "what's firing for checkout-web?", lambda a: bool(a.incidents))  # committed, not only posted
    assert server.post(mention_json("what's firing for checkout-web?", event_id="EvInc"), "application/json").status_code == 200
    reply = fake_slack.wait_for("chat.postMessage", count=2)[1]
    blocks = json.dumps(reply.params["blocks"])
    assert "Open alerts (1)" in blocks and "&lt;!here&gt; checkout down" in blocks and "<!here>" not in blocks


def test_pasted_alert_links_unfurl_into_owner_and_on_call(server: Wayfinder, fake_slack: FakeSlackAPI) -> None:
    body = pagerduty("PINC6", "triggered", service_id="PCHKWB2")
    assert post(server, "pagerduty", body, pagerduty_headers(body)) == 202
    fake_slack.wait_for("chat.postMessage")
    incident = "https://northwind.pagerduty.com/incidents/PINC6"
    service = "https://northwind.pagerduty.com/service-directory/PCHKWB2"
    sentry = "https://northwind.sentry.io/issues/?project=checkout-web"
    unrelated = ["https://northwind.pagerduty.com/services/PNOSUCH", "https://northwind.sentry.io/issues/?project=checkout-wbe"]
    links = [{"domain": "pagerduty.com", "url": u} for u in (incident, service, sentry, *unrelated)]
    event = {"type": "link_shared", "channel": "C0GENERAL", "user": "U0ASKER", "message_ts": "1700000009.000900", "links": links, "source": "conversations_history"}

    assert server.event(event, event_id="EvUnfurl").status_code == 200

    [unfurl] = fake_slack.wait_for("chat.unfurl")
    assert sorted(unfurl.params["unfurls"]) == sorted([incident, service, sentry])  # a typo'd name is not guessed
    shown = json.dumps(unfurl.params["unfurls"][incident])
    assert "Checkout Web" in shown and "On call now" in shown


def test_events_that_open_no_incident_post_nothing(server: Wayfinder, fake_slack: FakeSlackAPI, third_party: Path) -> None:
    for name in ("webhook-v3-service.updated.json", "webhook-v3-incident.priority_updated.json"):
        body = (third_party / "pagerduty" / name).read_bytes()
        assert post(server, "pagerduty", body, pagerduty_headers(body)) == 202  # PagerDuty disables subscriptions that get 4xx
    body = (third_party / "pagerduty" / "webhook-v3-incident.triggered.json").read_bytes()  # a service the catalog does not know
    assert post(server, "pagerduty", body, pagerduty_headers(body)) == 202
    [card] = fake_slack.wait_for("chat.postMessage")
    assert card.params["channel"] == CHANNEL and "Nobody in the catalog owns this alert" in text_of(card) and "pig208" in text_of(card)
