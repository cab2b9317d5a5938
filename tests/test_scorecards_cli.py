"""`wayfinder scorecards` and the deployment gate `wayfinder check`, through the real command line.

Why: CI pipelines act on the exit code alone: passing must be 0, below the level 1 with the rules
to fix, an unknown entity 3 and a bad scorecard or level 2, locally and through `--url`.
"""

from __future__ import annotations

import json

import pytest

from tests.conftest import EXAMPLES
from tests.invoke_cli import wayfinder

CONFIG = EXAMPLES / "wayfinder.yaml"


@pytest.fixture
def synced(database_url: str) -> str:
    """The example organisation synced (which evaluates its scorecards) through the CLI."""
    assert wayfinder("sync", database_url=database_url, config=CONFIG).exit_code == 0
    return database_url


def test_check_exit_codes(synced: str) -> None:
    passed = wayfinder("check", "payment-gateway", "--scorecard", "production-readiness", "--min-level", "Gold", database_url=synced, config=CONFIG)
    assert passed.exit_code == 0, passed.output
    assert "component:default/payment-gateway is at Gold on Production readiness." in passed.output
    below = wayfinder("check", "pricing-service", "--scorecard", "production-readiness", "--min-level", "silver", database_url=synced, config=CONFIG)
    assert below.exit_code == 1, below.output
    assert "is at Bronze" in below.output and "Silver: has-oncall: Link the PagerDuty service" in below.output
    assert "has-docs" not in below.output  # a Gold rule does not block Silver
    unknown = wayfinder("check", "no-such-service", "--scorecard", "production-readiness", "--min-level", "Silver", database_url=synced, config=CONFIG)
    assert unknown.exit_code == 3 and "is not in the catalog" in unknown.output
    bad = wayfinder("check", "pricing-service", "--scorecard", "production-readiness", "--min-level", "Platinum", database_url=synced, config=CONFIG)
    assert bad.exit_code == 2 and "has no level 'Platinum'" in bad.output
    as_json = wayfinder("check", "pricing-service", "-s", "production-readiness", "-l", "Silver", "--json", database_url=synced, config=CONFIG)
    body = json.loads(as_json.stdout)
    assert (body["status"], body["level"], [r["id"] for r in body["failing"]]) == ("failed", "Bronze", ["has-oncall", "has-runbook"])


def test_scorecards_command(synced: str) -> None:
    result = wayfinder("scorecards", "--team", "checkout", "--json", database_url=synced, config=CONFIG)
    assert result.exit_code == 0, result.output
    board = json.loads(result.stdout)
    assert board["scope"] == "team checkout"
    assert {s["ref"] for s in board["scores"]} >= {"component:default/checkout-api", "component:default/cart-service"}
    assert all(s["owner_ref"] == "group:default/checkout" for s in board["scores"])
    table = wayfinder("scorecards", "--team", "checkout", database_url=synced, config=CONFIG, COLUMNS="200")
    assert "checkout-api" in table.output and "Gold" in table.output
    assert wayfinder("scorecards", "--team", "nobody", database_url=synced, config=CONFIG).exit_code == 3
    evaluated = wayfinder("scorecards", "--evaluate", "--json", database_url=synced, config=CONFIG)
    assert evaluated.exit_code == 0 and "0 changed" in evaluated.stderr
