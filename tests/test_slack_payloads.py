"""The Slack payloads the e2e tests send (tests/data/slack) have the shapes Slack really sends.

Why: the e2e tests drive the server with payloads written for this project; if Slack's real
payloads carry fields ours lack (or the reverse), Bolt could route them differently in
production than in the tests. Conformance: compares with payloads recorded from Slack's docs.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import pytest

from tests.conftest import DATA

SHAPES = [
    ("event_callback.json", "events-api-app_mention.json"),
    ("block_actions.json", "interactivity-block_actions.json"),
    ("view_submission.json", "interactivity-view_submission.json"),
]
ENTERPRISE_ONLY = {"enterprise_id", "enterprise_name"}  # present only for Enterprise Grid workspaces


def _keys(data: dict[str, Any]) -> dict[str, set[str]]:
    """Top-level keys, and the keys of the nested objects the tests rewrite (the event is the test's own)."""
    keys = {"": set(data) - ENTERPRISE_ONLY}
    keys |= {name: set(data[name]) for name in ("user", "container", "view") if name in data}
    if "actions" in data:
        keys["actions"] = set().union(*map(set, data["actions"]))
    return keys


@pytest.mark.parametrize(("ours", "recorded"), SHAPES)
def test_our_payloads_have_slacks_fields(third_party: Path, ours: str, recorded: str) -> None:
    mine = json.loads((DATA / "slack" / ours).read_text(encoding="utf-8"))
    real = json.loads((third_party / "slack" / recorded).read_text(encoding="utf-8"))
    assert _keys(mine) == _keys(real)


def test_our_slash_command_has_slacks_fields(third_party: Path) -> None:
    mine = dict(parse_qsl((DATA / "slack" / "slash_command.txt").read_text(encoding="utf-8")))
    real = dict(parse_qsl((third_party / "slack" / "slash-command-form-body.txt").read_text(encoding="utf-8")))
    assert set(mine) - {"api_app_id"} == set(real) - ENTERPRISE_ONLY
