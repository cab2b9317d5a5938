"""👍/👎 on answers, kept with the question so unhelpful answers can be found and fixed."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, col, select

from catalog.store.models import AnswerFeedback


def record_feedback(
    session: Session,
    *,
    question: str,
    intent: str,
    ref: str | None,
    helpful: bool,
    user_id: str | None,
    transport: str,
    now: datetime,
) -> AnswerFeedback:
    """One vote per person and answer: a second click (or a changed mind) updates the first."""
    same_answer = select(AnswerFeedback).where(
        col(AnswerFeedback.question) == question,
        col(AnswerFeedback.intent) == intent,
        col(AnswerFeedback.entity_ref).is_not_distinct_from(ref),
        col(AnswerFeedback.user_id) == user_id,
        col(AnswerFeedback.transport) == transport,
    )
    row = session.exec(same_answer).first() if user_id is not None else None
    if row is None:
        row = AnswerFeedback(
            question=question, intent=intent, entity_ref=ref, helpful=helpful, user_id=user_id, transport=transport, created_at=now
        )
    row.helpful, row.created_at = helpful, now
    session.add(row)
    return row
