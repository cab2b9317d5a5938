"""The composition root: what every transport gets, built once from the settings and passed in.

`open_catalog` opens the `Catalog` over the configured database and config, `build_services` wraps
it with what listeners and routes need; the CLI and the server (`wayfinder serve`, `demo`) both
start here. No module globals: tests build their own `Services` against their own database. It
holds no Slack credentials (those go straight into the `WebClient` and Bolt `App`) and its repr
hides the catalog (whose database URL may carry a password), so logging it is safe.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from bot.settings import BUNDLED_CONFIG, Settings

if TYPE_CHECKING:  # `wayfinder ask --url` composes nothing: the database layer loads only when a catalog opens
    from actions.service import ActionService
    from catalog.core import Catalog


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Services:
    catalog: Catalog = field(repr=False)
    public_url: str = "http://localhost:3000"
    clock: Callable[[], datetime] = utcnow
    # Self-service actions over the same catalog; the Slack app gives it its notifier (`bot.slack.actions`).
    actions: ActionService = field(init=False, repr=False)

    def __post_init__(self) -> None:
        from actions.service import ActionService

        object.__setattr__(self, "actions", ActionService(self.catalog, public_url=self.public_url, clock=self.clock))


def _note(text: str) -> None:
    """An operator note on stderr, one line, kept out of stdout (which may be JSON)."""
    print(text, file=sys.stderr, flush=True)


def config_path(settings: Settings) -> Path:
    """The config file to load; says so once when the bundled example stands in."""
    if settings.falls_back_to_bundled_config():
        _note(f"note: no wayfinder.yaml here and WAYFINDER_CONFIG is not set; using the bundled example config {BUNDLED_CONFIG}")
    return settings.config_path()


def open_catalog(
    settings: Settings, *, config: Path | None = None, migrate: bool = False, index_dir: Path | None = None, metered: bool = True
) -> Catalog:
    """The catalog over the configured database; `migrate` brings its schema to head first
    (unless WAYFINDER_AUTO_MIGRATE=false), otherwise an old schema is refused. `index_dir` keeps
    the resolution index between runs and `metered=False` counts no answers (`ask`: one process per question)."""
    from catalog.config import load_config
    from catalog.core import Catalog

    token = settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else None
    catalog = Catalog(
        settings.database_url, load_config(config or config_path(settings)), settings.slack_api_url, token, index_dir=index_dir, metered=metered
    )
    if migrate and settings.auto_migrate and catalog.migrate_on_start():
        _note("The database schema was created or upgraded to the current version.")
    catalog.require_schema()
    return catalog


def build_services(settings: Settings, catalog: Catalog) -> Services:
    """What the Slack listeners and HTTP routes get."""
    return Services(catalog=catalog, public_url=settings.public_url)
