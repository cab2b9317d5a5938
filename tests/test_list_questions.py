"""Lists by tag, rankings, and questions about nothing named: "tier-1 services", "which team owns the most services".

Why: issue 10. Engineers ask for what the catalog's tags say ("pci services", "what uses redis")
and got "Nothing in the catalog is called 'kafka'"; managers ask who owns the most and got
"Nothing is called 'most'". A tag narrows a list to exactly what carries it; a name always wins
over a tag; a ranking counts what each owner owns; and a question that names nothing ("who is on
call?", "who owns the api?") asks which one rather than searching descriptions for "call" and guessing.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from catalog.answers.models import Answer
from catalog.core import Catalog
from tests.conftest import copied_database
from tests.helpers import backstage_config, group


def entity(kind: str, name: str, owner: str, tags: list[str], *, runbook: bool = False, type_: str = "service", description: str = "") -> str:
    links = f"  links:\n    - url: https://runbooks.example/{name}\n      title: Runbook\n" if runbook else ""
    about = f"  description: {description}\n" if description else ""
    return (
        f"apiVersion: backstage.io/v1alpha1\nkind: {kind}\nmetadata:\n  name: {name}\n{about}  tags: [{', '.join(tags)}]\n{links}"
        f"spec:\n  type: {type_}\n  lifecycle: production\n  owner: {owner}\n" + ("  definition: x\n" if kind == "API" else "")
    )


DOCS = {
    "checkout.yaml": entity("Component", "checkout", "team-a", ["tier-1", "kafka"], runbook=True),
    "cart.yaml": entity("Component", "cart", "team-a", ["tier-1", "redis"]),
    "ledger.yaml": entity("Component", "ledger", "team-b", ["tier-1", "postgres"], description="Calls the bank and books each call"),
    "reports.yaml": entity("Component", "reports", "team-b", ["python"]),
    "orders-api.yaml": entity("API", "orders-api", "team-a", ["tier-1", "kafka"], type_="openapi"),
    "kyc.yaml": entity("Component", "identity-checks", "team-b", ["kyc"]),
    "kafka.yaml": entity("Resource", "kafka", "team-c", ["messaging"], type_="queue"),
    "toolkit.yaml": entity("Resource", "python-toolkit", "team-c", [], type_="library"),
    "teams.yaml": "---\n".join([group("team-a"), group("team-b"), group("team-c")]),
}


def synced_shop(url: str, folder: Path) -> tuple[Catalog, Path]:
    root = folder / "shop"
    root.mkdir()
    for name, text in DOCS.items():
        (root / name).write_text(text, encoding="utf-8")
    catalog = Catalog(url, backstage_config(folder, {"shop": root}))
    assert catalog.sync()[0].ok
    return catalog, root


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory, migrated_template: str) -> Iterator[tuple[Catalog, Path]]:
    """The shop, synced once: the questions only read it."""
    folder = tmp_path_factory.mktemp("shop")
    with copied_database(migrated_template, folder) as url:
        catalog, root = synced_shop(url, folder)
        yield catalog, root
        catalog.dispose()


@pytest.fixture
def own_shop(database_url: str, tmp_path: Path) -> Iterator[tuple[Catalog, Path]]:
    """The shop for a test that changes it."""
    catalog, root = synced_shop(database_url, tmp_path)
    yield catalog, root
    catalog.dispose()


def listed(answer: Answer) -> set[str]:
    assert answer.intent == "gaps" and answer.status == "answered", answer.text
    return {i.ref.rpartition("/")[2] for g in answer.gaps for i in g.items}


@pytest.mark.parametrize(
    ("question", "names", "heading"),
    [
        ("tier-1 services", {"checkout", "cart", "ledger"}, "Services tagged tier-1"),
        ("Tier 1 services?", {"checkout", "cart", "ledger"}, "Services tagged tier-1"),
        ("which services are tagged redis", {"cart"}, "Services tagged redis"),
        ("what uses postgres", {"ledger"}, "Entities tagged postgres"),
        ("anything tagged tier-1", {"checkout", "cart", "ledger", "orders-api"}, "Entities tagged tier-1"),
        ("which apis are tier-1", {"orders-api"}, "APIs tagged tier-1"),
        ("tier-1 services owned by team-b", {"ledger"}, "Services tagged tier-1 owned by team-b"),
        ("which tier-1 services have no runbook", {"cart", "ledger"}, "Services tagged tier-1 with no runbook link"),
        ("which teams own tier-1 services", {"checkout", "cart", "ledger"}, "Services tagged tier-1"),
    ],
)
def test_a_tag_lists_exactly_what_carries_it(shop: tuple[Catalog, Path], question: str, names: set[str], heading: str) -> None:
    answer = shop[0].ask(question)
    assert listed(answer) == names
    assert heading in answer.text


def test_a_name_wins_over_a_tag_and_one_tagged_entity_is_the_one_asked_about(shop: tuple[Catalog, Path]) -> None:
    catalog, _ = shop
    kafka = catalog.ask("who owns kafka")  # a resource is called kafka: it is answered, not the two entities tagged kafka
    assert kafka.subject is not None and kafka.subject.ref == "resource:default/kafka"
    assert kafka.owner is not None and kafka.owner.ref == "group:default/team-c"
    python = catalog.ask("who owns python")  # not a list: a name it begins wins over the tag
    assert python.subject is not None and python.subject.ref == "resource:default/python-toolkit", python.text
    assert listed(catalog.ask("python services")) == {"reports"}  # a list: the tag wins over a partial name
    kyc = catalog.ask("who do I ask about kyc?")  # one entity carries the tag: its owner answers, as a description match would
    assert kyc.owner is not None and kyc.owner.ref == "group:default/team-b", kyc.text


def test_a_bare_tag_lists_and_a_resync_is_seen(own_shop: tuple[Catalog, Path]) -> None:
    catalog, root = own_shop
    assert listed(catalog.ask("redis")) == {"cart"}
    (root / "reports.yaml").write_text(entity("Component", "reports", "team-b", ["python", "redis"]), encoding="utf-8")
    assert catalog.sync()[0].ok
    assert listed(catalog.ask("redis")) == {"cart", "reports"}  # the tags are read again for the new catalog generation
    (root / "cart.yaml").unlink()
    assert catalog.sync()[0].ok
    assert listed(catalog.ask("which services use redis")) == {"reports"}  # a removed entity is not listed


@pytest.mark.parametrize("question", ["who is on call?", "whos oncall", "who owns it?", "runbook?"])
def test_a_question_about_nothing_named_asks_which_one(shop: tuple[Catalog, Path], question: str) -> None:
    answer = shop[0].ask(question)
    assert answer.status == "unknown" and answer.subject is None and not answer.candidates
    assert "Which service or team do you mean?" in answer.text  # not ledger, whose description says "call"


def test_a_lone_kind_word_offers_that_kind_to_pick_from(shop: tuple[Catalog, Path]) -> None:
    catalog, _ = shop
    services = catalog.ask("who owns the service?")
    assert services.status == "ambiguous"
    assert {c.name for c in services.candidates} == {"checkout", "cart", "ledger", "reports", "identity-checks"}
    api = catalog.ask("who owns the api?")  # one API: nothing to choose between
    assert api.status == "answered" and api.subject is not None and api.subject.ref == "api:default/orders-api"
    assert api.owner is not None and api.owner.ref == "group:default/team-a"


@pytest.mark.parametrize(
    ("question", "owners"),
    [
        ("which team owns the most services", [("team-b", 3), ("team-a", 2)]),
        ("who owns the fewest services", [("team-a", 2), ("team-b", 3)]),
        ("which team owns the most tier-1 services", [("team-a", 2), ("team-b", 1)]),
        ("top teams by tier-1 services", [("team-a", 2), ("team-b", 1)]),
        ("top 5 teams by number of services", [("team-b", 3), ("team-a", 2)]),
        ("who owns the most apis", [("team-a", 1)]),
        ("which team owns the most", [("team-a", 3), ("team-b", 3), ("team-c", 2)]),  # a tie: by name
        ("number of services per team", [("team-b", 3), ("team-a", 2)]),  # a count per owner: every owner, most first
        ("how many services does each team own", [("team-b", 3), ("team-a", 2)]),
        ("count of components per team", [("team-b", 3), ("team-a", 2)]),
    ],
)
def test_a_ranking_counts_what_each_owner_owns(shop: tuple[Catalog, Path], question: str, owners: list[tuple[str, int]]) -> None:
    answer = shop[0].ask(question)
    assert answer.intent == "gaps", answer.text
    assert [(g.scope.rpartition(" owned by ")[2], g.total) for g in answer.gaps] == owners


@pytest.mark.parametrize(
    ("question", "first", "heading"),
    [
        ("which team has the most members", ("checkout", 3), "Members of checkout"),
        ("biggest team", ("checkout", 3), "Members of checkout"),
        ("smallest team", ("acquiring", 2), "Members of acquiring"),
        ("which service has the most dependents", ("identity-service", 4), "Depending on identity-service"),
        ("what is the most used database", ("catalog-db", 4), "Depending on catalog-db"),
        ("which api has the most consumers", ("identity-oidc", 8), "Depending on identity-oidc"),
        ("which service has the most dependencies", ("checkout-api", 8), "Dependencies of checkout-api"),
        ("which system has the most components", ("online-store", 7), "Components in online-store"),
        ("which domain has the most systems", ("commerce", 5), "Systems in commerce"),
    ],
)
def test_a_ranking_counts_what_the_question_names(example_catalog: Catalog, question: str, first: tuple[str, int], heading: str) -> None:
    """Team size is members, not what a team owns; "most used" counts dependents; a system's size its parts."""
    answer = example_catalog.ask(question)
    assert answer.intent == "gaps" and 2 <= len(answer.gaps) <= 5, answer.text
    top = answer.gaps[0]
    assert (top.scope, top.total) == (heading, first[1]) and len(top.items) == min(first[1], 5)
    assert [g.total for g in answer.gaps] == sorted((g.total for g in answer.gaps), reverse="most" in question or "biggest" in question)


