"""The `actions:` config: the bundled example loads, mistakes name file, line and key, and
`wayfinder validate` warns about teams whose leads an action needs but that name none.

Why: an approval rule that silently fails to load, or falls back to "all members" unnoticed,
changes who may approve access to production data.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from actions.check import check_actions
from actions.definitions import load_actions
from catalog.config import load_config
from catalog.errors import ConfigError
from tests.conftest import EXAMPLES

EXAMPLE_ENV = {"DB_ACCESS_URL": "https://db-access.example/grant", "DB_REVOKE_URL": "https://db-access.example/revoke",
               "DB_ACCESS_SECRET": "s3cret-db", "FLAGS_URL": "https://flags.example/hook", "FLAGS_SECRET": "s3cret-flags"}  # fmt: skip


@pytest.fixture
def example_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in EXAMPLE_ENV.items():
        monkeypatch.setenv(name, value)


def test_the_example_actions_load(example_env: None) -> None:
    actions = {a.id: a for a in load_actions(load_config(EXAMPLES / "wayfinder-actions.yaml"))}
    assert set(actions) == {"dev-environment", "db-read-access", "scaffold-service", "toggle-feature-flag"}
    assert actions["db-read-access"].approval.stage_list()[0].approvers == ["owner-leads"]
    assert "s3cret-db" not in repr(actions["db-read-access"])  # secrets stay SecretStr


def test_validate_warns_about_teams_without_leads(example_env: None) -> None:
    problems = check_actions(EXAMPLES / "wayfinder-actions.yaml")
    assert all(p.severity == "warning" for p in problems)
    warned = {p.entity for p in problems}
    assert "group:default/payments" not in warned  # it names its leads
    assert "group:default/ledger" in warned  # ledger-db's team does not


def write(tmp_path: Path, actions: str) -> Path:
    path = tmp_path / "wayfinder.yaml"
    path.write_text("sources: []\nactions:\n" + actions, encoding="utf-8")
    return path


def test_errors_name_file_line_and_key(tmp_path: Path) -> None:
    path = write(tmp_path, """  - id: broken
    title: Broken
    inputs:
      - {id: reason, type: txt}
    approval: {policy: quorom}
    executor: {type: webhook, url: "https://x", secret: "s", retries: 3, timeout: 5}
""")  # fmt: skip
    with pytest.raises(ConfigError) as error:
        load_actions(load_config(path))
    message = str(error.value)
    assert f"{path}:6: actions.0.inputs.0: unknown type 'txt' (did you mean 'text'?)" in message
    assert f"{path}:7: actions.0.approval.policy:" in message
    assert f"{path}:8: actions.0.executor.timeout: unknown key 'timeout' (did you mean 'timeout_seconds'?)" in message


@pytest.mark.parametrize(
    ("approval", "ttl", "expected"),
    [
        ("{approvers: [team-leads]}", "{duration: 1d}", "'team-leads': expected owner-leads"),
        ("{policy: none}", "{from_input: days}", "ttl.from_input 'days' is not a duration input"),
        ("{policy: stages}", "{duration: 1d}", "policy 'stages' needs a non-empty stages list"),
    ],
)
def test_bad_principals_stages_and_ttl_inputs_are_refused(tmp_path: Path, approval: str, ttl: str, expected: str) -> None:
    path = write(tmp_path, f"""  - id: bad
    title: Bad
    inputs: [{{id: days, type: number}}]
    approval: {approval}
    executor: {{type: internal, handler: x}}
    ttl: {ttl}
""")  # fmt: skip
    with pytest.raises(ConfigError, match=expected):
        load_actions(load_config(path))
