"""Pasted Grafana, Sentry and Datadog links are placed through the vendor's API (issue 12 point 4).

Why: a Grafana link carries a uid (and a slug that is rarely a service name), a Sentry link an
issue id, a Datadog link a monitor id; the service is in the vendor's labels, tags or project.
With a token configured (`alerts.lookups`) the vendor is asked; when it times out, refuses the
token or does not know the object, the link is placed from the URL alone and the card says which
lookup failed (never with the token). A link pasted again is answered from the cache. All against
local fakes: never the internet.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator

import pytest

from catalog.config import AlertsConfig
from catalog.core import Catalog
from tests.alert_payloads import ALERTS_CONFIG
from tests.e2e.harness import Wayfinder
from tests.fakes.alert_vendors import FakeDatadog, FakeGrafana, FakeSentry
from tests.fakes.slack_api import FakeSlackAPI

GRAFANA_TOKEN, SENTRY_TOKEN = "glsa_grafana-service-account-token", "sntrys_sentry-auth-token-0001"
DD_API_KEY, DD_APP_KEY = "dd-api-key-0123456789abcdef", "dd-application-key-0123456789"
SECRETS = (GRAFANA_TOKEN, SENTRY_TOKEN, DD_API_KEY, DD_APP_KEY)


@pytest.fixture
def vendors() -> Iterator[tuple[FakeGrafana, FakeSentry, FakeDatadog]]:
    with (
        FakeGrafana(token=GRAFANA_TOKEN) as grafana,
        FakeSentry(token=SENTRY_TOKEN, organization="northwind") as sentry,
        FakeDatadog(api_key=DD_API_KEY, application_key=DD_APP_KEY) as datadog,
    ):
        grafana.add_dashboard("a1b2c3", "Checkout overview", tags=["prod", "service:checkout-web"], folder="Storefront")
        grafana.add_dashboard("slow01", "Checkout latency", tags=["service:payments-service"])
        grafana.add_alert_rule("r-9f8e", "High error rate", labels={"team": "payments", "app": "payments-service", "severity": "page"})
        sentry.add_issue("4711", project_slug="checkout-web", project_name="Checkout Web")
        datadog.add_monitor("9001", "Payments 5xx", tags=["env:prod", "service:payments-service"])
        datadog.add_monitor("9002", "Checkout 5xx", tags=["service:payments-service"])  # the vendor refuses: the URL decides
        yield grafana, sentry, datadog


@pytest.fixture
def server(start: Callable[..., Wayfinder], example_catalog: Catalog, vendors: tuple[FakeGrafana, FakeSentry, FakeDatadog]) -> Wayfinder:
    grafana, sentry, datadog = vendors
    lookups = {
        "grafana": {"url": grafana.url, "token": GRAFANA_TOKEN, "timeout_seconds": 0.5},
        "sentry": {"url": sentry.url, "token": SENTRY_TOKEN, "organization": "northwind"},
        "datadog": {"url": datadog.url, "token": DD_API_KEY, "application_key": DD_APP_KEY},
    }
    example_catalog.config.alerts = AlertsConfig.model_validate(ALERTS_CONFIG | {"lookups": lookups})
    return start(example_catalog)


def share(server: Wayfinder, fake_slack: FakeSlackAPI, urls: list[str], n: int) -> dict[str, object]:
    links = [{"domain": "example", "url": u} for u in urls]
    event = {"type": "link_shared", "channel": "C0GENERAL", "user": "U0ASKER", "message_ts": f"1700000009.00080{n}", "links": links, "source": "conversations_history"}
    assert server.event(event, event_id=f"EvLookup{n}").status_code == 200
    unfurls: dict[str, object] = fake_slack.wait_for("chat.unfurl", count=n, timeout=15)[-1].params["unfurls"]  # a loaded machine
    return unfurls


def test_vendor_links_are_placed_through_the_vendors_api(
    server: Wayfinder, fake_slack: FakeSlackAPI, vendors: tuple[FakeGrafana, FakeSentry, FakeDatadog]
) -> None:
    grafana, sentry, datadog = vendors
    dashboard = "https://grafana.northwind.example/d/a1b2c3/overview"  # the slug names nothing; the tag does
    rule = "https://grafana.northwind.example/alerting/grafana/r-9f8e/view?returnTo=%2Falerting%2Flist"
    issue = "https://northwind.sentry.io/issues/4711/"
    monitor = "https://app.datadoghq.com/monitors/9001"
    unknown = "https://app.datadoghq.com/monitors/9404"  # neither the vendor nor the URL names a service

    unfurls = share(server, fake_slack, [dashboard, rule, issue, monitor, unknown], 1)

    assert sorted(unfurls) == sorted([dashboard, rule, issue, monitor])
    shown = {url: json.dumps(unfurls[url]) for url in unfurls}
    assert "Checkout Web" in shown[dashboard] and "Checkout Web" in shown[issue]
    assert "Payments Service" in shown[rule] and "Payments Service" in shown[monitor]  # `app` label; `service:` tag
    assert "On call now" in shown[monitor] and not any("link alone" in s for s in shown.values())
    asked = grafana.requests + sentry.requests + datadog.requests
    assert asked == 5

    again = share(server, fake_slack, [dashboard, rule, issue, monitor, unknown], 2)
    assert sorted(again) == sorted(unfurls)
    assert grafana.requests + sentry.requests + datadog.requests == asked  # answered from the cache, the miss included


def test_a_failed_lookup_falls_back_to_the_url_and_says_so(
    server: Wayfinder, fake_slack: FakeSlackAPI, vendors: tuple[FakeGrafana, FakeSentry, FakeDatadog]
) -> None:
    grafana, sentry, datadog = vendors
    grafana.delay("/api/dashboards/uid/slow01", 3.0)  # past the 0.5 s lookup timeout
    datadog.fail("/api/v1/monitor/9002", status=401, times=None)
    slow = "https://grafana.northwind.example/d/slow01/checkout-web"
    refused = "https://app.datadoghq.com/monitors/9002?q=service%3Acheckout-web"
    missing = "https://northwind.sentry.io/issues/999/?project=checkout-web"
    nothing = "https://app.datadoghq.com/monitors/9002"  # refused, and no name in the URL: no card

    unfurls = share(server, fake_slack, [slow, refused, missing, nothing], 1)

    assert sorted(unfurls) == sorted([slow, refused, missing])
    shown = {url: json.dumps(unfurls[url]) for url in unfurls}
    assert all("Checkout Web" in s for s in shown.values())  # the URL's name, not the vendor's (unread) tag
    assert "Placed from the link alone: the Grafana dashboard lookup timed out." in shown[slow]
    assert "the Datadog monitor lookup refused the token (HTTP 401)" in shown[refused]
    assert "the Sentry issue lookup does not know it (HTTP 404)" in shown[missing]
    assert not any(secret in s for s in shown.values() for secret in SECRETS)
    assert all(r.headers.get("dd-api-key") == DD_API_KEY for r in datadog.log)


def test_without_lookups_vendor_links_are_placed_from_the_url_alone(
    start: Callable[..., Wayfinder], example_catalog: Catalog, fake_slack: FakeSlackAPI
) -> None:
    example_catalog.config.alerts = AlertsConfig.model_validate(ALERTS_CONFIG)
    server = start(example_catalog)
    named = "https://grafana.northwind.example/d/a1b2c3/checkout-web"
    unnamed = "https://app.datadoghq.com/monitors/9001"
    unfurls = share(server, fake_slack, [named, unnamed], 1)
    assert sorted(unfurls) == [named] and "link alone" not in json.dumps(unfurls)
