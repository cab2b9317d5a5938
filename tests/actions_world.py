"""A world for action tests: the Northwind example organisation, actions in its config, a fake executor and a clock."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from actions.read import ActionEvent, RequestView
from actions.service import Actor
from catalog.config import Config, load_config
from tests.conftest import EXAMPLES

SECRET = "executor-signing-secret-123"
REQUESTER = Actor("cli", user_ref="user:default/elena.rossi", name="Elena Rossi")
LEAD = Actor("cli", user_ref="user:default/nadia.haddad", name="Nadia Haddad")
OTHER_LEAD = Actor("cli", user_ref="user:default/samuel.okafor", name="Samuel Okafor")
STRANGER = Actor("cli", user_ref="user:default/ben.carter", name="Ben Carter")

ACTIONS = """
actions:
  - id: db-read-access
    title: Read access to a database
    target: {kind: resource, type: database}
    inputs:
      - {id: reason, type: text, label: "Why do you need it?", min_length: 10, max_length: 500}
      - {id: duration, type: duration, label: "For how long", default: 1d, max: 7d}
      - {id: level, type: choice, options: [read, read-write], default: read}
      - {id: api_token, type: text, optional: true}
    approval: {policy: any, approvers: [owner-leads], expires_after: 3d, remind_after: 4h, escalate_to: ["group:default/platform-infra"]}
    executor: {type: webhook, url: "${EXEC_URL}", secret: "${EXEC_SECRET}", timeout_seconds: 1, retries: 2}
    ttl: {from_input: duration, extend_approval: true, teardown: {type: webhook, url: "${EXEC_URL}/teardown", secret: "${EXEC_SECRET}"}}
  - id: quorum-access
    title: Write access (two leads)
    target: {kind: resource, type: database}
    approval: {policy: quorum, approvers: [owner-leads], count: 2}
    executor: {type: webhook, url: "${EXEC_URL}", secret: "${EXEC_SECRET}"}
  - id: staged-access
    title: Production access (team lead, then platform)
    target: {kind: resource, type: database}
    approval:
      policy: stages
      stages: [{approvers: [owner-leads]}, {approvers: ["user:default/ben.carter"]}]
    executor: {type: webhook, url: "${EXEC_URL}", secret: "${EXEC_SECRET}"}
  - id: dev-env
    title: A development environment
    inputs: [{id: name, type: text, pattern: "[a-z][a-z0-9-]{2,30}"}]
    approval: {policy: none}
    executor: {type: catalog, kind: Resource, name: "dev-{name}", entity_type: environment}
    ttl: {duration: 5d}
  - id: payments-only
    title: Only for payments
    requesters: ["group:default/payments"]
    approval: {policy: none}
    executor: {type: internal, handler: noop}
"""


# `extra` for write_config: the Slack app and workspace ids, with which pages link to Wayfinder in Slack.
SLACK_APP = "\nhttp:\n  slack_app_id: A0WAYFINDER\n  slack_team_id: T0NORTHWIND\n"


def write_config(tmp_path: Path, monkeypatch: Any, executor_url: str, extra: str = "") -> Config:
    monkeypatch.setenv("EXEC_URL", executor_url)
    monkeypatch.setenv("EXEC_SECRET", SECRET)
    path = tmp_path / "wayfinder.yaml"
    path.write_text(f"sources:\n  - name: northwind\n    type: backstage\n    path: {EXAMPLES / 'catalog'}\n{ACTIONS}{extra}", encoding="utf-8")
    return load_config(path)


@dataclass
class Clock:
    now: datetime = field(default_factory=lambda: datetime(2026, 12, 2, 9, 0, tzinfo=UTC))

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@dataclass
class RecordingNotifier:
    """A Notifier that keeps what it was told."""

    cards: list[RequestView] = field(default_factory=list)
    events: list[ActionEvent] = field(default_factory=list)

    def post_card(self, request: RequestView) -> str | None:
        self.cards.append(request)
        return f"1700000000.{len(self.cards):06d}"

    def tell(self, event: ActionEvent) -> None:
        self.events.append(event)

    def kinds(self, request_id: int | None = None) -> list[str]:
        return [e.kind for e in self.events if request_id is None or e.request.id == request_id]
