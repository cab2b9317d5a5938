"""The replicas that `compose.yaml` declares, as processes on loopback: same command, same environment.

Images cannot be built on the test machines, so the drill runs each replica service's `command`
with its `environment`, changing only what a container and a loopback process must differ in
(`LOOPBACK_CHANGES`): where to listen, the database, the config file, and Slack's API URL (the fake).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[2]
COMPOSE = REPO / "compose.yaml"
# The environment a process gets instead of the container's: everything else comes from compose.yaml.
LOOPBACK_CHANGES = ("DATABASE_URL", "WAYFINDER_CONFIG", "WAYFINDER_PUBLIC_URL", "SLACK_API_URL", "SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET")
_VARIABLE = re.compile(r"\$\{(\w+)(?::?[-?]([^}]*))?\}")


@dataclass(frozen=True)
class Replica:
    service: str
    command: list[str]
    environment: dict[str, str]

    def process(self, *, port: int, changes: dict[str, str]) -> tuple[list[str], dict[str, str]]:
        """argv and environment for this replica as a process on 127.0.0.1:`port`."""
        unknown = set(changes) - set(LOOPBACK_CHANGES)
        assert not unknown, f"only {LOOPBACK_CHANGES} may differ from compose.yaml, not {sorted(unknown)}"
        argv = list(self.command)
        argv[argv.index("--host") + 1] = "127.0.0.1"
        argv[argv.index("--port") + 1] = str(port)
        return argv, {**self.environment, **changes}


def load_compose(path: Path = COMPOSE) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    return data


def interpolate(value: str, variables: dict[str, str]) -> str:
    """Compose's `${VAR}`, `${VAR:-default}` and `${VAR:?error}` (an error becomes an empty value here)."""

    def one(m: re.Match[str]) -> str:
        found = variables.get(m.group(1))
        return found if found else ("" if "?" in m.group(0) else (m.group(2) or ""))

    return _VARIABLE.sub(one, value)


def replicas(compose: dict[str, Any] | None = None, variables: dict[str, str] | None = None) -> list[Replica]:
    """Every service that runs `wayfinder serve`, in file order."""
    compose = compose if compose is not None else load_compose()
    found = []
    for name, service in compose["services"].items():
        command = service.get("command") or []
        if command[:2] == ["wayfinder", "serve"]:
            env = {k: interpolate(str(v), variables or {}) for k, v in (service.get("environment") or {}).items()}
            found.append(Replica(name, list(command), env))
    return found
