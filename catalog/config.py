"""`wayfinder.yaml`: the portal as code, validated with pydantic.

Errors name the file, line and key. Secrets are written `${ENV_VAR}` and resolved at load
time into `SecretStr`, so they never reach a log or a message.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator

from catalog.errors import ConfigError
from catalog.sync.triggers import trigger_for

_ENV = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SourceBase(_Strict):
    name: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_.-]{0,99}$")]
    schedule: str | None = None
    max_delete_fraction: Annotated[float, Field(gt=0, le=1)] = 0.5

    @field_validator("schedule")
    @classmethod
    def _valid_schedule(cls, v: str | None) -> str | None:
        if v is not None:
            trigger_for(v)
        return v


class BackstageSourceConfig(SourceBase):
    type: Literal["backstage"]
    path: Path
    max_file_mb: Annotated[float, Field(gt=0)] = 5.0


class HttpSourceBase(SourceBase):
    """Settings shared by sources that call an HTTP API."""

    token: SecretStr
    timeout_seconds: Annotated[float, Field(gt=0)] = 10.0
    max_retries: Annotated[int, Field(ge=0)] = 3


class GitHubSourceConfig(HttpSourceBase):
    type: Literal["github"]
    org: str
    api_url: str = "https://api.github.com"
    catalog_path: str = "catalog-info.yaml"
    webhook_secret: SecretStr | None = None
    include_archived: bool = True
    include_forks: bool = False


class PagerDutySourceConfig(HttpSourceBase):
    type: Literal["pagerduty"]
    api_url: str = "https://api.pagerduty.com"


class SlackSourceConfig(SourceBase):
    type: Literal["slack"]
    token: SecretStr | None = None  # default: SLACK_BOT_TOKEN
    api_url: str | None = None  # default: SLACK_API_URL


SourceConfig = Annotated[
    BackstageSourceConfig | GitHubSourceConfig | PagerDutySourceConfig | SlackSourceConfig, Field(discriminator="type")
]


SOURCE_TYPES = ("backstage", "github", "pagerduty", "slack")


class Config(_Strict):
    sources: list[SourceConfig] = Field(default_factory=list)
    path: Path | None = Field(default=None, exclude=True)

    @field_validator("sources")
    @classmethod
    def _unique_names(cls, v: list[SourceBase]) -> list[SourceBase]:
        names = [s.name for s in v]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"source names must be unique; repeated: {', '.join(dupes)}")
        return v

    def source(self, name: str) -> SourceBase:
        for s in self.sources:
            if s.name == name:
                return s
        raise ConfigError(f"no source named {name!r} in {self.path}; known: {', '.join(s.name for s in self.sources) or 'none'}")


def _lines(node: yaml.Node, path: tuple[Any, ...] = ()) -> dict[tuple[Any, ...], int]:
    """Map every key path of a YAML document to its line, for error messages."""
    found = {path: node.start_mark.line + 1}
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            found[path + (key.value,)] = key.start_mark.line + 1
            found |= {p: line for p, line in _lines(value, path + (key.value,)).items() if p != path + (key.value,)}
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            found |= _lines(item, path + (i,))
    return found


def _substitute(value: Any, where: str) -> Any:
    if isinstance(value, str):
        def env(m: re.Match[str]) -> str:
            if m.group(1) not in os.environ:
                raise ConfigError(f"{where}: environment variable {m.group(1)} is not set")
            return os.environ[m.group(1)]

        return _ENV.sub(env, value)
    if isinstance(value, dict):
        return {k: _substitute(v, f"{where}.{k}") for k, v in value.items()}
    if isinstance(value, list):
        return [_substitute(v, f"{where}[{i}]") for i, v in enumerate(value)]
    return value


def load_config(path: Path) -> Config:
    """Read and validate a config file; relative source paths are relative to the file."""
    if not path.is_file():
        raise ConfigError(f"config file {path} does not exist")
    text = path.read_text(encoding="utf-8")
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text) or {}
    except yaml.MarkedYAMLError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark else "?"
        raise ConfigError(f"{path}:{line}: invalid YAML: {exc.problem}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}:1: the config must be a mapping with a 'sources' list")
    lines = _lines(node) if node is not None else {}
    try:
        config = Config.model_validate(_substitute(data, str(path)))
    except ValidationError as exc:
        raise ConfigError("\n".join(_describe(path, err, lines, data) for err in exc.errors())) from None
    config.path = path
    for source in config.sources:
        if isinstance(source, BackstageSourceConfig) and not source.path.is_absolute():
            source.path = (path.parent / source.path).resolve()
    return config


def _describe(path: Path, err: Any, lines: dict[tuple[Any, ...], int], data: dict[str, Any]) -> str:
    loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and p in SOURCE_TYPES))
    line = next((lines[loc[:i]] for i in range(len(loc), -1, -1) if loc[:i] in lines), None)
    key = ".".join(str(p) for p in loc) or "(top level)"
    if err["type"] == "extra_forbidden":
        message = f"unknown key {loc[-1]!r}"
    elif err["type"] == "union_tag_invalid":
        known = ", ".join(SOURCE_TYPES)
        message = f"unknown source type {err['input'].get('type')!r} (known: {known})" if isinstance(err.get("input"), dict) else err["msg"]
    else:
        message = err["msg"].removeprefix("Value error, ")
    return f"{path}:{line or '?'}: {key}: {message}"
