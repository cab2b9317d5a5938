"""A broken descriptor keeps what it described, marked stale with its error, until it is fixed or deleted.

Why: a typo in `payments-service.yaml` retired `payments-service`, and "who owns
payments-service?" answered "not found" until someone fixed the file, exactly when people may
need the answer. Now the entity stays, the answer says the descriptor is broken and since when,
and only deleting the file retires it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from catalog.answers.ask import ask
from catalog.answers.text import render_text
from catalog.config import Config
from catalog.core import Catalog
from catalog.sync.engine import SyncReport, sync_source
from catalog.sync.sources.backstage import BackstageSource
from tests.helpers import active_refs, backstage_config, component, group, rows

MakeCatalog = Callable[[Config], Catalog]
T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
PAYMENTS = "component:default/payments-service"


@pytest.fixture
def root(tmp_path: Path) -> Path:
    root = tmp_path / "catalog"
    root.mkdir()
    (root / "teams.yaml").write_text(group("payments") + "---\n" + group("platform"), encoding="utf-8")
    (root / "payments-service.yaml").write_text(component("payments-service", owner="payments"), encoding="utf-8")
    (root / "other.yaml").write_text(component("ledger", owner="payments"), encoding="utf-8")
    return root


@pytest.fixture
def catalog(make_catalog: MakeCatalog, tmp_path: Path, root: Path) -> Catalog:
    catalog = make_catalog(backstage_config(tmp_path, {"main": root}))
    assert _sync(catalog, root, 0).added == 4
    return catalog


def _sync(catalog: Catalog, root: Path, minutes: int) -> SyncReport:
    report = sync_source(catalog.factory, BackstageSource("main", root), clock=lambda: T0 + timedelta(minutes=minutes))
    assert report.ok, report.error
    return report


def _answer(catalog: Catalog, minutes: int) -> str:
    now = T0 + timedelta(minutes=minutes)
    with catalog.session() as session:
        answer = ask(session, "who owns payments-service?", index=catalog.index(session), clock=lambda: now)
    assert answer.owner is not None and answer.owner.ref == "group:default/payments"
    return render_text(answer, now=now)


# A YAML syntax error (an unclosed flow sequence, found on line 8), and a typo that breaks the entity.
SYNTAX_ERROR = component("payments-service", owner="payments").replace("  lifecycle: production", "  lifecycle: [production")
TYPO = component("payments-service", owner="payments").replace("metadata:", "metdata:")


@pytest.mark.parametrize(("broken", "why"), [(SYNTAX_ERROR, "line 8: invalid YAML"), (TYPO, "line 1: Component has no metadata.name")])
def test_broken_file_keeps_its_entities_stale_and_answers_say_so(catalog: Catalog, root: Path, broken: str, why: str) -> None:
    (root / "payments-service.yaml").write_text(broken, encoding="utf-8")
    (root / "other.yaml").write_text(component("ledger", owner="platform"), encoding="utf-8")  # a good change elsewhere
    report = _sync(catalog, root, 12)
    assert report.removed == 0 and report.updated == 1
    assert PAYMENTS in active_refs(catalog)
    assert rows(catalog, "main")["component:default/ledger"].owner_ref == "group:default/platform"
    assert any("1 entities it described are kept, marked stale" in str(p) for p in report.problems)
    text = _answer(catalog, 20)
    assert f"from main: descriptor broken since 09:12 UTC: {why}" in text, text
    # Still broken later: the time it broke stays.
    _sync(catalog, root, 30)
    assert "descriptor broken since 09:12 UTC" in _answer(catalog, 31)
    # The good entity next to it is not marked.
    with catalog.session() as session:
        ledger = ask(session, "who owns ledger?", index=catalog.index(session), clock=lambda: T0)
    assert not any(f.stale for f in ledger.sources)


def test_fixing_the_file_clears_the_mark(catalog: Catalog, root: Path) -> None:
    original = (root / "payments-service.yaml").read_text(encoding="utf-8")
    (root / "payments-service.yaml").write_text(SYNTAX_ERROR, encoding="utf-8")
    _sync(catalog, root, 12)
    (root / "payments-service.yaml").write_text(original, encoding="utf-8")  # fixed, back to the very same content
    report = _sync(catalog, root, 15)
    assert (report.added, report.updated, report.removed) == (0, 0, 0)
    text = _answer(catalog, 16)
    assert "broken" not in text and "from main, synced 1 min ago" in text
    assert rows(catalog, "main")[PAYMENTS].broken_since is None


def test_deleting_the_broken_file_retires_its_entities(catalog: Catalog, root: Path) -> None:
    (root / "payments-service.yaml").write_text(SYNTAX_ERROR, encoding="utf-8")
    _sync(catalog, root, 12)
    (root / "payments-service.yaml").unlink()
    report = _sync(catalog, root, 20)
    assert report.removed == 1
    assert PAYMENTS not in active_refs(catalog)
    # Readded later, it comes back clean.
    (root / "payments-service.yaml").write_text(component("payments-service", owner="payments"), encoding="utf-8")
    _sync(catalog, root, 30)
    assert "broken" not in _answer(catalog, 31)


def test_entity_removed_from_a_file_that_still_reads_is_retired(catalog: Catalog, root: Path) -> None:
    # Only a broken file spares what it described: a file that reads cleanly says what exists.
    (root / "payments-service.yaml").write_text(component("payments-api", owner="payments"), encoding="utf-8")
    report = _sync(catalog, root, 12)
    assert (report.added, report.removed) == (1, 1)
    assert PAYMENTS not in active_refs(catalog)


def test_in_a_partly_broken_file_only_the_entities_not_read_are_marked(catalog: Catalog, root: Path) -> None:
    body = component("payments-service", owner="payments") + "---\n" + component("refunds", owner="payments")
    (root / "payments-service.yaml").write_text(body, encoding="utf-8")
    _sync(catalog, root, 5)
    (root / "payments-service.yaml").write_text(component("payments-service", owner="platform") + "---\n" + "kind: [", encoding="utf-8")
    _sync(catalog, root, 12)
    marked = {ref: row.broken_reason for ref, row in rows(catalog, "main").items() if row.broken_since}
    assert list(marked) == ["component:default/refunds"] and "invalid YAML" in (marked["component:default/refunds"] or "")
    assert rows(catalog, "main")[PAYMENTS].owner_ref == "group:default/platform"  # what did read was applied
