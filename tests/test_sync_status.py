"""`wayfinder sync status`: per source, is it fresh, and if not, why not.

Why: when the bot answers from stale data, the operator's first question is which source
stopped syncing, since when, and with what error. The command must say it without a database
console, including for sources that never ran or whose scheduler is not running.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from bot.cli.main import app
from catalog.config import load_config
from catalog.core import Catalog
from catalog.sync.engine import sync_source
from catalog.sync.sources.backstage import BackstageSource
from tests.helpers import component, group

NOW = datetime.now(UTC).replace(microsecond=0)


@pytest.fixture
def config_path(tmp_path: Path) -> Path:
    for name in ("good", "broken", "late", "gone"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "org.yaml").write_text(
            group(f"team-{name}") + "---\n" + component(f"svc-{name}", owner=f"team-{name}"), encoding="utf-8"
        )
    path = tmp_path / "wayfinder.yaml"
    path.write_text(
        "sources:\n"
        + "".join(f"  - {{name: {n}, type: backstage, path: {tmp_path / n}, schedule: 15m}}\n" for n in ("good", "broken", "late", "new")),
        encoding="utf-8",
    )
    return path


def _sync(catalog: Catalog, name: str, root: Path, at: datetime) -> None:
    sync_source(catalog.factory, BackstageSource(name, root), clock=lambda: at)


@pytest.fixture
def status(database_url: str, config_path: Path) -> Callable[..., Result]:
    """Runs in the database as the sources left it: see each `_sync` call below."""
    root = config_path.parent
    catalog = Catalog(database_url, load_config(config_path))
    _sync(catalog, "good", root / "good", NOW - timedelta(minutes=5))
    _sync(catalog, "broken", root / "broken", NOW - timedelta(hours=2))
    (root / "broken").rename(root / "broken-moved")
    _sync(catalog, "broken", root / "broken", NOW - timedelta(hours=1, minutes=45))
    _sync(catalog, "broken", root / "broken", NOW - timedelta(hours=1, minutes=30))
    _sync(catalog, "late", root / "late", NOW - timedelta(hours=3))
    _sync(catalog, "gone", root / "gone", NOW - timedelta(days=1))
    catalog.dispose()

    def run(*args: str) -> Result:
        result = CliRunner().invoke(
            app, ["sync", "status", *args], env={"DATABASE_URL": database_url, "WAYFINDER_CONFIG": str(config_path)}
        )
        assert result.exit_code == 0, result.output
        return result

    return run


def _row(output: str, source: str) -> list[str]:
    line = next(line for line in output.splitlines() if re.match(rf"[│|]\s*{source}\s", line))
    return [cell.strip() for cell in re.split(r"[│|]", line)[1:-1]]


def test_each_source_shows_freshness_times_counts_and_requests(status: Callable[..., Result]) -> None:
    output = status().output
    good = _row(output, "good")
    assert good[:6] == [
        "good",
        "backstage",
        "fresh",
        f"{NOW - timedelta(minutes=5):%Y-%m-%d %H:%M:%S}",
        f"{NOW - timedelta(minutes=5):%Y-%m-%d %H:%M:%S}",
        "ok",
    ]
    assert good[7:] == ["2", "0", "0", "0", "0", "0"]  # added, updated, removed, unchanged, errors, requests
    assert _row(output, "new")[:4] == ["new", "backstage", "STALE", "never"]
    assert "new: STALE: never synced" in output


def test_a_failing_source_is_stale_since_its_first_failure_and_shows_the_error(status: Callable[..., Result]) -> None:
    output = status().output
    assert _row(output, "broken")[:6] == [
        "broken", "backstage", "STALE", f"{NOW - timedelta(hours=2):%Y-%m-%d %H:%M:%S}",
        f"{NOW - timedelta(hours=1, minutes=30):%Y-%m-%d %H:%M:%S}", "failed",
    ]  # fmt: skip
    assert f"broken: STALE: failing since {NOW - timedelta(hours=1, minutes=45):%Y-%m-%d %H:%M} UTC (2 failed runs)" in output
    assert re.search(r"broken: last error at .* UTC: source 'broken': path .*broken does not exist", output)


def test_a_scheduled_source_without_recent_success_is_stale(status: Callable[..., Result]) -> None:
    output = status().output
    assert _row(output, "late")[2] == "STALE"
    assert "late: STALE: last good sync 3 h ago although scheduled '15m': is a scheduler running?" in output


def test_sources_removed_from_the_config_are_still_listed(status: Callable[..., Result]) -> None:
    output = status().output
    assert _row(output, "gone")[:3] == ["gone", "backstage", "fresh"]  # no schedule any more, nothing to be late for
    assert "gone: not in the config any more" in output


def test_limit_lists_recent_runs_per_source(status: Callable[..., Result]) -> None:
    assert "Recent runs" not in status().output
    output = status("--limit", "3").output
    assert "Recent runs" in output
    runs = [line for line in output.split("Recent runs", 1)[1].splitlines() if re.match(r"[│|]\s*broken\s", line)]
    assert [_row(line, "broken")[2] for line in runs] == ["failed", "failed", "ok"]
