"""The digest jobs on the in-process scheduler: the weekly fire in the configured time zone, and a drain every minute.

Every replica runs both. The weekly fire queues this period's digests (a unique row per team and
week, so a second replica's fire adds nothing) and sends what it can claim; the drain resumes what a
restart or a 429 left in the queue and sends degradation alerts whose batching window has passed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo

from apscheduler.schedulers.base import BaseScheduler

from catalog.scorecards.service import Delivery, Scorecards
from catalog.sync.triggers import trigger_for

log = logging.getLogger(__name__)
DRAIN_SECONDS = 60


class DigestJobs:
    def __init__(self, scorecards: Scorecards, delivery: Delivery, *, clock: Callable[[], datetime]) -> None:
        self.scorecards, self.delivery, self.clock = scorecards, delivery, clock

    def register(self, scheduler: BaseScheduler) -> None:
        digests = self.scorecards.config.digests
        trigger = trigger_for(digests.schedule, ZoneInfo(digests.timezone))
        scheduler.add_job(self.weekly, trigger, id="scorecard-digests", name="weekly scorecard digests", max_instances=1, coalesce=True, misfire_grace_time=3600)
        scheduler.add_job(self.drain, "interval", seconds=DRAIN_SECONDS, id="scorecard-drain", max_instances=1, coalesce=True)

    def weekly(self) -> None:
        now = self.clock()
        period, queued = self.scorecards.enqueue_digests(fire_time=now, now=now)
        log.info("scorecard digests for %s: %d queued", period, queued)
        self.drain()

    def drain(self) -> None:
        try:
            report = self.scorecards.send_pending(self.delivery)
            told = self.scorecards.send_due_alerts(self.delivery)
        except Exception:  # noqa: BLE001  the database or Slack may be away for a moment; the next drain retries
            log.exception("sending scorecard digests and alerts failed")
            return
        if report.sent or report.waiting or report.undeliverable or told:
            log.info("scorecards: %s; degradation alerts to %d team(s)", report, told)
