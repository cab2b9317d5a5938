"""Exit codes a script can trust (README "Exit codes").

`ask`: 0 answered, 3 not found, ambiguous or not understood, 2 configuration or database error.
`sync`: 1 when a source failed or a file or entity was skipped with an error; warnings keep 0.

Why: alert pipelines and CI jobs branch on these codes; "not understood" exiting 0 or a broken
catalog file exiting 0 makes a script report success for an answer it never got.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from catalog.core import Catalog
from tests.conftest import EXAMPLES
from tests.helpers import component, group
from tests.invoke_cli import one_source_config, wayfinder

EXAMPLE_CONFIG = EXAMPLES / "wayfinder.yaml"


@pytest.mark.parametrize(
    ("question", "code"),
    [
        ("who owns payments-service?", 0),
        ("who owns tax-calculator?", 0),  # answered: it has no owner, and the answer says where to add one
        ("help", 0),
        ("who owns ledgr-reconciler?", 3),  # not found, with suggestions
        ("who owns the checkout component?", 3),  # ambiguous
        ("how do I deploy to production on fridays please", 3),  # not understood
    ],
)
def test_ask_exit_codes(example_catalog: Catalog, database_url: str, question: str, code: int) -> None:
    for args in (("ask", question), ("ask", "--json", question)):
        result = wayfinder(*args, database_url=database_url, config=EXAMPLE_CONFIG)
        assert result.exit_code == code, (args, result.output)


def test_ask_exits_2_on_a_config_or_database_error(database_url: str, tmp_path: Path) -> None:
    bad = tmp_path / "wayfinder.yaml"
    bad.write_text("sources: {}\n", encoding="utf-8")
    assert wayfinder("ask", "who owns x?", database_url=database_url, config=bad).exit_code == 2
    unreachable = "postgresql+psycopg://wayfinder@127.0.0.1:9/wayfinder"  # port 9 (discard) is closed
    assert wayfinder("ask", "who owns x?", database_url=unreachable, config=EXAMPLE_CONFIG).exit_code == 2


def test_sync_exits_1_when_a_file_is_skipped_with_an_error(database_url: str, tmp_path: Path) -> None:
    config = one_source_config(tmp_path, {"good.yaml": group("team-a") + "---\n" + component("billing"), "broken.yaml": "kind: [oops\n"})
    result = wayfinder("sync", database_url=database_url, config=config)
    assert result.exit_code == 1, result.output
    assert "broken.yaml" in result.stderr and "invalid YAML" in result.stderr
    assert wayfinder("ask", "who owns billing?", database_url=database_url, config=config).exit_code == 0  # the rest landed


def test_sync_warnings_alone_exit_0(database_url: str, tmp_path: Path) -> None:
    ownerless = component("orphan").replace("  owner: team-a\n", "")
    config = one_source_config(
        tmp_path, {"orphan.yaml": ownerless, "dangling.yaml": component("x", extra="  dependsOn: ['resource:nowhere']\n")}
    )
    result = wayfinder("sync", database_url=database_url, config=config)
    assert result.exit_code == 0, result.output
    assert "warning" in result.stderr


def test_the_installed_entry_point_passes_the_code_through(database_url: str, tmp_path: Path) -> None:
    """Once through the real console script: `main()` must not swallow or remap the codes."""
    script = Path(sys.executable).parent / "wayfinder"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "WAYFINDER_"))}
    env |= {"DATABASE_URL": database_url, "WAYFINDER_CONFIG": str(EXAMPLE_CONFIG)}
    result = subprocess.run(
        [str(script), "ask", "who owns nothing-at-all?"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 3, result.stderr
