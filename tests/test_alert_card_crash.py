"""One card per incident across a crash between posting it and recording it (issue 12, exactly once).

Why: Slack's `chat.postMessage` cannot be part of a database transaction. A worker that posted a
card and died before committing its message id left the delivery to be retried, and the retry
posted a second card. Now the intent is committed first and the card carries message metadata
naming its incident, so the retry finds the card in the channel and edits it instead.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import pytest
from slack_sdk import WebClient

from bot.slack.alerts import SlackCardPoster
from catalog.alerts.card import AlertCard
from catalog.alerts.inbox import LEASE
from catalog.alerts.service import Alerts
from catalog.config import AlertsConfig, Config, load_config
from catalog.core import Catalog
from tests.alert_payloads import ALERTS_CONFIG, START, Clock, pagerduty, pagerduty_headers
from tests.conftest import EXAMPLES
from tests.e2e.harness import BOT_TOKEN, PUBLIC_URL
from tests.fakes.slack_api import FakeSlackAPI

FIRST_TS = "1700000000.000100"  # the fake's first message


class Crash(BaseException):
    """The process dies: nothing after this point runs, no `except Exception` catches it."""


class CrashingPoster(SlackCardPoster):
    """Posts for real, then dies before the worker can record the message id (or, with `before`, dies first)."""

    def __init__(self, *args: object, before: bool = False, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.before = before

    def post(self, channel: str, card: AlertCard) -> str:
        if self.before:
            raise Crash
        super().post(channel, card)
        raise Crash


@pytest.fixture
def fake() -> Iterator[FakeSlackAPI]:
    with FakeSlackAPI() as server:
        yield server


def boot(make_catalog: Callable[[Config], Catalog]) -> Catalog:
    """A process starting on the shared database (a fresh Catalog: nothing survives but the database)."""
    config = load_config(EXAMPLES / "wayfinder.yaml")
    config.alerts = AlertsConfig.model_validate(ALERTS_CONFIG)
    return make_catalog(config)


def headers(body: bytes) -> dict[str, str]:
    """As the HTTP layer hands them over: names in lower case."""
    return {k.lower(): v for k, v in pagerduty_headers(body).items()}


def cards(fake: FakeSlackAPI) -> list[str]:
    return [c.params["channel"] for c in fake.calls("chat.postMessage") if "thread_ts" not in c.params]


@pytest.mark.parametrize("before", [False, True], ids=["after-posting", "before-posting"])
@pytest.mark.parametrize("start", [START, datetime.now(UTC).replace(microsecond=0)], ids=["fixed-clock", "todays-clock"])
def test_a_crash_around_posting_leaves_exactly_one_card(
    example_catalog: Catalog, make_catalog: Callable[[Config], Catalog], before: bool, start: datetime
) -> None:
    """On today's clock too: the retry looks for the card with `oldest` = its real posting time, so message
    timestamps must be real times, as Slack's are (the replica drill posted a second card when they were not)."""
    with FakeSlackAPI(ts_base=int(start.timestamp())) as fake:
        clock = Clock(start)
        client = WebClient(token=BOT_TOKEN, base_url=fake.url)
        first = boot(make_catalog)
        body = pagerduty("PCRASH", "triggered", service_id="PCHKWB2")
        assert Alerts(first).receive("pagerduty", body, headers(body), now=clock()).stored
        with pytest.raises(Crash):
            Alerts(first).process_pending(CrashingPoster(client, public_url=PUBLIC_URL, clock=clock, before=before), clock=clock)
        assert len(cards(fake)) == (0 if before else 1)

        clock.now += LEASE + timedelta(seconds=1)  # the dead worker's claim runs out
        restarted = boot(make_catalog)
        poster = SlackCardPoster(client, public_url=PUBLIC_URL, clock=clock)
        assert Alerts(restarted).process_pending(poster, clock=clock) == 1
        assert len(cards(fake)) == 1, "the retry found the card in the channel instead of posting another"
        first_ts = f"{int(start.timestamp())}.000100"  # the fake's first message
        if not before:
            [edit] = fake.calls("chat.update")  # the found card is redrawn in place and its id recorded
            assert edit.params["ts"] == first_ts

        acknowledged = pagerduty("PCRASH", "acknowledged", service_id="PCHKWB2")
        Alerts(restarted).receive("pagerduty", acknowledged, headers(acknowledged), now=clock())
        Alerts(restarted).process_pending(poster, clock=clock)
        assert len(cards(fake)) == 1
        assert {c.params["ts"] for c in fake.calls("chat.update")} == {first_ts}  # the one card, edited


