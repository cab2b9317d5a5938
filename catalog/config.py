"""`wayfinder.yaml`: the portal as code, validated with pydantic.

Errors name the file, line and key. Secrets are written `${ENV_VAR}` and resolved at load
time into `SecretStr`, so they never reach a log or a message.
"""

from __future__ import annotations

import difflib
import functools
import os
import re
from collections.abc import Sequence
from pathlib import Path
from types import UnionType
from typing import Annotated, Any, Literal, TypeVar, Union, get_args, get_origin

import yaml
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, SecretStr, TypeAdapter, ValidationError, ValidationInfo, field_validator, model_validator

from catalog.errors import ConfigError
from catalog.scorecards.config import DigestsConfig, Initiative, ScorecardConfig, check_references
from catalog.sync.sources.bounded_yaml import FileTooCostly, check_bounds
from catalog.sync.triggers import trigger_for

_T = TypeVar("_T")
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
    allowed_roots: list[Path] = Field(default_factory=list)  # directories outside `path` that Locations may read


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
    # Who the adoption report's shares are of: the members of these user groups (handles or ids), else
    # every person in the workspace (no bots, apps or deactivated accounts; guests only when counted).
    engineer_usergroups: list[str] = Field(default_factory=list)
    count_guests: bool = False


SourceConfig = Annotated[
    BackstageSourceConfig | GitHubSourceConfig | PagerDutySourceConfig | SlackSourceConfig, Field(discriminator="type")
]


SOURCE_TYPES = ("backstage", "github", "pagerduty", "slack")


class QuestionsConfig(_Strict):
    """How asked questions are kept in `question_log` (see `catalog.answers.questionlog`)."""

    retention_days: Annotated[int, Field(gt=0)] | None = 90  # None keeps them for ever
    pseudonymise_askers: bool = False  # store a keyed hash (HMAC-SHA256) of who asked, not their id
    asker_key: SecretStr | None = None  # the HMAC key, written ${ENV_VAR}

    @model_validator(mode="after")
    def _key_when_pseudonymising(self) -> QuestionsConfig:
        if self.pseudonymise_askers and not (self.asker_key and self.asker_key.get_secret_value()):
            raise ValueError("asker_key is required when pseudonymise_askers is true (write it as ${ENV_VAR})")
        return self


class HttpAuthConfig(_Strict):
    """Bearer tokens for the pages and `/api/v1`; none means open to whoever reaches the server."""

    tokens: list[SecretStr] = Field(default_factory=list)

    @field_validator("tokens")
    @classmethod
    def _not_blank(cls, v: list[SecretStr]) -> list[SecretStr]:
        if any(len(t.get_secret_value().strip()) < 16 for t in v):
            raise ValueError("each token must be at least 16 characters (an unset or empty variable is not a token)")
        return v


class HttpConfig(_Strict):
    """`http:`: who may read the ownership pages and the JSON API, and how they link into Slack."""

    auth: HttpAuthConfig = Field(default_factory=HttpAuthConfig)
    # The workspace id (T…): with it, pages add `slack://` deep links that open the desktop app directly.
    slack_team_id: Annotated[str | None, Field(pattern=r"^[TE][A-Z0-9]{2,20}$")] = None
    # The Slack app's id (A…): with it, an ownership page's "Request…" buttons open Wayfinder in Slack.
    slack_app_id: Annotated[str | None, Field(pattern=r"^A[A-Z0-9]{2,20}$")] = None


class SignedProvider(_Strict):
    """PagerDuty signs each body with this secret (HMAC-SHA256)."""

    secret: SecretStr


class TokenProvider(_Strict):
    """Senders that cannot sign present this bearer token."""

    token: SecretStr

    @field_validator("token")
    @classmethod
    def _not_blank(cls, v: SecretStr) -> SecretStr:
        if len(v.get_secret_value().strip()) < 16:
            raise ValueError("the token must be at least 16 characters (an unset or empty variable is not a token)")
        return v


