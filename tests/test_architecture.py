"""The architecture (ARCHITECTURE.md), enforced: one core, thin adapters, imports one way.

Why: if catalog/ imported bot/, Slack's Bolt or a web or terminal framework, the CLI and HTTP
routes would drag in the Slack surface and its logic could no longer be tested without it; if
sources imported the sync engine, a source could write around the engine's one transaction; if
adapters opened sessions or called core internals, each transport would grow its own copy of
the core. A layering slip is cheap now and costly later.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.conftest import REPO

# Top-level packages each part of the code must never import.
FORBIDDEN = {
    "catalog": {"bot", "actions", "slack_bolt", "slack_sdk", "fastapi", "starlette", "uvicorn", "typer", "rich"},
    "catalog/sync/sources": {"catalog.sync.engine", "catalog.sync.schedule", "catalog.sync.triggers", "catalog.core"},
    "actions": {"bot", "slack_bolt", "slack_sdk"},
    "bot": {"sqlalchemy", "sqlmodel", "alembic"},
}
# The one catalog module that talks to Slack, through slack_sdk's Web client.
SLACK_SDK_ALLOWED = {"catalog/sync/sources/slack_groups.py"}
# What adapters (bot/) may import from the catalog: the facade, config and errors, and the models
# the facade returns (with the few pure helpers that render them). `None`: any name.
BOT_MAY_IMPORT: dict[str, set[str] | None] = {
    "catalog.core": None,  # the facade
    "catalog.config": None,
    "catalog.errors": None,
    "catalog.answers.models": None,  # Answer and its parts
    "catalog.answers.status": {"ANSWERED_STATUSES"},  # how the JSON answer's `status` maps to exit codes
    "catalog.answers.home": {"EntityGaps", "HomeSummary", "Missing", "TeamSummary"},
    "catalog.answers.card": {"expects_runbook", "is_channel_id", "is_runbook"},  # pure predicates over card links and channel ids
    "catalog.answers.freshness": {"ago", "clock_time", "describe", "describe_all"},  # pure text
    "catalog.store.merge": {"CatalogEntity", "Freshness"},
    "catalog.store.refs": None,  # pure parsing of entity refs
    "catalog.store.identities": {"Identity"},
    "catalog.store.models": {"SyncRun"},  # what `Catalog.last_runs` returns
    "catalog.sync.engine": {"SyncReport"},
    "catalog.sync.sources.registry": {"Progress"},
    # services over the facade, one per capability: each takes a `Catalog`
    "catalog.sync.schedule": {"start_scheduler"},
    "catalog.sync.webhooks": {"handle_github_push", "WebhookResult", "resync_queued", "resync_every_queued"},
    "catalog.alerts.service": {"Alerts"},  # alerts: built from the Catalog
    "catalog.chat": {"MessageGone", "RateLimited", "Undeliverable"},  # what adapters tell the delivery queues about Slack's answers
    "catalog.adoption.service": {"Adoption", "NotAnAdmin"},  # adoption: built from the Catalog
    "catalog.adoption.events": {"Kind", "Surface"},  # what adapters record
    "catalog.adoption.report": None,  # the report models and their headline texts
    "catalog.adoption.models": {"AdoptionAlias"},  # a learned alias, as `Adoption` returns it
    "catalog.adoption.aliases": {"provenance"},  # pure text about an alias
    "catalog.alerts.worker": {"AlertWorker"},
    "catalog.alerts.card": {"AlertCard", "NOT_A_CHANNEL_ID"},  # the read model the alert view draws
    "catalog.sync.validate": {"validate_path"},  # checks files; no database
    "catalog.safe_text": {"neutralise", "escape_html", "safe_href"},  # pure text
    "catalog.tls": {"tls_context"},  # one CA bundle load per process, however many clients
    "catalog.metrics": {"Metrics"},  # the facade's `metrics`; adapters count Slack calls in it
    "catalog.answers.ask": {"empty_catalog_answer"},  # pure: the answer before any table exists
    "catalog.answers.text": {"gap_heading", "render_text", "relation_word"},  # pure text
    "catalog.store.database_errors": {"describe_database_error"},  # pure text about a DatabaseError
    # the page models the facade returns
    "catalog.pages.listing": {"EntityList", "MAX_LIMIT", "BadCursor"},
    "catalog.pages.ownership": {"OwnershipPage"},
    "catalog.pages.team": {"TeamPage"},
    "catalog.pages.short_links": {"LinkTarget"},
    "catalog.scorecards.scores": None,  # the scorecard read models
    "catalog.scorecards.gate": {"GateResult"},
    "catalog.scorecards.schedule": {"DigestJobs"},
    # scorecards beyond the answers: built from the Catalog (digests, the queue, alerts, exemptions)
    "catalog.scorecards.service": {
        "AlertBatch", "Delivery", "ExemptionView", "Fixer", "LeadershipDigest", "Movement", "Scorecards", "SendReport", "TeamDigest",
    },  # fmt: skip
}
# What adapters may import from the actions core: its service, the models it returns and its errors,
# never its tables, state machine or executors (a transition written in an adapter would skip the checks).
BOT_MAY_IMPORT_FROM_ACTIONS: dict[str, set[str] | None] = {
    "actions.service": {"ActionService", "Actor"},
    "actions.read": {"ActionEvent", "RequestView", "InputField"},
    "actions.errors": None,
    "actions.definitions": None,  # the config models the modal is drawn from
    "actions.approvers": {"Person"},
    "actions.inputs": {"TARGET"},  # the block id of the target field
    "actions.jobs": {"ActionJobs"},  # the scheduler job `serve` registers
    "actions.check": {"check_actions"},  # `wayfinder validate`
    "actions.builtin": {"request_exemption", "propose_alias"},  # other capabilities' approvals, filed as built-in actions
}
# Attributes of `Catalog` that only the core and tests use: adapters go through its methods.
CORE_INTERNALS = {"session", "factory", "engine", "index"}


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


def _python_files(top: str) -> list[Path]:
    return sorted((REPO / top).rglob("*.py"))


def _imports(path: Path) -> list[tuple[int, str]]:
    return imported_modules(path.read_text(encoding="utf-8"), list(path.relative_to(REPO).parts[:-1]))


def _violations(top: str) -> list[str]:
    bad = []
    for path in _python_files(top):
        rel = path.relative_to(REPO).as_posix()
        for line, module in _imports(path):
            hit = {f for f in FORBIDDEN[top] if module == f or module.startswith(f + ".")}
            if module.split(".")[0] == "slack_sdk" and rel in SLACK_SDK_ALLOWED:
                continue
            if hit:
                bad.append(f"{rel}:{line} imports {module}")
    return bad


@pytest.mark.parametrize("top", sorted(FORBIDDEN))
def test_layering(top: str) -> None:
    assert _python_files(top), f"{top}/ has no Python files"
    assert _violations(top) == []


def test_adapters_use_the_facade_and_its_models_only() -> None:
    """bot/ imports only `BOT_MAY_IMPORT` from the catalog and never reaches into `Catalog`'s sessions."""
    bad = []
    for path in _python_files("bot"):
        rel = path.relative_to(REPO).as_posix()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "catalog":
                allowed = BOT_MAY_IMPORT.get(node.module or "", set())
                names = {a.name for a in node.names}
                if allowed is not None and not names <= allowed:
                    bad.append(f"{rel}:{node.lineno} imports {sorted(names - allowed)} from {node.module}")
            elif isinstance(node, ast.Import):
                bad += [f"{rel}:{node.lineno} imports {a.name}" for a in node.names if a.name.split(".")[0] == "catalog"]
            elif isinstance(node, ast.Attribute) and node.attr in CORE_INTERNALS:
                bad.append(f"{rel}:{node.lineno} uses .{node.attr}")
    assert bad == []


def test_adapters_use_the_actions_service_and_its_models_only() -> None:
    bad = []
    for path in _python_files("bot"):
        rel = path.relative_to(REPO).as_posix()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "actions":
                allowed = BOT_MAY_IMPORT_FROM_ACTIONS.get(node.module or "", set())
                names = {a.name for a in node.names}
                if allowed is not None and not names <= allowed:
                    bad.append(f"{rel}:{node.lineno} imports {sorted(names - allowed)} from {node.module}")
            elif isinstance(node, ast.Import):
                bad += [f"{rel}:{node.lineno} imports {a.name}" for a in node.names if a.name.split(".")[0] == "actions"]
    assert bad == []


def test_the_allowed_list_names_what_exists() -> None:
    """A stale entry would allow a module or name that no longer exists, and hide a later mistake."""
    for module, names in (BOT_MAY_IMPORT | BOT_MAY_IMPORT_FROM_ACTIONS).items():
        loaded = __import__(module, fromlist=["_"])
        assert not names or all(hasattr(loaded, n) for n in names), module


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