def test_cards_carry_their_incident_in_message_metadata(example_catalog: Catalog, fake: FakeSlackAPI) -> None:
    clock = Clock()
    example_catalog.config.alerts = AlertsConfig.model_validate(ALERTS_CONFIG)
    body = pagerduty("PMETA", "triggered", service_id="PNOSUCH")
    Alerts(example_catalog).receive("pagerduty", body, headers(body), now=clock())
    Alerts(example_catalog).process_pending(SlackCardPoster(WebClient(token=BOT_TOKEN, base_url=fake.url), public_url=PUBLIC_URL, clock=clock), clock=clock)
    [card] = fake.calls("chat.postMessage")
    assert card.params["channel"] == "C04CHK0UT9Q"  # no service PNOSUCH, but its PagerDuty name is team checkout's
    assert card.params["metadata"] == {"event_type": "wayfinder_alert_card", "event_payload": {"group_key": "pagerduty:PMETA"}}


class CrashAfterReply(SlackCardPoster):
    """Edits the card and posts its thread line for real, then dies before the worker records either."""

    def reply(self, channel: str, ts: str, card: AlertCard, *, key: str) -> None:
        super().reply(channel, ts, card, key=key)
        raise Crash


def thread_lines(fake: FakeSlackAPI) -> list[str]:
    return [c.params["text"] for c in fake.calls("chat.postMessage") if "thread_ts" in c.params]


def test_a_crash_after_the_thread_line_leaves_exactly_one_line(make_catalog: Callable[[Config], Catalog], fake: FakeSlackAPI) -> None:
    """Why: the edit's thread line was posted before the new state was recorded, so a retry posted it again."""
    clock = Clock()
    client = WebClient(token=BOT_TOKEN, base_url=fake.url)
    first = boot(make_catalog)
    poster = SlackCardPoster(client, public_url=PUBLIC_URL, clock=clock)
    for status in ("triggered", "acknowledged"):
        body = pagerduty("PLINE", status, service_id="PCHKWB2")
        assert Alerts(first).receive("pagerduty", body, headers(body), now=clock()).stored
        if status == "triggered":
            assert Alerts(first).process_pending(poster, clock=clock) == 1
    with pytest.raises(Crash):
        Alerts(first).process_pending(CrashAfterReply(client, public_url=PUBLIC_URL, clock=clock), clock=clock)
    assert len(thread_lines(fake)) == 1

    clock.now += LEASE + timedelta(seconds=1)
    restarted = boot(make_catalog)
    assert Alerts(restarted).process_pending(poster, clock=clock) == 1
    [line] = thread_lines(fake)
    assert line.startswith(":eyes: Acknowledged"), line
    assert len(fake.calls("conversations.replies")) == 1  # the retry looked in the thread before posting
    [reply] = [c for c in fake.calls("chat.postMessage") if "thread_ts" in c.params]
    assert reply.params["thread_ts"] == FIRST_TS

    resolved = pagerduty("PLINE", "resolved", service_id="PCHKWB2")  # the next change still gets its own line
    Alerts(restarted).receive("pagerduty", resolved, headers(resolved), now=clock())
    Alerts(restarted).process_pending(poster, clock=clock)
    assert len(thread_lines(fake)) == 2 and len(cards(fake)) == 1
    assert len(fake.calls("conversations.replies")) == 1  # a first attempt does not search
