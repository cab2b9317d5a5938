"""The daily rollups give the report the events give, through late events and purges, on SQLite and PostgreSQL.

Why: a year's report reads the rollups (issue 15's 2 s over a million events); a rollup that
missed a late event or kept a purged day would show the platform team numbers the events do not
support, and nobody could tell.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlmodel import Session, col

from catalog.adoption import events
from catalog.adoption.events import Kind, Surface, day_number, record_event
from catalog.adoption.models import AdoptionEvent, AdoptionPersonDay, AdoptionUsageDay
from catalog.adoption.service import Adoption
from catalog.config import AdoptionConfig, Config
from catalog.core import Catalog
from catalog.sync.schedule import Scheduler
from tests.conftest import _PgPool, copied_database, filled_template

START = datetime(2026, 1, 5, tzinfo=UTC)
NOW = START + timedelta(days=90, hours=15)  # "today" is day 90, part-way through
PEOPLE = [f"U{n:03d}" for n in range(12)]
PERIODS = [(START, NOW), (NOW - timedelta(days=30), NOW), (START + timedelta(days=20), START + timedelta(days=51))]


def _event(s: Session, rng: random.Random, day: int, who: str | None = None) -> None:
    """One random interaction of `day`, of every kind the metrics read: questions (answered or not, owner or
    not, in threads), other kinds, action requests and decisions, follow-ups, anonymous page views."""
    at = START + timedelta(days=day, seconds=rng.randrange(86_400))
    who = who or rng.choice(PEOPLE)
    roll = rng.random()
    if roll < 0.55:
        record_event(
            s, at=at, surface=rng.choice([Surface.SLACK_DM, Surface.SLACK_MENTION, Surface.CLI]), kind=Kind.QUESTION,
            outcome=rng.choice(["answered", "answered", "not_found"]), who=who, intent=rng.choice(["owner", "members", None]),
            entity_ref=f"component:default/s{rng.randrange(4)}", thread=f"C1:{day}.{rng.randrange(3)}",
        )  # fmt: skip
    elif roll < 0.65:
        record_event(s, at=at, surface=Surface.ACTIONS, kind=Kind.ACTION_REQUEST, outcome=rng.choice(["completed", "ticket"]), who=who, intent="restart")
    elif roll < 0.7:
        record_event(s, at=at, surface=Surface.ACTIONS, kind=Kind.ACTION_DECISION, outcome="approved", who=who, intent="restart", latency_ms=rng.uniform(1, 9e6))
    elif roll < 0.75:
        record_event(s, at=at, surface=Surface.SLACK_THREAD, kind=Kind.FOLLOWUP, outcome="ok", thread=f"C1:{day}.{rng.randrange(3)}")
    elif roll < 0.8:
        record_event(s, at=at, surface=Surface.WEB_PAGE, kind=Kind.PAGE_VIEW, outcome="found")  # anonymous
    else:
        record_event(s, at=at, surface=Surface.SLACK_HOME, kind=Kind.HOME_OPENED, outcome="ok", who=who)


def _reports(adoption: Adoption) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """(from the events, from the rollups) for each period."""
    return [
        (adoption.report(since=since, until=until, rollups=False).to_json(), adoption.report(since=since, until=until).to_json())
        for since, until in PERIODS
    ]


def _rolled_days(catalog: Catalog) -> set[int]:
    with catalog.session() as s:
        return set(s.scalars(select(col(AdoptionUsageDay.day)).distinct())) | set(s.scalars(select(col(AdoptionPersonDay.day)).distinct()))


def _event_days(catalog: Catalog) -> set[int]:
    with catalog.session() as s:
        return set(s.scalars(select(col(AdoptionEvent.day)).distinct()))


def _history(catalog: Catalog) -> None:
    rng = random.Random(15)
    with catalog.session() as s:
        for day in range(91):
            for _ in range(rng.randrange(0, 25)):
                _event(s, rng, day, who=rng.choice(PEOPLE[: 3 + day // 10]))


@pytest.fixture(scope="module")
def history_template(example_template: str, tmp_path_factory: pytest.TempPathFactory, parsed_example_config: Config) -> Iterator[str]:
    """The example organisation with the history written once for the module (about 1,100 events: 0.7 s of CPU)."""
    with filled_template(example_template, tmp_path_factory.mktemp("history"), parsed_example_config.model_copy(deep=True), _history) as name:
        yield name


@pytest.fixture
def adoption(history_template: str, tmp_path: Path, _pg_pool: _PgPool | None, example_config: Config) -> Iterator[Adoption]:
    """Three months of random history, people joining along the way (so first days, return and first value vary),
    in a copy of `history_template` of this test's own."""
    example_config.adoption = AdoptionConfig(engineers=40)
    with copied_database(history_template, tmp_path, _pg_pool) as url:
        catalog = Catalog(url, example_config)
        yield Adoption(catalog)
        catalog.dispose()


