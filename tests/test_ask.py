"""Questions without an LLM: every intent, the ways people phrase them, and answers that cite their source.

Why: this is the bot's whole job. People write "owner of X?", paste Slack links, use curly
apostrophes; the answer must still be right, say where it came from and how fresh it is, and a
question it cannot understand must be kept so the team can see what people ask for.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from catalog.answers.ask import ask
from catalog.answers.questionlog import unanswered
from catalog.answers.text import render_text
from catalog.config import Config
from catalog.core import Catalog
from tests.helpers import backstage_config, component, folder_sources, group

MakeCatalog = Callable[[Config], Catalog]
PAYMENTS = "group:default/payments"


def _unanswered(catalog: Catalog) -> list[Any]:
    catalog.flush_records()
    with catalog.session() as s:
        return unanswered(s)


@pytest.mark.parametrize(
    "question",
    [
        "who owns payments-service",
        "Who owns payments-service?",
        "WHO OWNS PAYMENTS-SERVICE!!!",
        "owner of payments-service?",
        "owners of payments-service",
        "payments-service owner",
        "payments-service's owner?",
        "whose is payments-service?",
        "who do I ask about payments-service?",
        "who should we talk to about payments-service",
        "who's responsible for payments-service?",
        "who’s responsible for payments-service?",  # the apostrophe phones and Slack produce
        "who is the owner of payments-service",
        "who maintains payments-service...",
        "who owns `payments-service`?",
        "who owns *payments-service*",
        'who owns "payments-service"?',
        "<@U0123ABCD> who owns payments-service?",
        "<@U0123ABCD|wayfinder>   who owns   payments-service",
        "who owns <https://github.com/northwind/payments-service|payments-service>?",
        "hey wayfinder, who owns payments-service?",
        "payments-service",
        "Payments Service",
    ],
)
def test_owner_phrasings(example_catalog: Catalog, question: str) -> None:
    answer = example_catalog.ask(question)
    assert (answer.intent, answer.status) == ("owner", "answered"), answer.text
    assert answer.subject is not None and answer.subject.ref == "component:default/payments-service"
    assert answer.owner is not None and answer.owner.ref == PAYMENTS


def test_a_partial_name_several_things_share_is_answered_by_their_one_owner_naming_them_all(example_catalog: Catalog) -> None:
    """"order" matches five entities, all owned by checkout: who owns it is answered, and says what else it covers;
    what depends on it is not the same for each, so that asks which one."""
    owner = example_catalog.ask("who owns order")
    assert owner.status == "answered" and owner.owner is not None and owner.owner.ref == "group:default/checkout"
    [note] = [n for n in owner.notes if "also matches" in n]
    assert note.startswith("'order' also matches ") and note.endswith(", with the same owner.")
    also = set(note.removesuffix(", with the same owner.").split(" matches ")[1].split(", "))
    assert {"component:order-service", "resource:order-events-topic"} <= also and "resource:orders-db" not in also  # "order" is only its start
    assert note in owner.text
    assert example_catalog.ask("what depends on order").status == "ambiguous"
    assert not any("also matches" in n for n in example_catalog.ask("who owns payments-service").notes)


@pytest.mark.parametrize(
    ("question", "verdict"),
    [
        ("is samuel on payments?", "Yes: samuel.okafor is on payments."),
        ("does nadia belong to payments", "Yes: nadia.haddad is on payments."),
        ("is samuel okafor in the ledger team", "No: samuel.okafor is not on ledger."),
    ],
)
def test_whether_a_person_is_on_a_team_is_answered_yes_or_no_with_their_teams(example_catalog: Catalog, question: str, verdict: str) -> None:
    answer = example_catalog.ask(question)
    assert (answer.intent, answer.status) == ("team_of", "answered"), answer.text
    assert answer.text.splitlines()[0] == verdict
    assert [t.ref for t in answer.teams] == ["group:default/payments"]  # the teams they are on, whichever was asked about


def test_owner_answer_gives_the_owners_contact(example_catalog: Catalog) -> None:
    answer = example_catalog.ask("who owns payments-service?")
    owner = answer.owner
    assert owner is not None
    assert owner.email == "payments@northwind.example"
    assert owner.slack_channel == "#team-payments"
    assert {m.name for m in owner.members} == {"elena.rossi", "nadia.haddad", "samuel.okafor"}
    for shown in ("payments-service", "Payments", "#team-payments", "payments@northwind.example", "Elena Rossi"):
        assert shown in answer.text


@pytest.mark.parametrize(
    ("question", "subject"),
    [("what port does checkout-api run on", "checkout-api"), ("how many replicas does checkout-api have", "checkout-api"),
     ("when was payments-service last deployed", "payments-service"), ("ledger-db disk is full", "ledger-db")],
)  # fmt: skip
def test_a_question_the_catalog_cannot_answer_gets_the_owner_and_says_so(example_catalog: Catalog, question: str, subject: str) -> None:
    """The owner card alone read as if it answered "what port does it run on"."""
    answer = example_catalog.ask(question)

    assert (answer.intent, answer.status, answer.subject and answer.subject.name) == ("owner", "answered", subject)
    assert answer.notes[0] == f"The catalog has no answer to the rest of the question: ask {subject}'s owner."


@pytest.mark.parametrize(
    "question",
    ["who owns checkout-api", "checkout-api", "who is the tech lead for checkout-api", "¿quién es el dueño de checkout-api?", "team payments vacation calendar"],
)  # a team answers for itself: not "ask payments's owner"
def test_an_owner_question_says_nothing_of_what_it_cannot_answer(example_catalog: Catalog, question: str) -> None:
    assert not any(n.startswith("The catalog has no answer") for n in example_catalog.ask(question).notes)


@pytest.mark.parametrize("question", ["who leads the payments team?", "who owns payments-service?", "who is the manager of team payments"])
def test_a_teams_leads_are_named_where_the_team_is(example_catalog: Catalog, question: str) -> None:
    """"who leads the payments team" gave the team's card without the leads its `wayfinder.io/leads` names."""
    answer = example_catalog.ask(question)

    assert answer.owner is not None and [p.ref for p in answer.owner.leads] == ["user:default/nadia.haddad", "user:default/samuel.okafor"]
    assert any(line.strip() == "Leads: Nadia Haddad, Samuel Okafor" for line in answer.text.splitlines())
    data = answer.to_json()["answer"]
    assert [p["ref"] for p in (data.get("contact") or data)["leads"]] == ["user:default/nadia.haddad", "user:default/samuel.okafor"]