class AlertProviders(_Strict):
    """Only the providers listed here get a webhook; the others answer 404."""

    pagerduty: SignedProvider | None = None
    alertmanager: TokenProvider | None = None
    opsgenie: TokenProvider | None = None
    grafana: TokenProvider | None = None
    generic: TokenProvider | None = None


# Named groups of `alerts.links` patterns that a vendor's API is asked about (`alerts.lookups`).
VENDOR_LINK_GROUPS = ("grafana_dashboard", "grafana_rule", "sentry_issue", "datadog_monitor")
LINK_GROUPS = ("service_id", "incident", "name", *VENDOR_LINK_GROUPS)


class AlertLinkPattern(_Strict):
    """A pasted URL this pattern matches names a service by its `service_id` (PagerDuty), `incident`
    (an alert Wayfinder received) or `name` (resolved like a question) named group, or names a
    vendor's object (`grafana_dashboard`, `grafana_rule`, `sentry_issue`, `datadog_monitor`) that
    is looked up on the vendor's API when `alerts.lookups` has its token."""

    pattern: str

    @field_validator("pattern")
    @classmethod
    def _one_named_group(cls, v: str) -> str:
        try:
            groups = set(re.compile(v).groupindex)
        except re.error as exc:
            raise ValueError(f"not a regular expression: {exc}") from None
        if not groups & set(LINK_GROUPS):
            raise ValueError("the pattern needs a named group: " + ", ".join(f"(?P<{g}>...)" for g in LINK_GROUPS))
        return v


class VendorLookup(_Strict):
    """A vendor API that pasted links are looked up on: its base URL and a read-only token."""

    url: str
    token: SecretStr
    timeout_seconds: Annotated[float, Field(gt=0, le=10)] = 3.0


class SentryLookup(VendorLookup):
    # The organization slug issues are looked up in. Its length is not counted in the pattern: `[\w.-]{1,100}`
    # (Unicode word characters, a hundred times over) took pydantic-core's regex 60 ms to compile, a tenth of
    # every `wayfinder ask`.
    organization: Annotated[str, Field(pattern=r"^[\w.-]+$", max_length=100)]


class DatadogLookup(VendorLookup):
    """`token` is the API key; Datadog wants an application key beside it."""

    application_key: SecretStr


class AlertLookups(_Strict):
    """`alerts.lookups`: vendors whose API places a pasted link the URL alone cannot (or not well)."""

    grafana: VendorLookup | None = None
    sentry: SentryLookup | None = None
    datadog: DatadogLookup | None = None


# Links people paste from alert tools: PagerDuty incidents and services, Grafana alerts and dashboards
# (their uid; the dashboard's slug), Alertmanager alerts (the service label in the filter), Sentry
# issues (the issue id; the project), Datadog monitors (the monitor id; a `service:` tag in the URL).
# Replaced, not extended, by `alerts.links`.
DEFAULT_ALERT_LINKS = [
    r"https://[\w.-]+\.pagerduty\.com/incidents/(?P<incident>[A-Z0-9]+)",
    r"https://[\w.-]+\.pagerduty\.com/(?:service-directory|services)/(?P<service_id>P[A-Z0-9]+)",
    r"https://[\w.-]+/d/(?P<grafana_dashboard>[\w-]+)(?:/(?P<name>[\w-]+))?",
    r"https://[\w.-]+/alerting/grafana/(?P<grafana_rule>[\w-]+)/view(?:\?.*?\bservice%3D(?P<name>[\w-]+))?",
    r"https://[\w.-]+/#/alerts\?.*service%3D%22(?P<name>[\w-]+)",
    r"https://[\w.-]*sentry\.io/(?:organizations/[\w-]+/)?issues/(?:(?P<sentry_issue>\d+)/?)?(?:[^?]*\?(?:.*?&)?project=(?P<name>[\w-]+))?",
    r"https://[\w.-]+\.datadoghq\.(?:com|eu)/monitors/(?P<datadog_monitor>\d+)(?:.*?service(?::|%3A)(?P<name>[\w-]+))?",
]