def test_the_rollups_report_what_the_events_do_through_late_events_and_purges(adoption: Adoption) -> None:
    catalog, rng = adoption.catalog, random.Random(16)
    first_reports = _reports(adoption)
    for raw, rolled in first_reports:
        assert rolled == raw
    assert _rolled_days(catalog) == _event_days(catalog)
    assert adoption.refresh_rollups() == []  # nothing changed since: nothing rebuilt

    # Late events: days already rolled up get more, including a newcomer whose first day is in the past.
    late_days = [3, 25, 26, 60]
    with catalog.session() as s:
        for day in late_days:
            for _ in range(6):
                _event(s, rng, day)
        _event(s, rng, 25, who="U-late")
        record_event(s, at=START + timedelta(days=25, hours=1), surface=Surface.SLACK_DM, kind=Kind.QUESTION, outcome="answered", who="U-late")
    assert adoption.refresh_rollups() == [day_number(START) + d for d in late_days]  # only those days are rebuilt
    late_reports = _reports(adoption)
    for raw, rolled in late_reports:
        assert rolled == raw
    assert late_reports[0][1] != first_reports[0][1]  # the late events count
    assert late_reports[0][1]["new_users"] == first_reports[0][1]["new_users"] + 1

    # Retention: days before day 40 go, events and rollups alike.
    with catalog.session() as s:
        assert events.purge(s, now=START + timedelta(days=50), retention_days=10) > 0
    assert _rolled_days(catalog) == _event_days(catalog) and min(_event_days(catalog)) == day_number(START) + 40
    for raw, rolled in _reports(adoption):
        assert rolled == raw


def test_today_is_read_as_it_grows(adoption: Adoption) -> None:
    """Today's rollup is rebuilt as events arrive, so the report counts the events of a minute ago."""
    since = NOW - timedelta(days=7)
    before = adoption.report(since=since, until=NOW)
    with adoption.catalog.session() as s:
        record_event(s, at=NOW - timedelta(minutes=1), surface=Surface.SLACK_DM, kind=Kind.QUESTION, outcome="answered", who="U-new")

    after = adoption.report(since=since, until=NOW)

    assert after.daily_active[-1] == before.daily_active[-1] + 1 and after.answer_rate.hits == before.answer_rate.hits + 1
    assert after.to_json() == adoption.report(since=since, until=NOW, rollups=False).to_json()


def test_the_hourly_housekeeping_keeps_the_rollups_up_to_date(adoption: Adoption) -> None:
    Scheduler(adoption.catalog, clock=lambda: NOW).housekeeping()

    with adoption.catalog.session() as s:
        rolled: int = s.execute(select(func.sum(col(AdoptionUsageDay.events)))).scalar_one()
        stored: int = s.execute(select(func.count()).select_from(AdoptionEvent)).scalar_one()
    assert int(rolled) == stored and adoption.refresh_rollups() == []
