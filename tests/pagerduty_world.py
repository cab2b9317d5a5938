"""The Northwind example organisation plus a fake PagerDuty account, for the PagerDuty tests.

Why one shared world: the source, on-call and merge tests all need the same believable setup
(descriptors synced, a PagerDuty account whose services link by annotation, by name, or not at
all) and the same pinned clocks; three private copies would drift apart.

Times are pinned: the fake serves the shifts covering `T0`, the PagerDuty sync runs at `T0`
unless told otherwise, and questions are asked at explicit times. Retries never sleep: the
source's `sleep` records the waits in `World.slept`.

The fixtures `pagerduty` and `world` are imported by the test modules that use them.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import make_url

from catalog.answers.ask import ask
from catalog.answers.models import Answer
from catalog.config import Config, PagerDutySourceConfig, load_config
from catalog.core import Catalog
from catalog.store.engine import SessionFactory, make_engine, session_factory
from catalog.store.merge import CatalogEntity
from catalog.store.models import Entity
from catalog.store.reads import get_entity
from catalog.sync.engine import SyncReport, sync_source
from catalog.sync.sources.backstage import BackstageSource
from catalog.sync.sources.pagerduty import PagerDutySource
from tests.conftest import EXAMPLES, PG_URL, _copy, _pg_drop, _PgPool, copied_database
from tests.fakes.pagerduty_api import FakePagerDuty
from tests.helpers import rows

TOKEN = "pd-test-token"
T0 = datetime(2026, 3, 14, 8, 55, tzinfo=UTC)  # the last good PagerDuty sync, and the fake's "now"
PAYMENTS = "component:default/payments-service"  # linked by its pagerduty.com/service-id PPAYSV1
REFUNDS = "component:default/refunds-worker"  # PREFND1: its policy has nobody on call
TAX = "component:default/tax-calculator"  # no annotation; linked by name ("Tax Calculator"), no owner


def seed_account(fake: FakePagerDuty) -> None:
    """Payments' PagerDuty: three levels on call now, services linked three ways and one not at all."""
    fake.add_team("PTPAY01", "Payments")
    fake.add_user("PUNADIA", "Nadia Haddad", "nadia.haddad@northwind.example", team_ids=["PTPAY01"])
    fake.add_user("PUSAMUE", "Samuel Okafor", "samuel.okafor@northwind.example", team_ids=["PTPAY01"])
    fake.add_user("PUELENA", "Elena Rossi", "elena.rossi@northwind.example", team_ids=["PTPAY01"])
    fake.add_schedule("PSPAY01", "Payments primary", user_ids=["PUNADIA"])
    fake.add_schedule("PSPAY02", "Payments secondary", user_ids=["PUSAMUE"])
    fake.add_escalation_policy("PEPPAY1", "Payments", [["PSPAY01"], ["PSPAY02"], ["PUELENA"]], team_ids=["PTPAY01"])
    fake.add_escalation_policy("PEPREF1", "Refunds (unstaffed)", [])
    fake.add_service("PPAYSV1", "Payments Service", escalation_policy_id="PEPPAY1", team_ids=["PTPAY01"])
    fake.add_service("PREFND1", "refunds-worker", escalation_policy_id="PEPREF1", team_ids=["PTPAY01"])
    fake.add_service("PTAXC01", "Tax Calculator", escalation_policy_id="PEPPAY1")
    fake.add_service("PLEGACY", "legacy-billing", escalation_policy_id="PEPPAY1")
    fake.add_oncall("PUNADIA", "PEPPAY1", "PSPAY01", 1, T0 - timedelta(hours=1), T0 + timedelta(hours=8))  # until 16:55
    fake.add_oncall("PUSAMUE", "PEPPAY1", "PSPAY02", 2, T0 - timedelta(days=1), T0 + timedelta(days=6))
    fake.add_oncall("PUELENA", "PEPPAY1", None, 3)  # permanent: no schedule, no window


DESCRIPTORS_AT = T0 - timedelta(minutes=5)


