"""Scorecards beyond the answers: digests (built, queued, sent at Slack's pace), degradation alerts and exemptions.

Built from the `Catalog` (its sessions, config and clock), like `catalog.alerts.service.Alerts`;
adapters reach these only through this object and give it a `Delivery` (Slack in production, a
recording fake in tests). Every step is its own short transaction, and Slack is called between the
claim that is committed first and the commit that records what was sent.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Protocol

from catalog.chat import RateLimited, Undeliverable
from catalog.core import Catalog
from catalog.scorecards import degradations, exemptions, queue
from catalog.scorecards.chart import trend_png
from catalog.scorecards.config import duration
from catalog.scorecards.degradations import AlertBatch
from catalog.scorecards.digest import Fixer, LeadershipDigest, Movement, TeamDigest, build_leadership_digest, build_team_digests, team_channels
from catalog.scorecards.evaluate import today
from catalog.scorecards.exemptions import Decision, ExemptionView
from catalog.scorecards.models import ScorecardDigest, ScorecardExemption

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 5  # then a digest that keeps failing for other reasons is set aside with its error

__all__ = ["AlertBatch", "Delivery", "ExemptionView", "Fixer", "LeadershipDigest", "Movement", "Scorecards", "SendReport", "TeamDigest"]


class Delivery(Protocol):
    """How digests and alerts reach the chat; `key` marks a digest's message so a retry can find it."""

    def post_digest(self, channel: str, digest: TeamDigest, chart: bytes | None, *, key: str) -> None: ...

    def post_leadership(self, channel: str, digest: LeadershipDigest, *, key: str) -> None: ...

    def already_posted(self, channel: str, *, key: str) -> bool:
        """Whether a message marked `key` is in `channel` (posted by an attempt that died before recording it)."""

    def post_alerts(self, channel: str, batch: AlertBatch, *, team_name: str) -> None: ...

    def post_admin(self, channel: str, text: str) -> None: ...


@dataclass
class SendReport:
    sent: int = 0
    found_sent: int = 0  # a previous attempt had posted it: recorded, not posted again
    waiting: int = 0  # Slack asked us to wait
    undeliverable: int = 0
    failed: int = 0


