"""Usage events: `record_event` writes one row per interaction, `purge` forgets rows past retention.

Every surface records through here (questions through `Catalog.ask`, the rest through
`Adoption.record_event`), so the report counts every way people use Wayfinder. `who` arrives
already pseudonymised (`catalog.answers.questionlog.asker_id`): no raw id is stored when configured.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import delete, exists, select
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session, col

from catalog.adoption.models import AdoptionEvent, AdoptionPersonDay, AdoptionUsageDay
from catalog.store.database_errors import driver_reason
from catalog.store.models import table_of
from catalog.store.write_behind import now_or_later

log = logging.getLogger(__name__)

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
EVENT_TABLE = table_of(AdoptionEvent)
E: Any = EVENT_TABLE.c


class Surface(StrEnum):
    SLACK_MENTION = "slack_mention"
    SLACK_DM = "slack_dm"
    SLACK_COMMAND = "slack_command"
    SLACK_SHORTCUT = "slack_shortcut"
    SLACK_BUTTON = "slack_button"
    SLACK_HOME = "slack_home"  # the Home tab and its search modal
    SLACK_THREAD = "slack_thread"  # a person's message in the thread of an answer
    SLACK_DIGEST = "slack_digest"
    SLACK_ALERT = "slack_alert"  # alert cards and unfurls
    SLACK_PULSE = "slack_pulse"
    WEB_PAGE = "web_page"  # ownership, team and search pages
    WEB_API = "web_api"
    CLI = "cli"  # `wayfinder ask` on the database
    CLI_REMOTE = "cli_remote"  # `wayfinder ask` against a server (`WAYFINDER_URL`)
    ACTIONS = "actions"


class Kind(StrEnum):
    QUESTION = "question"  # outcome: the answer's status
    FEEDBACK = "feedback"  # outcome: up | down
    SHARE = "share"
    HOME_OPENED = "home_opened"
    PAGE_VIEW = "page_view"  # outcome: found | not_found
    LINK_OPENED = "link_opened"  # a URL button on a card (alert cards: the ownership page)
    FOLLOWUP = "followup"  # a human wrote in the thread after the answer: not self-service
    ACTION_REQUEST = "action_request"  # intent: the action id; outcome: requested | completed | failed | ticket
    ACTION_DECISION = "action_decision"  # outcome: approved | rejected; latency_ms: request -> decision
    DIGEST_CLICK = "digest_click"
    ALERT_OPENED = "alert_opened"
    PULSE_ANSWER = "pulse_answer"
    ALIAS_DECISION = "alias_decision"


# A question with this outcome delivered what was asked for.
ANSWERED = "answered"


def day_number(at: datetime) -> int:
    """UTC days since the epoch: what daily, weekly and cohort metrics group by."""
    return (at.astimezone(UTC) - EPOCH).days if at.tzinfo else (at - EPOCH.replace(tzinfo=None)).days


def event_values(
    *,
    at: datetime,
    surface: str,
    kind: str,
    outcome: str,
    who: str | None = None,
    intent: str | None = None,
    entity_ref: str | None = None,
    latency_ms: float | None = None,
    thread: str | None = None,
) -> dict[str, Any]:
    """One usage event's row, each text cut to its column."""
    return dict(
        at=at, day=day_number(at), who=who, surface=surface[:30], kind=kind[:30], outcome=outcome[:20],
        intent=intent[:50] if intent else None, entity_ref=entity_ref, latency_ms=None if latency_ms is None else round(latency_ms, 3),
        thread=thread[:100] if thread else None,
    )  # fmt: skip


def record_event(session: Session, **event: Any) -> None:
    """One row (`event_values`' arguments) in the caller's transaction, its last statement: a refused
    write costs the event (and rolls back what the transaction only read), never the answer. On
    SQLite it never waits for a sync's write lock (`store.write_behind`), so acks and answers don't either."""
    values = event_values(**event)
    try:
        now_or_later(session, lambda s: s.add(AdoptionEvent(**values)), "usage event")
    except SQLAlchemyError as exc:
        session.rollback()
        log.warning("usage event not recorded: %s", driver_reason(exc))


def record_followup(session: Session, *, thread: str, author: str | None, at: datetime) -> bool:
    """A person wrote in `thread`: recorded (once per thread) when Wayfinder answered someone else there.

    The asker's own "thanks" is not a follow-up; a colleague stepping in is. The row has no `who`:
    writing in a thread is not using Wayfinder.
    """
    answered_there = exists().where(E.thread == thread, E.kind == Kind.QUESTION, E.who.is_distinct_from(author))
    seen = exists().where(E.thread == thread, E.kind == Kind.FOLLOWUP)
    if not session.execute(select(answered_there & ~seen)).scalar():
        return False
    record_event(session, at=at, surface=Surface.SLACK_THREAD, kind=Kind.FOLLOWUP, outcome="ok", thread=thread)
    return True


def purge(session: Session, *, now: datetime, retention_days: int) -> int:
    """Forget events older than the retention, and their days' rollups (the scheduler's housekeeping); returns how many events went."""
    before = day_number(now - timedelta(days=retention_days))
    for rollup in (AdoptionPersonDay, AdoptionUsageDay):
        session.execute(delete(rollup).where(col(rollup.day) < before))
    result = session.execute(delete(AdoptionEvent).where(col(AdoptionEvent.day) < before))
    return int(getattr(result, "rowcount", 0) or 0)
