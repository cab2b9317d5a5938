"""An answer's two rows, the question log's and its usage event, queued for the catalog's `RowBuffer`.

An answer writes nothing itself: its rows join the buffer (`store.write_behind.RowBuffer`), whose
thread inserts them with the other answers' of the last half second. So an answer on PostgreSQL is
its reads alone (an exact-name answer: the subject's neighbourhood, which carries the index's
generation check along; issue 16 allows three statements), with no write and no commit flushed to disk, and on SQLite it never meets a sync's
write lock. The price: the rows reach the table within a second, not at once, and a process killed
with -9 loses those of its last half second (never the answer, which was already returned).
"""

from __future__ import annotations

from datetime import datetime

from catalog.adoption.events import EVENT_TABLE, Kind, event_values
from catalog.answers.models import Answer
from catalog.answers.questionlog import row_values
from catalog.store.models import QuestionLog, table_of
from catalog.store.write_behind import RowBuffer

QUESTION_LOG = table_of(QuestionLog)


def record_question(
    buffer: RowBuffer, answer: Answer, *, transport: str, surface: str, asker: str | None, asked_at: datetime, latency_ms: float, thread: str | None
) -> None:
    """Log `answer` and count it as a usage event: both rows are written together, or (refused, with a warning) neither."""
    logged = row_values(answer, surface=transport, asker=asker, asked_at=asked_at, latency_ms=latency_ms)
    event = event_values(
        at=asked_at, surface=surface, kind=Kind.QUESTION, outcome=answer.status, who=asker, intent=answer.intent,
        entity_ref=answer.subject.ref if answer.subject else None, latency_ms=latency_ms, thread=thread,
    )  # fmt: skip
    buffer.add((QUESTION_LOG, logged), (EVENT_TABLE, event))
