"""The command line's error boundary: an expected failure is one message on stderr and an exit code.

Exit codes (README "Exit codes"): 0 done or answered; 1 a sync had a failed source or an error
in a file or entity; 2 a configuration, database or startup error; 3 `ask` found no single answer.
"""

from __future__ import annotations

from typing import Any

import typer
from typer.core import TyperGroup

from bot.cli.terminal import err, say
from bot.settings import Settings
from catalog.errors import DatabaseError, WayfinderError
from catalog.store.database_errors import describe_database_error

EXIT_SYNC_FAILED = 1
EXIT_ERROR = 2
EXIT_NOT_ANSWERED = 3

class GuardedGroup(TyperGroup):
    """The root command group: Wayfinder's own errors and database errors end the run with exit 2."""

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except WayfinderError as exc:
            for line in str(exc).splitlines():
                say(err, f"error: {line}")
        except DatabaseError as exc:
            say(err, f"error: {describe_database_error(exc, Settings().database_url)}")
        raise typer.Exit(EXIT_ERROR)