class AlertsConfig(_Strict):
    """`alerts:`: where ownership cards for incoming alerts go (see `catalog.alerts`)."""

    channel: Annotated[str, Field(pattern=r"^[CG][A-Z0-9]{2,20}$")]
    route_to_owner_channel: bool = True
    fallback_contact: str = "@platform-oncall"
    labels: list[str] = Field(default_factory=lambda: ["service", "app", "job", "namespace"])
    providers: AlertProviders = Field(default_factory=AlertProviders)
    links: list[AlertLinkPattern] = Field(default_factory=lambda: [AlertLinkPattern(pattern=p) for p in DEFAULT_ALERT_LINKS])
    lookups: AlertLookups = Field(default_factory=AlertLookups)


class PulseConfig(_Strict):
    """The optional quarterly satisfaction survey, by DM to a sample of recently active people."""

    enabled: bool = False
    sample_size: Annotated[int, Field(gt=0)] = 20
    active_days: Annotated[int, Field(gt=0)] = 30  # who counts as active enough to ask


class AdoptionConfig(_Strict):
    """`adoption:`: usage events and the report (see `catalog.adoption`); people are pseudonymised
    like the question log (`questions.pseudonymise_askers`)."""

    retention_days: Annotated[int, Field(gt=0)] = 400  # a year-over-year view needs more than a year
    engineers: Annotated[int, Field(gt=0)] | None = None  # how many engineers the shares are of; default: catalog Users
    daily_active_bar: Annotated[float, Field(gt=0, le=1)] = 0.5  # the share a successful portal reaches daily
    report_channel: Annotated[str | None, Field(pattern=r"^[CG][A-Z0-9]{2,20}$")] = None  # weekly platform-team digest
    admins: list[str] = Field(default_factory=list)  # Slack user ids who approve learned aliases
    pulse: PulseConfig = Field(default_factory=PulseConfig)


class Config(_Strict):
    sources: list[SourceConfig] = Field(default_factory=list)
    questions: QuestionsConfig = Field(default_factory=QuestionsConfig)
    adoption: AdoptionConfig = Field(default_factory=AdoptionConfig)
    http: HttpConfig = Field(default_factory=HttpConfig)
    alerts: AlertsConfig | None = None
    # Self-service actions, each a mapping validated by `actions.definitions` (which the catalog may not
    # import) through `validate_section`, so its errors name file, line and key like every other one.
    actions: list[dict[str, Any]] = Field(default_factory=list)
    scorecards: list[ScorecardConfig] = Field(default_factory=list)
    initiatives: list[Initiative] = Field(default_factory=list)
    digests: DigestsConfig = Field(default_factory=DigestsConfig)
    path: Path | None = Field(default=None, exclude=True)
    _lines: dict[tuple[Any, ...], int] = PrivateAttr(default_factory=dict)

    @field_validator("sources")
    @classmethod
    def _unique_names(cls, v: list[SourceBase]) -> list[SourceBase]:
        names = [s.name for s in v]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"source names must be unique; repeated: {', '.join(dupes)}")
        return v

    @field_validator("scorecards")
    @classmethod
    def _unique_scorecards(cls, v: list[ScorecardConfig]) -> list[ScorecardConfig]:
        check_references(v, [])
        return v

    @field_validator("initiatives")
    @classmethod
    def _initiatives_name_scorecards(cls, v: list[Initiative], info: ValidationInfo) -> list[Initiative]:
        check_references(info.data.get("scorecards") or [], v)
        return v

    def scorecard(self, scorecard_id: str) -> ScorecardConfig:
        for card in self.scorecards:
            if card.id == scorecard_id:
                return card
        where = self.path.name if self.path else "the config"  # not its absolute path: the API hands this message to anyone
        raise ConfigError(f"no scorecard {scorecard_id!r} in {where}; known: {', '.join(c.id for c in self.scorecards) or 'none'}")

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


