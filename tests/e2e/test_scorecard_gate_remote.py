"""`wayfinder check --url`: the deployment gate asked of a running server, from a CI runner without the database.

Why: CI runners have the server's address, not the catalog; the gate must exit exactly as it does locally.
"""

from __future__ import annotations

from pathlib import Path

from catalog.core import Catalog
from tests.cli import run_wayfinder
from tests.e2e.pages_server import serve_pages
from tests.e2e.test_remote_cli import NO_DATABASE


def test_remote_gate_exits_like_the_local_one(example_catalog: Catalog, tmp_path: Path) -> None:
    with serve_pages(example_catalog) as client:
        url = str(client.base_url)

        def check(entity: str, level: str) -> tuple[int, str]:
            ran = run_wayfinder("check", entity, "--scorecard", "production-readiness", "--min-level", level, "--url", url, env=NO_DATABASE, cwd=tmp_path)
            return ran.returncode, ran.stdout + ran.stderr

        assert check("payment-gateway", "Gold")[0] == 0
        code, printed = check("pricing-service", "Silver")
        assert code == 1 and "has-oncall" in printed
        assert check("no-such-thing", "Silver")[0] == 3
        code, printed = check("pricing-service", "Platinum")
        assert code == 2 and "has no level 'Platinum'" in printed


def test_the_ownership_page_has_a_scorecards_section(example_catalog: Catalog) -> None:
    with serve_pages(example_catalog) as client:
        page = client.get("/o/component/default/pricing-service")
    assert page.status_code == 200
    assert 'id="scorecards"' in page.text and "Production readiness" in page.text and "Link the PagerDuty service" in page.text