@pytest.mark.parametrize(
    ("question", "verdict"),
    [("is elena a lead on payments?", "No: elena.rossi is not a lead of payments (its leads: Nadia Haddad, Samuel Okafor)."),
     ("is nadia a lead of payments", "Yes: nadia.haddad is a lead of payments."),
     ("is samuel okafor one of the payments leads?", "Yes: samuel.okafor is a lead of payments.")],
)  # fmt: skip
def test_whether_a_person_leads_a_team_is_answered_from_its_leads_not_its_members(example_catalog: Catalog, question: str, verdict: str) -> None:
    """"is elena a lead on payments?" answered "Yes: elena.rossi is on payments": she is a member, not a lead."""
    assert example_catalog.ask(question).text.splitlines()[0] == verdict


def test_a_leads_annotation_naming_no_ref_leaves_the_card_without_leads(make_catalog: MakeCatalog, tmp_path: Path) -> None:
    root = tmp_path / "catalog"
    root.mkdir()
    (root / "org.yaml").write_text(
        "apiVersion: backstage.io/v1alpha1\nkind: Group\nmetadata: {name: team-a, annotations: {wayfinder.io/leads: 'user:/, ,'}}\n"
        "spec: {type: team, children: []}\n", encoding="utf-8",
    )  # fmt: skip
    catalog = make_catalog(backstage_config(tmp_path, {"main": root}))
    catalog.sync()

    answer = catalog.ask("who is team-a?")
    assert answer.status == "answered" and answer.owner is not None and answer.owner.leads == []


def test_one_question_a_line_is_answered_one_by_one(example_catalog: Catalog) -> None:
    """A two-line Slack message answered its first line only."""
    answer = example_catalog.ask("who owns payments-service\nwhat depends on ledger-db?")

    assert [(p.intent, p.subject and p.subject.name) for p in answer.parts] == [("owner", "payments-service"), ("dependents", "ledger-db")]
    assert [a["entity"] for a in answer.to_json()["answers"]] == ["component:default/payments-service", "resource:default/ledger-db"]


def test_a_slack_group_handle_is_written_with_one_at_sign(example_catalog: Catalog) -> None:
    """Annotations write the handle with or without its @ (`@payments-team`); the answer shows one."""
    answer = example_catalog.ask("who owns payments-service?")
    assert answer.owner is not None and "Slack group: @payments-team" in answer.text
    answer.owner.slack_usergroup_handle = "@payments-team"
    assert "Slack group: @payments-team" in render_text(answer, now=datetime.now(UTC))


