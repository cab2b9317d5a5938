"""A webhook's reply waits for one database round trip (issue 12's reply goal on PostgreSQL).

Why: the reply p99 on PostgreSQL was 128 ms (goal 50 ms), spent storing the alert: BEGIN, the
INSERT and COMMIT, each a round trip to a server under load. The stored alert is now one
self-committing INSERT: one round trip, still committed synchronously (durable before the 202),
and a redelivery is one round trip that writes nothing.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlmodel import col

from catalog.alerts.models import AlertDelivery
from catalog.alerts.service import Alerts
from catalog.config import AlertsConfig
from catalog.core import Catalog
from tests.alert_payloads import ALERTS_CONFIG, generic, token_headers
from tests.db_trips import round_trips

NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)


def test_storing_a_webhook_is_one_round_trip_and_committed(example_catalog: Catalog) -> None:
    example_catalog.config.alerts = AlertsConfig.model_validate(ALERTS_CONFIG)
    alerts = Alerts(example_catalog)
    headers = {k.lower(): v for k, v in token_headers().items()}
    alerts.receive("generic", generic("warm-up", "triggered", service="checkout-web"), headers, now=NOW)  # the pool's connection is open
    body = generic("one-trip", "triggered", service="checkout-web")

    with round_trips(example_catalog) as trips:
        assert alerts.receive("generic", body, headers, now=NOW).outcome == "stored"
    assert trips == [1, 0]  # one statement, no BEGIN or COMMIT of its own
    with round_trips(example_catalog) as trips:
        assert alerts.receive("generic", body, headers, now=NOW).outcome == "duplicate"
    assert trips == [1, 0]  # one statement, no BEGIN or COMMIT of its own

    with example_catalog.session() as session:  # another connection sees it: committed, not left in a transaction
        stored = session.scalar(select(func.count()).select_from(AlertDelivery).where(col(AlertDelivery.group_key) == "generic:one-trip"))
    assert stored == 1
