"""`wayfinder ask` from a laptop: WAYFINDER_URL (or --url) and WAYFINDER_TOKEN against a real server.

Why: on a laptop there is no database and no config file, only the server's address. The remote
command must print exactly what the local one prints (text and --json) and exit the same way, so
scripts and habits carry over; and each way of failing (nothing listening, a refused token, a
server that hangs, something that is not Wayfinder) must be one clear line and exit 2, never a
traceback and never the token.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import update

from catalog.core import Catalog
from catalog.store.models import SourceState
from tests.cli import Ran, run_wayfinder
from tests.conftest import EXAMPLES
from tests.drill.proxy import free_port
from tests.e2e.pages_server import TOKEN, serve_pages

QUESTIONS = (
    ("who owns payments-service?", 0),
    ("what depends on ledger-db?", 0),
    ("hi", 0),
    ("who owns nothing-like-this-at-all", 3),
    ("asdfgh", 3),
)
# Where a laptop's command would fail if it touched a database or read a config file.
NO_DATABASE = {"DATABASE_URL": "postgresql+psycopg://nobody@127.0.0.1:9/none", "WAYFINDER_CONFIG": "/nonexistent/wayfinder.yaml"}


def remote(url: str, *args: str, cwd: Path, **env: str) -> Ran:
    return run_wayfinder("ask", *args, env=NO_DATABASE | {"WAYFINDER_URL": url} | env, cwd=cwd)


def local(catalog: Catalog, *args: str, cwd: Path) -> Ran:
    return run_wayfinder(
        "ask", *args, env={"DATABASE_URL": catalog.database_url, "WAYFINDER_CONFIG": str(EXAMPLES / "wayfinder.yaml")}, cwd=cwd
    )


@pytest.fixture
def server_url(example_catalog: Catalog) -> Iterator[str]:
    # The wording of a sync's age ("synced just now", "1 min ago") is computed on each side when it answers;
    # a sync three and a half days old reads "3 days ago" on both for the next twelve hours.
    with example_catalog.session() as session:
        session.execute(update(SourceState).values(last_success_at=datetime.now(UTC) - timedelta(days=3, hours=12)))
    with serve_pages(example_catalog) as client:
        yield str(client.base_url)


def test_remote_prints_and_exits_exactly_like_local(server_url: str, example_catalog: Catalog, tmp_path: Path) -> None:
    laptop = tmp_path / "laptop"
    laptop.mkdir()
    for question, code in QUESTIONS:
        for flags in ((), ("--json",)):
            here, there = local(example_catalog, question, *flags, cwd=tmp_path), remote(server_url, question, *flags, cwd=laptop)
            assert (there.returncode, there.stdout) == (here.returncode, here.stdout) == (code, here.stdout), (question, flags)
            assert there.stderr == "", question
    assert list(laptop.iterdir()) == []  # no wayfinder.db was created beside the command


def test_url_option_and_a_trailing_slash(server_url: str, tmp_path: Path) -> None:
    ran = run_wayfinder("ask", "--url", server_url + "/", "who owns payments-service?", env=NO_DATABASE, cwd=tmp_path)
    assert ran.returncode == 0 and "Payments [group:payments]" in ran.stdout


def test_token_sent_when_the_server_needs_one(guarded: Catalog, tmp_path: Path) -> None:
    with serve_pages(guarded) as client:
        url = str(client.base_url)
        right = remote(url, "who owns payments-service?", cwd=tmp_path, WAYFINDER_TOKEN=TOKEN)
        wrong = remote(url, "who owns payments-service?", cwd=tmp_path, WAYFINDER_TOKEN=TOKEN[:-1] + "X")
        missing = remote(url, "who owns payments-service?", cwd=tmp_path)

    assert right.returncode == 0 and "Payments [group:payments]" in right.stdout
    assert (wrong.returncode, wrong.stdout) == (2, "") and wrong.stderr == f"error: {url} refused the request (HTTP 401): the token in WAYFINDER_TOKEN was refused\n"
    assert (missing.returncode, missing.stdout) == (2, "") and missing.stderr == f"error: {url} refused the request (HTTP 401): it needs a token: set WAYFINDER_TOKEN\n"
    assert TOKEN[:-1] not in wrong.stderr + right.stderr


def test_a_token_is_harmless_when_the_server_needs_none(server_url: str, tmp_path: Path) -> None:
    assert remote(server_url, "who owns payments-service?", cwd=tmp_path, WAYFINDER_TOKEN=TOKEN).returncode == 0


def _one_error_line(ran: Ran) -> str:
    assert (ran.returncode, ran.stdout) == (2, ""), ran
    assert ran.stderr.count("\n") == 1 and "Traceback" not in ran.stderr
    return ran.stderr


def test_nothing_listening(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    assert _one_error_line(remote(url, "who owns payments-service?", cwd=tmp_path)).startswith(f"error: cannot reach {url}: ConnectError")


def test_a_server_that_never_answers_times_out(tmp_path: Path) -> None:
    with socket.socket() as silent:  # accepts connections (the kernel's backlog) and never replies
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        url = f"http://127.0.0.1:{silent.getsockname()[1]}"
        line = _one_error_line(remote(url, "--timeout", "0.2", "who owns payments-service?", cwd=tmp_path))
    assert line.startswith(f"error: {url} did not answer within 0.2 s")


def test_not_a_wayfinder_server_and_bad_urls(server_url: str, tmp_path: Path) -> None:
    elsewhere = _one_error_line(remote(server_url + "/not-wayfinder", "who owns payments-service?", cwd=tmp_path))
    no_scheme = _one_error_line(remote("wayfinder.internal", "who owns payments-service?", cwd=tmp_path))
    with_password = _one_error_line(remote(f"http://me:hunter2secret@127.0.0.1:{free_port()}", "who owns x?", cwd=tmp_path))

    # a wrong base path of a Wayfinder server: its error message says what is wrong
    assert elsewhere.startswith(f"error: {server_url}/not-wayfinder answered HTTP 404: Nothing is served at /not-wayfinder/api/v1/ask. (error id ")
    assert no_scheme.startswith("error: cannot reach wayfinder.internal: ")
    assert "hunter2secret" not in with_password
