"""`actions:` in `wayfinder.yaml`: what may be requested, by whom, who approves, and what runs.

Validated with pydantic through `catalog.config.validate_section`, so errors name file, line and
key like every other config error; secrets are `${ENV_VAR}` and held as `SecretStr`.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, PlainSerializer, SecretStr, TypeAdapter, field_validator, model_validator

from catalog.config import Config, validate_section
from catalog.errors import ConfigError

_DURATION = re.compile(r"^\s*(\d+)\s*(m|h|d|w)\s*$")
_UNITS = {"m": timedelta(minutes=1), "h": timedelta(hours=1), "d": timedelta(days=1), "w": timedelta(weeks=1)}


def parse_duration(value: Any) -> timedelta:
    """`30m`, `4h`, `3d`, `1w` (or a timedelta); ValueError says the accepted forms."""
    if isinstance(value, timedelta):
        return value
    m = _DURATION.match(str(value))
    if not m or int(m.group(1)) == 0:
        raise ValueError(f"{value!r} is not a duration like 30m, 4h, 3d or 1w")
    try:
        return int(m.group(1)) * _UNITS[m.group(2)]
    except OverflowError:  # "99999999999d" typed into a form: more than a timedelta holds (a 500, the form lost)
        raise ValueError(f"{value!r} is far longer than any duration an action allows") from None


def format_duration(value: timedelta) -> str:
    for unit in ("w", "d", "h"):
        if value % _UNITS[unit] == timedelta(0):
            return f"{value // _UNITS[unit]}{unit}"
    return f"{value // _UNITS['m']}m"


def describe_duration(value: Any) -> str:
    """`2d` as people say it: "2 days"."""
    text = format_duration(parse_duration(value))
    count, unit = int(text[:-1]), {"w": "week", "d": "day", "h": "hour", "m": "minute"}[text[-1]]
    return f"{count} {unit}{'' if count == 1 else 's'}"


Duration = Annotated[timedelta, BeforeValidator(parse_duration), PlainSerializer(format_duration)]
SECRET_NAME = re.compile(r"secret|password|passwd|token|api_key|private_key", re.I)
# Who a principal list names: the owning team's leads or members, a Group, a Slack user group or a User.
PRINCIPAL = re.compile(r"^(owner-leads|owner-members|(group|user):[a-z0-9_.-]+/[a-z0-9_.-]+|slack-usergroup:S[A-Z0-9]{2,20}|slack:[UW][A-Z0-9]{2,20})$", re.I)


def _principals(value: list[str]) -> list[str]:
    bad = [p for p in value if not PRINCIPAL.match(p)]
    if bad:
        raise ValueError(f"{', '.join(map(repr, bad))}: expected owner-leads, owner-members, group:namespace/name, slack-usergroup:S…, slack:U… or user:namespace/name")
    return value


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _Input(_Strict):
    id: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,40}$")]
    label: str | None = None
    hint: str | None = None
    optional: bool = False
    secret: bool = False  # masked in the audit log, the card and the CLI

    @property
    def masked(self) -> bool:
        return self.secret or bool(SECRET_NAME.search(self.id))

    @property
    def title(self) -> str:
        return self.label or self.id.replace("_", " ").capitalize()


class TextInput(_Input):
    type: Literal["text"]
    min_length: Annotated[int, Field(ge=0)] = 0
    max_length: Annotated[int, Field(gt=0, le=3000)] = 3000
    pattern: str | None = None
    multiline: bool = False
    default: str | None = None


class NumberInput(_Input):
    type: Literal["number"]
    min: float | None = None
    max: float | None = None
    integer: bool = True
    default: float | None = None


class BooleanInput(_Input):
    type: Literal["boolean"]
    default: bool = False


class ChoiceInput(_Input):
    type: Literal["choice", "multi-choice"]
    options: Annotated[list[str], Field(min_length=1, max_length=100)]
    default: str | list[str] | None = None


class EntityInput(_Input):
    type: Literal["entity"]
    kind: str | None = None
    entity_type: str | None = None  # spec.type, e.g. database
    owner: Literal["any", "mine"] = "any"  # "mine": owned by one of the requester's teams


class UserInput(_Input):
    type: Literal["user"]


class DurationInput(_Input):
    type: Literal["duration"]
    default: Duration | None = None
    max: Duration | None = None


class DateInput(_Input):
    type: Literal["date"]


InputSpec = Annotated[
    TextInput | NumberInput | BooleanInput | ChoiceInput | EntityInput | UserInput | DurationInput | DateInput, Field(discriminator="type")
]
INPUT_TYPES = ("text", "number", "boolean", "choice", "multi-choice", "entity", "user", "duration", "date")


class Stage(_Strict):
    approvers: Annotated[list[str], Field(min_length=1)]
    count: Annotated[int, Field(ge=1)] = 1

    _check = field_validator("approvers")(_principals)


class ApprovalSpec(_Strict):
    policy: Literal["none", "any", "quorum", "stages"] = "any"
    approvers: list[str] = Field(default_factory=lambda: ["owner-leads"])
    count: Annotated[int, Field(ge=1)] = 1
    stages: list[Stage] = Field(default_factory=list)
    self_approval: bool = False
    expires_after: Duration = timedelta(days=3)
    remind_after: Duration | None = timedelta(hours=4)
    escalate_after: Duration | None = None  # default: twice remind_after
    escalate_to: list[str] = Field(default_factory=list)

    _check = field_validator("approvers", "escalate_to")(_principals)

    @model_validator(mode="after")
    def _consistent(self) -> ApprovalSpec:
        if self.policy == "stages" and not self.stages:
            raise ValueError("policy 'stages' needs a non-empty stages list")
        if self.policy != "stages" and self.stages:
            raise ValueError("stages are only used with policy 'stages'")
        if self.policy in ("any", "quorum") and not self.approvers:
            raise ValueError(f"policy {self.policy!r} needs approvers")
        return self

    def stage_list(self) -> list[Stage]:
        """The approval as ordered stages: `any` is one stage of one, `quorum` one stage of `count`."""
        if self.policy == "none":
            return []
        if self.policy == "stages":
            return self.stages
        return [Stage(approvers=self.approvers, count=self.count if self.policy == "quorum" else 1)]

    @property
    def escalation_delay(self) -> timedelta | None:
        return self.escalate_after or (self.remind_after * 2 if self.remind_after else None)


class WebhookExecutor(_Strict):
    type: Literal["webhook"]
    url: str
    secret: SecretStr
    timeout_seconds: Annotated[float, Field(gt=0, le=300)] = 10.0
    retries: Annotated[int, Field(ge=0, le=10)] = 3


class GitHubWorkflowExecutor(_Strict):
    type: Literal["github-workflow"]
    source: str  # a configured github source: its API URL and token are used
    repository: Annotated[str, Field(pattern=r"^[\w.-]+/[\w.-]+$")]
    workflow: str  # file name (deploy.yml) or id
    ref: str = "main"


class CatalogExecutor(_Strict):
    """Registers an entity in Wayfinder's own store; `{input}` placeholders are filled from the request."""

    type: Literal["catalog"]
    kind: str = "Component"
    name: str  # e.g. "{name}" or "dev-{requester}-{id}"
    entity_type: str | None = None
    owner: str | None = None  # e.g. "{team}"; default: the requester's team (or the target's owner)
    description: str | None = None
    lifecycle: str | None = None


