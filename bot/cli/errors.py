"""The command line's error boundary: an expected failure is one message on stderr and an exit code.

Exit codes (README "Exit codes"): 0 done or answered; 1 a sync had a failed source or an error
in a file or entity, or `check` found the entity below the level; 2 a configuration, database or
startup error; 3 `ask` found no single answer, or `check` no single entity.
"""

from __future__ import annotations

import sys
from typing import Any

import typer
from typer.core import TyperGroup

from bot.cli.asking import EXIT_ERROR, EXIT_NOT_ANSWERED
from bot.cli.terminal import err, say

__all__ = ["EXIT_ERROR", "EXIT_NOT_ANSWERED", "EXIT_SYNC_FAILED", "GuardedGroup", "report_error"]

EXIT_SYNC_FAILED = 1
EXIT_BELOW_LEVEL = 1  # `wayfinder check`: the deployment gate is closed


class GuardedGroup(TyperGroup):
    """The root command group: Wayfinder's own errors and database errors end the run with exit 2."""

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except Exception as exc:
            if not report_error(exc):
                raise
        raise typer.Exit(EXIT_ERROR)


def report_error(exc: Exception) -> bool:
    """Print a Wayfinder or database error as `error:` lines; False for anything else (a bug).

    Commands that never touch the database (a remote `ask`) must not pay for importing SQLAlchemy
    at start, so `catalog.errors` is looked up only if already imported: these errors cannot have
    been raised otherwise.
    """
    errors = sys.modules.get("catalog.errors")
    if errors is None:
        return False
    if isinstance(exc, errors.WayfinderError):
        for line in str(exc).splitlines():
            say(err, f"error: {line}")
    elif isinstance(exc, errors.DatabaseError):
        from bot.settings import Settings
        from catalog.store.database_errors import describe_database_error

        say(err, f"error: {describe_database_error(exc, Settings().database_url)}")
    else:
        return False
    return True