def test_team_without_slack_is_still_reachable_by_email_and_members(example_catalog: Catalog) -> None:
    answer = example_catalog.ask("who owns loyalty-service?")
    assert answer.owner is not None and answer.owner.ref == "group:default/loyalty"
    assert answer.owner.slack_channel is None
    assert answer.owner.email == "loyalty@northwind.example"
    assert "loyalty@northwind.example" in answer.text and answer.owner.members


def test_entity_without_owner_says_so_and_names_its_file(example_catalog: Catalog) -> None:
    answer = example_catalog.ask("who owns tax-calculator?")
    assert answer.status == "no_data" and answer.owner is None
    assert "tax-calculator has no owner" in answer.text
    assert "components/order-management/tax-calculator.yaml" in answer.text
    assert "spec.owner" in answer.text


@pytest.mark.parametrize("question", ["what is checkout-api?", "tell me about checkout-api", "what does checkout-api do", "tags of checkout-api"])
def test_what_a_thing_is_gives_its_description_tags_place_and_owner(example_catalog: Catalog, question: str) -> None:
    answer = example_catalog.ask(question)
    assert (answer.intent, answer.status) == ("about", "answered"), answer.text
    lines = answer.text.splitlines()
    assert lines[0] == "component:checkout-api (Checkout API): Checkout orchestration: prices the basket, reserves stock, takes payment and creates the order."
    assert "Type: service · Lifecycle: production · Tags: java, spring" in lines[1]
    assert "System: system:order-management (Order Management)" in answer.text and "Checkout [group:checkout]" in answer.text
    fields = answer.to_json()["answer"]
    assert fields["owner"] == "group:default/checkout" and fields["system"] == "system:default/order-management"
    assert "java" in fields["tags"] and fields["lifecycle"] == "production" and fields["description"].startswith("Checkout orchestration")


def test_what_an_ownerless_thing_is_is_answered_and_says_who_should_own_it(example_catalog: Catalog) -> None:
    answer = example_catalog.ask("what is tax-calculator")
    assert (answer.intent, answer.status) == ("about", "answered") and answer.owner is None
    assert answer.text.startswith("component:tax-calculator: Legacy in-house VAT calculator") and "tax-calculator has no owner" in answer.text


def test_who_a_person_is_says_how_to_reach_them_and_their_teams(example_catalog: Catalog) -> None:
    answer = example_catalog.ask("who is nadia?")
    assert (answer.intent, answer.status) == ("owner", "answered") and [t.ref for t in answer.teams] == [PAYMENTS]
    assert "nadia.haddad@northwind.example" in answer.text and "Teams: Payments [group:payments]" in answer.text
    assert answer.to_json()["answer"]["teams"] == [PAYMENTS]


def test_owner_missing_from_the_catalog_is_named(make_catalog: MakeCatalog, tmp_path: Path) -> None:
    root = tmp_path / "cat"
    root.mkdir()
    (root / "a.yaml").write_text(component("ghost-ship", owner="team-ghost"), encoding="utf-8")
    catalog = make_catalog(backstage_config(tmp_path, {"main": root}))
    catalog.sync()
    answer = catalog.ask("who owns ghost-ship")
    assert answer.owner is not None and answer.owner.ref == "group:default/team-ghost"
    assert "group:default/team-ghost is not in the catalog" in answer.text


def test_owned_by(example_catalog: Catalog) -> None:
    answer = example_catalog.ask("what does team payments own?")
    assert (answer.intent, answer.status) == ("owned_by", "answered")
    assert answer.subject is not None and answer.subject.ref == PAYMENTS
    # examples/README.md: what payments owns (payment-gateway is in the same system but owned by acquiring).
    assert {i.ref for i in answer.items} == {
        "system:default/payments-platform",
        "component:default/payments-service", "component:default/refunds-worker",
        "component:default/payouts-service", "component:default/payments-sdk-js",
        "api:default/payments-grpc", "api:default/payment-events",
        "resource:default/payments-db", "resource:default/payment-events-topic",
    }  # fmt: skip
    assert "owns 9" in answer.text and "refunds-worker" in answer.text
    for phrasing in (
        "what is owned by payments",
        "what’s owned by the payments team",
        "payments owns what",
        "what belongs to team payments",
    ):
        again = example_catalog.ask(phrasing)
        assert again.intent == "owned_by" and {i.ref for i in again.items} == {i.ref for i in answer.items}, phrasing


