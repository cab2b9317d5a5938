"""The `wayfinder` command, run as a user runs it: exit codes, output and JSON (DESIGN.md).

Why: scripts, CI jobs and alert pipelines call `wayfinder ask --json` and `wayfinder sync` and act
on their exit codes; the command's entry point (`bot.cli.main`, run in-process here; the installed
console script is run by tests/test_wheel.py), not just the Python functions, must keep the contract.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from catalog.core import Catalog
from tests.cli import Ran, run_wayfinder
from tests.conftest import EXAMPLES
from tests.helpers import component, group

EXAMPLE_CONFIG = EXAMPLES / "wayfinder.yaml"

Run = Callable[..., Ran]


def _runner(database_url: str, config: Path, cwd: Path) -> Run:
    def run(*args: str) -> Ran:
        return run_wayfinder(*args, env={"DATABASE_URL": database_url, "WAYFINDER_CONFIG": str(config)}, cwd=cwd)

    return run


@pytest.fixture
def wayfinder(database_url: str, tmp_path: Path) -> Run:
    """`wayfinder` against this test's migrated database and the bundled example config."""
    return _runner(database_url, EXAMPLE_CONFIG, tmp_path)


@pytest.fixture
def synced(wayfinder: Run, example_catalog: Catalog) -> Run:
    """`wayfinder` on the example organisation as `wayfinder sync` leaves it with the bundled config
    (a copy of the session's synced template: `database_url`); `sync` itself is tested below."""
    return wayfinder


def _row(output: str, first_cell: str) -> list[str]:
    """The cells of the table row whose first cell is `first_cell` (rich tables, any box style)."""
    for line in output.splitlines():
        cells = [c.strip() for c in re.split(r"[│┃|]", line) if c.strip()]
        if cells and cells[0] == first_cell:
            return cells
    raise AssertionError(f"no row for {first_cell!r} in:\n{output}")


def test_db_upgrade_on_an_empty_database(empty_database_url: str, tmp_path: Path) -> None:
    run = _runner(empty_database_url, EXAMPLE_CONFIG, tmp_path)
    result = run("db", "upgrade")
    assert result.returncode == 0, result.stderr
    assert "up to date" in result.stdout
    assert run("db", "upgrade").returncode == 0  # idempotent
    assert run("sync").returncode == 0


@pytest.mark.parametrize("args", [("sync", "--no-migrate"), ("sync", "status")])
def test_commands_refuse_an_unmigrated_database(empty_database_url: str, tmp_path: Path, args: tuple[str, ...]) -> None:
    result = _runner(empty_database_url, EXAMPLE_CONFIG, tmp_path)(*args)
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "`wayfinder db upgrade`" in result.stderr
    assert "Traceback" not in result.stderr


def test_sync_prints_counts_per_source_and_is_quiet_on_resync(wayfinder: Run) -> None:
    first = wayfinder("sync")
    assert first.returncode == 0, first.stderr
    row = _row(first.stdout, "northwind")
    assert row[1:7] == ["ok", "162", "0", "0", "0", "0"]  # status, added, updated, removed, unchanged, errors
    assert "spec.owner is missing" in first.stderr  # the three deliberately ownerless components are reported
    second = wayfinder("sync")
    assert _row(second.stdout, "northwind")[1:7] == ["ok", "0", "0", "0", "162", "0"]


def test_sync_exits_1_when_a_source_fails_and_keeps_the_others(database_url: str, tmp_path: Path) -> None:
    good = tmp_path / "good"
    good.mkdir()
    (good / "a.yaml").write_text(group("team-a") + "---\n" + component("billing"), encoding="utf-8")
    config = tmp_path / "wayfinder.yaml"
    config.write_text(
        f"sources:\n  - name: good\n    type: backstage\n    path: {good}\n  - name: broken\n    type: backstage\n    path: "
        f"{tmp_path / 'nowhere'}\n",
        encoding="utf-8",
    )
    run = _runner(database_url, config, tmp_path)
    result = run("sync")
    assert result.returncode == 1
    assert _row(result.stdout, "good")[1:3] == ["ok", "2"]
    assert _row(result.stdout, "broken")[1] == "failed"
    assert "broken" in result.stderr and "does not exist" in result.stderr
    only_good = run("sync", "--source", "good")
    assert only_good.returncode == 0 and "broken" not in only_good.stdout
    status = run("sync", "status")
    assert status.returncode == 0
    assert "failed" in _row(status.stdout, "broken") and "ok" in _row(status.stdout, "good")
    answer = run("ask", "who owns billing?")
    assert answer.returncode == 0 and "team-a" in answer.stdout


def test_sync_status_shows_the_last_runs(synced: Run) -> None:
    result = synced("sync", "status")
    assert result.returncode == 0, result.stderr
    row = _row(result.stdout, "northwind")
    assert "ok" in row and "162" in row


def test_ask_text(synced: Run) -> None:
    result = synced("ask", "who owns payments-service?")
    assert result.returncode == 0, result.stderr
    assert "payments-service" in result.stdout and "group:payments" in result.stdout
    assert "#team-payments" in result.stdout
    assert re.search(r"\(from northwind, synced (just now|\d+ min ago)\)", result.stdout)


