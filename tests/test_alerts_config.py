"""The `alerts:` section exactly as issue 12 gives it (examples/wayfinder-alerts.yaml) loads; mistakes name their key."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest

from catalog.config import DEFAULT_ALERT_LINKS, Config, load_config
from catalog.errors import ConfigError
from tests.conftest import REPO

VARIABLES = (
    "PAGERDUTY_WEBHOOK_SECRET", "ALERTMANAGER_TOKEN", "OPSGENIE_TOKEN", "GRAFANA_TOKEN", "ALERTS_TOKEN",
    "GRAFANA_API_TOKEN", "SENTRY_API_TOKEN", "DATADOG_API_KEY", "DATADOG_APP_KEY",
)  # fmt: skip


def test_the_documented_example_loads(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in VARIABLES:
        monkeypatch.setenv(name, f"{name.lower()}-0000-0000")
    alerts = load_config(REPO / "examples" / "wayfinder-alerts.yaml").alerts
    assert alerts is not None and alerts.channel == "C0123INCIDENTS" and alerts.labels == ["service", "app", "job", "namespace"]
    assert alerts.providers.pagerduty and alerts.providers.pagerduty.secret.get_secret_value() == "pagerduty_webhook_secret-0000-0000"
    lookups = alerts.lookups
    assert lookups.sentry and lookups.sentry.organization == "northwind" and lookups.sentry.token.get_secret_value() == "sentry_api_token-0000-0000"
    assert lookups.datadog and lookups.datadog.application_key.get_secret_value() == "datadog_app_key-0000-0000" and lookups.grafana
    assert "0000" not in repr(alerts)  # secrets stay out of reprs and logs


def test_an_unknown_provider_and_a_bad_channel_are_named(write_config: Callable[[str], Config]) -> None:
    with pytest.raises(ConfigError) as raised:
        write_config("alerts:\n  channel: incidents\n  providers:\n    nagios: {token: x}\n")
    assert "alerts.channel" in str(raised.value) and "alerts.providers.nagios: unknown key" in str(raised.value)


@pytest.mark.parametrize(
    ("url", "groups"),
    [
        ("https://grafana.northwind.example/d/a1b2c3/checkout-web", {"grafana_dashboard": "a1b2c3", "name": "checkout-web"}),
        ("https://grafana.northwind.example/alerting/grafana/r-9f8e/view?tab=query", {"grafana_rule": "r-9f8e"}),
        ("https://northwind.sentry.io/issues/4711/events/latest/?project=checkout-web", {"sentry_issue": "4711", "name": "checkout-web"}),
        ("https://sentry.io/organizations/northwind/issues/12/", {"sentry_issue": "12"}),
        ("https://northwind.sentry.io/issues/?project=checkout-web", {"name": "checkout-web"}),
        ("https://app.datadoghq.eu/monitors/9001?q=service%3Apayments-service", {"datadog_monitor": "9001", "name": "payments-service"}),
    ],
)
def test_the_default_link_patterns_capture_the_vendors_id_beside_the_urls_name(url: str, groups: dict[str, str]) -> None:
    """The id is what the vendor's API is asked about (`alerts.lookups`); the name is the fallback from the URL alone."""
    found = next(m for p in DEFAULT_ALERT_LINKS if (m := re.match(p, url)))
    assert {k: v for k, v in found.groupdict().items() if v} == groups
