"""Scorecard answers: the `scorecard` intent's levels for an entity or a team, and "who is below LEVEL on SCORECARD?"."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from catalog.answers.models import Answer
from catalog.answers.text import render_all
from catalog.config import Config
from catalog.scorecards.config import ScorecardConfig
from catalog.scorecards.questions import FailingQuestion

NONE_CONFIGURED = 'No scorecards are configured: add `scorecards:` to the config (see README "Scorecards").'


def with_scoreboards(session: Session, config: Config, answer: Answer, *, now: datetime) -> Answer:
    """Fill in the levels of a `scorecard` answer (and of each of its parts) and render its text again."""
    parts = answer.parts or [answer]
    if answer.intent != "scorecard" or not any(p.subject for p in parts):
        return answer
    for part in parts:
        subject = part.subject
        if subject is None:
            continue
        if not config.scorecards:
            part.status, part.notes = "no_data", [*part.notes, NONE_CONFIGURED]
            continue
        from catalog.scorecards.evaluate import today  # evaluating loads the scorecard tables: not for every question
        from catalog.scorecards.report import scoreboard

        team = subject.kind == "group"
        part.scoreboard = scoreboard(
            session, config, day=today(config, now), scope=f"team {subject.name}" if team else subject.name,
            owner=subject.ref if team else None, refs=None if team else [subject.ref],
        )  # fmt: skip
        if not part.scoreboard.scores:
            part.status = "no_data"
            part.notes.append(f"No scorecard applies to {subject.name}, or it was not evaluated yet.")
    render_all(answer, now=now)
    return answer


def below_answer(session: Session, config: Config, text: str, card: ScorecardConfig, level: int, *, now: datetime) -> Answer:
    """Every entity below `level` on `card`, worst first, with the fixes to its next level."""
    return _listed(session, config, text, card, f"entities below {card.levels[level - 1]} on {card.title}", now=now, below=level)


def failing_answer(session: Session, config: Config, text: str, asked: FailingQuestion, *, now: datetime) -> Answer:
    """Every entity failing `asked.rule`, or any rule of the scorecard (below its top level), worst first."""
    card = asked.card
    if asked.rule is not None:
        rule = card.rule(asked.rule)
        scope = f"entities failing {rule.label if rule else asked.rule} ({card.title})"
        return _listed(session, config, text, card, scope, now=now, failing=asked.rule)
    return _listed(session, config, text, card, f"entities failing a rule of {card.title}", now=now, below=len(card.levels))


def _listed(
    session: Session, config: Config, text: str, card: ScorecardConfig, scope: str, *, now: datetime, below: int | None = None,
    failing: str | None = None,
) -> Answer:  # fmt: skip
    from catalog.scorecards.evaluate import today
    from catalog.scorecards.report import scoreboard

    board = scoreboard(session, config, day=today(config, now), scope=scope, scorecards=[card.id], below=below, failing=failing)
    answer = Answer(question=text, intent="scorecard", status="answered" if board.scores else "no_data", scoreboard=board, asked_at=now)
    render_all(answer, now=now)
    return answer
