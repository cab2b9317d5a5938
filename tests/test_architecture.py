"""One core, thin adapters (DESIGN.md): the catalog and actions never depend on Slack or the bot.

Why: if catalog/ imported bot/ or Slack, the CLI and HTTP routes would drag in the Slack surface
and its logic could no longer be tested without it; a layering slip is cheap now and costly later.
"""

from __future__ import annotations

import ast

import pytest

from tests.conftest import REPO

FORBIDDEN = {
    "catalog": {"bot", "actions", "slack_bolt", "slack_sdk"},
    "actions": {"bot", "slack_bolt", "slack_sdk"},
}


def imported_modules(source: str, package: list[str]) -> list[tuple[int, str]]:
    """Every module `source` imports (anywhere, also inside functions), relative imports resolved against `package`."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                found.append((node.lineno, ".".join(base + ([node.module] if node.module else []))))
            else:
                found.append((node.lineno, node.module or ""))
    return found


def _violations(top: str) -> list[str]:
    bad = []
    for path in sorted((REPO / top).rglob("*.py")):
        package = list(path.relative_to(REPO).parts[:-1])
        for line, module in imported_modules(path.read_text(encoding="utf-8"), package):
            if module.split(".")[0] in FORBIDDEN[top]:
                bad.append(f"{path.relative_to(REPO)}:{line} imports {module}")
    return bad


@pytest.mark.parametrize("top", sorted(FORBIDDEN))
def test_layering(top: str) -> None:
    assert list((REPO / top).rglob("*.py")), f"{top}/ has no Python files"
    assert _violations(top) == []


def test_the_checker_sees_every_import_form() -> None:
    """`import x`, `from x import y`, imports inside functions and relative imports: or the test above proves nothing."""
    probe = (
        "import os\nimport slack_sdk.web\n\n"
        "def later():\n    from bot import cli\n    from ..bot.settings import Settings\n    from .refs import parse_ref\n"
        "    import slack_bolt as bolt\n"
    )
    modules = sorted(m for _, m in imported_modules(probe, ["catalog", "sources"]))
    assert modules == ["bot", "catalog.bot.settings", "catalog.sources.refs", "os", "slack_bolt", "slack_sdk.web"]
    top_level = {m.split(".")[0] for m in modules}
    assert top_level & FORBIDDEN["catalog"] == {"bot", "slack_bolt", "slack_sdk"}
    # From catalog/x.py, `from ..bot` leaves the package: it is bot/.
    assert imported_modules("from ..bot import cli\n", ["catalog"]) == [(1, "bot")]
