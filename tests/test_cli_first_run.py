"""A first run needs no second try: `sync`, `serve` and `demo` create or upgrade the schema
themselves, replicas migrate once, `ask` on an empty catalog says what fills it, and falling back
to the bundled example config is said once.

Why: a new user's first command is `wayfinder sync` or `wayfinder ask`; an error that only says
"run another command first" is a second try. Operators who migrate separately keep the guard.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path

import httpx
import pytest

from bot.settings import BUNDLED_CONFIG
from catalog.answers.ask import EMPTY_CATALOG
from catalog.store.engine import make_engine, migrate_on_start, schema_status, upgrade
from tests.cli import serving
from tests.conftest import PG_URL, REPO
from tests.invoke_cli import one_source_config, wayfinder

SCHEMA_CREATED = "The database schema was created or upgraded"


@pytest.fixture
def config(tmp_path: Path) -> Path:
    return one_source_config(tmp_path)


def _revision(url: str) -> str | None:
    engine = make_engine(url)
    try:
        return schema_status(engine)[0]
    finally:
        engine.dispose()


def test_sync_on_an_empty_database_creates_the_schema_then_syncs(empty_database_url: str, config: Path) -> None:
    first = wayfinder("sync", database_url=empty_database_url, config=config)
    assert first.exit_code == 0, first.output
    assert SCHEMA_CREATED in first.stderr
    assert "db upgrade" not in first.output

    again = wayfinder("sync", database_url=empty_database_url, config=config)
    assert again.exit_code == 0 and SCHEMA_CREATED not in again.stderr  # said only when it happened
    answer = wayfinder("ask", "who owns billing?", database_url=empty_database_url, config=config)
    assert answer.exit_code == 0 and "team-a" in answer.stdout


def test_an_older_schema_is_upgraded_on_start(empty_database_url: str, config: Path) -> None:
    engine = make_engine(empty_database_url)
    upgrade(engine, "0001")
    head = schema_status(engine)[1]
    engine.dispose()
    result = wayfinder("sync", database_url=empty_database_url, config=config)
    assert result.exit_code == 0, result.output
    assert _revision(empty_database_url) == head


@pytest.mark.parametrize("how", [("--no-migrate",), ("WAYFINDER_AUTO_MIGRATE", "false")])
def test_operators_who_migrate_separately_keep_the_guard(empty_database_url: str, config: Path, how: tuple[str, ...]) -> None:
    flag, env = (how, {}) if len(how) == 1 else ((), {how[0]: how[1]})
    result = wayfinder("sync", *flag, database_url=empty_database_url, config=config, **env)
    assert result.exit_code == 2
    assert "Run `wayfinder db upgrade`" in result.stderr and "Traceback" not in result.output
    assert _revision(empty_database_url) is None  # nothing was created behind the operator's back


@pytest.mark.skipif(not PG_URL, reason="advisory locks are PostgreSQL's; set WAYFINDER_TEST_DATABASE_URL")
def test_replicas_starting_together_migrate_exactly_once(empty_database_url: str) -> None:
    replicas = 4
    start = threading.Barrier(replicas)
    outcomes: list[bool | BaseException] = []

    def replica() -> None:
        engine = make_engine(empty_database_url)
        try:
            start.wait()
            outcomes.append(migrate_on_start(engine))
        except BaseException as exc:  # a race shows up as a duplicate-table error in some replica
            outcomes.append(exc)
        finally:
            engine.dispose()

    threads = [threading.Thread(target=replica) for _ in range(replicas)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert sorted(map(repr, outcomes)) == sorted(["True"] + ["False"] * (replicas - 1)), outcomes
    assert _revision(empty_database_url) is not None


def test_serve_on_an_empty_database_migrates_and_serves(empty_database_url: str) -> None:
    """A real process, because serving blocks: it must be answering health checks on a current schema."""
    with serving({"DATABASE_URL": empty_database_url, "WAYFINDER_CONFIG": str(BUNDLED_CONFIG)}, cwd=REPO) as served:
        assert httpx.get(f"{served.url}/healthz", timeout=5).status_code == 200
        assert _revision(empty_database_url) is not None


@pytest.mark.parametrize("database", ["database_url", "empty_database_url"], ids=["migrated", "no-tables"])
def test_ask_on_an_empty_catalog_says_which_command_fills_it(request: pytest.FixtureRequest, database: str, config: Path) -> None:
    url = request.getfixturevalue(database)
    text = wayfinder("ask", "who owns payments-service?", database_url=url, config=config)
    assert text.exit_code == 3
    assert text.stdout.strip() == EMPTY_CATALOG
    assert "`wayfinder sync`" in text.stdout and "Nothing in the catalog is called" not in text.stdout

    as_json = wayfinder("ask", "--json", "who owns payments-service?", database_url=url, config=config)
    assert as_json.exit_code == 3
    data = json.loads(as_json.stdout)
    assert (data["status"], data["entity"], data["notes"]) == ("not_found", None, [EMPTY_CATALOG])


def test_falling_back_to_the_bundled_config_is_said_once_on_stderr(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # no wayfinder.yaml here, and no WAYFINDER_CONFIG
    result = wayfinder("ask", "--json", "who owns payments-service?", database_url=database_url)
    assert result.stderr.count(str(BUNDLED_CONFIG)) == 1 and "using the bundled example config" in result.stderr
    json.loads(result.stdout)  # stdout stays a clean JSON document

    (tmp_path / "wayfinder.yaml").write_text("sources: []\n", encoding="utf-8")
    local = wayfinder("ask", "who owns payments-service?", database_url=database_url)
    assert "bundled" not in local.stderr