def test_owned_by_a_person(backstage: Catalog) -> None:
    answer = backstage.ask("what does guest own?")
    assert answer.subject is not None and answer.subject.ref == "user:default/guest"
    assert {i.ref for i in answer.items} == {
        "component:default/playback-order",
        "component:default/searcher",
        "component:default/shuffle-api",
    }
    assert "Member of team-a" in answer.text


@pytest.mark.parametrize(
    "question", ["who is on the risk team?", "who's in risk", "members of team risk", "risk members", "who belongs to risk"]
)
def test_members(example_catalog: Catalog, question: str) -> None:
    answer = example_catalog.ask(question)
    assert (answer.intent, answer.status) == ("members", "answered"), answer.text
    assert {m.name for m in answer.members} == {"mateo.gonzalez", "yuki.tanaka", "zainab.bello"}
    assert "yuki.tanaka@northwind.example" in answer.text


def test_members_on_the_upstream_org(backstage: Catalog) -> None:
    answer = backstage.ask("who is in team b?")
    assert answer.subject is not None and answer.subject.ref == "group:default/team-b"
    assert {m.name for m in answer.members} == {"amelia.park", "colette.brock", "jenny.doe", "jonathon.page", "justine.barrow"}


def test_depends_on_includes_consumed_apis(example_catalog: Catalog) -> None:
    answer = example_catalog.ask("what does payments-service depend on?")
    assert (answer.intent, answer.status) == ("depends_on", "answered")
    relation = {i.ref: i.relation for i in answer.items}
    assert relation["resource:default/payments-db"] == "dependsOn"
    assert relation["component:default/ledger-service"] == "dependsOn"
    assert relation["api:default/ledger-grpc"] == "consumesApi"
    assert relation["api:default/psp-gateway-rest"] == "consumesApi"
    assert "consumes API" in answer.text
    same = example_catalog.ask("payments-service dependencies")
    assert same.intent == "depends_on" and {i.ref for i in same.items} == set(relation)


def test_dependents(example_catalog: Catalog) -> None:
    answer = example_catalog.ask("what depends on ledger-db?")
    assert (answer.intent, answer.status) == ("dependents", "answered")
    # examples/README.md; statements-generator writes the qualified `resource:default/ledger-db`.
    assert {i.ref for i in answer.items} == {
        "component:default/ledger-service", "component:default/reconciliation-job", "component:default/statements-generator",
    }  # fmt: skip


def test_dependents_include_consumers_of_the_apis_it_provides(example_catalog: Catalog) -> None:
    answer = example_catalog.ask("what depends on payments-service?")
    by_ref = {i.ref: i for i in answer.items}
    assert by_ref["component:default/checkout-api"].relation == "dependencyOf"
    assert by_ref["component:default/event-pipeline"].relation == "consumesApi"
    assert by_ref["component:default/event-pipeline"].via == "api:default/payment-events"
    assert "via api:default/payment-events" in answer.text
    api = example_catalog.ask("who uses payments-grpc?")
    assert {i.ref for i in api.items} == {"component:default/chargeback-service", "component:default/checkout-api"}
    assert all(i.relation == "apiConsumedBy" for i in api.items)


def test_dependents_via_apis_on_the_upstream_catalog(backstage: Catalog) -> None:
    upstream = backstage.ask("what depends on wayback-archive")
    assert [(i.ref, i.via) for i in upstream.items] == [("component:default/wayback-search", "api:default/wayback-archive")]


def test_nothing_depends_on_it_is_said_plainly(make_catalog: MakeCatalog, tmp_path: Path) -> None:
    root = tmp_path / "cat"
    root.mkdir()
    (root / "all.yaml").write_text(
        "---\n".join([group("team-a"), component("searcher"), component("indexer", extra="  dependsOn: [component:searcher]\n")]),
        encoding="utf-8",
    )
    catalog = make_catalog(backstage_config(tmp_path, {"main": root}))
    assert catalog.sync()[0].ok
    assert [i.ref for i in catalog.ask("what depends on searcher?").items] == ["component:default/indexer"]
    answer = catalog.ask("what depends on indexer?")
    assert answer.status == "no_data" and answer.items == []
    assert "Nothing in the catalog depends on indexer" in answer.text


