"""`wayfinder ask`: the command's work, and the start-up fast path that runs it without typer.

`wayfinder ask` is a new process per question, so its start-up is most of what an engineer waits
for. typer (which builds pydantic adapters for every option) and rich cost more than a remote
answer itself, so `main()` first offers the arguments to `fast_ask`: the plain form
(`ask QUESTION [--json] [--url URL] [--timeout S]`) runs here directly; anything else (`--help`, an
unknown or malformed option, no question) returns None and goes to typer, which explains it. Both
ways end in `run_ask`, so they print and exit alike; tests/test_cli_fast_path.py checks the
fast path reads every form exactly as typer does.

Nothing here imports typer, rich, SQLAlchemy or pydantic at module level.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from catalog.answers.status import ANSWERED_STATUSES

EXIT_ERROR = 2
EXIT_NOT_ANSWERED = 3
DEFAULT_TIMEOUT = 10.0  # seconds to wait for a server (`--timeout`)
MIN_TIMEOUT = 0.001


@dataclass(frozen=True)
class AskArgs:
    question: str
    as_json: bool = False
    url: str | None = None
    timeout: float = DEFAULT_TIMEOUT


def run_ask(args: AskArgs) -> int:
    """Answer and print; the exit code (0 answered, 2 the server failed, 3 not answered)."""
    if args.url:
        from bot.cli.remote import RemoteError, ask_remote
        from catalog.safe_text import neutralise

        try:
            body = ask_remote(args.url, args.question, timeout=args.timeout)
        except RemoteError as exc:
            print(f"error: {neutralise(str(exc), multiline=False)}", file=sys.stderr, flush=True)
            return EXIT_ERROR
        return _shown(body, args)
    return _ask_local(args.question, lambda body: _shown(body, args))


def _shown(body: dict[str, Any], args: AskArgs) -> int:
    """Print the answer now (a pipe would hold it until exit) and say how to exit."""
    print(json.dumps(body, default=str) if args.as_json else body["text"], flush=True)
    return 0 if body["status"] in ANSWERED_STATUSES else EXIT_NOT_ANSWERED


def _ask_local(question: str, show: Callable[[dict[str, Any]], int]) -> int:
    """`show` the answer, then write the question log: on SQLite that may wait for a sync's write lock (up to
    30 s), and `wayfinder ask ... | cat` printed nothing until then."""
    from datetime import UTC, datetime

    from bot.compose import open_catalog
    from bot.settings import Settings
    from catalog.answers.ask import empty_catalog_answer
    from catalog.core import default_index_dir
    from catalog.errors import NoSchema

    try:
        catalog = open_catalog(Settings(), index_dir=default_index_dir(), metered=False)
    except NoSchema:  # a first run: nothing was synced, so the tables were never created
        return show(empty_catalog_answer(question, now=datetime.now(UTC)).to_json())
    try:
        return show(catalog.ask(question, transport="cli", asker=cli_asker()).to_json())
    finally:
        catalog.dispose()  # connections closed here: the process ends without the interpreter's teardown (bot.cli.entry)


def cli_asker() -> str:
    """Who asks from a terminal, for the question log: `cli:<login>`."""
    import getpass

    try:
        return f"cli:{getpass.getuser()}"
    except (OSError, KeyError):  # no login name in the environment or the password database
        return "cli:unknown"


def parse_fast(argv: Sequence[str], environ: dict[str, str] | os._Environ[str] = os.environ) -> AskArgs | None:
    """`argv` (without the program name) as the plain `ask` form, or None when typer should read it."""
    if not argv or argv[0] != "ask":
        return None
    question: str | None = None
    as_json, url, timeout = False, environ.get("WAYFINDER_URL") or None, DEFAULT_TIMEOUT
    rest = iter(argv[1:])
    for arg in rest:
        if arg == "--json":
            as_json = True
        elif arg.partition("=")[0] in ("--url", "--timeout"):
            name, eq, value = arg.partition("=")
            given = value if eq else next(rest, None)
            if given is None:
                return None
            if name == "--url":
                url = given
            else:
                try:
                    timeout = float(given)
                except ValueError:
                    return None
                if not timeout >= MIN_TIMEOUT:
                    return None
        elif arg.startswith("-") or question is not None:  # --help, short flags, `--`, a second argument: typer's to explain
            return None
        else:
            question = arg
    return None if question is None else AskArgs(question, as_json, url, timeout)


def fast_ask(argv: Sequence[str]) -> int | None:
    """Run the plain `ask` form and return its exit code; None when it is not that form."""
    args = parse_fast(argv)
    if args is None:
        return None
    try:
        return run_ask(args)
    except Exception as exc:
        from bot.cli.errors import report_error  # typer loads only on this path

        if report_error(exc):
            return EXIT_ERROR
        raise