def test_ask_json_shape(synced: Run) -> None:
    result = synced("ask", "--json", "who owns payments-service?")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["question"] == "who owns payments-service?"
    assert data["intent"] == "owner"
    assert data["entity"] == "component:default/payments-service"
    assert data["candidates"] == []
    assert data["answer"]["owner"] == "group:default/payments"
    assert data["text"].startswith("component:payments-service") and "#team-payments" in data["text"]


@pytest.mark.parametrize(
    ("question", "intent", "entity"),
    [
        ("what does team payments own?", "owned_by", "group:default/payments"),
        ("who is in risk?", "members", "group:default/risk"),
        ("what depends on ledger-db?", "dependents", "resource:default/ledger-db"),
        ("what does payments-service depend on?", "depends_on", "component:default/payments-service"),
        ("links for payments-service", "links", "component:default/payments-service"),
    ],
)
def test_ask_json_other_intents(synced: Run, question: str, intent: str, entity: str) -> None:
    result = synced("ask", "--json", question)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert (data["intent"], data["entity"]) == (intent, entity)


def test_ask_not_found_exits_3_with_suggestions(synced: Run) -> None:
    result = synced("ask", "--json", "who owns ledgr-reconciler?")
    assert result.returncode == 3
    data = json.loads(result.stdout)
    assert data["entity"] is None and data["intent"] == "owner"
    assert "component:default/ledger-service" in data["candidates"]
    text = synced("ask", "who owns ledgr-reconciler?")
    assert text.returncode == 3 and "Did you mean" in text.stdout


def test_ask_ambiguous_exits_3_with_candidates_best_first(synced: Run) -> None:
    result = synced("ask", "--json", "who owns the checkout component?")
    assert result.returncode == 3
    data = json.loads(result.stdout)
    assert data["entity"] is None
    assert sorted(data["candidates"]) == ["component:default/checkout-api", "component:default/checkout-web"]
    assert "which one did you mean" in data["text"]


def test_ask_help_exits_0_and_unknown_exits_3(synced: Run) -> None:
    assert synced("ask", "help").returncode == 0
    unknown = synced("ask", "--json", "how do I deploy to production on fridays please")
    assert unknown.returncode == 3
    assert json.loads(unknown.stdout)["intent"] == "unknown"


def test_validate_reports_file_and_line_and_exits_1(wayfinder: Run, tmp_path: Path) -> None:
    bad = tmp_path / "bad-catalog"
    bad.mkdir()
    (bad / "a.yaml").write_text(group("team-a") + "---\n" + component("x").replace("kind: Component", "kind: Componnt"), encoding="utf-8")
    (bad / "b.yaml").write_text("apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: [oops\n", encoding="utf-8")
    result = wayfinder("validate", str(bad))
    assert result.returncode == 1
    assert f"{bad / 'a.yaml'}:9:" in result.stderr and "did you mean Component?" in result.stderr
    assert f"{bad / 'b.yaml'}:" in result.stderr and "invalid YAML" in result.stderr
    assert "2 error(s)" in result.stdout


def test_validate_upstream_example_set(wayfinder: Run, third_party: Path) -> None:
    upstream = wayfinder("validate", str(third_party / "backstage-examples"))
    assert upstream.returncode == 0 and "0 error(s), 0 warning(s)" in upstream.stdout


def test_validate_config(wayfinder: Run, tmp_path: Path) -> None:
    ok = wayfinder("validate")  # WAYFINDER_CONFIG: the bundled example
    assert ok.returncode == 0, ok.stderr
    assert "0 error(s), 3 warning(s)" in ok.stdout
    config = tmp_path / "wayfinder.yaml"
    config.write_text("sources:\n  - name: main\n    type: backstage\n    path: .\n    shedule: 15m\n", encoding="utf-8")
    bad = wayfinder("validate", str(config))
    assert bad.returncode == 1
    assert f"{config}:5: sources.0.shedule: unknown key 'shedule'" in bad.stderr


def test_bad_config_is_refused_by_every_command(database_url: str, tmp_path: Path) -> None:
    config = tmp_path / "wayfinder.yaml"
    config.write_text("sources:\n  - name: main\n    type: backstage\n    path: .\n    shedule: 15m\n", encoding="utf-8")
    result = _runner(database_url, config, tmp_path)("sync")
    assert result.returncode == 2
    assert f"{config}:5" in result.stderr and "shedule" in result.stderr and "Traceback" not in result.stderr


def test_demo_prints_three_answers(tmp_path: Path) -> None:
    # The demo needs no config at all.
    result = run_wayfinder("demo", "--no-serve", env={"DATABASE_URL": f"sqlite:///{tmp_path / 'demo.db'}"}, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    questions = re.findall(r"^> (.+)$", result.stdout, flags=re.M)
    assert len(questions) == 3
    assert "who owns payments-service?" in questions
    blocks = re.split(r"^> .+$", result.stdout, flags=re.M)[1:]
    assert all("from northwind, synced" in block for block in blocks)
    assert "group:payments" in blocks[questions.index("who owns payments-service?")]
    assert (tmp_path / "demo.db").is_file()
