"""The Slack identity cache keeps one set of rules, whoever writes it: the bot or the Slack source.

Why: both fill `chat_identity`. If they disagreed on expiry or on "no Slack account" markers, the
bot would trust a row nobody refreshes, or keep hiding a person who has since joined Slack.
Real database, the real bot and Slack source code, real HTTP to the fake Slack Web API.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from slack_sdk import WebClient

from bot.compose import Services
from bot.slack.identity import add_slack_ids, identify
from catalog.answers.models import Answer, Person
from catalog.core import Catalog
from catalog.store.identities import TTL
from catalog.sync.engine import sync_source
from catalog.sync.sources.slack_groups import SlackSource
from tests.db_trips import round_trips
from tests.fakes.slack_api import FakeSlackAPI

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
EMAIL = "chen.wei@northwind.example"  # a User of the example organisation
REF = "user:default/chen.wei"


@pytest.fixture
def fake() -> Iterator[FakeSlackAPI]:
    with FakeSlackAPI() as server:
        yield server


def _slack_sync(catalog: Catalog, fake: FakeSlackAPI, now: datetime) -> None:
    source = SlackSource("slack", api_url=fake.url, token="xoxb-test", factory=catalog.factory, clock=lambda: now)
    report = sync_source(catalog.factory, source)
    assert report.ok, report.error


def _slack_ids(catalog: Catalog, fake: FakeSlackAPI, now: datetime) -> list[str | None]:
    """What the bot fills in for an answer listing Chen Wei."""
    answer = Answer(
        question="who is in search?", intent="members", status="answered", members=[Person(ref=REF, name="chen.wei", email=EMAIL)]
    )
    add_slack_ids(Services(catalog=catalog, clock=lambda: now), WebClient(token="xoxb-test", base_url=fake.url), answer)
    return [p.slack_user_id for p in answer.members]


def test_a_no_account_marker_gives_way_to_the_account_a_sync_finds(example_catalog: Catalog, fake: FakeSlackAPI) -> None:
    assert _slack_ids(example_catalog, fake, T0) == [None]  # not in Slack: the bot remembers that
    assert _slack_ids(example_catalog, fake, T0 + timedelta(hours=1)) == [None]
    assert len(fake.calls("users.lookupByEmail")) == 1  # the marker saved the second lookup

    fake.add_user("U002", EMAIL)  # joins Slack; the next Slack source sync lists them
    _slack_sync(example_catalog, fake, T0 + timedelta(hours=2))

    assert _slack_ids(example_catalog, fake, T0 + timedelta(hours=3)) == ["U002"]
    assert len(fake.calls("users.lookupByEmail")) == 1


def test_the_bot_trusts_what_the_source_cached_until_it_expires(example_catalog: Catalog, fake: FakeSlackAPI) -> None:
    fake.add_user("U002", EMAIL)
    _slack_sync(example_catalog, fake, T0)
    client = WebClient(token="xoxb-test", base_url=fake.url)

    fresh = identify(Services(catalog=example_catalog, clock=lambda: T0 + TTL - timedelta(minutes=1)), client, "U002")
    assert (fresh.user_ref, fresh.email, fake.calls("users.info")) == (REF, EMAIL, [])

    expired = identify(Services(catalog=example_catalog, clock=lambda: T0 + TTL), client, "U002")
    assert (expired.user_ref, len(fake.calls("users.info"))) == (REF, 1)  # looked up again, then cached again
    identify(Services(catalog=example_catalog, clock=lambda: T0 + TTL), client, "U002")
    assert len(fake.calls("users.info")) == 1


def test_a_slow_or_failing_slack_is_retried_then_fails_the_run_cleanly(example_catalog: Catalog, fake: FakeSlackAPI) -> None:
    """5xx backs off and retries; a Retry-After longer than the source will wait fails at once."""
    waited: list[float] = []
    source = SlackSource("slack", api_url=fake.url, token="xoxb-test", factory=example_catalog.factory, sleep=waited.append)
    fake.fail_next("usergroups.list", 500)
    assert sync_source(example_catalog.factory, source).ok
    assert waited == [0.5]

    fake.fail_next("users.list", 429, retry_after=3600)
    report = sync_source(example_catalog.factory, source)
    assert report.status == "failed" and "HTTP 429" in (report.error or "")
    assert waited == [0.5]  # never slept an hour


def test_looking_people_up_is_one_round_trip_each(example_catalog: Catalog, fake: FakeSlackAPI) -> None:
    # Why: every answer that names people looks their Slack ids up; on PostgreSQL that was BEGIN, the
    # SELECT and COMMIT, three waits for a server a big sync may be keeping busy.
    fake.add_user("U002", EMAIL)
    _slack_sync(example_catalog, fake, T0)
    identities = example_catalog.identities
    assert identities.slack_ids([EMAIL], now=T0) == {EMAIL: "U002"}  # the pool's connection is open
    with round_trips(example_catalog) as trips:
        assert identities.slack_ids([EMAIL.upper(), "nobody@northwind.example"], now=T0) == {EMAIL: "U002"}
    assert trips == [1, 0]  # one statement, no BEGIN or COMMIT of its own
    with round_trips(example_catalog) as trips:
        found = identities.get("U002", now=T0)
    assert found is not None and (found.email, found.user_ref) == (EMAIL, REF) and trips == [1, 0]
    assert identities.slack_ids([EMAIL], now=T0 + TTL) == {}  # expired rows are not used
