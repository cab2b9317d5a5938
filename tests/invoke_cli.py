"""Run the `wayfinder` command in-process (typer's runner), with only the environment a test gives it."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner, Result

from bot.cli import app

# Variables a developer's shell may carry that would change what the command does.
_CLEARED = ("WAYFINDER_CONFIG", "WAYFINDER_AUTO_MIGRATE", "SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN", "COLUMNS")


def wayfinder(*args: str, database_url: str, config: Path | None = None, **env: str) -> Result:
    """`wayfinder ARGS` against `database_url` and `config` (None: whatever the command finds itself)."""
    environment: dict[str, str | None] = dict.fromkeys(_CLEARED) | {"DATABASE_URL": database_url, "NO_COLOR": "1"}
    if config is not None:
        environment["WAYFINDER_CONFIG"] = str(config)
    return CliRunner().invoke(app, list(args), env=environment | env)
