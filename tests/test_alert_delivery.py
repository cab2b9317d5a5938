"""Alert cards reach Slack safely and at all: escaped, retried through Slack's bad minutes, in a channel that works.

Why: the card lands in an incident channel while people are paged, so a hostile alert title or
team name must never become `<!channel>` or a spoofed link there, and a card lost to a brief
Slack outage or an unusable team channel leaves responders with nothing.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from slack_sdk import WebClient

from bot.slack.alerts import SlackCardPoster
from catalog.alerts.service import Alerts
from catalog.config import AlertsConfig, Config
from catalog.core import Catalog
from tests.alert_payloads import ALERTS_CONFIG, CHANNEL, Clock, generic, token_headers
from tests.e2e.harness import BOT_TOKEN, PUBLIC_URL
from tests.fakes.slack_api import Call, FakeSlackAPI
from tests.helpers import folder_sources

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


def deliver(catalog: Catalog, fake: FakeSlackAPI, clock: Clock, *bodies: bytes) -> int:
    """Store the webhooks and run one round of the worker, as the server does on its timer."""
    alerts = Alerts(catalog)
    for body in bodies:
        assert alerts.receive("generic", body, {k.lower(): v for k, v in token_headers().items()}, now=clock()).stored
    poster = SlackCardPoster(WebClient(token=BOT_TOKEN, base_url=fake.url), public_url=PUBLIC_URL, clock=clock)
    return alerts.process_pending(poster, clock=clock)


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
