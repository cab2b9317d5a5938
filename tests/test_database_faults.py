"""A database that cannot be used ends a command with one `error:` line and exit 2, never a hang or a traceback.

Why: these commands run from cron, CI and deploy scripts; a hang holds the job (and its lock) for
ever, and a traceback hides the one fact an operator needs: which database, and what to do.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest

from catalog.store import engine as catalog_engine
from tests.conftest import EXAMPLES
from tests.invoke_cli import wayfinder

EXAMPLE_CONFIG = EXAMPLES / "wayfinder.yaml"


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A port that accepts TCP connections and never says a word (a hung server, a firewall dropping replies)."""
    listener = socket.create_server(("127.0.0.1", 0))
    accepted: list[socket.socket] = []

    def accept() -> None:
        while True:
            try:
                accepted.append(listener.accept()[0])
            except OSError:  # the listener was closed: the test is over
                return

    threading.Thread(target=accept, daemon=True).start()
    try:
        yield listener.getsockname()[1]
    finally:
        listener.close()
        for conn in accepted:
            conn.close()


@pytest.mark.parametrize("command", [("sync",), ("ask", "who owns payments-service?")])
def test_a_postgresql_server_that_never_answers_times_out(silent_server: int, monkeypatch: pytest.MonkeyPatch, command: tuple[str, ...]) -> None:
    monkeypatch.setattr(catalog_engine, "POSTGRES_CONNECT_TIMEOUT_S", 1)  # the default bound (10 s), made short
    url = f"postgresql+psycopg://wayfinder:s3cret-password@127.0.0.1:{silent_server}/wayfinder"
    ran = wayfinder(*command, database_url=url, config=EXAMPLE_CONFIG)
    assert ran.exit_code == 2
    assert ran.stderr.splitlines() == [
        f"error: database postgresql+psycopg://wayfinder:***@127.0.0.1:{silent_server}/wayfinder: connection timeout expired"
        " (the server did not answer in time; is it up and reachable? `?connect_timeout=N` in DATABASE_URL sets the wait)"
    ]


def test_connect_timeout_in_the_url_overrides_the_default(silent_server: int, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(catalog_engine, "POSTGRES_CONNECT_TIMEOUT_S", 3600)
    url = f"postgresql+psycopg://wayfinder@127.0.0.1:{silent_server}/wayfinder?connect_timeout=1"
    ran = wayfinder("ask", "who owns payments-service?", database_url=url, config=EXAMPLE_CONFIG)
    assert ran.exit_code == 2 and "connection timeout expired" in ran.stderr