def _substitute(value: Any, loc: tuple[Any, ...], missing: list[tuple[tuple[Any, ...], str]]) -> Any:
    """Resolve `${VAR}` everywhere; unset variables are collected with their key path, not raised,
    so they are reported together with every other error in the file."""
    if isinstance(value, str):
        def env(m: re.Match[str]) -> str:
            if m.group(1) not in os.environ:
                missing.append((loc, m.group(1)))
                return m.group(0)
            return os.environ[m.group(1)]

        return _ENV.sub(env, value)
    if isinstance(value, dict):
        return {k: _substitute(v, loc + (k,), missing) for k, v in value.items()}
    if isinstance(value, list):
        return [_substitute(v, loc + (i,), missing) for i, v in enumerate(value)]
    return value


def _parse(text: str, loader_class: type[yaml.SafeLoader] | type[yaml.CSafeLoader]) -> tuple[yaml.Node | None, Any]:
    """The document's nodes (their lines go into error messages) and its data, parsed once: libyaml's parser
    (when PyYAML has it) builds the nodes, the safe constructor the data. Parsing twice in pure Python
    cost each `wayfinder ask` about 20 ms for a 50-line config.

    The nodes are measured before anything walks them: an alias bomb would otherwise be expanded by
    the line map and `${VAR}` substitution, hanging every command while it ate gigabytes.
    """
    loader = loader_class(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None, {}
        check_bounds(node)
        return node, loader.construct_document(node) or {}
    finally:
        loader.dispose()


def load_config(path: Path) -> Config:
    """Read and validate a config file; relative source paths are relative to the file."""
    if path.is_dir():
        raise ConfigError(f"config file {path} is a directory: WAYFINDER_CONFIG names the YAML file itself, such as {path / 'wayfinder.yaml'}")
    if not path.is_file():
        raise ConfigError(f"config file {path} does not exist")
    text = _read_text(path)
    try:
        try:
            node, data = _parse(text, getattr(yaml, "CSafeLoader", yaml.SafeLoader))
        except yaml.MarkedYAMLError:
            node, data = _parse(text, yaml.SafeLoader)  # the error, worded by the pure-Python parser as always
    except yaml.MarkedYAMLError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark else "?"
        raise ConfigError(f"{path}:{line}: invalid YAML: {exc.problem}") from None
    except FileTooCostly as exc:
        raise ConfigError(f"{path}:{exc.line or '?'}: invalid YAML: {exc.message}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}:1: the config must be a mapping with a 'sources' list")
    lines = _lines(node) if node is not None else {}
    missing: list[tuple[tuple[Any, ...], str]] = []
    resolved = _substitute(data, (), missing)
    errors = [(_line(loc, lines), _key(loc), f"environment variable {var} is not set") for loc, var in missing]
    config: Config | None = None
    try:
        config = Config.model_validate(resolved)
    except ValidationError as exc:
        unset = {key for _, key, _ in errors}  # a value still reading `${VAR}` is that variable's fault
        errors += [e for e in map(functools.partial(_describe, lines=lines), exc.errors()) if e[1] not in unset]
    if errors or config is None:
        # Every problem at once, in file order, so one edit-and-retry fixes them all.
        errors.sort(key=lambda e: (e[0] is None, e[0] or 0))
        raise ConfigError("\n".join(f"{path}:{line or '?'}: {key}: {message}" for line, key, message in errors))
    config.path, config._lines = path, lines
    for source in config.sources:
        if isinstance(source, BackstageSourceConfig):
            source.path, source.allowed_roots = _beside(path, source.path), [_beside(path, root) for root in source.allowed_roots]
    return config


def _read_text(path: Path) -> str:
    """The file as text; bytes that are not UTF-8 are a config error on their line, not a traceback."""
    raw = path.read_bytes()
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise ConfigError(f"{path}:{line}: not UTF-8 text (save the file as UTF-8)") from None


def validate_section(config: Config, key: str, adapter: TypeAdapter[_T], *, tags: Sequence[str] = ()) -> _T:
    """Validate the raw section `key` of a loaded config with `adapter`; ConfigError names file, line and key.

    `tags` are the section's discriminator values (`type: webhook`), left out of the key shown.
    """
    try:
        return adapter.validate_python(getattr(config, key))
    except ValidationError as exc:
        described = [_describe({**err, "loc": (key, *err["loc"])}, config._lines, root=adapter, tags=tags) for err in exc.errors()]
        described.sort(key=lambda e: (e[0] is None, e[0] or 0))
        raise ConfigError("\n".join(f"{config.path or 'config'}:{line or '?'}: {where}: {message}" for line, where, message in described)) from None


def _beside(config: Path, path: Path) -> Path:
    """A path from the config file, relative to the file's directory."""
    return path if path.is_absolute() else (config.parent / path).resolve()


def _line(loc: tuple[Any, ...], lines: dict[tuple[Any, ...], int]) -> int | None:
    """The line of the deepest part of `loc` that the YAML document has."""
    return next((lines[loc[:i]] for i in range(len(loc), -1, -1) if loc[:i] in lines), None)


def _key(loc: tuple[Any, ...]) -> str:
    return ".".join(str(p) for p in loc) or "(top level)"


def _describe(
    err: Any, lines: dict[tuple[Any, ...], int], root: TypeAdapter[Any] | None = None, tags: Sequence[str] = SOURCE_TYPES
) -> tuple[int | None, str, str]:
    """(line, key, message) for one pydantic error; `root` validated a section (its first key) rather than the whole `Config`."""
    loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and p in tags))
    if err["type"] == "extra_forbidden":
        parent = err["loc"][:-1]
        known = _known_keys(parent[1:], root._type) if root is not None else _known_keys(parent)
        message = f"unknown key {loc[-1]!r}" + _did_you_mean(str(loc[-1]), known)
    elif err["type"] == "union_tag_invalid" and isinstance(err.get("input"), dict):
        written = str(err["input"].get("type"))
        what = "source type" if root is None else "type"
        message = f"unknown {what} {written!r}" + (_did_you_mean(written, tags) or f" (known: {', '.join(tags)})")
    else:
        message = err["msg"].removeprefix("Value error, ")
    return _line(loc, lines), _key(loc), message


