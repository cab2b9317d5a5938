"""Run the `wayfinder` command in-process, as its console script would, and capture what it prints.

Why in-process: a subprocess costs about a second per call here (interpreter start and imports)
and proves nothing more than `main()` does, since the console script only calls `bot.cli.main`.
The real entry point is still run as a subprocess where that is the point (tests/test_wheel.py).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from contextlib import chdir
from dataclasses import dataclass
from pathlib import Path

from typer.testing import CliRunner

from bot.cli.main import main

# Variables a developer's shell may set that would leak into the command under test.
_AMBIENT_PREFIXES = ("SLACK_", "WAYFINDER_", "DATABASE_URL")


@dataclass(frozen=True)
class Ran:
    """What a run printed and how it exited (named like `subprocess.CompletedProcess`)."""

    returncode: int
    stdout: str
    stderr: str


def run_wayfinder(*args: str, env: Mapping[str, str | None], cwd: Path) -> Ran:
    """`wayfinder ARGS` in `cwd` with `env` and none of the ambient Slack, Wayfinder or database variables."""
    cleared: dict[str, str | None] = {k: None for k in os.environ if k.startswith(_AMBIENT_PREFIXES)}
    runner = CliRunner()
    argv = sys.argv
    with chdir(cwd), runner.isolation(env={**cleared, "NO_COLOR": "1", **env}) as (stdout, stderr, _):
        sys.argv = ["wayfinder", *args]
        try:
            main()
            code = 0
        except SystemExit as exit_:
            code = exit_.code if isinstance(exit_.code, int) else 0 if exit_.code is None else 1
        finally:
            sys.argv = argv
            sys.stdout.flush()
            sys.stderr.flush()
        return Ran(code, stdout.getvalue().decode(), stderr.getvalue().decode())
