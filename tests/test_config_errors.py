"""Config errors finish the job: every error in the file at once, each as `file:line: key: reason`,
with the nearest known key for a typo; the command exits 2 and nothing already synced is lost.

Why: one error per run turns three typos into three edit-and-retry cycles, and "unknown key"
without the right spelling sends the reader to the docs.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from catalog.config import load_config
from catalog.errors import ConfigError
from tests.invoke_cli import one_source_config, wayfinder

# Line 7 is the GitHub source's token, the example in the issue.
THREE_ERRORS = """\
sources:
  - name: main
    type: backstage
    path: catalog
  - name: github
    type: github
    token: ${WF_TEST_GITHUB_TOKEN}
    org: northwind
    schedul: 15m
  - name: paging
    type: pagerdutty
"""


def _errors(body: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    monkeypatch.chdir(tmp_path)
    Path("wayfinder.yaml").write_text(body, encoding="utf-8")
    with pytest.raises(ConfigError) as raised:
        load_config(Path("wayfinder.yaml"))
    return str(raised.value).splitlines()


def test_all_errors_are_reported_at_once_in_file_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WF_TEST_GITHUB_TOKEN", raising=False)
    assert _errors(THREE_ERRORS, tmp_path, monkeypatch) == [
        "wayfinder.yaml:7: sources.1.token: environment variable WF_TEST_GITHUB_TOKEN is not set",
        "wayfinder.yaml:9: sources.1.schedul: unknown key 'schedul' (did you mean 'schedule'?)",
        "wayfinder.yaml:10: sources.2: unknown source type 'pagerdutty' (did you mean 'pagerduty'?)",
    ]


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("sourcse: []\n", "wayfinder.yaml:1: sourcse: unknown key 'sourcse' (did you mean 'sources'?)"),
        (
            "sources:\n  - name: pd\n    type: pagerduty\n    token: t\n    api_ulr: http://x\n",
            "wayfinder.yaml:5: sources.0.api_ulr: unknown key 'api_ulr' (did you mean 'api_url'?)",
        ),
        (
            "sources:\n  - name: gh\n    type: github\n    token: t\n    org: o\n    include_fork: true\n",
            "wayfinder.yaml:6: sources.0.include_fork: unknown key 'include_fork' (did you mean 'include_forks'?)",
        ),
        (
            "sources:\n  - name: main\n    type: backstage\n    path: .\n    colour: blue\n",
            "wayfinder.yaml:5: sources.0.colour: unknown key 'colour'",
        ),
    ],
    ids=["top-level", "per-source-type", "nearest-of-several", "nothing-near"],
)
def test_an_unknown_key_suggests_the_nearest_known_key_of_its_own_section(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, body: str, expected: str
) -> None:
    assert _errors(body, tmp_path, monkeypatch) == [expected]


def test_a_value_naming_an_unset_variable_is_reported_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WF_TEST_TIMEOUT", raising=False)
    body = "sources:\n  - name: pd\n    type: pagerduty\n    token: t\n    timeout_seconds: ${WF_TEST_TIMEOUT}\n"
    assert _errors(body, tmp_path, monkeypatch) == [
        "wayfinder.yaml:5: sources.0.timeout_seconds: environment variable WF_TEST_TIMEOUT is not set"
    ]


def test_the_cli_prints_every_error_exits_2_and_keeps_what_was_synced(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("WF_TEST_GITHUB_TOKEN", raising=False)
    monkeypatch.chdir(tmp_path)
    config = one_source_config(tmp_path)
    assert wayfinder("sync", database_url=database_url).exit_code == 0

    config.write_text(THREE_ERRORS, encoding="utf-8")
    broken = wayfinder("sync", database_url=database_url)
    assert broken.exit_code == 2
    assert broken.stderr.splitlines() == [
        "error: wayfinder.yaml:7: sources.1.token: environment variable WF_TEST_GITHUB_TOKEN is not set",
        "error: wayfinder.yaml:9: sources.1.schedul: unknown key 'schedul' (did you mean 'schedule'?)",
        "error: wayfinder.yaml:10: sources.2: unknown source type 'pagerdutty' (did you mean 'pagerduty'?)",
    ]
    assert broken.stdout == ""

    (tmp_path / "other.yaml").write_text("sources: []\n", encoding="utf-8")
    kept = wayfinder("ask", "who owns billing?", database_url=database_url, config=tmp_path / "other.yaml")
    assert kept.exit_code == 0 and "team-a" in kept.stdout


ALIAS_BOMB = (
    "a: &a [x, x, x, x, x, x, x, x, x]\n"
    + "".join(f"{key}: &{key} [{', '.join([f'*{prev}'] * 9)}]\n" for prev, key in zip("abcdefghi", "bcdefghij", strict=True))
    + "sources: []\n"
)


def test_an_alias_bomb_in_the_config_is_a_config_error_not_a_hang(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Expanded, `j` holds 9**10 values: walked for line numbers or ${VAR}s it took gigabytes and never ended.
    monkeypatch.chdir(tmp_path)
    Path("wayfinder.yaml").write_text(ALIAS_BOMB, encoding="utf-8")
    ran = wayfinder("sync", database_url=database_url)
    assert ran.exit_code == 2
    assert ran.stderr.splitlines() == [
        "error: wayfinder.yaml:7: invalid YAML: holds too many values once its aliases are expanded (a YAML alias bomb?)"
    ]


def test_a_config_that_is_not_utf8_names_its_line_and_exits_2(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    Path("wayfinder.yaml").write_bytes(b"sources: []\n# caf\xe9\n")
    ran = wayfinder("ask", "who owns billing?", database_url=database_url)
    assert ran.exit_code == 2
    assert ran.stderr.splitlines() == ["error: wayfinder.yaml:2: not UTF-8 text (save the file as UTF-8)"]
