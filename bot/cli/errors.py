"""The command line's error boundary: an expected failure is one message on stderr and an exit code.

Exit codes (README "Exit codes"): 0 done or answered; 1 a sync had a failed source or an error
in a file or entity; 2 a configuration, database or startup error; 3 `ask` found no single answer.
"""

from __future__ import annotations

from typing import Any

import typer
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, SQLAlchemyError
from typer.core import TyperGroup

from bot.settings import Settings
from bot.cli.terminal import err, say
from catalog.errors import WayfinderError

EXIT_SYNC_FAILED = 1
EXIT_ERROR = 2
EXIT_NOT_ANSWERED = 3

_HINTS = {
    "readonly database": "Wayfinder needs write access to the database file and its directory",
    "password authentication failed": "check the user and password in DATABASE_URL",
    "does not exist": "check the user and database name in DATABASE_URL",
    "connection refused": "is the database server running and DATABASE_URL's host and port right?",
    "unable to open database file": "check that the database file's directory exists and is writable",
}


class GuardedGroup(TyperGroup):
    """The root command group: Wayfinder's own errors and database errors end the run with exit 2."""

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except WayfinderError as exc:
            for line in str(exc).splitlines():
                say(err, f"error: {line}")
        except SQLAlchemyError as exc:
            say(err, f"error: {describe_database_error(exc, Settings().database_url)}")
        raise typer.Exit(EXIT_ERROR)


def describe_database_error(exc: SQLAlchemyError, url: str) -> str:
    """One line: which database (password hidden), the driver's reason, and what to check."""
    lines = str(exc.orig if isinstance(exc, DBAPIError) else exc).splitlines()
    reason = "; ".join(" ".join(line.split()) for line in lines if line.strip())
    hint = next((h for needle, h in _HINTS.items() if needle in reason.lower()), None)
    return f"database {_safe(url)}: {reason}" + (f" ({hint})" if hint else "")


def _safe(url: str) -> str:
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "(DATABASE_URL, which cannot be parsed)"