def test_links(example_catalog: Catalog) -> None:
    answer = example_catalog.ask("links for payments-service")
    assert (answer.intent, answer.status) == ("links", "answered")
    urls = {link.url for link in answer.links}
    assert "https://runbooks.northwind.example/payments-service" in urls
    assert "https://github.com/northwind/payments-service" in urls
    for phrasing in ("docs for payments-service", "where is the runbook for payments-service?", "payments-service repo"):
        assert example_catalog.ask(phrasing).intent == "links", phrasing


def test_missing_runbook_is_pointed_out(example_catalog: Catalog) -> None:
    answer = example_catalog.ask("runbook for pricing-service?")
    assert answer.intent == "links" and answer.links
    assert "pricing-service has no runbook link" in answer.text


def test_links_on_the_upstream_catalog(backstage: Catalog) -> None:
    answer = backstage.ask("docs for artist-lookup")
    assert [link.title for link in answer.links][:2] == ["Examples Users", "Example Group"]
    assert len(answer.links) == 7 and "https://example.com/dashboard" in answer.text


def test_where(example_catalog: Catalog) -> None:
    answer = example_catalog.ask("where does refunds-worker sit?")
    assert (answer.intent, answer.status) == ("where", "answered")
    assert answer.system is not None and answer.system.ref == "system:default/payments-platform"
    assert answer.domain is not None and answer.domain.ref == "domain:default/money-movement"


def test_where_on_the_upstream_catalog(backstage: Catalog) -> None:
    upstream = backstage.ask("which system is artist-lookup in?")
    assert upstream.system is not None and upstream.system.ref == "system:default/artist-engagement-portal"
    assert upstream.domain is not None and upstream.domain.ref == "domain:default/artists"
    sub = backstage.ask("where is wayback-archive-ingestion?")
    assert sub.parent is not None and sub.parent.ref == "component:default/wayback-archive"


@pytest.mark.parametrize("question", ["help", "?", "what can you do?", "<@U0123ABCD> help", ""])
def test_help_with_examples_from_the_real_catalog(example_catalog: Catalog, question: str) -> None:
    answer = example_catalog.ask(question)
    assert answer.status == "help" and answer.intent == "help"
    assert len(answer.examples) >= 4
    for example in answer.examples:
        assert example in answer.text
        tried = example_catalog.ask(example)
        assert tried.status == "answered", (example, tried.text)  # an example must lead to a real answer
        assert tried.subject is not None
    owner_example = example_catalog.ask(answer.examples[0])
    assert owner_example.intent == "owner" and owner_example.owner is not None
    assert _unanswered(example_catalog) == []  # help is an answer


def test_help_examples_follow_the_catalog(backstage: Catalog) -> None:
    examples = backstage.ask("help").examples
    names = {ref.rpartition("/")[2] for ref in _all_refs(backstage)}
    assert any(name in example for example in examples for name in names)
    assert not any("payments-service" in e for e in examples)  # not the bundled example's names


def _all_refs(catalog: Catalog) -> set[str]:
    with catalog.session() as s:
        return {e.ref for e in catalog.index(s).entities}


def test_unknown_question_gets_help_and_is_recorded(example_catalog: Catalog) -> None:
    before = datetime.now(UTC)
    answer = example_catalog.ask("how do I deploy to production on fridays please", transport="slack")
    assert (answer.intent, answer.status) == ("unknown", "unknown")
    assert answer.examples and "Try:" in answer.text
    [row] = _unanswered(example_catalog)
    assert row.question == "how do I deploy to production on fridays please"
    assert row.reason == "unknown" and row.transport == "slack"
    asked = row.asked_at if row.asked_at.tzinfo else row.asked_at.replace(tzinfo=UTC)
    assert before - timedelta(seconds=1) <= asked <= datetime.now(UTC) + timedelta(seconds=1)


def test_not_found_is_recorded_and_answered_questions_are_not(example_catalog: Catalog) -> None:
    example_catalog.ask("who owns payments-service?")
    example_catalog.ask("who owns quantum-flux-capacitor?")
    assert [(r.question, r.reason) for r in _unanswered(example_catalog)] == [("who owns quantum-flux-capacitor?", "not_found")]


