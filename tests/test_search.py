"""Entity resolution: the names people actually type find the entity they mean, or Wayfinder asks.

Why: "who owns X" is only useful if X is found the way people write it in a hurry (spaces,
capitals, typos, "the artists db"), and a wrong guess between two teams' services is worse than
asking which one was meant.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from catalog.config import Config
from catalog.core import Catalog
from catalog.store.models import Entity
from catalog.store.precedence import DESCRIPTOR, SLACK
from catalog.store.reads import load_index
from catalog.sync.sources.descriptor import ALIASES_ANNOTATION
from tests.helpers import backstage_config, component, group

MakeCatalog = Callable[[Config], Catalog]


@pytest.fixture
def lookalikes(make_catalog: MakeCatalog, tmp_path: Path) -> Catalog:
    """Near-identical names owned by different teams, plus one with aliases."""
    root = tmp_path / "cat"
    root.mkdir()
    aliased = component("money-mover", owner="team-pay").replace(
        "  name: money-mover\n",
        '  name: money-mover\n  title: Funds Transfer Engine\n  annotations:\n    wayfinder.io/aliases: "mm, bank bridge, FTE"\n',
    )
    (root / "all.yaml").write_text(
        "---\n".join([
            group("team-pay"), group("team-ops"),
            component("billing-gateway", owner="team-pay"), component("billing-gateways", owner="team-ops"),
            component("report-builder", owner="team-pay"), component("report-builders", owner="team-pay"),
            aliased,
        ]),
        encoding="utf-8",
    )  # fmt: skip
    catalog = make_catalog(backstage_config(tmp_path, {"lookalikes": root}))
    [report] = catalog.sync()
    assert report.ok and report.problems == []
    return catalog


def _subject(catalog: Catalog, question: str) -> str | None:
    answer = catalog.ask(question)
    return answer.subject.ref if answer.subject else None


@pytest.mark.parametrize(
    "written",
    [
        "component:default/ledger-service",  # the canonical ref
        "component:ledger-service",  # the short ref Wayfinder itself prints
        "Component:Default/Ledger-Service",
        "ledger-service",
        "Ledger Service",
        "ledgerservice",
        "LEDGER_SERVICE",
        "ledger.service",
    ],
)
def test_exact_name_and_ref_are_case_and_separator_insensitive(example_catalog: Catalog, written: str) -> None:
    assert _subject(example_catalog, f"who owns {written}?") == "component:default/ledger-service"


def test_title_resolves(example_catalog: Catalog) -> None:
    assert _subject(example_catalog, "who owns Northwind for Android?") == "component:default/android-app"
    assert _subject(example_catalog, "who owns identity verification (kyc)") == "component:default/identity-verification"
    with example_catalog.session() as s:
        match = example_catalog.index(s).resolve("Northwind for iOS")
    assert match.status == "found" and match.matches[0].how == "title"
    assert match.best is not None and match.best.ref == "component:default/ios-app"


@pytest.mark.parametrize("alias", ["mm", "bank bridge", "the Bank-Bridge", "fte", "Funds Transfer Engine"])
def test_alias_annotation_and_title_resolve(lookalikes: Catalog, alias: str) -> None:
    answer = lookalikes.ask(f"who owns {alias}?")
    assert answer.subject is not None and answer.subject.ref == "component:default/money-mover"
    assert answer.owner is not None and answer.owner.ref == "group:default/team-pay"


@pytest.mark.parametrize(
    ("written", "ref"),
    [
        ("ledger service", "component:default/ledger-service"),
        ("payment gateway sim", "component:default/payment-gateway-simulator"),
        ("notif dispatch", "component:default/notification-dispatcher"),
        ("identity servic", "component:default/identity-service"),
    ],
)
def test_partial_names_resolve(example_catalog: Catalog, written: str, ref: str) -> None:
    assert _subject(example_catalog, f"who owns {written}?") == ref


def test_partial_name_on_the_upstream_catalog(backstage: Catalog) -> None:
    assert _subject(backstage, "who owns artist look?") == "component:default/artist-lookup"
    assert _subject(backstage, "who owns wayback ingestion") == "component:default/wayback-archive-ingestion"


@pytest.mark.parametrize(
    ("written", "ref"),
    [
        ("payemnts-service", "component:default/payments-service"),
        ("paymnt-gateway", "component:default/payment-gateway"),
        ("identty-verification", "component:default/identity-verification"),
    ],
)
def test_typos_resolve(example_catalog: Catalog, written: str, ref: str) -> None:
    answer = example_catalog.ask(f"who owns {written}")
    assert answer.status == "answered"
    assert answer.subject is not None and answer.subject.ref == ref


def test_typo_on_the_upstream_catalog(backstage: Catalog) -> None:
    answer = backstage.ask("who owns artst-lookup")
    assert answer.subject is not None and answer.subject.ref == "component:default/artist-lookup"
    assert answer.owner is not None and answer.owner.ref == "group:default/team-a"


@pytest.mark.parametrize(
    ("question", "ref"),
    [
        ("who is in team b", "group:default/team-b"),
        ("who owns the artists db", "resource:default/artists-db"),
        ("who owns the artists database?", "resource:default/artists-db"),
        ("who owns petstore api", "api:default/petstore"),
        ("who owns the petstore API?", "api:default/petstore"),
        ("who owns petstore", "component:default/petstore"),  # same owner for both: no need to ask
        ("who owns api:petstore", "api:default/petstore"),
        ("what does team c own", "group:default/team-c"),
        ("who owns the podcast system", "system:default/podcast"),
    ],
)
def test_kind_words_narrow_the_search(backstage: Catalog, question: str, ref: str) -> None:
    answer = backstage.ask(question)
    assert answer.status in ("answered", "no_data"), answer.text
    assert answer.subject is not None and answer.subject.ref == ref


def test_kind_narrowing_on_the_example_org(example_catalog: Catalog) -> None:
    assert _subject(example_catalog, "who owns the ledger db") == "resource:default/ledger-db"
    assert _subject(example_catalog, "who is on the risk team") == "group:default/risk"
    assert _subject(example_catalog, "what does team payments own?") == "group:default/payments"


@pytest.mark.parametrize(
    ("written", "best", "other"),
    [
        ("biling-gateway", "component:default/billing-gateway", "component:default/billing-gateways"),
        ("bilingg-gatewys", "component:default/billing-gateways", "component:default/billing-gateway"),
    ],
)
def test_close_names_with_different_owners_ask_best_first(lookalikes: Catalog, written: str, best: str, other: str) -> None:
    answer = lookalikes.ask(f"who owns {written}?")
    assert answer.status == "ambiguous"
    assert answer.subject is None and answer.owner is None  # no guess between two teams
    assert [c.ref for c in answer.candidates] == [best, other]
    assert "which one did you mean" in answer.text
    assert "group:default/team-pay" in answer.text and "group:default/team-ops" in answer.text


def test_close_names_with_the_same_owner_just_answer(lookalikes: Catalog) -> None:
    answer = lookalikes.ask("who owns report builder")
    assert answer.status == "answered"
    assert answer.owner is not None and answer.owner.ref == "group:default/team-pay"


def test_ambiguous_on_the_example_org(example_catalog: Catalog) -> None:
    answer = example_catalog.ask("who owns the checkout component?")
    assert answer.status == "ambiguous"
    assert {c.ref for c in answer.candidates} == {"component:default/checkout-api", "component:default/checkout-web"}
    assert {c.owner_ref for c in answer.candidates} == {"group:default/checkout", "group:default/storefront"}


def test_nothing_close_is_not_found_with_nearest_suggestions(example_catalog: Catalog) -> None:
    answer = example_catalog.ask("who owns ledgr-reconciler?")
    assert answer.status == "not_found"
    assert answer.subject is None and answer.owner is None
    suggested = [c.ref for c in answer.candidates]
    assert 1 <= len(suggested) <= 5
    assert "component:default/ledger-service" in suggested
    assert all("ledger" in ref for ref in suggested)
    assert "Did you mean" in answer.text and "ledgr-reconciler" in answer.text


def test_not_found_never_answers_with_a_random_entity(example_catalog: Catalog) -> None:
    answer = example_catalog.ask("who owns quantum-flux-capacitor-9000?")
    assert answer.status == "not_found" and answer.subject is None
    assert "quantum-flux-capacitor-9000" in answer.text


def test_retired_entities_are_not_found(make_catalog: MakeCatalog, tmp_path: Path) -> None:
    root = tmp_path / "cat"
    root.mkdir()
    (root / "a.yaml").write_text(group("team-a") + "---\n" + component("zebra-stripes"), encoding="utf-8")
    (root / "b.yaml").write_text(component("lonely-llama"), encoding="utf-8")
    catalog = make_catalog(backstage_config(tmp_path, {"main": root}))
    catalog.sync()
    assert _subject(catalog, "who owns lonely-llama") == "component:default/lonely-llama"
    (root / "b.yaml").unlink()
    catalog.sync()
    assert catalog.ask("who owns lonely-llama").subject is None  # the index followed the catalog


def test_the_index_keeps_each_entitys_highest_precedence_row_whatever_order_they_come_in(example_catalog: Catalog) -> None:
    # Why: the rows are no longer sorted by the database (every replica rebuilds at once after a big
    # sync, and sorting 50k wide rows was a third of PostgreSQL's work): the index picks the winner.
    now = datetime(2026, 3, 14, tzinfo=UTC)
    ref = "component:default/payments-service"

    def row(source: str, precedence: int, title: str, alias: str) -> Entity:
        return Entity(
            source=source, precedence=precedence, ref=ref, kind="component", namespace="default", name="payments-service",
            title=title, annotations={ALIASES_ANNOTATION: alias}, content_hash=source, first_seen_at=now, updated_at=now,
        )  # fmt: skip

    with example_catalog.session() as session:  # both after the descriptor's row: one outranks it, one does not
        session.add_all([row("override", DESCRIPTOR + 1, "Money In", "cash-intake"), row("slack", SLACK, "Not Shown", "hidden-alias")])
        session.commit()
        index = load_index(session)
    kept = index.get(ref)
    assert kept is not None and (kept.title, kept.aliases) == ("Money In", ("cash-intake",))
    assert [e.ref for e in index.named("cash-intake")] == [ref] and index.named("hidden-alias") == index.named("Not Shown") == []
    assert sum(e.ref == ref for e in index.entities) == 1
