"""Adoption metrics on a generated history whose answers are known, on SQLite and PostgreSQL.

Why: the platform team acts on these numbers (is Wayfinder used daily, do people come back, does
it settle questions alone); a metric that silently counts the wrong rows misleads them.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlmodel import col

from catalog.adoption import events, metrics
from catalog.adoption.events import Kind, Surface, record_event, record_followup
from catalog.adoption.models import AdoptionEvent, AdoptionPulse
from catalog.adoption.service import Adoption
from catalog.config import AdoptionConfig, PulseConfig
from catalog.core import Catalog
from catalog.store.models import AnswerFeedback, QuestionLog
from catalog.sync.schedule import Scheduler

START = datetime(2026, 1, 5, tzinfo=UTC)  # a Monday
UNTIL = START + timedelta(days=28)


def at(day: int, hour: int = 9, minute: int = 0) -> datetime:
    return START + timedelta(days=day, hours=hour, minutes=minute)


@pytest.fixture
def history(example_catalog: Catalog) -> Adoption:
    """Four regulars (A1-A4) every day, one newcomer (N1) who never came back, one old user (O1).

    Known answers: daily active 5 on day 0 and 4 after; return rate 4 of 5; time to first value
    0, 10, 20, 20 and 30 minutes (median 20); 6 questions, 5 answered, one followed up by a
    colleague; "who owns" answered 4 times in week 1; NPS from 10, 9, 8, 3 = +25.
    """
    example_catalog.config.adoption = AdoptionConfig(engineers=10)
    with example_catalog.session() as s:
        ev = lambda when, who, kind=Kind.HOME_OPENED, outcome="ok", **kw: record_event(  # noqa: E731
            s, at=when, surface=Surface.SLACK_HOME, kind=kind, outcome=outcome, who=who, **kw
        )
        q = lambda when, who, outcome="answered", intent="owner", **kw: ev(when, who, Kind.QUESTION, outcome, intent=intent, **kw)  # noqa: E731
        ev(START - timedelta(days=5), "O1")
        ev(at(3), "O1")
        q(at(0), "A1", thread="C1:1", entity_ref="component:default/payments-service")
        ev(at(0), "A2"), q(at(0, minute=10), "A2", thread="C1:2", entity_ref="component:default/tax-calculator")
        ev(at(0), "A3"), q(at(0, minute=20), "A3", entity_ref="component:default/tax-calculator")
        ev(at(0), "A4"), q(at(0, minute=20), "A4")
        q(at(0, 10), "N1", outcome="not_found"), q(at(0, 10, 30), "N1", intent="members")
        for day in range(1, 28):
            for who in ("A1", "A2", "A3", "A4"):
                ev(at(day), who)
        assert record_followup(s, thread="C1:1", author="B1", at=at(0, 11))  # a colleague stepped in
        assert not record_followup(s, thread="C1:1", author="B2", at=at(0, 12))  # counted once per thread
        assert not record_followup(s, thread="C1:2", author="A2", at=at(0, 12))  # the asker's own "thanks"
        assert not record_followup(s, thread="C9:9", author="B1", at=at(0, 12))  # not a thread Wayfinder answered in
        for score in (10, 9, 8, 3):
            s.add(AdoptionPulse(quarter="2026Q1", who=f"P{score}", sent_at=at(1), score=score, comment=f"comment {score}", answered_at=at(2)))
        for helpful in (True, True, False):
            s.add(AnswerFeedback(question="who owns x", intent="owner", helpful=helpful, created_at=at(1)))
        for question, n in (("who owns quasar-gateway", 3), ("Who owns QUASAR-GATEWAY", 1), ("who owns paymentz-servicez-prod", 2)):
            for _ in range(n):
                s.add(QuestionLog(asked_at=at(2), surface="slack", question=question, status="not_found", candidates=[]))
        s.add(QuestionLog(asked_at=START - timedelta(days=1), surface="slack", question="who owns before-the-period", status="not_found"))
    return Adoption(example_catalog)


def test_metrics_on_a_known_history(history: Adoption) -> None:
    r = history.report(since=START, until=UNTIL)

    assert r.days == 28 and r.engineers == 10 and r.engineers_from == "config"
    assert r.daily_active == [5, 4, 4, 5] + [4] * 24  # O1 came back on day 3
    assert r.daily_active_share == pytest.approx((4 * 28 + 2) / 28 / 10, abs=1e-4)
    assert r.weekly_active == [6, 4, 4, 4] and r.active_users == 6
    assert (r.return_rate.of, r.return_rate.hits) == (5, 4)  # O1 was first seen before the period
    assert (r.new_users, r.time_to_first_value_minutes) == (5, 20.0)
    assert (r.answer_rate.of, r.answer_rate.hits) == (6, 5)
    assert (r.self_service_rate.of, r.self_service_rate.hits) == (5, 4)
    assert r.owner_answers_per_week == [4, 0, 0, 0]
    assert (r.pulse.responses, r.pulse.nps) == (4, 25.0) and r.pulse.comments[0].startswith("comment")
    assert [(s.intent, s.up, s.down) for s in r.satisfaction] == [("owner", 2, 1)]


def test_unanswered_questions_ranked_with_their_fixes(history: Adoption) -> None:
    r = history.report(since=START, until=UNTIL)

    assert [(q.question.lower(), q.asked) for q in r.unanswered] == [("who owns quasar-gateway", 4), ("who owns paymentz-servicez-prod", 2)]
    nothing_near, near = r.unanswered[0].fix, r.unanswered[1].fix
    assert nothing_near and (nothing_near.action, nothing_near.name) == ("create_entity", "quasar-gateway")
    assert near and (near.action, near.name, near.ref) == ("add_alias", "paymentz-servicez-prod", "component:default/payments-service")


def test_entities_asked_about_with_gaps(history: Adoption) -> None:
    r = history.report(since=START, until=UNTIL)

    assert [(g.ref, g.asked, g.missing) for g in r.gaps] == [("component:default/tax-calculator", 2, ["owner"])]


def test_most_asked_entities_count_only_the_periods_questions(history: Adoption) -> None:
    """Every retained question is read (in index order), but only the period's are counted, ties by ref."""
    with history.catalog.session() as s:
        for when in (START - timedelta(days=2), UNTIL, UNTIL + timedelta(days=3)):  # just outside, either side
            record_event(s, at=when, surface=Surface.SLACK_DM, kind=Kind.QUESTION, outcome="answered", who="A1", entity_ref="component:default/outside")
        record_event(s, at=at(5), surface=Surface.SLACK_DM, kind=Kind.HOME_OPENED, outcome="ok", who="A1", entity_ref="component:default/not-a-question")
        first, last = events.day_number(START), events.day_number(UNTIL - timedelta(microseconds=1))
        assert metrics.most_asked_entities(s, first, last) == [("component:default/tax-calculator", 2), ("component:default/payments-service", 1)]
        assert metrics.most_asked_entities(s, first, last, limit=1) == [("component:default/tax-calculator", 2)]
        assert metrics.most_asked_entities(s, last + 1, last + 5) == [("component:default/outside", 2)]