def _did_you_mean(written: str, known: Sequence[str]) -> str:
    nearest = difflib.get_close_matches(written, known, n=1, cutoff=0.6)
    return f" (did you mean {nearest[0]!r}?)" if nearest else ""


def _known_keys(loc: tuple[Any, ...], root: Any = None) -> list[str]:
    """The keys allowed at `loc` (a pydantic error location, discriminator tags included) below `root` (the `Config`)."""
    tp: Any = root or Config
    for part in loc:
        tp = _step(tp, part)
    tp = _unwrap(tp)
    if not (isinstance(tp, type) and issubclass(tp, BaseModel)):
        return []
    return [name for name, field in tp.model_fields.items() if not field.exclude]


def _unwrap(tp: Any) -> Any:
    """`X` from `Annotated[X, ...]` and `X | None`."""
    while True:
        if get_origin(tp) is Annotated:
            tp = get_args(tp)[0]
        elif get_origin(tp) in (Union, UnionType) and type(None) in get_args(tp) and len(get_args(tp)) == 2:
            tp = next(a for a in get_args(tp) if a is not type(None))
        else:
            return tp


def _step(tp: Any, part: Any) -> Any:
    """The type one location part below `tp`: a model field, a list item, or a union member by its tag."""
    tp = _unwrap(tp)
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        field = tp.model_fields.get(str(part))
        return field.annotation if field else None
    if get_origin(tp) is list:
        return get_args(tp)[0]
    if get_origin(tp) in (Union, UnionType):
        for member in get_args(tp):
            tag = member.model_fields.get("type") if isinstance(member, type) and issubclass(member, BaseModel) else None
            if tag is not None and part in get_args(tag.annotation):
                return member
    return None
