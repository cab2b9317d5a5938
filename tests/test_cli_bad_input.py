"""Bad input at the command line: one clear message, the right exit code, nothing synced lost.

A read-only database, a database URL that cannot log in, a catalog folder that is missing, a port
that is taken, and tables on an 80-column terminal.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from tests.conftest import EXAMPLES, PG_URL
from tests.helpers import read_only_url
from tests.invoke_cli import one_source_config, wayfinder

SECRET = "hunter2-not-this-one"


@pytest.fixture
def synced(database_url: str, tmp_path: Path) -> Path:
    """A config whose one source was synced into `database_url`."""
    config = one_source_config(tmp_path)
    assert wayfinder("sync", database_url=database_url, config=config).exit_code == 0
    return config


def test_a_read_only_database_is_one_message_exit_2_and_still_answers(database_url: str, synced: Path) -> None:
    read_only = read_only_url(database_url)
    result = wayfinder("sync", database_url=read_only, config=synced)
    assert result.exit_code == 2, result.output
    [line] = result.stderr.splitlines()
    assert line.startswith("error: database ") and "read" in line and "only" in line
    assert "Traceback" not in result.output and "[SQL" not in line and "VALUES" not in line  # the reason, not the statement
    answer = wayfinder("ask", "who owns billing?", database_url=read_only, config=synced)
    assert answer.exit_code == 0 and "team-a" in answer.stdout  # everything synced is still there


def _with_login(url: str, user: str) -> str:
    return make_url(url).set(username=user, password=SECRET).render_as_string(hide_password=False)


@pytest.mark.parametrize(
    "server",
    [
        pytest.param("postgresql+psycopg://127.0.0.1:9/wayfinder", id="nothing-listening"),
        pytest.param(PG_URL, id="wrong-login", marks=pytest.mark.skipif(not PG_URL, reason="needs the PostgreSQL test server")),
    ],
)
def test_a_database_url_that_cannot_log_in_is_one_message_without_the_password(server: str, tmp_path: Path) -> None:
    url = _with_login(server, "wayfinder_no_such_role")
    for args in (("sync",), ("ask", "who owns billing?"), ("sync", "status")):
        result = wayfinder(*args, database_url=url, config=EXAMPLES / "wayfinder.yaml")
        assert result.exit_code == 2, (args, result.output)
        [line] = result.stderr.splitlines()
        assert line.startswith("error: database postgresql+psycopg://wayfinder_no_such_role:***@")
        assert "DATABASE_URL" in line  # says what to check
        assert SECRET not in result.output and "Traceback" not in result.output


def test_a_missing_catalog_folder_fails_that_source_with_one_message_and_keeps_its_entities(database_url: str, synced: Path) -> None:
    (synced.parent / "catalog").rename(synced.parent / "moved-away")
    result = wayfinder("sync", database_url=database_url, config=synced)
    assert result.exit_code == 1
    [line] = result.stderr.splitlines()
    assert line.startswith("main: failed: ") and str(synced.parent / "catalog") in line and "does not exist" in line
    answer = wayfinder("ask", "who owns billing?", database_url=database_url, config=synced)
    assert answer.exit_code == 0 and "team-a" in answer.stdout


@pytest.fixture
def busy_port() -> Iterator[int]:
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        yield held.getsockname()[1]


@pytest.mark.parametrize("command", ["serve", "demo"])
def test_a_busy_port_says_so_and_suggests_another(busy_port: int, tmp_path: Path, command: str) -> None:
    db = tmp_path / "never-created.db"
    result = wayfinder(command, "--port", str(busy_port), database_url=f"sqlite:///{db}", config=EXAMPLES / "wayfinder.yaml")
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        f"error: port {busy_port} on 127.0.0.1 is already in use by another process; stop it or choose another port with "
        f"--port {busy_port + 1}"
    ]
    assert not db.exists()  # found before migrating or syncing anything


def _table_lines(output: str) -> list[str]:
    return [line for line in output.splitlines() if line[:1] in "┏┃┡│└"]


def test_tables_fit_80_columns_without_cutting_words(database_url: str, synced: Path) -> None:
    long_name = "payments-platform-backstage-" + "x" * 40  # a name too long for any column
    config = synced.parent / "long.yaml"
    config.write_text(synced.read_text(encoding="utf-8").replace("name: main", f"name: {long_name}"), encoding="utf-8")
    runs = [
        wayfinder("sync", database_url=database_url, config=synced, COLUMNS="80"),
        wayfinder("sync", database_url=database_url, config=config, COLUMNS="80"),
        wayfinder("sync", "status", "--limit", "3", database_url=database_url, config=config, COLUMNS="80"),
    ]
    for result in runs:
        lines = _table_lines(result.stdout)
        assert lines, result.output
        assert max(len(line) for line in lines) <= 80, result.stdout
        assert "…" not in result.stdout
    assert "northwind" not in runs[0].stdout and "│ main " in runs[0].stdout
    # What stays on a narrow terminal: status and error counts, and when the last success was.
    assert all(h in runs[0].stdout for h in ("status", "added", "errors"))
    assert all(h in runs[2].stdout for h in ("freshness", "last success", "errors"))
    folded = "".join(line.split("│")[1].strip() for line in _table_lines(runs[1].stdout) if line.startswith("│"))
    assert long_name in folded  # folded over lines, never cut to "pa…"


def test_an_empty_config_a_config_directory_and_an_empty_database_url_each_say_what_is_wrong(database_url: str, tmp_path: Path) -> None:
    """An empty config synced nothing and said nothing (exit 0, an empty table); a folder given as the config was
    said not to exist; `DATABASE_URL=` was "a URL that cannot be parsed"."""
    empty = tmp_path / "empty.yaml"
    empty.write_text("", encoding="utf-8")

    nothing = wayfinder("sync", database_url=database_url, config=empty)
    folder = wayfinder("sync", database_url=database_url, config=tmp_path)
    blank = wayfinder("sync", database_url="", config=empty)

    assert (nothing.exit_code, nothing.stderr) == (0, f'No sources are configured in {empty}: nothing to sync (README "Configuration").\n')
    assert folder.exit_code == 2 and f"error: config file {tmp_path} is a directory: WAYFINDER_CONFIG names the YAML file itself" in folder.stderr
    assert (blank.exit_code, blank.stderr) == (2, "error: DATABASE_URL is set but empty: unset it for SQLite in ./wayfinder.db, or give a database URL\n")