class Scorecards:
    def __init__(self, catalog: Catalog, *, sleep: Callable[[float], None] = time.sleep) -> None:
        self.catalog = catalog
        self.config = catalog.config
        self._sleep = sleep

    # -- content ------------------------------------------------------------------------------

    def team_digest(self, team: str, *, now: datetime) -> TeamDigest | None:
        """`team`'s digest (a name or a group ref); None when no team has that name or owns nothing scored."""
        from catalog.pages.team import team_ref

        with self.catalog.session() as session:
            ref = team if team.startswith("group:") else team_ref(session, team)
            return next(build_team_digests(session, self.config, now=now, team=ref), None) if ref else None

    def build_all_digests(self, *, now: datetime) -> Iterator[TeamDigest]:
        """Every team's digest, built one at a time (the benchmark; sending builds each when its turn comes)."""
        with self.catalog.session() as session:
            yield from build_team_digests(session, self.config, now=now)

    def leadership_digest(self, *, now: datetime) -> LeadershipDigest:
        with self.catalog.session() as session:
            return build_leadership_digest(session, self.config, now=now)

    # -- the weekly run ---------------------------------------------------------------------------

    def enqueue_digests(self, *, fire_time: datetime, now: datetime) -> tuple[str, int]:
        """Queue this period's digests: every team with scored entities and a channel, and leadership's. (period, newly queued)."""
        period = queue.period_of(fire_time, self.config.digests.timezone)
        with self.catalog.session() as session:
            targets = team_channels(session, self.config, day=today(self.config, now))
        if self.config.digests.leadership_channel:
            targets[queue.LEADERSHIP] = self.config.digests.leadership_channel
        with self.catalog.session() as session:
            return period, queue.enqueue(session, targets, period=period, now=now)

    def send_pending(self, delivery: Delivery) -> SendReport:
        """Send every queued digest that may go now, one at a time at `seconds_per_message`; returns what happened."""
        report = SendReport()
        while True:
            now = self.catalog.clock()
            with self.catalog.session() as session:
                row = queue.claim_next(session, now=now)
            if row is None:
                break
            if report.sent:
                self._sleep(self.config.digests.seconds_per_message)
            self._send(delivery, row, report)
        self.report_undeliverable(delivery)
        return report

    def _send(self, delivery: Delivery, row: ScorecardDigest, report: SendReport) -> None:
        assert row.id is not None
        key = f"wayfinder-digest:{row.period}:{row.team_ref}"
        now = self.catalog.clock()
        status, error = "sent", None
        try:
            if row.attempts > 1 and delivery.already_posted(row.channel, key=key):
                report.found_sent += 1
            elif row.team_ref == queue.LEADERSHIP:
                delivery.post_leadership(row.channel, self.leadership_digest(now=now), key=key)
                report.sent += 1
            else:
                digest = self.team_digest(row.team_ref, now=now)
                if digest is None:
                    status, error = "skipped", "the team owns nothing scored any more"
                else:
                    delivery.post_digest(row.channel, digest, trend_png(digest) if self.config.digests.chart else None, key=key)
                    report.sent += 1
        except RateLimited as limited:
            with self.catalog.session() as session:
                queue.wait_until(session, row.id, now + timedelta(seconds=limited.retry_after))
            report.waiting += 1
            return
        except Undeliverable as exc:
            status, error = "undeliverable", str(exc)[:300]
            report.undeliverable += 1
        except Exception as exc:  # noqa: BLE001  any other failure: retried after the lease, then set aside
            log.exception("digest %s for %s failed", row.period, row.team_ref)
            if row.attempts < MAX_ATTEMPTS:
                return
            status, error = "failed", type(exc).__name__
            report.failed += 1
        with self.catalog.session() as session:
            queue.finish(session, row.id, status=status, now=self.catalog.clock(), error=error)

    def report_undeliverable(self, delivery: Delivery) -> int:
        """Tell the admin channel, once, which channels could not take their digest."""
        admin = self.config.digests.admin_channel
        with self.catalog.session() as session:
            rows = queue.take_unreported(session, now=self.catalog.clock())
        if rows and admin:
            lines = [f"• {r.team_ref} in <#{r.channel}>: {r.error}" for r in rows]
            delivery.post_admin(admin, "Scorecard digests could not be delivered (fix the channel or the team's slack.com/channel-id):\n" + "\n".join(lines))
        return len(rows)

    # -- degradation alerts -------------------------------------------------------------------

    def send_due_alerts(self, delivery: Delivery) -> int:
        """One message per team whose alerts waited out the window; returns how many teams were told."""
        from catalog.store.reads import get_entity

        now = self.catalog.clock()
        window = duration(self.config.digests.alert_window)
        told = 0
        with self.catalog.session() as session:
            teams = degradations.due_teams(session, now=now, window=window)
        for team in teams:
            with self.catalog.session() as session:
                batch = degradations.claim_batch(session, self.config, team, now=now)
                entity = get_entity(session, team)
            if batch is None:
                continue
            channel = self._team_channel(team) or self.config.digests.admin_channel
            try:
                if channel and batch.items:
                    delivery.post_alerts(channel, batch, team_name=entity.display_name if entity else team.rpartition("/")[2])
                    told += 1
            except Exception:
                with self.catalog.session() as session:
                    degradations.release(session, batch.ids)
                raise
            with self.catalog.session() as session:
                degradations.mark_sent(session, batch.ids, now=self.catalog.clock())
        return told

    # -- exemptions ---------------------------------------------------------------------------

    def request_exemption(self, *, scorecard: str, ref: str, rule: str, reason: str, expires_on: date, requested_by: str) -> ExemptionView:
        with self.catalog.session() as session:
            return exemptions.request(
                session, self.config, scorecard=scorecard, ref=ref, rule=rule, reason=reason, expires_on=expires_on, requested_by=requested_by, now=self.catalog.clock()
            )  # fmt: skip

    def check_exemption(self, *, scorecard: str, rule: str, reason: str, expires_on: date) -> None:
        exemptions.check(self.config, scorecard=scorecard, rule=rule, reason=reason, expires_on=expires_on, now=self.catalog.clock())

    def exemption(self, exemption_id: int) -> ExemptionView | None:
        with self.catalog.session() as session:
            row = session.get(ScorecardExemption, exemption_id)
            return exemptions.view(session, self.config, row) if row else None

    def approval_channel(self, view: ExemptionView) -> str | None:
        """Where the request goes for approval: the owning team's channel, else the admin channel."""
        return self._team_channel(view.owner_ref) or self.config.digests.admin_channel

    def _team_channel(self, team: str | None) -> str | None:
        from catalog.answers.card import SLACK_CHANNEL_ID
        from catalog.store.reads import get_entity

        if team is None:
            return None
        with self.catalog.session() as session:
            entity = get_entity(session, team)
        return entity.annotations.get(SLACK_CHANNEL_ID) if entity else None

    def decide_exemption(self, exemption_id: int, *, approver: str, approve: bool) -> Decision:
        """Record the approval action's decision; an approval counts from the next evaluation, which this starts."""
        with self.catalog.session() as session:
            decision = exemptions.decide(session, exemption_id, approver=approver, approve=approve, now=self.catalog.clock())
        if decision == "approved":
            self.catalog.evaluate_scorecards(now=self.catalog.clock())
        return decision
