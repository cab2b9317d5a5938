"""Learned aliases: proposed once per spelling, decided once by an admin, used by resolution, exported as a patch.

Why: an alias approved twice, by the wrong person, or never reaching resolution would teach the
catalog nothing (or the wrong thing); the export is how the name reaches the descriptor for good.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from catalog.adoption.service import Adoption, NotAnAdmin
from catalog.config import AdoptionConfig, Config, load_config
from catalog.core import Catalog
from tests.invoke_cli import one_source_config, wayfinder

NOW = datetime(2026, 12, 2, 10, tzinfo=UTC)


@pytest.fixture
def billing(tmp_path: Path, make_catalog: Callable[[Config], Catalog]) -> tuple[Catalog, Path]:
    config_path = one_source_config(tmp_path)
    config = load_config(config_path)
    config.adoption = AdoptionConfig(admins=["U0ADMIN"])
    catalog = make_catalog(config)
    assert all(r.ok for r in catalog.sync())
    return catalog, config_path


def test_a_fuzzy_confirmation_is_proposed_and_counted_and_an_exact_name_is_not(billing: tuple[Catalog, Path]) -> None:
    catalog, _ = billing
    adoption = Adoption(catalog)

    first = adoption.confirm_answer(question="who owns biling?", ref="component:default/billing", now=NOW)
    again = adoption.confirm_answer(question="who owns BILING", ref="component:default/billing", now=NOW)
    exact = adoption.confirm_answer(question="who owns billing?", ref="component:default/billing", now=NOW)

    assert first and first.new and again and not again.new and exact is None
    [(alias, provenance)] = adoption.aliases()
    assert (alias.alias, alias.confirmations, alias.status) == ("biling", 2, "proposed")
    assert provenance == "alias learned from 2 questions, waiting for approval"


def test_only_an_admin_decides_once_and_the_alias_resolves_at_once(billing: tuple[Catalog, Path]) -> None:
    catalog, _ = billing
    adoption = Adoption(catalog)
    proposal = adoption.confirm_answer(question="who owns bllng", ref="component:default/billing", now=NOW)
    assert proposal and proposal.alias.id
    before = catalog.ask("who owns bllng")

    with pytest.raises(NotAnAdmin):
        adoption.decide_alias(proposal.alias.id, approve=True, admin="U0SOMEONE", now=NOW)
    decided = adoption.decide_alias(proposal.alias.id, approve=True, admin="U0ADMIN", now=NOW)
    twice = adoption.decide_alias(proposal.alias.id, approve=False, admin="U0ADMIN", now=NOW)

    assert decided and decided.status == "approved" and twice is None
    after = catalog.ask("who owns bllng")
    assert before.status != "answered" or before.notes  # before: not found, or only a fuzzy match
    assert after.status == "answered" and after.subject and after.subject.ref == "component:default/billing" and not after.notes


def test_export_is_a_patch_that_applies_to_the_descriptor(billing: tuple[Catalog, Path], database_url: str, tmp_path: Path) -> None:
    catalog, config = billing
    assert Adoption(catalog).add_alias(name="billing-svc", ref="component:default/billing", admin="U0ADMIN", now=NOW)

    exported = wayfinder("aliases", "export", database_url=database_url, config=config)
    listed = wayfinder("aliases", "list", database_url=database_url, config=config)

    assert exported.exit_code == 0, exported.output
    assert "+  annotations:\n+    wayfinder.io/aliases: billing-svc\n" in exported.stdout
    assert "approved by U0ADMIN" in listed.stdout
    (tmp_path / "aliases.patch").write_text(exported.stdout, encoding="utf-8")
    subprocess.run(["patch", "-p1", "-d", "/", "-i", str(tmp_path / "aliases.patch")], check=True, capture_output=True)
    assert "wayfinder.io/aliases: billing-svc" in (tmp_path / "catalog" / "org.yaml").read_text(encoding="utf-8")
    resynced = [r.ok for r in catalog.sync()]
    assert all(resynced) and catalog.ask("who owns billing-svc").status == "answered"
