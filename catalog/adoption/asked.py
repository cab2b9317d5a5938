"""An answer's two rows, the question log's and its usage event, written as one statement on PostgreSQL.

On PostgreSQL each statement is a network round trip, and issue 16 allows an answer three: the
index's generation check, the subject's neighbourhood, and this write (a data-modifying CTE). SQLite
cannot insert in a CTE, and there the round trip is in-process: the two INSERTs share one savepoint
that never waits for a sync's write lock (`store.write_behind`).
"""

from __future__ import annotations

import functools
import logging
from datetime import datetime

from sqlalchemy import Insert, bindparam, insert, select
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session, SQLModel

from catalog.adoption.events import Kind, event_values
from catalog.adoption.models import AdoptionEvent
from catalog.answers.models import Answer
from catalog.answers.questionlog import row_values
from catalog.store.database_errors import driver_reason
from catalog.store.models import QuestionLog, table_of
from catalog.store.write_behind import now_or_later

log = logging.getLogger(__name__)


def record_question(session: Session, answer: Answer, *, transport: str, surface: str, asker: str | None, asked_at: datetime, latency_ms: float, thread: str | None) -> None:
    """Log `answer` and count it as a usage event, the last statement of the answer's transaction.

    A database that refuses the write (read-only file or replica) rolls the transaction back and
    costs both rows, with a warning, never the answer.
    """
    logged = row_values(answer, surface=transport, asker=asker, asked_at=asked_at, latency_ms=latency_ms)
    event = event_values(
        at=asked_at, surface=surface, kind=Kind.QUESTION, outcome=answer.status, who=asker, intent=answer.intent,
        entity_ref=answer.subject.ref if answer.subject else None, latency_ms=latency_ms, thread=thread,
    )  # fmt: skip
    if session.get_bind().dialect.name == "postgresql":
        params = {f"q_{name}": value for name, value in logged.items()} | {f"e_{name}": value for name, value in event.items()}
        work = lambda s: s.execute(both_rows(tuple(logged), tuple(event)), params)  # noqa: E731
    else:  # plain inserts, not ORM objects: the first object of a process configures every mapper (a sixth of an answer's CPU)
        work = lambda s: [s.execute(_insert(model), row) for model, row in ((QuestionLog, logged), (AdoptionEvent, event))]  # noqa: E731
    try:
        now_or_later(session, work, "question log row and usage event")
    except SQLAlchemyError as exc:
        session.rollback()
        log.warning("question not logged: %s", driver_reason(exc))


@functools.cache
def _insert(model: type[SQLModel]) -> Insert:
    """`INSERT INTO <model's table>`, its values given as parameters when executed: built once, not per answer."""
    return insert(table_of(model))


@functools.cache
def both_rows(logged: tuple[str, ...], event: tuple[str, ...]) -> Insert:
    """`WITH q AS (INSERT INTO question_log ... RETURNING id) INSERT INTO adoption_event ... SELECT ... FROM q`.

    The columns' values are parameters (`q_<column>`, `e_<column>`), so the statement is built once per
    process rather than per answer: building it took a sixth of an answer's CPU.
    """
    question_log, adoption_event = table_of(QuestionLog), table_of(AdoptionEvent)
    values = {name: bindparam(f"q_{name}", type_=question_log.c[name].type) for name in logged}
    q = insert(question_log).values(values).returning(question_log.c.id).cte("q")
    row = select(*(bindparam(f"e_{name}", type_=adoption_event.c[name].type).label(name) for name in event)).select_from(q)
    return insert(adoption_event).from_select(list(event), row).add_cte(q)
