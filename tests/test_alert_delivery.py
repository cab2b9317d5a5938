"""Alert cards reach Slack safely and at all: escaped, retried through Slack's bad minutes, in a channel that works.

Why: the card lands in an incident channel while people are paged, so a hostile alert title or
team name must never become `<!channel>` or a spoofed link there, and a card lost to a brief
Slack outage or an unusable team channel leaves responders with nothing.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from slack_sdk import WebClient
from sqlalchemy import select

from bot.slack.alerts import SlackCardPoster
from catalog.alerts.inbox import MAX_ATTEMPTS
from catalog.alerts.models import AlertDelivery
from catalog.alerts.service import Alerts
from catalog.config import AlertsConfig, Config
from catalog.core import Catalog
from tests.alert_payloads import ALERTS_CONFIG, CHANNEL, START, Clock, generic, token_headers
from tests.e2e.harness import BOT_TOKEN, PUBLIC_URL
from tests.fakes.slack_api import Call, FakeSlackAPI
from tests.helpers import folder_sources

STOREFRONT_CHANNEL = "C04STF7R0NT"  # checkout-web's owner, storefront, has slack.com/channel-id

EVIL = "<!channel> @here <https://evil.example|click> <@U12345> <!subteam^S1>"
# What Slack would act on: a broadcast, a user, channel or group mention, or a link to the attacker.
LIVE = re.compile(r"<(?:!|@|#|https?://evil)")
HOSTILE = f"""\
apiVersion: backstage.io/v1alpha1
kind: Group
metadata:
  name: hostile-team
  title: "{EVIL}"
  annotations:
    slack.com/channel-id: "<!here>"
spec:
  type: team
  profile:
    displayName: "{EVIL}"
  children: []
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: hostile-svc
spec:
  type: service
  lifecycle: production
  owner: hostile-team
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: orphan-svc
spec:
  type: service
  lifecycle: production
  owner: group:default/no-such-team