def test_answers_carry_their_source_and_freshness(example_catalog: Catalog) -> None:
    example_catalog.sync()  # the fixture's sync may be minutes old
    answer = example_catalog.ask("who owns payments-service?")
    [source] = answer.sources
    assert source.source == "northwind" and source.source_type == "backstage"
    assert source.synced_at is not None
    synced = source.synced_at if source.synced_at.tzinfo else source.synced_at.replace(tzinfo=UTC)
    assert abs((datetime.now(UTC) - synced).total_seconds()) < 120
    assert answer.text.endswith("(from northwind, synced just now)")
    with example_catalog.session() as s:
        later = ask(
            s, "who owns payments-service?", index=example_catalog.index(s), clock=lambda: synced + timedelta(minutes=4, seconds=10)
        )
        hours = ask(s, "what depends on ledger-db", index=example_catalog.index(s), clock=lambda: synced + timedelta(hours=3))
    assert "(from northwind, synced 4 min ago)" in later.text
    assert "(from northwind, synced 3 h ago)" in hours.text


def test_answer_names_every_source_it_used(make_catalog: MakeCatalog, tmp_path: Path) -> None:
    teams, services = tmp_path / "teams", tmp_path / "services"
    teams.mkdir()
    services.mkdir()
    (teams / "t.yaml").write_text(
        group("team-a").replace("  children: []", "  children: []\n  profile:\n    email: a@example.com"), encoding="utf-8"
    )
    (services / "s.yaml").write_text(component("orders"), encoding="utf-8")
    catalog = make_catalog(backstage_config(tmp_path, {"org-chart": teams, "service-repo": services}))
    catalog.sync()
    answer = catalog.ask("who owns orders")
    assert answer.owner is not None and answer.owner.email == "a@example.com"
    assert {s.source for s in answer.sources} == {"org-chart", "service-repo"}
    assert "from service-repo, synced just now" in answer.text and "from org-chart, synced just now" in answer.text


@pytest.mark.parametrize("question", ["is the catalog up to date?", "when did the last sync run", "which sources are failing?"])
def test_asked_of_no_entity_freshness_lists_each_source_and_says_which_fails(make_catalog: MakeCatalog, tmp_path: Path, question: str) -> None:
    config, folders = folder_sources(tmp_path, {"org-chart": group("team-a"), "service-repo": component("orders")})
    catalog = make_catalog(config)
    empty = catalog.ask(question)
    catalog.sync()
    shutil.rmtree(folders["service-repo"])
    assert [r.ok for r in catalog.sync()] == [True, False]
    answer = catalog.ask(question)
    assert empty.status == "not_found" and "wayfinder sync" in empty.text  # before any sync: the empty catalog's answer
    assert (answer.intent, answer.status) == ("sources", "answered")
    lines = answer.text.splitlines()
    assert lines[:2] == ["The catalog's sources (2):", "  org-chart, synced just now"]
    assert lines[2].startswith("  service-repo: unreachable since ") and "; data as of " in lines[2]


def test_json_shape(example_catalog: Catalog) -> None:
    data = example_catalog.ask("who owns payments-service?").to_json()
    assert data["question"] == "who owns payments-service?"
    assert data["intent"] == "owner" and data["entity"] == "component:default/payments-service"
    assert data["candidates"] == [] and data["answer"]["owner"] == PAYMENTS
    assert data["text"].startswith("component:payments-service")
    ambiguous = example_catalog.ask("who owns the checkout component").to_json()
    assert ambiguous["entity"] is None and len(ambiguous["candidates"]) == 2


def test_a_doubtful_fuzzy_match_suggests_instead_of_answering(example_catalog: Catalog) -> None:
    answer = example_catalog.ask("who owns checkout-worker?")
    assert answer.status == "not_found"
    assert answer.owner is None
    assert answer.candidates[0].ref == "component:default/checkout-web"
    assert answer.text.startswith("Nothing in the catalog is called 'checkout-worker'.")
    assert "Did you mean: component:checkout-web" in answer.text


def test_a_team_and_what_it_owns_sharing_a_name_is_not_ambiguous(example_catalog: Catalog) -> None:
    answer = example_catalog.ask("who owns ledger?")
    assert answer.status == "answered"
    assert answer.owner is not None and answer.owner.ref == "group:default/ledger"


def test_whats_without_apostrophe(example_catalog: Catalog) -> None:
    answer = example_catalog.ask("whats owned by payments")
    assert answer.intent == "owned_by"
    assert "component:default/payments-service" in {i.ref for i in answer.items}


def test_a_deprecated_entity_names_its_successor_when_its_description_does(example_catalog: Catalog) -> None:
    """statements-generator: "Monthly seller statements as PDF; being replaced by invoicing-service"."""
    answer = example_catalog.ask("what replaced statements-generator")
    assert answer.message is not None and answer.message.endswith("Its description names what replaces it: invoicing-service.")
    assert "replaces it" not in example_catalog.ask("is payments-service deprecated").text
