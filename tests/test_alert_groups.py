"""Alert groups become one card per entity they name, each in its owner's channel, and a new card each time they fire again.

Why (the alert probe): one Alertmanager or Grafana group naming checkout-web (Storefront) and
payments-service (Payments) drew one card, for the first entity, in Storefront's channel only:
Payments was never told. A group gaining an alert for another service while firing drew nothing.
Grafana's generic `{}:{}` key put unrelated alerts on one card: the second was dropped, and an
alert on a third service re-opened the first one's resolved card in Storefront's channel.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import timedelta

import pytest
from slack_sdk import WebClient
from sqlalchemy import column, insert, select, table
from sqlmodel import col

from bot.slack.alerts import SlackCardPoster
from catalog.alerts.card import AlertCard
from catalog.alerts.inbox import LEASE
from catalog.alerts.models import AlertIncident
from catalog.alerts.service import Alerts
from catalog.config import AlertsConfig, Config
from catalog.core import Catalog
from catalog.store.engine import make_engine, upgrade
from tests.alert_payloads import (
    ALERTS_CONFIG,
    CHANNEL,
    START,
    Clock,
    alert_group,
    generic,
    group_alert,
    opsgenie,
    pagerduty,
    pagerduty_headers,
    token_headers,
)
from tests.e2e.harness import BOT_TOKEN, PUBLIC_URL
from tests.fakes.slack_api import Call, FakeSlackAPI

STOREFRONT = "C04STF7R0NT"  # checkout-web's owner
PAYMENTS = "C0123ABCD"  # payments-service's owner
LEDGER = "C05L3DG3R01"  # ledger-service's owner
GROUP = '{}:{alertname="HighLatency"}'


class Crash(BaseException):
    """The process dies: nothing after this point runs, no `except Exception` catches it."""


class CrashOnSecondCard(SlackCardPoster):
    """Posts the group's first card, then dies posting the second, before the worker records it."""

    posted = 0

    def post(self, channel: str, card: AlertCard) -> str:
        ts = super().post(channel, card)
        self.posted += 1
        if self.posted == 2:
            raise Crash
        return ts


@pytest.fixture
def fake() -> Iterator[FakeSlackAPI]:
    with FakeSlackAPI() as server:
        yield server


@pytest.fixture
def northwind(example_catalog: Catalog) -> Catalog:
    example_catalog.config.alerts = AlertsConfig.model_validate(ALERTS_CONFIG)
    return example_catalog


def deliver(catalog: Catalog, fake: FakeSlackAPI, clock: Clock, provider: str, *bodies: bytes, poster: SlackCardPoster | None = None) -> None:
    """Store the webhooks and run one round of the worker, as the server does on its timer."""
    alerts = Alerts(catalog)
    for body in bodies:
        headers = pagerduty_headers(body) if provider == "pagerduty" else token_headers()
        assert alerts.receive(provider, body, {k.lower(): v for k, v in headers.items()}, now=clock()).stored
    alerts.process_pending(poster or SlackCardPoster(WebClient(token=BOT_TOKEN, base_url=fake.url), public_url=PUBLIC_URL, clock=clock), clock=clock)


def posted_cards(fake: FakeSlackAPI) -> list[Call]:
    return [c for c in fake.calls("chat.postMessage") if "thread_ts" not in c.params]


def thread_lines(fake: FakeSlackAPI) -> list[Call]:
    return [c for c in fake.calls("chat.postMessage") if "thread_ts" in c.params]


def shown(call: Call) -> str:
    return call.params["text"] + json.dumps(call.params["blocks"])


def by_channel(calls: list[Call]) -> dict[str, str]:
    """channel -> what the one call there showed."""
    found = {c.params["channel"]: shown(c) for c in calls}
    assert len(found) == len(calls), "two calls in one channel"
    return found


