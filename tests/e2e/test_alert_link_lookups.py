"""Pasted PagerDuty links the URL alone cannot place are looked up on PagerDuty's API (issue 12 point 4).

Why: an incident link carries only the incident id, and a service link an id no catalog entity
may carry. With a PagerDuty source configured, its token is used to ask PagerDuty for the
incident's service and the service's name; a slow or failing vendor costs only that link, never
the others or the unfurl, and a link pasted again is answered from the cache. All against a local
fake: never the internet.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator

import pytest

from catalog.config import AlertsConfig, PagerDutySourceConfig
from catalog.core import Catalog
from tests.alert_payloads import ALERTS_CONFIG
from tests.e2e.harness import Wayfinder
from tests.fakes.pagerduty_api import FakePagerDuty
from tests.fakes.slack_api import FakeSlackAPI

PD_TOKEN = "pd-api-token-for-link-lookups"


@pytest.fixture
def pagerduty() -> Iterator[FakePagerDuty]:
    with FakePagerDuty(token=PD_TOKEN, subdomain="northwind") as fake:
        fake.add_service("PVENDSV", "checkout-web", escalation_policy_id="PEP1")  # an id no entity carries, a name the catalog knows
        fake.add_incident("PVEND1", service_id="PCHKWB2")  # an incident Wayfinder never received, on checkout-web's service
        fake.add_incident("PVEND2", service_id="PVENDSV")
        fake.add_incident("PSLOW", service_id="PCHKWB2")
        yield fake


@pytest.fixture
def server(start: Callable[..., Wayfinder], example_catalog: Catalog, pagerduty: FakePagerDuty) -> Wayfinder:
    example_catalog.config.alerts = AlertsConfig.model_validate(ALERTS_CONFIG)
    source = PagerDutySourceConfig(name="pd-links", type="pagerduty", token=PD_TOKEN, api_url=pagerduty.url, timeout_seconds=0.5)
    example_catalog.config.sources.append(source)
    return start(example_catalog)


def share(server: Wayfinder, fake_slack: FakeSlackAPI, urls: list[str], n: int) -> dict[str, object]:
    links = [{"domain": "pagerduty.com", "url": u} for u in urls]
    event = {"type": "link_shared", "channel": "C0GENERAL", "user": "U0ASKER", "message_ts": f"1700000009.00090{n}", "links": links, "source": "conversations_history"}
    assert server.event(event, event_id=f"EvVendor{n}").status_code == 200
    unfurl = fake_slack.wait_for("chat.unfurl", count=n)[-1]
    unfurls: dict[str, object] = unfurl.params["unfurls"]
    return unfurls


def test_incident_and_service_links_are_placed_through_pagerduty(server: Wayfinder, fake_slack: FakeSlackAPI, pagerduty: FakePagerDuty) -> None:
    incident = "https://northwind.pagerduty.com/incidents/PVEND1"
    by_name = "https://northwind.pagerduty.com/incidents/PVEND2"
    service = "https://northwind.pagerduty.com/service-directory/PVENDSV"
    unknown = "https://northwind.pagerduty.com/incidents/PNOSUCH"
    slow = "https://northwind.pagerduty.com/incidents/PSLOW"
    pagerduty.delay("/incidents/PSLOW", 3.0)  # past the lookup timeout

    unfurls = share(server, fake_slack, [incident, by_name, service, unknown, slow], 1)

    assert sorted(unfurls) == sorted([incident, by_name, service])  # a missing or slow incident costs only its own link
    assert "Checkout Web" in json.dumps(unfurls[incident]) and "Checkout Web" in json.dumps(unfurls[service])
    assert all(r.headers.get("authorization") == f"Token token={PD_TOKEN}" for r in pagerduty.log)
    asked = pagerduty.requests

    again = share(server, fake_slack, [incident, by_name, service, unknown], 2)
    assert sorted(again) == sorted([incident, by_name, service])
    assert pagerduty.requests == asked  # answered from the cache, misses included


def test_without_a_pagerduty_source_links_are_placed_from_the_url_alone(
    start: Callable[..., Wayfinder], example_catalog: Catalog, fake_slack: FakeSlackAPI
) -> None:
    example_catalog.config.alerts = AlertsConfig.model_validate(ALERTS_CONFIG)
    server = start(example_catalog)
    known, incident = "https://northwind.pagerduty.com/service-directory/PCHKWB2", "https://northwind.pagerduty.com/incidents/PVEND1"
    assert sorted(share(server, fake_slack, [known, incident], 1)) == [known]
