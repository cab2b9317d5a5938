"""The satisfaction pulse: a quarterly two-question survey (0-10, "what would make this better?").

`invite` claims one row per person and quarter before anyone is messaged; the unique key
(quarter, who) makes "never the same person twice a quarter" hold across retries and replicas.
`answer` stores the reply once (a conditional update), so a resubmitted modal changes nothing.
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col

from catalog.adoption.events import day_number
from catalog.adoption.models import AdoptionEvent, AdoptionPulse

MAX_COMMENT = 2000


def quarter_of(at: datetime) -> str:
    return f"{at.year}Q{(at.month - 1) // 3 + 1}"


def active_people(session: Session, *, now: datetime, days: int) -> set[str]:
    """Who (as stored: maybe pseudonymised) used Wayfinder in the last `days` days."""
    since = day_number(now - timedelta(days=days))
    rows = session.execute(select(col(AdoptionEvent.who)).distinct().where(col(AdoptionEvent.day) >= since, col(AdoptionEvent.who).is_not(None)))
    return {str(who) for (who,) in rows}


def invite(session: Session, candidates: Iterable[tuple[str, str]], *, now: datetime, sample_size: int, rng: random.Random) -> list[str]:
    """Claim up to `sample_size` of `candidates` (address, stored id) not yet asked this quarter; returns their addresses."""
    pool = sorted(set(candidates))
    rng.shuffle(pool)
    quarter, chosen = quarter_of(now), list[str]()
    for address, who in pool:
        if len(chosen) == sample_size:
            break
        try:
            with session.begin_nested():
                session.add(AdoptionPulse(quarter=quarter, who=who, sent_at=now))
        except IntegrityError:  # asked already this quarter
            continue
        chosen.append(address)
    return chosen


def answer(session: Session, *, who: str, score: int, comment: str | None, now: datetime) -> bool:
    """Store the invited person's reply for this quarter's survey; False when not invited or already answered."""
    if not 0 <= score <= 10:
        raise ValueError("the score is from 0 to 10")
    stored = session.execute(
        update(AdoptionPulse)
        .where(col(AdoptionPulse.quarter).in_(_recent_quarters(now)), col(AdoptionPulse.who) == who, col(AdoptionPulse.answered_at).is_(None))
        .values(score=score, comment=(comment or "").strip()[:MAX_COMMENT] or None, answered_at=now)
    )
    return bool(getattr(stored, "rowcount", 0))


def _recent_quarters(now: datetime) -> set[str]:
    """This quarter, and the last one for a survey sent just before it ended."""
    return {quarter_of(now), quarter_of(now - timedelta(days=31))}