@pytest.mark.parametrize("grafana", [False, True], ids=["alertmanager", "grafana"])
def test_a_group_naming_two_teams_services_gives_each_owner_its_own_card(northwind: Catalog, fake: FakeSlackAPI, grafana: bool) -> None:
    clock, provider = Clock(), "grafana" if grafana else "alertmanager"
    alerts = [group_alert("checkout-web"), group_alert("payments-service"), group_alert("zz-nothing-like-it")]
    deliver(northwind, fake, clock, provider, alert_group(GROUP, "firing", *alerts, grafana=grafana))

    cards = by_channel(posted_cards(fake))
    assert sorted(cards) == sorted([STOREFRONT, PAYMENTS, CHANNEL])
    assert "Checkout Web" in cards[STOREFRONT] and "Payments Service" not in cards[STOREFRONT]
    assert "Payments Service" in cards[PAYMENTS] and "Checkout Web" not in cards[PAYMENTS]
    assert "Nobody in the catalog owns this alert" in cards[CHANNEL] and "zz-nothing-like-it" in cards[CHANNEL]  # as before: the default channel

    resolved = [group_alert(a["labels"]["service"], "resolved") for a in alerts]
    deliver(northwind, fake, clock, provider, alert_group(GROUP, "resolved", *resolved, grafana=grafana))
    edits = by_channel(fake.calls("chat.update"))  # each card is resolved in place, with its line
    assert sorted(edits) == sorted(cards) and all("RESOLVED" in edit for edit in edits.values())
    assert sorted(c.params["channel"] for c in thread_lines(fake)) == sorted(cards) and len(posted_cards(fake)) == 3


def test_a_group_whose_alerts_all_name_one_entity_keeps_one_card_listing_them(northwind: Catalog, fake: FakeSlackAPI) -> None:
    pods = [group_alert("checkout-web", summary="checkout-web p99 latency high"), group_alert("checkout-web", summary="checkout-web 5xx above 2%")]
    deliver(northwind, fake, Clock(), "alertmanager", alert_group(GROUP, "firing", *pods))
    [card] = posted_cards(fake)
    assert card.params["channel"] == STOREFRONT
    assert "Alerts (2):" in shown(card) and "checkout-web p99 latency high" in shown(card) and "checkout-web 5xx above 2%" in shown(card)


def test_a_group_gaining_an_alert_for_another_service_gives_that_owner_its_card(northwind: Catalog, fake: FakeSlackAPI) -> None:
    """Why: the group's status had not changed (still firing), so nothing was posted or edited."""
    clock = Clock()
    deliver(northwind, fake, clock, "alertmanager", alert_group(GROUP, "firing", group_alert("checkout-web")))
    deliver(northwind, fake, clock, "alertmanager", alert_group(GROUP, "firing", group_alert("checkout-web"), group_alert("payments-service")))
    assert [c.params["channel"] for c in posted_cards(fake)] == [STOREFRONT, PAYMENTS]
    assert fake.calls("chat.update") == []  # checkout-web's card lists what it listed: nothing to redraw


def test_a_card_whose_alert_list_changed_is_redrawn_without_a_thread_line(northwind: Catalog, fake: FakeSlackAPI) -> None:
    clock = Clock()
    first, second = group_alert("checkout-web"), group_alert("checkout-web", summary="checkout-web 5xx above 2%")
    deliver(northwind, fake, clock, "alertmanager", alert_group(GROUP, "firing", first))
    deliver(northwind, fake, clock, "alertmanager", alert_group(GROUP, "firing", first, second))
    deliver(northwind, fake, clock, "alertmanager", alert_group(GROUP, "firing", second, first))  # the same alerts in another order

    [card] = fake.messages(STOREFRONT)
    [edit] = fake.calls("chat.update")
    assert (edit.params["channel"], edit.params["ts"]) == (STOREFRONT, card["ts"]) and len(posted_cards(fake)) == 1
    assert "Alerts (2):" in shown(edit) and "checkout-web 5xx above 2%" in shown(edit)
    assert thread_lines(fake) == []  # still firing: the thread is for changes of state


