"""The weekly digest: its content, the chart, and sending at Slack's pace from the database queue.

Why: a digest that arrives twice (after a 429 storm, a restart or with two replicas) is noise
people learn to mute, and one that never arrives because a channel was archived must be said
once to someone who can fix it, not retried for ever. Real HTTP against the fake Slack Web API.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.slack.digests import SlackDelivery, digest_client
from catalog.core import Catalog
from catalog.scorecards.chart import trend_png
from catalog.scorecards.service import Scorecards, TeamDigest
from tests.fakes.slack_api import FakeSlackAPI

SYNCED = datetime.now(UTC)  # the example organisation was synced when the test session started
WEEK_AGO = SYNCED + timedelta(hours=1)
NOW = SYNCED + timedelta(days=8)  # a week later, with no sync since: the `fresh` rule fails, Gold falls to Silver
ACQUIRING = "C05ACQU1R3X"


@pytest.fixture
def fake() -> Iterator[FakeSlackAPI]:
    with FakeSlackAPI() as api:
        yield api


@pytest.fixture
def scorecards(example_catalog: Catalog) -> Scorecards:
    example_catalog.evaluate_scorecards(now=WEEK_AGO)
    example_catalog.clock = lambda: NOW
    example_catalog.evaluate_scorecards(now=NOW)
    return Scorecards(example_catalog, sleep=lambda seconds: None)


def digest_keys(fake: FakeSlackAPI) -> list[str]:
    """The queue key of every digest Slack accepted (a 429'd attempt is recorded as a call, not as a message)."""
    channels = {c.params["channel"] for c in fake.calls("chat.postMessage")}
    return [m["metadata"]["event_payload"]["key"] for channel in sorted(channels) for m in fake.messages(channel) if m.get("metadata")]


def delivery(catalog: Catalog, fake: FakeSlackAPI) -> SlackDelivery:
    return SlackDelivery(digest_client(catalog.metrics, token="xoxb-test", base_url=fake.url), public_url="https://wayfinder.example")


def test_team_digest_content(scorecards: Scorecards) -> None:
    digest = scorecards.team_digest("acquiring", now=NOW)
    assert isinstance(digest, TeamDigest)
    assert (digest.team_name, digest.channel) == ("Acquiring", ACQUIRING)
    fell = {(m.name, m.scorecard_title): (m.from_level, m.to_level, m.broke) for m in digest.fell}
    assert fell[("payment-gateway", "Production readiness")] == ("Gold", "Silver", ["fresh"])
    assert digest.rose == []
    gateway = next(s for s in digest.scores if s.name == "payment-gateway" and s.scorecard == "production-readiness")
    assert (gateway.level, gateway.week_ago, gateway.change) == ("Silver", 3, -1)
    # "fresh" alone keeps every formerly Gold service from Gold: it is the fix that raises the most.
    assert digest.top_fixes[0].rule.id == "fresh" and "payment-gateway" in digest.top_fixes[0].raises
    [q1] = digest.initiatives
    assert (q1.id, q1.target_level, q1.deadline.isoformat()) == ("q1-readiness", "Silver", "2027-03-31")
    assert q1.total == sum(1 for s in digest.scores if s.scorecard == "production-readiness")
    assert any(t.moved for t in digest.trends)


def test_a_chart_is_drawn_from_the_team_and_its_lines_alone(scorecards: Scorecards) -> None:
    """Charts are kept by what they show (a retried digest draws none): another team or other averages draw another."""
    digest = scorecards.team_digest("acquiring", now=NOW)
    assert digest is not None
    chart = trend_png(digest)
    assert chart is not None and chart.startswith(b"\x89PNG")
    assert trend_png(digest.model_copy(deep=True)) == chart
    assert trend_png(digest.model_copy(update={"team_name": "Payments"})) not in (None, chart)
    lower = digest.model_copy(deep=True)
    line = next(t for t in lower.trends if t.moved)
    line.average = [None if a is None else a / 2 for a in line.average]
    assert trend_png(lower) not in (None, chart)


def test_dry_run_prints_block_kit(scorecards: Scorecards, example_catalog: Catalog) -> None:
    from tests.conftest import EXAMPLES
    from tests.invoke_cli import wayfinder

    result = wayfinder("digest", "--team", "acquiring", "--dry-run", database_url=example_catalog.database_url, config=EXAMPLES / "wayfinder.yaml")
    assert result.exit_code == 0, result.output
    import json

    message = json.loads(result.stdout)
    assert message["channel"] == ACQUIRING
    texts = json.dumps(message["blocks"])
    assert "Weekly scorecards: Acquiring" in texts and "wf_exemption_request" in texts


def midweek(at: datetime, timezone: str) -> datetime:
    """Wednesday noon of `at`'s ISO week in `timezone`. NOW comes from the clock (the session's sync): a
    minute after it was once the next week, when the session started on a Saturday at 22:59 UTC."""
    local = at.astimezone(ZoneInfo(timezone))
    return (local - timedelta(days=local.weekday() - 2)).replace(hour=12, minute=0, second=0, microsecond=0)


def test_digests_go_out_once_with_their_chart_through_a_429_storm(scorecards: Scorecards, example_catalog: Catalog, fake: FakeSlackAPI) -> None:
    fire = midweek(NOW, scorecards.config.digests.timezone)
    period, queued = scorecards.enqueue_digests(fire_time=fire, now=NOW)
    assert queued >= 5  # the teams with a channel, and leadership
    assert scorecards.enqueue_digests(fire_time=fire + timedelta(minutes=1), now=NOW)[1] == 0  # a second fire of the same week adds nothing
    fake.fail_next("chat.postMessage", 429, retry_after=0, times=2)  # the client waits Retry-After (0 here) and retries
    report = scorecards.send_pending(delivery(example_catalog, fake))
    assert report.sent == queued and report.waiting == 0
    keys = digest_keys(fake)
    assert len(keys) == len(set(keys)) == queued  # every digest once
    assert f"wayfinder-digest:{period}:group:default/acquiring" in keys and f"wayfinder-digest:{period}:leadership" in keys
    uploads = [data for data in fake.uploads.values() if data]
    assert uploads and all(data.startswith(b"\x89PNG") for data in uploads)
    completed = fake.calls("files.completeUploadExternal")
    assert completed and all(c.params.get("thread_ts") for c in completed)  # the chart goes in the digest's thread
    assert scorecards.send_pending(delivery(example_catalog, fake)).sent == 0  # nothing is sent twice


def test_a_longer_storm_puts_the_digest_back_and_sends_it_once(scorecards: Scorecards, example_catalog: Catalog, fake: FakeSlackAPI) -> None:
    """More 429s than the client retries: the row waits Retry-After in the queue (0 s here, so the same run takes it again)."""
    _, queued = scorecards.enqueue_digests(fire_time=NOW, now=NOW)
    fake.fail_next("chat.postMessage", 429, retry_after=0, times=4)  # beyond the client's 3 retries
    first = scorecards.send_pending(delivery(example_catalog, fake))
    assert (first.waiting, first.sent) == (1, queued)
    keys = digest_keys(fake)
    assert len(keys) == len(set(keys)) == queued
    assert scorecards.send_pending(delivery(example_catalog, fake)).sent == 0


def test_slack_retry_after_is_kept_in_the_queue(scorecards: Scorecards, example_catalog: Catalog) -> None:
    """A row Slack asked to wait for is not claimed again before Retry-After has passed, by this or any worker."""
    from catalog.scorecards import queue

    scorecards.enqueue_digests(fire_time=NOW, now=NOW)
    with example_catalog.session() as session:
        row = queue.claim_next(session, now=NOW)
        assert row is not None and row.id is not None
        queue.wait_until(session, row.id, NOW + timedelta(seconds=30))
    with example_catalog.session() as session:
        taken = [queue.claim_next(session, now=NOW + timedelta(seconds=1)) for _ in range(20)]
    assert row.id not in {t.id for t in taken if t}
    with example_catalog.session() as session:
        later = queue.claim_next(session, now=NOW + timedelta(seconds=31))
    assert later is not None and later.id == row.id


class _CrashAfterPosting(SlackDelivery):
    """Posts the first digest, then dies before the queue records it (a kill -9 between Slack and the commit)."""

    def post_digest(self, *args: object, **kwargs: object) -> None:
        super().post_digest(*args, **kwargs)  # type: ignore[arg-type]
        raise SystemExit("killed")


def test_a_restart_mid_run_resumes_without_sending_twice(scorecards: Scorecards, example_catalog: Catalog, fake: FakeSlackAPI) -> None:
    scorecards.enqueue_digests(fire_time=NOW, now=NOW)
    client = digest_client(example_catalog.metrics, token="xoxb-test", base_url=fake.url)
    with pytest.raises(SystemExit):
        scorecards.send_pending(_CrashAfterPosting(client, public_url=None))
    # A new process, after the dead worker's lease ran out.
    example_catalog.clock = lambda: NOW + timedelta(minutes=3)
    report = Scorecards(example_catalog, sleep=lambda s: None).send_pending(delivery(example_catalog, fake))
    assert report.found_sent == 1
    keys = digest_keys(fake)
    assert len(keys) == len(set(keys)) == report.sent + report.found_sent


def test_two_replicas_send_each_digest_once(scorecards: Scorecards, example_catalog: Catalog, fake: FakeSlackAPI) -> None:
    _, queued = scorecards.enqueue_digests(fire_time=NOW, now=NOW)
    replicas = [Scorecards(example_catalog, sleep=lambda s: None) for _ in range(2)]
    threads = [threading.Thread(target=r.send_pending, args=(delivery(example_catalog, fake),)) for r in replicas]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    keys = digest_keys(fake)
    assert len(keys) == len(set(keys)) == queued


def test_an_archived_channel_is_reported_once_and_not_retried(scorecards: Scorecards, example_catalog: Catalog, fake: FakeSlackAPI) -> None:
    scorecards.enqueue_digests(fire_time=NOW, now=NOW)
    fake.fail_next("chat.postMessage", 200, error="is_archived")
    report = scorecards.send_pending(delivery(example_catalog, fake))
    assert report.undeliverable == 1
    admin = fake.messages("C0PORTALADMIN")
    assert len(admin) == 1 and "is_archived" in admin[0]["text"]
    example_catalog.clock = lambda: NOW + timedelta(hours=1)
    again = scorecards.send_pending(delivery(example_catalog, fake))
    assert (again.sent, again.undeliverable) == (0, 0) and len(fake.messages("C0PORTALADMIN")) == 1


def test_degradations_are_batched_per_team_and_told_once(scorecards: Scorecards, example_catalog: Catalog, fake: FakeSlackAPI) -> None:
    send = delivery(example_catalog, fake)
    assert scorecards.send_due_alerts(send) == 0  # the window (30 min) has not passed
    example_catalog.clock = lambda: NOW + timedelta(minutes=31)
    told = scorecards.send_due_alerts(send)
    assert told >= 1
    [message] = fake.messages(ACQUIRING)
    assert "payment-gateway" in message["text"] + str(message["blocks"]) and "Fix the failing source or re-sync." in str(message["blocks"])
    assert scorecards.send_due_alerts(send) == 0  # told once
    assert len(fake.messages(ACQUIRING)) == 1


def test_an_exemption_is_an_action_request_the_scorecard_owners_approve_once(scorecards: Scorecards, example_catalog: Catalog) -> None:
    from actions.builtin import EXEMPTION, request_exemption
    from actions.service import ActionService, Actor, Refused
    from catalog.errors import InvalidInput

    actions, ref, until = ActionService(example_catalog, clock=example_catalog.clock), "component:default/payment-gateway", (NOW + timedelta(days=30)).date()
    owner = Actor("slack", user_ref="user:default/tomasz.wierzbicki", slack_user_id="UTOM", name="Tomasz")
    outsider = Actor("slack", user_ref="user:default/ana.folau", slack_user_id="UANA", name="Ana")
    with pytest.raises(InvalidInput):
        request_exemption(actions, outsider, scorecard="production-readiness", ref=ref, rule="fresh", reason="x", expires_on=NOW.date())
    with pytest.raises(Refused):  # built-in: only its capability files it, so nobody picks their own approvers
        actions.request(EXEMPTION, outsider, {"exemption": 1}, target=ref)
    request = request_exemption(actions, outsider, scorecard="production-readiness", ref=ref, rule="fresh", reason="Frozen for the audit", expires_on=until)
    exemption = scorecards.exemption(int(request.inputs["exemption"]))
    assert request.state == "pending" and [p.ref for p in request.waiting_on] == [owner.user_ref]
    assert exemption and (exemption.status, exemption.owner_ref) == ("pending", "group:default/platform-engineering")
    with pytest.raises(Refused, match="not an approver"):
        actions.approve(request.id, outsider)
    assert actions.approve(request.id, owner).state == "succeeded"
    with pytest.raises(Refused, match="already decided"):
        actions.reject(request.id, owner, "changed my mind")
    decided = scorecards.exemption(exemption.id)
    assert decided and (decided.status, decided.decided_by) == ("approved", owner.user_ref)
    gate = example_catalog.gate("payment-gateway", scorecard="production-readiness", min_level="Gold", now=NOW)
    assert gate.status == "passed"  # the exempt rule passes
    own = request_exemption(actions, owner, scorecard="production-readiness", ref=ref, rule="fresh", reason="Mine", expires_on=until)
    with pytest.raises(Refused, match="your own request"):
        actions.approve(own.id, owner)
    other = request_exemption(actions, outsider, scorecard="production-readiness", ref=ref, rule="has-runbook", reason="Soon", expires_on=until)
    assert actions.reject(other.id, owner, "Write it first").state == "rejected"
    rejected = scorecards.exemption(int(other.inputs["exemption"]))
    assert rejected and (rejected.status, rejected.decided_by) == ("rejected", owner.user_ref)


def test_the_weekly_job_fires_in_the_configured_time_zone_and_sends(scorecards: Scorecards, example_catalog: Catalog, fake: FakeSlackAPI) -> None:
    from zoneinfo import ZoneInfo

    from apscheduler.schedulers.background import BackgroundScheduler

    from catalog.scorecards.schedule import DigestJobs

    scheduler = BackgroundScheduler(timezone=UTC)
    jobs = DigestJobs(scorecards, delivery(example_catalog, fake), clock=lambda: NOW)
    jobs.register(scheduler)
    weekly = scheduler.get_job("scorecard-digests")
    fire = weekly.trigger.get_next_fire_time(None, datetime(2026, 12, 2, 12, 0, tzinfo=UTC))
    assert fire == datetime(2026, 12, 7, 9, 0, tzinfo=ZoneInfo("Europe/Berlin"))  # Monday 09:00 in Berlin: 08:00 UTC
    jobs.weekly()
    jobs.weekly()  # another replica's fire in the same week
    keys = digest_keys(fake)
    assert keys and len(keys) == len(set(keys))


def test_catalog_text_in_the_digest_is_escaped() -> None:
    """A team or rule name cannot ping a channel or forge a link in the message."""
    import json
    from datetime import date

    from bot.slack.views.digest import render_team_digest
    from catalog.scorecards.digest import TopFix
    from catalog.scorecards.scores import EntityScore, RuleResult

    rule = RuleResult(id="r", title="<!channel> urgent", level="Silver", fix="see <https://evil.example|docs>")
    score = EntityScore(
        scorecard="s", scorecard_title="*Bold* <@U1>", ref="component:default/x<!here>", level="Bronze", level_index=1, levels=["Bronze", "Silver"], failing=[rule]
    )  # fmt: skip
    digest = TeamDigest(
        team_ref="group:default/t", team_name="<!everyone>", channel="C1", day=date(2026, 12, 7), scores=[score],
        top_fixes=[TopFix(scorecard="s", scorecard_title="S", rule=rule, raises=["x<!here>"])],
    )  # fmt: skip
    _, blocks = render_team_digest(digest, public_url=None)

    def mrkdwn(node: object) -> list[str]:
        """Every mrkdwn text (Slack parses markup only there; plain_text and button values are shown or kept as they are)."""
        if isinstance(node, dict):
            own = [node["text"]] if node.get("type") == "mrkdwn" else []
            return own + [t for key, child in node.items() if key != "value" for t in mrkdwn(child)]
        return [t for child in node for t in mrkdwn(child)] if isinstance(node, list) else []

    text = json.dumps(mrkdwn(blocks))
    assert "urgent" in text and "evil.example" in text
    for raw in ("<!channel>", "<!here>", "<!everyone>", "<@U1>", "<https://evil.example|docs>"):
        assert raw not in text
