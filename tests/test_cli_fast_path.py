"""`wayfinder ask` reads its arguments the same way whether the fast path or typer takes them.

Why: the plain `ask` form runs before typer is imported (bot.cli.asking), since typer and rich cost
a new process more than a remote answer. Two readers of one command line may drift apart; these
cases hold them together: whatever the fast path accepts, typer reads identically, and whatever it
declines (help, unknown or malformed options) is left for typer to explain.
"""

from __future__ import annotations

import gc
import os
import select
import subprocess
import sys
from pathlib import Path

import pytest
import typer
from sqlalchemy import create_engine, text

from bot.cli.asking import DEFAULT_TIMEOUT, AskArgs, parse_fast
from bot.cli.main import app
from tests.conftest import EXAMPLES, PG_URL, copied_database

ENV = {"WAYFINDER_URL": "http://from-env:1"}
ACCEPTED = (
    ["ask", "who owns x?"],
    ["ask", "--json", "who owns x?"],
    ["ask", "who owns x?", "--json"],
    ["ask", "--url", "http://a:2", "who owns x?"],
    ["ask", "--url=http://a:2", "--timeout=0.5", "who owns x?"],
    ["ask", "who owns x?", "--timeout", "3", "--json", "--url", "http://b:3"],
    ["ask", "--timeout", "1e-3", "hi"],
)
DECLINED: tuple[list[str], ...] = (
    ["ask"],
    ["ask", "--help"],
    ["ask", "-h"],
    ["ask", "--jsn", "who owns x?"],
    ["ask", "a", "b"],
    ["ask", "--timeout", "0", "x"],
    ["ask", "--timeout", "soon", "x"],
    ["ask", "--url"],
    ["ask", "--", "-x"],
    ["sync"],
    ["--help"],
    [],
)


def typer_reads(argv: list[str], env: dict[str, str]) -> AskArgs:
    command = typer.main.get_command(app).commands["ask"]  # type: ignore[attr-defined]
    with pytest.MonkeyPatch.context() as mp:
        for key in ("WAYFINDER_URL",):
            mp.delenv(key, raising=False)
        for key, value in env.items():
            mp.setenv(key, value)
        params = command.make_context("ask", list(argv[1:])).params
    return AskArgs(params["question"], params["as_json"], params["url"], params["timeout"])


@pytest.mark.parametrize("env", [{}, ENV], ids=["no-env", "WAYFINDER_URL"])
@pytest.mark.parametrize("argv", ACCEPTED, ids=" ".join)
def test_the_fast_path_reads_what_typer_reads(argv: list[str], env: dict[str, str]) -> None:
    fast = parse_fast(argv, env)
    assert fast is not None
    assert fast == typer_reads(argv, env)


@pytest.mark.parametrize("argv", DECLINED, ids=lambda a: " ".join(a) or "nothing")
def test_anything_else_is_left_to_typer(argv: list[str]) -> None:
    assert parse_fast(argv, ENV) is None


def test_the_default_timeout_is_typers() -> None:
    assert typer_reads(["ask", "x"], {}).timeout == DEFAULT_TIMEOUT


def test_a_remote_question_imports_neither_typer_nor_the_database_layer() -> None:
    """The console script's modules for `ask --url`, in a fresh interpreter (nothing listens on port 9).

    (rich is not checked: httpx imports it for its own command line whenever it is installed.)"""
    probe = (
        "import atexit, sys; from bot.cli.entry import main; sys.argv = ['wayfinder', 'ask', '--url', 'http://127.0.0.1:9', 'hi']\n"
        "atexit.register(lambda: print(sorted(({m.split('.')[0] for m in sys.modules} | set(sys.modules)) & {'typer', 'sqlalchemy', 'sqlmodel', 'pydantic', 'catalog.core'})))\n"
        "main()"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=False)
    assert (done.returncode, done.stdout.strip()) == (2, "[]"), done.stdout + done.stderr
    assert done.stderr.startswith("error: cannot reach http://127.0.0.1:9"), done.stderr


def test_an_in_process_question_gives_the_garbage_collector_back(monkeypatch: pytest.MonkeyPatch) -> None:
    """The fast path answers with the collector off (`bot.cli.entry`); a caller in the same process (tests) gets it
    back on, even when the question fails (nothing listens on port 9)."""
    from bot.cli import entry

    monkeypatch.setattr(sys, "argv", ["wayfinder", "ask", "--url", "http://127.0.0.1:9", "hi"])
    with pytest.raises(SystemExit) as ended:
        entry.main(end_process=False)
    assert ended.value.code == 2 and gc.isenabled()