def test_report_json_carries_every_metric_and_each_rates_value(history: Adoption) -> None:
    data = history.report(since=START, until=UNTIL).to_json()

    assert data["answer_rate"] == {"of": 6, "hits": 5, "value": pytest.approx(5 / 6)}
    assert data["return_rate"]["value"] == pytest.approx(0.8)
    for key in ("daily_active_share", "weekly_active_share", "time_to_first_value_minutes", "self_service_rate", "unanswered", "gaps", "pulse"):
        assert key in data
    assert data["pulse"]["nps"] == 25.0


def test_an_empty_period_reports_nothing_rather_than_failing(example_catalog: Catalog) -> None:
    r = Adoption(example_catalog).report(since=START, until=START + timedelta(days=7))

    assert r.engineers_from == "catalog users" and r.engineers and r.engineers > 0
    assert r.answer_rate.value is None and r.time_to_first_value_minutes is None and r.pulse.nps is None


def test_events_past_retention_are_purged(history: Adoption) -> None:
    catalog = history.catalog
    with catalog.session() as s:
        gone = events.purge(s, now=START + timedelta(days=20), retention_days=10)
        left = list(s.scalars(select(col(AdoptionEvent.day))))
    assert gone > 0 and min(left) >= events.day_number(START + timedelta(days=10))


def test_pulse_never_asks_anyone_twice_a_quarter(example_catalog: Catalog) -> None:
    example_catalog.config.adoption = AdoptionConfig(pulse=PulseConfig(enabled=True, sample_size=2))
    adoption = Adoption(example_catalog)
    now = datetime(2026, 4, 6, 10, tzinfo=UTC)
    for who in ("U01", "U02", "U03", "cli:ana"):
        adoption.record_event(surface=Surface.SLACK_DM, kind=Kind.QUESTION, outcome="answered", who=who, now=now - timedelta(days=2))

    first = adoption.invite_to_pulse(now=now, rng=random.Random(1))
    second = adoption.invite_to_pulse(now=now + timedelta(days=7), rng=random.Random(2))
    third = adoption.invite_to_pulse(now=now + timedelta(days=8), rng=random.Random(3))
    next_quarter = adoption.invite_to_pulse(now=datetime(2026, 7, 6, 10, tzinfo=UTC), rng=random.Random(4))

    assert len(first) == 2 and len(second) == 1 and third == []  # `cli:ana` has no Slack DM to receive it
    assert set(first) | set(second) == {"U01", "U02", "U03"}
    assert next_quarter == []  # nobody active in the last 30 days any more
    assert adoption.answer_pulse(user=first[0], score=9, comment="  faster please ", now=now + timedelta(days=1))
    assert not adoption.answer_pulse(user=first[0], score=1, comment=None, now=now + timedelta(days=2))  # once
    assert not adoption.answer_pulse(user="U99", score=5, comment=None, now=now)  # never invited
    r = adoption.report(since=now, until=now + timedelta(days=10))
    assert (r.pulse.responses, r.pulse.nps, r.pulse.comments) == (1, 100.0, ["faster please"])


def test_the_hourly_housekeeping_forgets_events_past_the_configured_retention(history: Adoption) -> None:
    catalog = history.catalog
    catalog.config.adoption = AdoptionConfig(retention_days=20)

    Scheduler(catalog, clock=lambda: UNTIL).housekeeping()  # the period ends on day 28: days 0-7 are older than 20 days

    with catalog.session() as s:
        days = set(s.scalars(select(col(AdoptionEvent.day))))
    assert min(days) == events.day_number(UNTIL - timedelta(days=20))
