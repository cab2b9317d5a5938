"""Run the `wayfinder` command in-process (typer's runner), with only the environment a test gives it."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner, Result

from bot.cli.main import app
from tests.helpers import component, group

# Variables a developer's shell may carry that would change what the command does.
_CLEARED = ("WAYFINDER_CONFIG", "WAYFINDER_AUTO_MIGRATE", "WAYFINDER_USER", "SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN", "COLUMNS")


def wayfinder(*args: str, database_url: str, config: Path | None = None, **env: str) -> Result:
    """`wayfinder ARGS` against `database_url` and `config` (None: whatever the command finds itself)."""
    environment: dict[str, str | None] = dict.fromkeys(_CLEARED) | {"DATABASE_URL": database_url, "NO_COLOR": "1"}
    if config is not None:
        environment["WAYFINDER_CONFIG"] = str(config)
    return CliRunner().invoke(app, list(args), env=environment | env)


def one_source_config(tmp_path: Path, files: dict[str, str] | None = None) -> Path:
    """`tmp_path/wayfinder.yaml` with one Backstage source `main` reading `tmp_path/catalog`, which
    holds `files` (by default team-a and the component `billing` it owns)."""
    root = tmp_path / "catalog"
    root.mkdir()
    for name, body in (files or {"org.yaml": group("team-a") + "---\n" + component("billing")}).items():
        (root / name).write_text(body, encoding="utf-8")
    config = tmp_path / "wayfinder.yaml"
    config.write_text(f"sources:\n  - name: main\n    type: backstage\n    path: {root}\n", encoding="utf-8")
    return config
