"""Process settings from the environment (DESIGN.md "Environment").

Only the CLI commands (`bot.cli.main`) construct `Settings`; the composition root (`bot.compose`) reads it; everything else receives values.
A plain pydantic model that reads the environment itself: `pydantic-settings` (and the asyncio it
imports) cost `wayfinder ask`, a new process per question, about a sixth of its start-up.
"""

from __future__ import annotations

import os
from importlib.resources import files
from pathlib import Path
from typing import Any, Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, SecretStr, model_validator

ENV_PREFIX = "WAYFINDER_"

# Package data (catalog/examples), so it ships in the wheel; pip installs packages unzipped, so this is a real file.
BUNDLED_CONFIG = Path(str(files("catalog") / "examples" / "wayfinder.yaml"))


class Settings(BaseModel):
    """Each field from `WAYFINDER_<FIELD>`, or from the names its `validation_alias` lists; names are case-insensitive."""

    model_config = ConfigDict(extra="ignore")

    database_url: str = Field(default="sqlite:///wayfinder.db", validation_alias=AliasChoices("DATABASE_URL", "WAYFINDER_DATABASE_URL"))
    config: Path | None = None
    public_url: str = "http://localhost:3000"
    slack_bot_token: SecretStr | None = Field(default=None, validation_alias="SLACK_BOT_TOKEN")
    slack_signing_secret: SecretStr | None = Field(default=None, validation_alias="SLACK_SIGNING_SECRET")
    slack_app_token: SecretStr | None = Field(default=None, validation_alias="SLACK_APP_TOKEN")
    slack_api_url: str = Field(default="https://slack.com/api/", validation_alias="SLACK_API_URL")
    log_format: Literal["text", "json"] = "text"  # WAYFINDER_LOG_FORMAT
    # false: an operator runs `wayfinder db upgrade` separately; sync/serve/demo then refuse an old schema
    auto_migrate: bool = True
    # WAYFINDER_USER: who `wayfinder actions approve|reject` acts as (a catalog User: user:default/jane.doe or jane.doe)
    user: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _from_environment(cls, given: Any) -> Any:
        """`Settings()` reads the process environment; values passed in are taken as they are."""
        if given:
            return given
        environ = {name.upper(): value for name, value in os.environ.items()}
        found: dict[str, str] = {}
        for name, f in cls.model_fields.items():
            alias = f.validation_alias
            names = [str(a) for a in alias.choices] if isinstance(alias, AliasChoices) else [alias] if isinstance(alias, str) else [ENV_PREFIX + name.upper()]
            value = next((environ[n] for n in names if n in environ), None)
            if value is not None:
                found[names[0] if alias else name] = value
        return found

    def config_path(self) -> Path:
        """`WAYFINDER_CONFIG`, else `wayfinder.yaml` here, else the bundled example config."""
        if self.config:
            return self.config
        local = Path("wayfinder.yaml")
        return local if local.is_file() else BUNDLED_CONFIG

    def falls_back_to_bundled_config(self) -> bool:
        """True when no config was given or found, so the example organisation stands in."""
        return self.config is None and self.config_path() == BUNDLED_CONFIG
