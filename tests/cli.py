"""Run the `wayfinder` command in-process, as its console script would, and capture what it prints.

Why in-process: a subprocess costs about a second per call here (interpreter start and imports)
and proves nothing more than `main()` does, since the console script only calls `bot.cli.main`.
A real process is used where that is the point: the installed entry point (tests/test_wheel.py)
and `serve`, which blocks (`serving` below).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
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
    """A `wayfinder serve` process answering on `url`, writing stdout and stderr to `log`."""

    url: str
    process: subprocess.Popen[bytes]
    log: Path

    def output(self) -> str:
        """Everything it has printed so far."""
        return self.log.read_text()

    def stop(self, timeout: float = 10) -> str:
        """Stop it as an operator would (SIGTERM), wait for it to end, and return everything it printed."""
        self.process.terminate()
        self.process.wait(timeout=timeout)
        return self.output()


# What `serve` prints once it holds its port and has built its index (bot/cli/main.py).
_SERVING_ON = re.compile(r"Wayfinder is serving on (http://\S+) ")


@contextmanager
def serving(env: Mapping[str, str], *, cwd: Path, ready_within: float = 60, args: Sequence[str] = ()) -> Iterator[Served]:
    """`wayfinder serve --port 0 --no-scheduler [args]` in a real process with `env` (and none of the ambient Slack,
    Wayfinder or database variables), yielded once /healthz answers; killed afterwards if still running.

    The process picks its own free port and the URL is read from what it prints: a port the test picked and
    freed could be taken meanwhile by a server of a test running alongside, whose /healthz then answered for
    this one (a fresh clone's CI failed so). A process that exits or stays silent fails the test with its output.
    """
    environment = {k: v for k, v in os.environ.items() if not k.startswith(_AMBIENT_PREFIXES)} | dict(env)
    command = [sys.executable, "-c", "from bot.cli.main import main; main()", "serve", "--port", "0", "--no-scheduler", *args]
    with tempfile.TemporaryDirectory(prefix="wayfinder-serve-") as folder:
        log = Path(folder) / "serve.log"
        with log.open("ab") as sink:  # appended to by the process alone; read through separate opens
            process = subprocess.Popen(command, cwd=cwd, env=environment, stdout=sink, stderr=subprocess.STDOUT)
        try:
            yield _ready(process, log, time.monotonic() + ready_within)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()


def _ready(process: subprocess.Popen[bytes], log: Path, deadline: float) -> Served:
    """`process` once it has said where it serves and that address answers /healthz."""
    url = None
    with httpx.Client(timeout=5, verify=tls_context()) as probe:  # one client: each new one costs 60 ms of CPU
        while url is None or not _answers(probe, url):  # it imports (and migrates) before it binds, and builds its index before it listens
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                raise AssertionError(f"`wayfinder serve` never answered /healthz (exit {process.wait()}):\n{log.read_text()}")
            time.sleep(0.1)
            if url is None and (said := _SERVING_ON.search(log.read_text())):
                url = said.group(1)
    return Served(url, process, log)


def _answers(probe: httpx.Client, url: str) -> bool:
    try:
        probe.get(f"{url}/healthz")
    except httpx.TransportError:
        return False
    return True
