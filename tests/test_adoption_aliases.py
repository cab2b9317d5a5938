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

from catalog.adoption.service import Adoption
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


def test_an_alias_is_an_action_request_only_an_admin_approves_once_and_it_resolves_at_once(billing: tuple[Catalog, Path]) -> None:
    from actions.builtin import ALIAS, propose_alias
    from actions.service import ActionService, Actor, Refused

    catalog, _ = billing
    actions = ActionService(catalog, clock=lambda: NOW)
    before = catalog.ask("who owns bllng")
    request = propose_alias(actions, question="who owns bllng", ref="component:default/billing")
    assert propose_alias(actions, question="who owns BLLNG?", ref="component:default/billing") is None  # counted, not asked again
    assert request and request.action_id == ALIAS and request.state == "pending" and [p.ref for p in request.waiting_on] == ["slack:U0ADMIN"]

    with pytest.raises(Refused, match="not an approver"):
        actions.approve(request.id, Actor("slack", slack_user_id="U0SOMEONE"))
    assert actions.approve(request.id, Actor("slack", slack_user_id="U0ADMIN")).state == "succeeded"
    with pytest.raises(Refused, match="already decided"):
        actions.reject(request.id, Actor("slack", slack_user_id="U0ADMIN"), "no")

    [(alias, provenance)] = Adoption(catalog).aliases()
    assert (alias.status, alias.decided_by, alias.confirmations) == ("approved", "U0ADMIN", 2) and "approved by U0ADMIN" in provenance
    after = catalog.ask("who owns bllng")
    assert before.status != "answered" or before.notes  # before: not found, or only a fuzzy match
    assert after.status == "answered" and after.subject and after.subject.ref == "component:default/billing" and not after.notes


def test_a_rejected_alias_request_rejects_the_alias(billing: tuple[Catalog, Path]) -> None:
    from actions.builtin import propose_alias
    from actions.service import ActionService, Actor

    catalog, _ = billing
    actions = ActionService(catalog, clock=lambda: NOW)
    request = propose_alias(actions, question="who owns bllng", ref="component:default/billing")
    assert request and actions.reject(request.id, Actor("slack", slack_user_id="U0ADMIN"), "not a name we use").state == "rejected"
    [(alias, _)] = Adoption(catalog).aliases()
    assert (alias.status, alias.decided_by) == ("rejected", "U0ADMIN") and catalog.ask("who owns bllng").notes


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