def test_a_superlative_about_something_else_is_not_a_ranking(shop: tuple[Catalog, Path]) -> None:
    assert shop[0].ask("who owns the most popular service").intent != "gaps"


def test_owned_by_a_team_scopes_a_gap_question_and_owned_by_nobody_asks_for_no_owner(shop: tuple[Catalog, Path]) -> None:
    scoped = shop[0].ask("which services owned by team-b have no runbook")
    assert [g.key for g in scoped.gaps] == ["no_runbook"] and listed(scoped) == {"ledger", "reports", "identity-checks"}
    assert [g.key for g in shop[0].ask("what is owned by nobody?").gaps] == ["no_owner"]


def test_what_has_no_system_description_or_repository_is_listed(own_shop: tuple[Catalog, Path]) -> None:
    """Catalog hygiene: the missing thing is named after the negation ("not in any system"), not listed ("which systems")."""
    catalog, root = own_shop
    complete = entity("Component", "complete", "team-a", [], description="Has everything").replace(
        "metadata:\n", "metadata:\n  annotations:\n    github.com/project-slug: acme/complete\n"
    ) + "  system: shop\n"
    (root / "complete.yaml").write_text(complete + "---\napiVersion: backstage.io/v1alpha1\nkind: System\nmetadata:\n  name: shop\nspec:\n  owner: team-a\n", encoding="utf-8")
    assert catalog.sync()[0].ok
    services = {"checkout", "cart", "ledger", "reports", "identity-checks"}
    assert listed(catalog.ask("which services are not in any system")) == services
    assert listed(catalog.ask("what has no system")) == services | {"orders-api", "kafka", "python-toolkit"}
    assert listed(catalog.ask("services with no description")) == services - {"ledger"}
    assert listed(catalog.ask("which components have no repo")) == services
    systems = catalog.ask("which systems have no description")
    assert [g.key for g in systems.gaps] == ["no_description"] and listed(systems) == {"shop"}
    overview = catalog.ask("what gaps are there?")  # every missing fact, not the lifecycle stages nor a list of everything
    assert {g.key for g in overview.gaps} >= {"no_owner", "no_runbook", "no_system", "no_description", "no_repo"}
    assert not {g.key for g in overview.gaps} & {"all", "lifecycle_production"}


