"""Every question is recorded (issue 10, point 7): what usage reports are built on.

Why: without a log of what people ask, how it went and how long it took, nobody can tell which
questions fail or whether the bot is used at all. Who asked is personal data: it can be stored
as a keyed hash, and old rows go after a configured retention. The old unanswered-question
table is now a view of the log, and its rows survive the migration.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import insert, select
from sqlmodel import col

from catalog.answers.questionlog import PSEUDONYM_PREFIX, UNANSWERED, unanswered
from catalog.config import Config, load_config
from catalog.core import Catalog
from catalog.errors import ConfigError
from catalog.store.engine import make_engine, upgrade
from catalog.store.models import QuestionLog
from catalog.sync.schedule import Scheduler
from tests.conftest import EXAMPLES

MakeCatalog = Callable[[Config], Catalog]
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
KEY = "k3y-that-must-never-show-up"


def _log(catalog: Catalog) -> list[QuestionLog]:
    catalog.flush_records()  # the rows of the answers just given, written now rather than within the second
    with catalog.session() as s:
        return list(s.scalars(select(QuestionLog).order_by(col(QuestionLog.id))))


def _config(tmp_path: Path, questions: str) -> Config:
    body = (EXAMPLES / "wayfinder.yaml").read_text(encoding="utf-8").replace("path: ", f"path: {EXAMPLES}/", 1)
    path = tmp_path / "wayfinder.yaml"
    path.write_text(body + "\nquestions:\n" + questions, encoding="utf-8")
    return load_config(path)


def _utc(when: datetime) -> datetime:
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def test_every_question_is_logged_with_how_it_went(example_catalog: Catalog) -> None:
    example_catalog.ask("who owns payments-service?", transport="slack", asker="U0ASKER")
    example_catalog.ask("who owns checkout-flux-capacitor?", transport="cli", asker="cli:alice")  # near checkout-api: suggested
    example_catalog.ask("help")
    example_catalog.ask_about("who owns it?", ref="component:default/ledger-service", intent="owner", transport="slack", asker="U0OTHER")
    answered, missing, helped, picked = _log(example_catalog)
    assert (answered.surface, answered.intent, answered.status) == ("slack", "owner", "answered")
    assert (answered.entity_ref, answered.asker, answered.question) == (
        "component:default/payments-service",
        "U0ASKER",
        "who owns payments-service?",
    )
    assert answered.latency_ms is not None and answered.latency_ms >= 0
    assert (missing.status, missing.entity_ref, missing.asker) == ("not_found", None, "cli:alice")
    assert missing.candidates and all(ref.count(":") == 1 for ref in missing.candidates)  # the "Did you mean" refs shown
    assert (helped.intent, helped.status, helped.asker) == ("help", "help", None)
    assert (picked.entity_ref, picked.asker) == ("component:default/ledger-service", "U0OTHER")


def test_unanswered_questions_are_a_view_of_the_log(example_catalog: Catalog) -> None:
    example_catalog.ask("who owns payments-service?")
    example_catalog.ask("who owns quantum-flux-capacitor?", transport="slack")
    example_catalog.flush_records()
    with example_catalog.session() as s:
        [row] = unanswered(s)
    assert (row.question, row.reason, row.transport) == ("who owns quantum-flux-capacitor?", "not_found", "slack")


def test_askers_are_pseudonymised_with_a_keyed_hash(
    make_catalog: MakeCatalog, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("WAYFINDER_ASKER_KEY", KEY)
    caplog.set_level(logging.DEBUG)
    catalog = make_catalog(_config(tmp_path, "  pseudonymise_askers: true\n  asker_key: ${WAYFINDER_ASKER_KEY}\n"))
    assert all(r.ok for r in catalog.sync())
    catalog.ask("who owns payments-service?", asker="U0ASKER")
    catalog.ask("who owns ledger-db?", asker="U0ASKER")
    catalog.ask("who owns ledger-db?", asker="U0OTHER")
    first, again, other = (row.asker for row in _log(catalog))
    assert first is not None and first.startswith(PSEUDONYM_PREFIX) and "U0ASKER" not in first
    assert first == again != other  # one person, one pseudonym: usage can still be counted per person
    assert KEY not in repr(catalog.config) and KEY not in caplog.text


def test_pseudonymising_without_a_key_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as err:
        _config(tmp_path, "  pseudonymise_askers: true\n")
    assert "questions" in str(err.value) and "asker_key is required" in str(err.value)


@pytest.mark.parametrize(("retention", "kept"), [("  retention_days: 30\n", ["recent"]), ("  retention_days: null\n", ["old", "recent"])])
def test_housekeeping_forgets_questions_past_the_retention(
    make_catalog: MakeCatalog, tmp_path: Path, retention: str, kept: list[str]
) -> None:
    catalog = make_catalog(_config(tmp_path, retention))
    for question, when in (("old", T0 - timedelta(days=31)), ("recent", T0 - timedelta(days=29))):
        with catalog.session() as s:
            s.add(QuestionLog(asked_at=when, surface="cli", question=question, intent="owner", status="not_found", latency_ms=1.0))
    Scheduler(catalog, clock=lambda: T0).housekeeping()
    assert [row.question for row in _log(catalog)] == kept


def test_the_migration_moves_unanswered_questions_into_the_log(empty_database_url: str) -> None:
    engine = make_engine(empty_database_url)
    try:
        upgrade(engine, "0008")
        with engine.begin() as conn:
            conn.execute(
                insert(UNANSWERED),
                [
                    {"question": "who owns x?", "reason": "not_found", "transport": "slack", "asked_at": T0},
                    {"question": "deploy on friday?", "reason": "unknown", "transport": "cli", "asked_at": T0 + timedelta(minutes=1)},
                ],
            )
        upgrade(engine)
        with engine.connect() as conn:
            log = conn.execute(
                select(col(QuestionLog.question), col(QuestionLog.status), col(QuestionLog.surface), col(QuestionLog.asked_at))
            ).all()
            view = conn.execute(select(UNANSWERED.c.question, UNANSWERED.c.reason, UNANSWERED.c.transport)).all()
        assert [(q, s, t, _utc(a)) for q, s, t, a in log] == [
            ("who owns x?", "not_found", "slack", T0),
            ("deploy on friday?", "unknown", "cli", T0 + timedelta(minutes=1)),
        ]
        assert sorted(view) == [("deploy on friday?", "unknown", "cli"), ("who owns x?", "not_found", "slack")]
    finally:
        engine.dispose()
