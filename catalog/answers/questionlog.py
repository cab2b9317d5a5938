"""The question log: every question, who asked it (or a keyed hash of who), and how it was answered.

`row_values` is one answer's row (written with its usage event by `catalog.adoption.asked`); `prune` (run by the hourly
housekeeping job) forgets rows past the configured retention; `unanswered` reads the
`unanswered_question` view, which shows the rows that went unanswered.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import Column, DateTime, Integer, MetaData, String, Table, delete, select
from sqlalchemy.engine import Row
from sqlmodel import Session, col

from catalog.answers.models import Answer
from catalog.store.models import QuestionLog

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


def row_values(answer: Answer, *, surface: str, asker: str | None, asked_at: datetime, latency_ms: float) -> dict[str, Any]:
    """The question log's row for one answered (or unanswered) question; `adoption.asked` writes it."""
    return {
        "asked_at": asked_at, "surface": surface[:20], "question": answer.question[:2000], "intent": answer.intent,
        "status": answer.status, "entity_ref": answer.subject.ref if answer.subject else None,
        "candidates": [c.ref for c in answer.candidates], "latency_ms": round(latency_ms, 3), "asker": asker,
    }  # fmt: skip


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
