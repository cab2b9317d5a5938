"""`wayfinder actions`: list, show, audit as JSON lines, and approve or reject as WAYFINDER_USER with Slack's checks.

Why: a decision taken from the terminal must be as safe as one taken in Slack (no self-approval,
only eligible approvers), and the audit log is what an auditor reads.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from actions.service import ActionService
from catalog.config import Config
from catalog.core import Catalog
from tests.actions_world import LEAD, REQUESTER, write_config
from tests.fakes.executor import FakeExecutor
from tests.invoke_cli import wayfinder

REASON = {"reason": "Investigating the refunds incident", "duration": "2d", "api_token": "hunter2-secret"}


@pytest.fixture
def setup(example_catalog: Catalog, database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, executor: FakeExecutor,
          make_catalog: Callable[[Config], Catalog]) -> tuple[ActionService, Path]:  # fmt: skip
    config = write_config(tmp_path, monkeypatch, executor.url)
    assert config.path
    return ActionService(make_catalog(config)), config.path


def test_list_show_approve_and_audit(setup: tuple[ActionService, Path], database_url: str, executor: FakeExecutor) -> None:
    service, config = setup
    request = service.request("db-read-access", REQUESTER, REASON, target="resource:default/payments-db")
    listed = wayfinder("actions", "list", "--json", database_url=database_url, config=config)
    assert listed.exit_code == 0, listed.output
    assert [(r["id"], r["state"]) for r in json.loads(listed.stdout)] == [(request.id, "pending")]
    shown = wayfinder("actions", "show", str(request.id), database_url=database_url, config=config)
    assert "Nadia Haddad" in shown.stdout and "***" in shown.stdout and "hunter2" not in shown.stdout
    assert "Why do you need it?: Investigating the refunds incident" in shown.stdout and "For how long: 2 days" in shown.stdout  # labels, values by type
    anonymous = wayfinder("actions", "approve", str(request.id), database_url=database_url, config=config)
    assert anonymous.exit_code == 2 and "WAYFINDER_USER" in anonymous.output
    stranger = wayfinder("actions", "approve", str(request.id), database_url=database_url, config=config, WAYFINDER_USER="ben.carter")
    assert stranger.exit_code == 2 and "not an approver" in stranger.output
    approved = wayfinder("actions", "approve", str(request.id), database_url=database_url, config=config, WAYFINDER_USER="nadia.haddad")
    assert approved.exit_code == 0, approved.output
    assert "succeeded" in approved.stdout and len(executor.runs) == 1
    audit = wayfinder("actions", "audit", "--since", "1d", database_url=database_url, config=config)
    lines = [json.loads(line) for line in audit.stdout.splitlines()]
    assert [e["event"] for e in lines][:3] == ["requested", "pending", "approval"]
    assert lines[2]["actor"] == "user:default/nadia.haddad" and lines[2]["surface"] == "cli"
    assert "hunter2" not in audit.stdout


def test_self_approval_and_reject_from_the_terminal(setup: tuple[ActionService, Path], database_url: str) -> None:
    service, config = setup
    request = service.request("db-read-access", LEAD, REASON, target="resource:default/payments-db")
    own = wayfinder("actions", "approve", str(request.id), database_url=database_url, config=config, WAYFINDER_USER="user:default/nadia.haddad")
    assert own.exit_code == 2 and "your own request" in own.output
    rejected = wayfinder("actions", "reject", str(request.id), "--reason", "Use the replica", database_url=database_url, config=config, WAYFINDER_USER="samuel.okafor")
    assert rejected.exit_code == 0 and "rejected" in rejected.stdout
    assert service.get(request.id).rejection is not None
