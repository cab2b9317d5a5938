"""The test suite's wall time: the README's test command beside the same tests in one process.

Goal (issue 8, point 8): the README's test command under a minute on a two-core machine. The
pytest part of that command (the line after "Run the tests" in README.md, which `.ci/run` also
runs) is timed beside the serial baseline (`-p no:xdist`, every test in one process) in the same
run, with the CPU time of each and the load average, because a shared machine's other work shows
in wall times. Installing the project (`pip install -e`) is left out: it is the same either way.

    .venv/bin/python -m benchmarks.bench_suite              # both, about 3 minutes on two idle cores
    .venv/bin/python -m benchmarks.bench_suite --no-baseline
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import shlex
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
GOAL = 60.0


def readme_pytest_args() -> list[str]:
    """The arguments after `-m pytest` in the README's test command."""
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    command = re.search(r"^Run the tests.*?^```sh\n(.*?)\n", readme, re.S | re.M)
    assert command, "no test command found in README.md"
    words = shlex.split(command.group(1).split("&&")[-1])
    return words[words.index("pytest") + 1 :]


def serial(args: list[str]) -> list[str]:
    """The same tests in one process: the worker count dropped, xdist off."""
    kept = [a for i, a in enumerate(args) if not (a == "-n" or a.startswith("-n") and len(a) > 2 or i and args[i - 1] == "-n")]
    return [*kept, "-p", "no:xdist"]


def timed(args: list[str]) -> tuple[float, float, str]:
    """Wall and CPU seconds (this child and its own children, the workers) and pytest's last line."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "pytest", *args], cwd=REPO, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    last = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else done.stderr.strip()[-200:]
    return wall, cpu, last


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--no-baseline", action="store_true", help="skip the serial run")
    options = parser.parse_args()
    readme = readme_pytest_args()
    runs = [("README command: pytest " + " ".join(readme), readme)]
    if not options.no_baseline:
        runs.append(("baseline: the same tests in one process (-p no:xdist)", serial(readme)))
    print(f"{os.cpu_count()} CPUs; goal: README command under {GOAL:.0f} s")
    print(f"{'run':58} {'wall s':>8} {'cpu s':>8} {'load before':>12} {'load after':>11}  result")
    for name, args in runs:
        load = os.getloadavg()[0]
        wall, cpu, last = timed(args)
        print(f"{name:58} {wall:8.1f} {cpu:8.1f} {load:12.2f} {os.getloadavg()[0]:11.2f}  {last}")


if __name__ == "__main__":
    main()