class InternalExecutor(_Strict):
    """A Python callable registered in code (`ActionService.register_internal`): built-in actions."""

    type: Literal["internal"]
    handler: str


ExecutorSpec = Annotated[WebhookExecutor | GitHubWorkflowExecutor | CatalogExecutor | InternalExecutor, Field(discriminator="type")]
EXECUTOR_TYPES = ("webhook", "github-workflow", "catalog", "internal")


class TTLSpec(_Strict):
    from_input: str | None = None  # a duration input
    duration: Duration | None = None  # or a fixed one
    max: Duration | None = None
    teardown: ExecutorSpec | None = None  # the catalog executor retires its entity without one
    extend_approval: bool = False  # Extend files a request approved like the original, instead of extending at once

    @model_validator(mode="after")
    def _one(self) -> TTLSpec:
        if (self.from_input is None) == (self.duration is None):
            raise ValueError("give exactly one of from_input (a duration input) and duration")
        return self


class Target(_Strict):
    kind: str | None = None
    type: str | None = None


class ActionDefinition(_Strict):
    id: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]{0,60}$")]
    title: str
    description: str = ""
    requesters: Literal["everyone"] | list[str] = "everyone"
    channels: list[str] = Field(default_factory=list)  # where it may be requested (Slack channel ids); empty: anywhere
    channel: Annotated[str | None, Field(pattern=r"^[CG][A-Z0-9]{2,20}$")] = None  # the approval card's channel
    target: Target | None = None
    inputs: list[InputSpec] = Field(default_factory=list)
    approval: ApprovalSpec = Field(default_factory=ApprovalSpec)
    executor: ExecutorSpec
    ttl: TTLSpec | None = None

    @field_validator("requesters")
    @classmethod
    def _requesters(cls, v: str | list[str]) -> str | list[str]:
        return v if isinstance(v, str) else _principals(v)

    @model_validator(mode="after")
    def _inputs_agree(self) -> ActionDefinition:
        ids = [i.id for i in self.inputs]
        if len(set(ids)) != len(ids):
            raise ValueError(f"input ids must be unique; repeated: {', '.join(sorted({i for i in ids if ids.count(i) > 1}))}")
        if self.ttl and self.ttl.from_input and not any(i.id == self.ttl.from_input and i.type == "duration" for i in self.inputs):
            raise ValueError(f"ttl.from_input {self.ttl.from_input!r} is not a duration input of this action")
        return self

    def input(self, input_id: str) -> Any:
        return next((i for i in self.inputs if i.id == input_id), None)


_ACTIONS = TypeAdapter(list[ActionDefinition])


def load_actions(config: Config) -> list[ActionDefinition]:
    """The config's actions, validated; ConfigError names file, line and key."""
    actions = validate_section(config, "actions", _ACTIONS, tags=(*INPUT_TYPES, *EXECUTOR_TYPES))
    ids = [a.id for a in actions]
    if len(set(ids)) != len(ids):
        raise ConfigError(f"{config.path}: actions: ids must be unique; repeated: {', '.join(sorted({i for i in ids if ids.count(i) > 1}))}")
    sources = {s.name: s.type for s in config.sources}
    for n, action in enumerate(actions):
        for executor in (action.executor, action.ttl.teardown if action.ttl else None):
            if isinstance(executor, GitHubWorkflowExecutor) and sources.get(executor.source) != "github":
                raise ConfigError(f"{config.path}: actions.{n}.executor.source: {executor.source!r} is not a configured github source")
    return actions
