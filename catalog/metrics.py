"""Prometheus metrics (`GET /metrics`): what a process did, and what the database says.

Each `Catalog` owns one `CollectorRegistry`, never the global default, so several apps in one
process (tests, a CLI next to a server) do not collide. Counters of this process' work
(questions, answer latency, Slack calls, duplicates dropped) are recorded as they happen; sync
runs, last successes and entity counts are read from the database at scrape time, so every
replica reports the same figures and syncs run by `wayfinder sync` from cron count too.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import col

from catalog.store.engine import SessionFactory
from catalog.store.models import Entity, SourceState, SyncRun, as_utc

# Answers are expected well under a second; the tail shows a slow database or a stalled index.
ANSWER_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class Metrics:
    """The instruments of one app; `registry` is what `/metrics` renders."""

    def __init__(self, factory: SessionFactory) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.questions = Counter(
            "wayfinder_questions", "Questions answered, by surface, intent and status.", ["surface", "intent", "status"], registry=r
        )
        self.answer_seconds = Histogram(
            "wayfinder_answer_seconds", "Time to answer a question.", ["surface"], buckets=ANSWER_BUCKETS, registry=r
        )
        self.slack_calls = Counter("wayfinder_slack_api_calls", "Slack Web API calls, by method.", ["method"], registry=r)
        self.slack_errors = Counter(
            "wayfinder_slack_api_errors", "Slack Web API calls that failed, by method and error.", ["method", "error"], registry=r
        )
        self.slack_rate_limited = Counter(
            "wayfinder_slack_api_rate_limited", "Slack Web API answers with HTTP 429, by method.", ["method"], registry=r
        )
        self.slack_app_notices = Counter(
            "wayfinder_slack_app_notices", "Slack's notices about the app itself (app_rate_limited, tokens_revoked, app_uninstalled), by type.", ["type"],
            registry=r,
        )  # fmt: skip
        self.duplicates = Counter(
            "wayfinder_duplicate_deliveries_dropped", "Redelivered events and webhooks dropped, by origin.", ["origin"], registry=r
        )
        self.alerts_received = Counter(
            "wayfinder_alerts_received", "Alert webhooks, by provider and outcome (stored, duplicate, unauthorized, not_configured, unknown_provider, malformed).",
            ["provider", "outcome"], registry=r,
        )  # fmt: skip
        self.alert_seconds = Histogram(
            "wayfinder_alert_processing_seconds", "From storing an alert to its card drawn in Slack.", ["provider"], buckets=ANSWER_BUCKETS, registry=r
        )
        self.alert_cards = Counter(
            "wayfinder_alert_cards", "Alert cards posted, updated in place, or recovered after a crash, by provider.", ["provider", "action"], registry=r
        )
        self.alert_deliveries_set_aside = Counter(
            "wayfinder_alert_deliveries_set_aside", "Alert deliveries given up on after every retry failed: a card not drawn or not updated, by provider.",
            ["provider"], registry=r,
        )  # fmt: skip
        self.alert_unknown_services = Counter(
            "wayfinder_alert_unknown_services", "Incidents whose service the catalog could not place (loud cards), by provider.", ["provider"], registry=r
        )
        r.register(CatalogCollector(factory))


class CatalogCollector(Collector):
    """Sync runs, last successes and entities per source, read from the database at scrape time."""

    def __init__(self, factory: SessionFactory) -> None:
        self._factory = factory

    def collect(self) -> Iterator[Metric]:
        runs = CounterMetricFamily("wayfinder_sync_runs", "Sync runs recorded, by source and status.", labels=["source", "status"])
        success = GaugeMetricFamily(
            "wayfinder_sync_last_success_timestamp_seconds", "When each source last synced successfully.", labels=["source"]
        )
        entities = GaugeMetricFamily("wayfinder_entities", "Active (not retired) entities, by source.", labels=["source"])
        up = GaugeMetricFamily("wayfinder_database_up", "1 when the catalog database answered this scrape.")
        try:
            with self._factory() as session:
                # The row shapes are spelled out: mypy cannot unpack SQLAlchemy 2.1's variadic Row itself.
                source_status = (col(SyncRun.source), col(SyncRun.status))
                by_status: Iterable[tuple[str, str, int]] = session.execute(select(*source_status, func.count()).group_by(*source_status))
                for source, status, count in by_status:
                    runs.add_metric([source, status], count)
                last_success: Iterable[tuple[str, datetime | None]] = session.execute(
                    select(col(SourceState.name), col(SourceState.last_success_at))
                )
                for name, moment in last_success:
                    if moment is not None:
                        success.add_metric([name], _epoch(moment))
                active = select(col(Entity.source), func.count()).where(col(Entity.retired_at).is_(None)).group_by(col(Entity.source))
                per_source: Iterable[tuple[str, int]] = session.execute(active)
                for source, count in per_source:
                    entities.add_metric([source], count)
            up.add_metric([], 1)
        except SQLAlchemyError:
            up.add_metric([], 0)
        yield from (runs, success, entities, up)


def _epoch(moment: datetime) -> float:
    """Seconds since the epoch; the database hands back naive UTC datetimes."""
    return as_utc(moment).timestamp()