@pytest.mark.parametrize(
    ("question", "total"),
    [("how many kafka topics", 2), ("list the mobile apps", 2), ("how many topics", 2), ("how many tier-1 services are there", 13)],
)
def test_a_count_keeps_the_tag_and_the_type_asked_for(example_catalog: Catalog, question: str, total: int) -> None:
    """"Topics: 15" counted every resource and "Services: 50" every service: a kind word's type ("kafka-topic" is a
    topic, "mobile-app" an app) and a tag after "how many" narrow what is counted."""
    answer = example_catalog.ask(question)
    assert [g.total for g in answer.gaps] == [total], answer.text


def test_a_tag_is_matched_whole_not_as_part_of_a_longer_one(own_shop: tuple[Catalog, Path]) -> None:
    """Only the rows whose tags' text holds the word are read (`catalog.search.tags`): each must then carry the tag itself."""
    catalog, root = own_shop
    (root / "card.yaml").write_text(entity("Component", "card-vault", "team-a", ["pci"]), encoding="utf-8")
    (root / "risk.yaml").write_text(entity("Component", "risk-engine", "team-b", ["pcidss", "c++"]), encoding="utf-8")
    assert catalog.sync()[0].ok
    assert listed(catalog.ask("PCI services")) == {"card-vault"}  # not risk-engine, whose tag only begins with it
    assert listed(catalog.ask("pcidss services")) == {"risk-engine"}
