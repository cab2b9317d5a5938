"""A wheel built from this checkout, installed into a fresh virtualenv, runs the demo from anywhere.

Why: an editable install reads files straight from the source tree, so only a real install shows
whether the bundled example organisation, its config and the migrations ship inside the package.
The checkout copy is deleted before the demo runs, so nothing can be read from it. Slow (a fresh
virtualenv with every dependency): marked `slow`, deselected by default, run by `.ci/run`.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import venv
from pathlib import Path

import pytest

from tests.conftest import REPO

pytestmark = pytest.mark.slow

NOT_SOURCE = shutil.ignore_patterns(".git", ".venv", "build", "*.egg-info", "__pycache__", ".pytest_cache", "wayfinder.db*")


def _run(*command: str | Path, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([str(c) for c in command], cwd=cwd, env=env, capture_output=True, text=True, timeout=600, check=False)
    assert result.returncode == 0, f"{command}\n{result.stdout}\n{result.stderr}"
    return result


def test_installed_wheel_runs_the_demo_from_an_unrelated_directory(tmp_path: Path) -> None:
    source, wheels, env_dir, elsewhere = (tmp_path / name for name in ("source", "wheels", "venv", "elsewhere"))
    shutil.copytree(REPO, source, symlinks=True, ignore=NOT_SOURCE)
    _run(sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", wheels, source, cwd=tmp_path)
    shutil.rmtree(source)
    venv.create(env_dir, with_pip=True)
    [wheel] = wheels.glob("wayfinder-*.whl")
    _run(env_dir / "bin" / "pip", "install", "-q", wheel, cwd=tmp_path)

    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "WAYFINDER_", "DATABASE_URL", "PYTHON"))}
    bundled = _run(env_dir / "bin" / "python", "-c", "from bot.settings import BUNDLED_CONFIG as c; print(c)", cwd=elsewhere, env=env)
    assert Path(bundled.stdout.strip()).is_relative_to(env_dir)  # read from the installed package
    demo = _run(env_dir / "bin" / "wayfinder", "demo", "--no-serve", cwd=elsewhere, env=env)

    questions = re.findall(r"^> (.+)$", demo.stdout, flags=re.M)
    assert len(questions) == 3, demo.stdout
    assert all("from northwind, synced" in block for block in re.split(r"^> .+$", demo.stdout, flags=re.M)[1:])
    assert (elsewhere / "wayfinder.db").is_file()