"""


@pytest.fixture
def fake() -> Iterator[FakeSlackAPI]:
    with FakeSlackAPI() as server:
        yield server


@pytest.fixture
def hostile(make_catalog: Callable[[Config], Catalog], tmp_path: Path) -> Catalog:
    config, _ = folder_sources(tmp_path, {"org": HOSTILE})
    config.alerts = AlertsConfig.model_validate(ALERTS_CONFIG)
    catalog = make_catalog(config)
    assert all(r.ok for r in catalog.sync())
    return catalog


@pytest.fixture
def northwind(example_catalog: Catalog) -> Catalog:
    example_catalog.config.alerts = AlertsConfig.model_validate(ALERTS_CONFIG)
    return example_catalog


def deliver(catalog: Catalog, fake: FakeSlackAPI, clock: Clock, *bodies: bytes) -> int:
    """Store the webhooks and run one round of the worker, as the server does on its timer."""
    alerts = Alerts(catalog)
    for body in bodies:
        assert alerts.receive("generic", body, {k.lower(): v for k, v in token_headers().items()}, now=clock()).stored
    poster = SlackCardPoster(WebClient(token=BOT_TOKEN, base_url=fake.url), public_url=PUBLIC_URL, clock=clock)
    return alerts.process_pending(poster, clock=clock)


def stored(catalog: Catalog) -> AlertDelivery:
    with catalog.session() as session:
        return session.scalars(select(AlertDelivery)).one()


def next_attempt(catalog: Catalog, clock: Clock) -> timedelta:
    """How long the stored delivery waits before its next attempt."""
    due = stored(catalog).next_attempt_at
    assert due is not None
    return due - clock()


def mrkdwn(call: Call) -> str:
    """Everything Slack parses for markup: the fallback text and every block but the plain_text header."""
    return call.params["text"] + json.dumps([b for b in call.params["blocks"] if b["type"] != "header"])


def test_a_hostile_alert_and_team_name_never_reach_slack_as_mentions_or_links(hostile: Catalog, fake: FakeSlackAPI) -> None:
    deliver(hostile, fake, Clock(), generic("hostile", "triggered", service="hostile-svc", title=EVIL))
    [card] = fake.calls("chat.postMessage")
    sent = mrkdwn(card)
    assert LIVE.findall(sent) == [], sent
    assert card.params["text"].startswith("TRIGGERED: &lt;!channel&gt; @here &lt;https://evil.example|click&gt;")
    assert "(owner: &lt;!channel&gt;" in card.params["text"]  # the team's display name, escaped too


def test_an_owner_the_catalog_does_not_have_gets_the_loud_no_owner_card_naming_it(hostile: Catalog, fake: FakeSlackAPI) -> None:
    """Why: `owner: group:default/no-such-team` drew a normal-looking card, "*Owner:* no-such-team", linking to a 404."""
    deliver(hostile, fake, Clock(), generic("orphan", "triggered", service="orphan-svc"))
    [card] = fake.calls("chat.postMessage")
    sent = mrkdwn(card)
    assert card.params["channel"] == CHANNEL and "(owner unknown)" in card.params["text"]
    assert "This entity has no owner" in sent and "`group:default/no-such-team` is not in the catalog" in sent and "@platform-oncall" in sent
    assert "*Owner:*" not in sent and "/o/group/default/no-such-team" not in sent


def test_a_card_slack_refuses_for_minutes_is_retried_with_growing_waits_and_posted(northwind: Catalog, make_catalog: Callable[[Config], Catalog], fake: FakeSlackAPI) -> None:
    """Why: failures were retried at once, so five 503s within a second set the card aside for good.
    The waits now double from 10 s to 5 min, kept in the database: another replica keeps to them too."""
    replicas = [northwind, make_catalog(northwind.config)]
    clock = Clock()
    fake.fail_next("chat.postMessage", status=503, error="service_unavailable", times=6)
    assert deliver(northwind, fake, clock, generic("outage", "triggered", service="checkout-web")) == 1
    waits = []
    for attempt in range(6):
        waits.append(next_attempt(northwind, clock))
        worker = replicas[attempt % 2]
        clock.now += waits[-1] - timedelta(seconds=1)
        assert deliver(worker, fake, clock) == 0, "tried again before its time"
        clock.now += timedelta(seconds=1)
        assert deliver(worker, fake, clock) == 1
    assert [w.total_seconds() for w in waits] == [10, 20, 40, 80, 160, 300]
    assert len(fake.messages(STOREFRONT_CHANNEL)) == 1 and stored(northwind).processed_at is not None


def test_slack_asking_to_wait_longer_is_waited_for(northwind: Catalog, fake: FakeSlackAPI) -> None:
    clock = Clock()
    fake.fail_next("chat.postMessage", status=429, retry_after=90)
    deliver(northwind, fake, clock, generic("paced", "triggered", service="checkout-web"))
    assert next_attempt(northwind, clock) == timedelta(seconds=90)  # Retry-After, not the 10 s backoff
    clock.now += timedelta(seconds=89)
    assert deliver(northwind, fake, clock) == 0
    clock.now += timedelta(seconds=1)
    assert deliver(northwind, fake, clock) == 1 and len(fake.messages(STOREFRONT_CHANNEL)) == 1


def test_a_card_failing_every_attempt_is_set_aside_counted_and_logged(northwind: Catalog, fake: FakeSlackAPI, caplog: pytest.LogCaptureFixture) -> None:
    clock = Clock()
    fake.fail_next("chat.postMessage", status=503, times=MAX_ATTEMPTS)
    deliver(northwind, fake, clock, generic("doomed", "triggered", service="checkout-web"))
    for _ in range(MAX_ATTEMPTS - 1):
        clock.now += next_attempt(northwind, clock)
        assert deliver(northwind, fake, clock) == 1
    row = stored(northwind)
    assert (row.attempts, row.error, row.processed_at) == (MAX_ATTEMPTS, "SlackApiError", clock())
    assert clock() - START > timedelta(minutes=20)  # Slack's bad minutes, not a fraction of a second
    assert northwind.metrics.registry.get_sample_value("wayfinder_alert_deliveries_set_aside_total", {"provider": "generic"}) == 1
    [error] = [r for r in caplog.records if r.name == "catalog.alerts.service" and r.levelno == logging.ERROR]
    assert f"alert delivery {row.id} (generic:doomed)" in error.getMessage() and "set aside" in error.getMessage()


def test_a_team_channel_annotation_that_is_no_channel_id_sends_the_card_to_the_default_channel(hostile: Catalog, fake: FakeSlackAPI) -> None:
    """Why: `slack.com/channel-id: "<!here>"` was posted to as it was; Slack has no such channel and the card was lost."""
    deliver(hostile, fake, Clock(), generic("no-id", "triggered", service="hostile-svc"))
    [card] = fake.calls("chat.postMessage")
    assert card.params["channel"] == CHANNEL
    assert "channel `&lt;!here&gt;` could not be used (it is not a Slack channel id)" in mrkdwn(card)


@pytest.mark.parametrize("error", ["channel_not_found", "not_in_channel", "is_archived"])
def test_a_team_channel_slack_refuses_sends_the_card_to_the_default_channel_saying_why(northwind: Catalog, fake: FakeSlackAPI, error: str) -> None:
    clock = Clock()
    fake.fail_next("chat.postMessage", status=200, error=error)
    assert deliver(northwind, fake, clock, generic("gone", "triggered", service="checkout-web")) == 1
    assert [c.params["channel"] for c in fake.calls("chat.postMessage")] == [STOREFRONT_CHANNEL, CHANNEL]
    note = f"channel `{STOREFRONT_CHANNEL}` could not be used (Slack answered `{error}`)"
    assert note in json.dumps(fake.messages(CHANNEL)[0]["blocks"])

    deliver(northwind, fake, clock, generic("gone", "acknowledged", service="checkout-web"))
    [edit] = fake.calls("chat.update")  # the incident remembers where its card is, and why
    assert edit.params["channel"] == CHANNEL and note in json.dumps(edit.params["blocks"])


def test_when_the_default_channel_refuses_too_the_card_is_retried_there(northwind: Catalog, fake: FakeSlackAPI) -> None:
    clock = Clock()
    fake.fail_next("chat.postMessage", status=200, error="channel_not_found", times=2)
    deliver(northwind, fake, clock, generic("nowhere", "triggered", service="checkout-web"))
    clock.now += next_attempt(northwind, clock)
    assert deliver(northwind, fake, clock) == 1
    assert [c.params["channel"] for c in fake.calls("chat.postMessage")] == [STOREFRONT_CHANNEL, CHANNEL, CHANNEL]
    assert len(fake.messages(CHANNEL)) == 1


def test_a_card_deleted_in_slack_is_posted_again_and_followed(northwind: Catalog, fake: FakeSlackAPI) -> None:
    """Its edits failed with `message_not_found`, were retried for 25 minutes, then set aside, and the incident's
    later events waited behind them: the card never came back."""
    clock = Clock()
    assert deliver(northwind, fake, clock, generic("gone", "triggered", service="checkout-web")) == 1
    fake.fail_next("chat.update", 200, error="message_not_found")  # someone deleted the card

    assert deliver(northwind, fake, clock, generic("gone", "acknowledged", service="checkout-web")) == 1
    first, again = [m for m in fake.messages(STOREFRONT_CHANNEL) if not m.get("thread_ts")]
    assert "ACKNOWLEDGED" in again["text"]

    assert deliver(northwind, fake, clock, generic("gone", "resolved", service="checkout-web")) == 1
    [*_, edit] = fake.calls("chat.update")
    assert edit.params["ts"] == again["ts"] != first["ts"] and "RESOLVED" in edit.params["text"]
    with northwind.session() as session:
        assert all(d.processed_at is not None and d.error is None for d in session.scalars(select(AlertDelivery)))