# What a local question has no use for: migrations, the server, Slack, HTTP clients, the full CLI, templates,
# charts, pydantic-settings (the environment is read by `bot.settings` itself), Prometheus (nobody scrapes one question),
# and numpy (a typo in a catalog this small is looked up with sets).
NOT_FOR_A_QUESTION = {
    "alembic", "fastapi", "starlette", "uvicorn", "slack_bolt", "slack_sdk", "httpx", "typer", "rich", "jinja2", "matplotlib",
    "pydantic_settings", "prometheus_client", "numpy",
}  # fmt: skip


def test_a_local_question_imports_only_what_answering_needs(example_template: str, tmp_path: Path) -> None:
    """`wayfinder ask` with a typo over a synced catalog, in a fresh interpreter: answered, without the heavy modules
    other commands use (each costs a process per question its import), nor the PostgreSQL driver on SQLite,
    and without a garbage collection (~60 ms of a 0.45 s question, for next to no garbage)."""
    unwanted = NOT_FOR_A_QUESTION | (set() if PG_URL else {"psycopg"})
    probe = (  # the process ends without the interpreter's teardown, exit handlers first (bot.cli.entry)
        "import atexit, gc, sys; from bot.cli.entry import main; sys.argv = ['wayfinder', 'ask', 'who owns paymnts-service?']\n"
        "collections = lambda: sum(s['collections'] for s in gc.get_stats()); before = collections()\n"
        "atexit.register(lambda: print(collections() - before))\n"
        f"atexit.register(lambda: print(sorted({{m.split('.')[0] for m in sys.modules}} & set({sorted(unwanted)!r}))))\n"
        "main()"
    )
    with copied_database(example_template, tmp_path) as url:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("WAYFINDER_", "SLACK_", "DATABASE_URL"))}
        env |= {"DATABASE_URL": url, "WAYFINDER_CONFIG": str(EXAMPLES / "wayfinder.yaml"), "XDG_CACHE_HOME": str(tmp_path / "cache")}
        done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=True, env=env)
        engine = create_engine(url)
        with engine.connect() as conn:
            logged = conn.execute(text("SELECT surface, status FROM question_log WHERE question = 'who owns paymnts-service?'")).all()
        engine.dispose()
    answer, imported, collected = done.stdout.strip().rsplit("\n", 2)  # exit handlers run last registered first
    assert "is owned by" in answer, done.stdout + done.stderr
    assert imported == "[]", imported
    assert collected == "0", f"{collected} garbage collections while answering"
    assert [tuple(row) for row in logged] == [("cli", "answered")]  # committed before the process ended


def test_a_reader_that_stops_early_gets_no_traceback(example_template: str, tmp_path: Path) -> None:
    """`wayfinder ask … | head -1`: the pipe is closed before the answer is written; the command ends quietly with 141, as `SIGPIPE` would."""
    with copied_database(example_template, tmp_path) as url:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("WAYFINDER_", "SLACK_", "DATABASE_URL"))}
        env |= {"DATABASE_URL": url, "WAYFINDER_CONFIG": str(EXAMPLES / "wayfinder.yaml"), "XDG_CACHE_HOME": str(tmp_path / "cache")}
        read, write = os.pipe()
        os.close(read)  # the reader is gone before the process has even started
        try:
            done = subprocess.run([sys.executable, "-m", "bot.cli.entry", "ask", "who owns payments-service?"],
                                  stdout=write, stderr=subprocess.PIPE, text=True, timeout=120, env=env)  # fmt: skip
        finally:
            os.close(write)
    assert done.returncode == 141 and "Traceback" not in done.stderr, done.stderr


def test_the_answer_is_printed_before_the_question_log_waits_for_a_write_lock(example_template: str, tmp_path: Path) -> None:
    """`wayfinder ask ... | cat` printed nothing for 30 s while a sync held SQLite's write lock: the answer waited,
    in the pipe's buffer, for the question log's write (which waits up to 30 s for the lock, then gives up)."""
    if PG_URL:
        pytest.skip("SQLite's write lock")
    with copied_database(example_template, tmp_path) as url:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("WAYFINDER_", "SLACK_", "DATABASE_URL"))}
        env |= {"DATABASE_URL": url, "WAYFINDER_CONFIG": str(EXAMPLES / "wayfinder.yaml"), "XDG_CACHE_HOME": str(tmp_path / "cache")}
        writer = create_engine(url).connect()
        writer.exec_driver_sql("BEGIN EXCLUSIVE")  # what a sync's write holds
        try:
            asking = subprocess.Popen(
                [sys.executable, "-c", "from bot.cli.entry import main; main()", "ask", "who owns payments-service?"],
                stdout=subprocess.PIPE, text=True, env=env,
            )  # fmt: skip
            assert asking.stdout is not None
            # the lock is held for the whole 30 s the log's write waits; before the fix nothing came out in that time
            assert select.select([asking.stdout], [], [], 20)[0], "no answer while the write lock was held"
            assert asking.stdout.readline().startswith("component:payments-service (Payments Service) is owned by")
        finally:
            writer.rollback()
            writer.close()
        assert asking.wait(timeout=60) == 0
