"""The code checks itself: `.ci/run` runs ruff and mypy before any test, and ruff passes.

mypy itself is left to `.ci/run` (a cold run takes about a minute, too long for the suite).
"""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from benchmarks.bench_suite import readme_pytest_args
from tests.conftest import REPO

RUFF = Path(sys.executable).with_name("ruff")


def test_ci_runs_ruff_and_mypy_before_the_tests() -> None:
    steps = (REPO / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    ruff, mypy = steps.index(".venv/bin/ruff check ."), steps.index(".venv/bin/mypy")
    first_tests = next(i for i, line in enumerate(steps) if line.startswith("run_tests "))
    assert ruff < first_tests and mypy < first_tests


def test_the_checkers_are_dev_dependencies_and_configured() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    dev = " ".join(project["project"]["optional-dependencies"]["dev"])
    assert "ruff" in dev and "mypy" in dev
    assert {"E", "F", "W", "I", "B", "UP"} <= set(project["tool"]["ruff"]["lint"]["select"])
    assert set(project["tool"]["mypy"]["files"]) == {"catalog", "bot", "actions", "benchmarks", "tests"}


@pytest.mark.skipif(not RUFF.exists(), reason="ruff is not installed beside this Python (pip install -e '.[dev]')")
def test_ruff_passes() -> None:
    result = subprocess.run([str(RUFF), "check", "--no-cache", "."], cwd=REPO, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_readme_test_command_runs_the_suite_in_parallel_workers() -> None:
    """Under a minute on two cores needs both cores (issue 8.8): `-n auto`, with pytest-xdist a dev dependency."""
    assert readme_pytest_args()[:2] == ["-n", "auto"]
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    assert any(d.startswith("pytest-xdist") for d in project["project"]["optional-dependencies"]["dev"])
