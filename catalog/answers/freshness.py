"""Human wording for how fresh a fact is: "from northwind, synced 3 min ago"."""

from __future__ import annotations

from datetime import UTC, datetime

from catalog.store.merge import Freshness


def ago(when: datetime, now: datetime) -> str:
    seconds = max(0, int((now - when).total_seconds()))
    if seconds < 60:
        return "just now"
    for unit, size in (("day", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            n = seconds // size
            return f"{n} {unit}{'s' if unit == 'day' and n > 1 else ''} ago"
    return "just now"


def clock_time(when: datetime, now: datetime) -> str:
    """`09:12 UTC` today, `2026-01-04 09:12 UTC` on another day: short, and never ambiguous."""
    when, today = when.astimezone(UTC), now.astimezone(UTC).date()
    return f"{when:%H:%M} UTC" if when.date() == today else f"{when:%Y-%m-%d %H:%M} UTC"


def not_updated(since: str, refused: bool) -> str:
    """Why a source's facts stopped being updated at `since`: it cannot be read, or its runs read it but were refused."""
    if refused:
        return f"syncs refused since {since} (they would retire too much; see `wayfinder sync status`)"
    return f"unreachable since {since}"


def describe(f: Freshness, now: datetime) -> str:
    if f.broken_since:
        return f"from {f.source}: descriptor broken since {clock_time(f.broken_since, now)}: {f.broken_reason}"
    if f.stale and f.failing_since:
        as_of = f"data as of {f.synced_at:%Y-%m-%d %H:%M} UTC" if f.synced_at else "never synced successfully"
        return f"from {f.source}: {not_updated(f'{f.failing_since:%H:%M} UTC', f.refused)}; {as_of}"
    if f.synced_at is None:
        return f"from {f.source}, never synced"
    return f"from {f.source}, synced {ago(f.synced_at, now)}"


def describe_all(sources: list[Freshness], now: datetime) -> str:
    return "; ".join(describe(f, now) for f in sources)