def sync_descriptors(factory: SessionFactory, at: datetime) -> SyncReport:
    """Sync the example organisation's descriptors as of `at`."""
    report = sync_source(factory, BackstageSource("northwind", EXAMPLES / "catalog"), clock=lambda: at)
    assert report.ok, report.error
    return report


@dataclass
class World:
    """A catalog with the example descriptors and a PagerDuty source, driven at pinned times."""

    catalog: Catalog
    fake: FakePagerDuty
    slept: list[float] = field(default_factory=list)

    def sync_descriptors(self, at: datetime = DESCRIPTORS_AT) -> SyncReport:
        return sync_descriptors(self.catalog.factory, at)

    def sync_pagerduty(self, at: datetime = T0, **settings: Any) -> SyncReport:
        """One PagerDuty sync as configured, with `settings` overriding config keys (e.g. a short timeout)."""
        cfg = self.catalog.config.source("pagerduty")
        assert isinstance(cfg, PagerDutySourceConfig)
        source = PagerDutySource.from_config(cfg.model_copy(update=settings), self.catalog.factory, sleep=self.slept.append)
        return sync_source(self.catalog.factory, source, clock=lambda: at)

    def ask(self, question: str, at: datetime) -> Answer:
        with self.catalog.session() as session:
            return ask(session, question, index=self.catalog.index(session), clock=lambda: at)

    def entity(self, ref: str) -> CatalogEntity:
        with self.catalog.session() as session:
            found = get_entity(session, ref)
        assert found is not None, ref
        return found

    def pagerduty_rows(self) -> dict[str, Entity]:
        return rows(self.catalog, "pagerduty")


def world_config(tmp_path: Path, api_url: str) -> Config:
    """wayfinder.yaml as a user would write it: descriptors first, then PagerDuty with its token from the environment."""
    path = tmp_path / "wayfinder.yaml"
    path.write_text(
        "sources:\n"
        f"  - name: northwind\n    type: backstage\n    path: {EXAMPLES / 'catalog'}\n"
        f"  - name: pagerduty\n    type: pagerduty\n    token: ${{PAGERDUTY_TOKEN}}\n    api_url: {api_url}\n"
        "    timeout_seconds: 5\n    max_retries: 2\n",
        encoding="utf-8",
    )
    return load_config(path)


@pytest.fixture
def pagerduty() -> Iterator[FakePagerDuty]:
    with FakePagerDuty(token=TOKEN, clock=lambda: T0) as fake:
        seed_account(fake)
        yield fake


# Per test process: the template database with the descriptors synced at 08:50 (built once, as
# syncing them again for each of ~45 tests cost a quarter second of CPU each).
_DESCRIPTORS_TEMPLATE: dict[str, str] = {}


def _descriptors_template(request: pytest.FixtureRequest, migrated_template: str) -> str:
    """A copy of `migrated_template` with the example descriptors synced at `World.sync_descriptors`' time."""
    if migrated_template not in _DESCRIPTORS_TEMPLATE:
        url = _copy(migrated_template, request.getfixturevalue("tmp_path_factory").mktemp("pagerduty-world"))
        engine = make_engine(url)
        sync_descriptors(session_factory(engine), DESCRIPTORS_AT)
        engine.dispose()  # PostgreSQL copies a template only while nobody is connected to it
        name = str(make_url(url).database)
        _DESCRIPTORS_TEMPLATE[migrated_template] = name
        if PG_URL:
            request.config.add_cleanup(lambda: _pg_drop(name))
    return _DESCRIPTORS_TEMPLATE[migrated_template]


@pytest.fixture
def world(
    request: pytest.FixtureRequest, migrated_template: str, _pg_pool: _PgPool | None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, pagerduty: FakePagerDuty
) -> Iterator[World]:
    """Descriptors synced at 08:50 (copied from a template synced once); PagerDuty configured but not yet synced."""
    monkeypatch.setenv("PAGERDUTY_TOKEN", TOKEN)
    with copied_database(_descriptors_template(request, migrated_template), tmp_path, _pg_pool) as url:
        catalog = Catalog(url, world_config(tmp_path, pagerduty.url))
        yield World(catalog, pagerduty)
        catalog.dispose()
