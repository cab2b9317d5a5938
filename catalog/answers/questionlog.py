"""The question log: every question, who asked it (or a keyed hash of who), and how it was answered.

`record` writes one row per answer in the asker's transaction; `prune` (run by the hourly
housekeeping job) forgets rows past the configured retention; `unanswered` reads the
`unanswered_question` view, which shows the rows that went unanswered.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import Column, DateTime, Integer, MetaData, String, Table, delete, select
from sqlalchemy.engine import Row
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session, col

from catalog.answers.models import Answer
from catalog.store.models import QuestionLog
from catalog.store.write_behind import now_or_later

log = logging.getLogger(__name__)

if TYPE_CHECKING:  # config pulls in the scheduler's triggers, which answering a question never needs
    from catalog.config import QuestionsConfig

PSEUDONYM_PREFIX = "hmac:"

# A SQL view (migration 0009), declared apart from the models so that no one creates it as a table.
UNANSWERED = Table(
    "unanswered_question",
    MetaData(),
    Column("id", Integer, primary_key=True),
    Column("question", String),
    Column("reason", String),
    Column("transport", String),
    Column("asked_at", DateTime),
)


def asker_id(asker: str | None, policy: QuestionsConfig) -> str | None:
    """What is stored for `asker`: as given, or `hmac:<hex>` under the configured key.

    The same person always maps to the same pseudonym (so usage can be counted per person),
    and without the key the pseudonym cannot be turned back into the id.
    """
    if asker is None or not policy.pseudonymise_askers:
        return asker
    assert policy.asker_key is not None  # the config refuses pseudonymising without a key
    digest = hmac.new(policy.asker_key.get_secret_value().encode(), asker.encode(), hashlib.sha256).hexdigest()
    return PSEUDONYM_PREFIX + digest


def record(session: Session, answer: Answer, *, surface: str, asker: str | None, asked_at: datetime, latency_ms: float) -> None:
    """One row for one answered (or unanswered) question; the caller's transaction commits it.

    The last statement of an answer, whose transaction only read: a database that refuses the
    write (read-only file or replica) rolls that transaction back and costs the log line, with a
    warning, never the answer. On SQLite it never waits for a sync's write lock either: the row is
    then written in the background (`store.write_behind`).
    """
    values: dict[str, Any] = {
        "asked_at": asked_at, "surface": surface[:20], "question": answer.question[:2000], "intent": answer.intent,
        "status": answer.status, "entity_ref": answer.subject.ref if answer.subject else None,
        "candidates": [c.ref for c in answer.candidates], "latency_ms": round(latency_ms, 3), "asker": asker,
    }  # fmt: skip
    try:
        now_or_later(session, lambda s: s.add(QuestionLog(**values)), "question log row")
    except SQLAlchemyError as exc:
        session.rollback()
        log.warning("question not logged: %s", getattr(exc, "orig", None) or type(exc).__name__)


def prune(session: Session, *, now: datetime, policy: QuestionsConfig) -> int:
    """Forget questions older than the retention (none when it is unset); returns how many went."""
    if policy.retention_days is None:
        return 0
    cutoff = now - timedelta(days=policy.retention_days)
    result = session.execute(delete(QuestionLog).where(col(QuestionLog.asked_at) < cutoff))
    return int(getattr(result, "rowcount", 0) or 0)


def unanswered(session: Session) -> list[Row[tuple[int, str, str, str, datetime]]]:
    """Questions that went unanswered, oldest first: (id, question, reason, transport, asked_at)."""
    return list(session.execute(select(UNANSWERED).order_by(UNANSWERED.c.asked_at, UNANSWERED.c.id)))
