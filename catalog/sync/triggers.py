"""Config `schedule` strings as APScheduler triggers, and the fire-time arithmetic on them.

Kept apart from `catalog.sync.schedule` (which runs jobs) so config validation and `sync status`
can use the same rules without starting anything. Fire times must be identical on every
replica: cron expressions are evaluated in UTC, and intervals count from a fixed epoch rather
than from process start.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, tzinfo
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:  # APScheduler loads when a schedule is read, not with every config (a CLI question)
    from apscheduler.triggers.base import BaseTrigger

INTERVAL_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)

_DURATION = re.compile(r"^(\d+)\s*(s|m|h|d)$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_CRON_DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")  # crontab numbering: 0 (and 7) is Sunday


def parse_schedule(text: str) -> tuple[Literal["interval"], int] | tuple[Literal["cron"], str]:
    """`15m` -> every 900 s; five fields -> a cron expression."""
    text = text.strip()
    m = _DURATION.match(text)
    if m:
        return "interval", int(m.group(1)) * _UNITS[m.group(2)]
    if len(text.split()) == 5:
        return "cron", text
    raise ValueError(f"schedule {text!r} is neither an interval like '15m' nor a 5-field cron expression")


def trigger_for(schedule: str, timezone: tzinfo = UTC) -> BaseTrigger:
    """The trigger of a config `schedule`; ValueError names what is wrong with it.

    Cron expressions are read in `timezone` (UTC for syncs; the digests' configured zone)."""
    from apscheduler.triggers.cron import CronTrigger
    from apscheduler.triggers.interval import IntervalTrigger

    parsed = parse_schedule(schedule)
    if parsed[0] == "interval":
        if parsed[1] <= 0:
            raise ValueError(f"schedule {schedule!r}: the interval must be longer than 0 s")
        return IntervalTrigger(seconds=parsed[1], start_date=INTERVAL_EPOCH, timezone=UTC)
    minute, hour, day, month, weekdays = parsed[1].split()
    return CronTrigger(minute=minute, hour=hour, day=day, month=month, day_of_week=_weekday_names(weekdays), timezone=timezone)


def _weekday_names(field: str) -> str:
    """Crontab's day-of-week field with numbers spelled as names.

    APScheduler 3 numbers Monday 0 where crontab numbers Sunday 0, so `1-5` would silently mean
    Tuesday to Saturday (its `from_crontab` warns about this). Names mean the same to both.
    """
    if not any(c.isdigit() for c in field):
        return field
    days: set[int] = set()
    for part in field.split(","):
        span, _, step = part.partition("/")
        if span == "*":
            first, last = 0, 6
        else:
            first_text, _, last_text = span.partition("-")
            first = _day_number(first_text)
            last = _day_number(last_text) if last_text else (6 if step else first)
        if first > last:
            raise ValueError(f"day-of-week range {span!r} runs backwards")
        days.update(day % 7 for day in range(first, last + 1, int(step or 1)))
    return ",".join(_CRON_DAYS[day] for day in sorted(days))


def _day_number(text: str) -> int:
    if text.isdigit() and int(text) <= 7:
        return int(text)
    if text.lower() in _CRON_DAYS:
        return _CRON_DAYS.index(text.lower())
    raise ValueError(f"{text!r} is not a day of the week (0-7 or sun-sat)")


def next_fire_after(trigger: BaseTrigger, when: datetime) -> datetime:
    """The first fire time strictly after `when` (APScheduler's own call may return `when`)."""
    fire: datetime | None = trigger.get_next_fire_time(None, when)
    if fire is not None and fire <= when:
        fire = trigger.get_next_fire_time(fire, when)
    if fire is None:  # only triggers with an end date run out, and ours have none
        raise ValueError(f"{trigger} never fires after {when}")
    return fire


def period(trigger: BaseTrigger, when: datetime) -> timedelta:
    """The gap between the next two fire times after `when` (cron gaps may vary)."""
    first = next_fire_after(trigger, when)
    return next_fire_after(trigger, first) - first
