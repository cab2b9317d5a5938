"""Adoption messages Wayfinder sends on its own: the weekly digest and the pulse survey (alias proposals are
built-in actions: `actions/builtin.py`).

Each scheduled send is claimed first (`Catalog.claim_once` for the digest's week, one pulse row per
person and quarter), so several replicas firing the same job send it once.
"""

from __future__ import annotations

import logging
import random
from datetime import datetime, timedelta

from apscheduler.schedulers.background import BackgroundScheduler
from slack_sdk import WebClient

from bot.charts import trend_png
from bot.compose import Services
from bot.slack.views.adoption import render_digest, render_pulse_invite
from catalog.adoption.service import Adoption

log = logging.getLogger(__name__)

DIGEST_DAYS = 28  # the digest's trend: four weeks


def post_weekly_digest(services: Services, client: WebClient, *, now: datetime) -> bool:
    """The platform team's weekly digest with its trend chart; False when not configured or already sent this week."""
    channel = services.catalog.config.adoption.report_channel
    year, week, _ = now.isocalendar()
    key = f"adoption:digest:{year}-W{week:02d}"
    if channel is None or not services.catalog.claim_once(key, now=now):
        return False
    try:
        report = Adoption(services.catalog).report(since=now - timedelta(days=DIGEST_DAYS), until=now)
        text, blocks = render_digest(report, public_url=services.public_url)
        posted = client.chat_postMessage(channel=channel, text=text, blocks=blocks, unfurl_links=False)
    except Exception:
        services.catalog.release_claim(key)  # nothing was posted: the next run (or replica) sends this week's digest
        raise
    client.files_upload_v2(
        channel=channel, thread_ts=posted["ts"], file=trend_png(report), filename="wayfinder-adoption.png", title="Daily active, last 4 weeks"
    )
    return True


def send_pulse(services: Services, client: WebClient, *, now: datetime, rng: random.Random | None = None) -> int:
    """DM this quarter's survey to a sample of active people not asked yet; returns how many were asked."""
    text, blocks = render_pulse_invite()
    invited = Adoption(services.catalog).invite_to_pulse(now=now, rng=rng)
    for user in invited:
        client.chat_postMessage(channel=user, text=text, blocks=blocks)
    return len(invited)


def start_adoption_jobs(services: Services, client: WebClient) -> BackgroundScheduler:
    """The digest on Mondays at 09:00 UTC; the pulse on the first Monday of each quarter (when enabled)."""
    scheduler = BackgroundScheduler(timezone="UTC")
    scheduler.add_job(lambda: post_weekly_digest(services, client, now=services.clock()), "cron", day_of_week="mon", hour=9, id="adoption-digest")
    scheduler.add_job(
        lambda: send_pulse(services, client, now=services.clock()), "cron", month="1,4,7,10", day="1-7", day_of_week="mon", hour=10, id="adoption-pulse"
    )
    scheduler.start()
    return scheduler
