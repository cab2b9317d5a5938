"""Run the `wayfinder` command in-process, as its console script would, and capture what it prints.

Why in-process: a subprocess costs about a second per call here (interpreter start and imports)
and proves nothing more than `main()` does, since the console script only calls `bot.cli.main`.
A real process is used where that is the point: the installed entry point (tests/test_wheel.py)
and `serve`, which blocks (`serving` below).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import chdir, contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
from typer.testing import CliRunner

from bot.cli.main import main
from catalog.tls import tls_context

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


@dataclass(frozen=True)
class Served:
    """A `wayfinder serve` process answering on `url`."""

    url: str
    process: subprocess.Popen[str]

    def stop(self) -> str:
        """Stop it as an operator would (SIGTERM) and return everything it wrote to stderr."""
        self.process.terminate()
        return self.process.communicate(timeout=10)[1]


@contextmanager
def serving(env: Mapping[str, str], *, cwd: Path, ready_within: float = 60, args: Sequence[str] = ()) -> Iterator[Served]:
    """`wayfinder serve --no-scheduler [args]` in a real process with `env` (and none of the ambient Slack,
    Wayfinder or database variables), yielded once /healthz answers; killed afterwards if still running.

    A process that exits or stays silent fails the test with its stderr, read only once it has ended."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    environment = {k: v for k, v in os.environ.items() if not k.startswith(_AMBIENT_PREFIXES)} | dict(env)
    command = [sys.executable, "-c", "from bot.cli.main import main; main()", "serve", "--port", str(port), "--no-scheduler", *args]
    process = subprocess.Popen(command, cwd=cwd, env=environment, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    served = Served(f"http://127.0.0.1:{port}", process)
    try:
        with httpx.Client(base_url=served.url, timeout=5, verify=tls_context()) as probe:  # one client: each new one costs 60 ms of CPU
            deadline = time.monotonic() + ready_within
            while not _answers(probe):  # the process needs a moment to import (and migrate) before it binds
                if process.poll() is not None or time.monotonic() > deadline:
                    process.kill()
                    raise AssertionError(f"`wayfinder serve` never answered /healthz (exit {process.wait()}):\n{process.communicate()[1]}")
                time.sleep(0.1)
        yield served
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()


def _answers(probe: httpx.Client) -> bool:
    try:
        probe.get("/healthz")
    except httpx.TransportError:
        return False
    return True