def test_unrelated_alerts_under_grafanas_generic_key_are_separate_incidents(northwind: Catalog, fake: FakeSlackAPI) -> None:
    """Why: under `{}:{}` LedgerLag was dropped, and PaymentsDown re-opened CheckoutLatency's resolved card in Storefront's channel."""
    clock = Clock()

    def grafana(service: str, status: str = "firing") -> bytes:
        return alert_group("{}:{}", status, group_alert(service, status), grafana=True)

    deliver(northwind, fake, clock, "grafana", grafana("checkout-web"))
    deliver(northwind, fake, clock, "grafana", grafana("ledger-service"))
    assert [c.params["channel"] for c in posted_cards(fake)] == [STOREFRONT, LEDGER]

    deliver(northwind, fake, clock, "grafana", grafana("checkout-web", "resolved"))
    deliver(northwind, fake, clock, "grafana", grafana("payments-service"))
    assert [c.params["channel"] for c in posted_cards(fake)] == [STOREFRONT, LEDGER, PAYMENTS]
    [resolved] = fake.calls("chat.update")  # checkout-web's card, resolved once and left so
    assert resolved.params["channel"] == STOREFRONT and "RESOLVED" in shown(resolved)


@pytest.mark.parametrize(
    ("provider", "firing", "resolved", "again"),
    [
        ("alertmanager", alert_group(GROUP, "firing", group_alert("checkout-web")), alert_group(GROUP, "resolved", group_alert("checkout-web", "resolved")),
         alert_group(GROUP, "firing", group_alert("checkout-web", starts_at="2026-12-02T11:00:00Z"))),
        ("generic", generic("k", "triggered", service="checkout-web"), generic("k", "resolved", service="checkout-web"),
         generic("k", "triggered", service="checkout-web", title="Error budget burning again")),
        ("opsgenie", opsgenie("a", "Create", service="checkout-web"), opsgenie("a", "Close", service="checkout-web", updated=2),
         opsgenie("a", "Create", service="checkout-web", updated=3)),
    ],
)  # fmt: skip
def test_a_group_firing_again_after_it_resolved_opens_a_new_card(
    northwind: Catalog, fake: FakeSlackAPI, provider: str, firing: bytes, resolved: bytes, again: bytes
) -> None:
    """Why: the resolved card was re-opened and edited, its thread and history mixing two incidents."""
    clock = Clock()
    for body in (firing, resolved, again):
        deliver(northwind, fake, clock, provider, body)
        clock.now += timedelta(minutes=1)
    old, new = posted_cards(fake)
    assert old.params["channel"] == new.params["channel"] == STOREFRONT
    assert len(fake.calls("chat.update")) == 1 and len(thread_lines(fake)) == 1  # the first card: resolved, and nothing since
    with northwind.session() as session:
        assert sorted(session.scalars(select(col(AlertIncident.status)))) == ["resolved", "triggered"]


def _resolved_at(ended: str) -> dict[str, object]:
    return {**group_alert("checkout-web", "resolved"), "endsAt": ended}


@pytest.mark.parametrize(
    ("provider", "first", "late"),
    [
        ("pagerduty", [pagerduty("PLATE", "resolved", service_id="PCHKWB2", occurred_at="2026-12-02T10:10:00Z")],
         [pagerduty("PLATE", "triggered", service_id="PCHKWB2", occurred_at="2026-12-02T10:00:00Z"),
          pagerduty("PLATE", "acknowledged", service_id="PCHKWB2", occurred_at="2026-12-02T10:05:00.123456789Z")]),
        ("opsgenie", [opsgenie("late", "Close", service="checkout-web", updated=3_000)], [opsgenie("late", "Create", service="checkout-web", updated=1_000)]),
        ("alertmanager", [alert_group(GROUP, "resolved", _resolved_at("2026-12-02T10:10:00Z"))],
         [alert_group(GROUP, "firing", group_alert("checkout-web", starts_at="2026-12-02T10:00:00Z"))]),
    ],
    ids=["pagerduty", "opsgenie", "alertmanager"],
)  # fmt: skip
def test_an_event_delivered_after_a_later_one_changes_nothing(
    northwind: Catalog, fake: FakeSlackAPI, provider: str, first: list[bytes], late: list[bytes]
) -> None:
    """Webhooks are not delivered in order: a resolved incident's late "triggered" reopened its card (PagerDuty) or
    posted a second one that would never resolve (Opsgenie, Alertmanager), and a late "acknowledged" left it acknowledged."""
    clock = Clock()
    for body in (*first, *late):
        deliver(northwind, fake, clock, provider, body)
        clock.now += timedelta(minutes=1)

    [card] = posted_cards(fake)
    assert "RESOLVED" in shown(card) and fake.calls("chat.update") == [] and thread_lines(fake) == []
    with northwind.session() as session:
        assert list(session.scalars(select(col(AlertIncident.status)))) == ["resolved"]


def test_a_reopened_pagerduty_incident_edits_its_own_card(northwind: Catalog, fake: FakeSlackAPI) -> None:
    """PagerDuty's incident id names one incident, which PagerDuty reopens: its card follows it."""
    clock = Clock()
    for status, event_id in (("triggered", "e1"), ("resolved", "e2"), ("triggered", "e3")):
        deliver(northwind, fake, clock, "pagerduty", pagerduty("PREOPEN", status, service_id="PCHKWB2", event_id=event_id))
    assert len(posted_cards(fake)) == 1 and len(fake.calls("chat.update")) == 2


def test_a_crash_between_a_groups_cards_posts_each_card_once(northwind: Catalog, make_catalog: Callable[[Config], Catalog], fake: FakeSlackAPI) -> None:
    clock = Clock()
    crashing = CrashOnSecondCard(WebClient(token=BOT_TOKEN, base_url=fake.url), public_url=PUBLIC_URL, clock=clock)
    body = alert_group(GROUP, "firing", group_alert("checkout-web"), group_alert("payments-service"), group_alert("ledger-service"))
    with pytest.raises(Crash):
        deliver(northwind, fake, clock, "alertmanager", body, poster=crashing)
    assert len(posted_cards(fake)) == 2

    clock.now += LEASE + timedelta(seconds=1)  # the dead worker's claim runs out; another replica takes the delivery
    deliver(make_catalog(northwind.config), fake, clock, "alertmanager")
    assert sorted(c.params["channel"] for c in posted_cards(fake)) == sorted([STOREFRONT, PAYMENTS, LEDGER])
    [recovered] = fake.calls("chat.update")  # the card posted as the worker died, found in its channel
    assert recovered.params["channel"] == PAYMENTS


def test_the_migration_keys_each_stored_incident_by_its_group(empty_database_url: str) -> None:
    """Incidents were keyed by their group alone: that key stays theirs (the metadata of their cards carries it) and names their group."""
    engine = make_engine(empty_database_url)
    try:
        upgrade(engine, "0024")
        row = {
            "group_key": "alertmanager:g", "provider": "alertmanager", "title": "HighLatency", "status": "triggered",
            "entity_ref": "component:default/checkout-web", "channel": STOREFRONT, "ts": "1700000000.000100", "opened_at": START, "updated_at": START,
        }  # fmt: skip
        with engine.begin() as conn:
            conn.execute(insert(table("alert_incident", *[column(name) for name in row])), row)
        upgrade(engine)
        with engine.connect() as conn:
            stored = conn.execute(select(col(AlertIncident.key), col(AlertIncident.group_key), col(AlertIncident.listed), col(AlertIncident.ts))).one()
        assert tuple(stored) == ("alertmanager:g", "alertmanager:g", None, "1700000000.000100")
    finally:
        engine.dispose()
