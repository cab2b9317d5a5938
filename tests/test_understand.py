"""Understanding beyond the phrasing table: links, several subjects, gaps from failing sources, small talk, Slack cards.

Why: issue 10. A link pasted from GitHub or PagerDuty must name its entity; a question about two
services gets two answers in every surface (and `--json` stays as it was for one); gaps are facts
of the merged catalog, including "this came from a source that is failing"; "thanks!" is never a
catalog search; every new answer kind renders as safe Block Kit.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.slack.views.answer import render_answer
from catalog.answers import questionlog
from catalog.config import Config
from catalog.core import Catalog
from tests.blockkit import assert_safe_mrkdwn, assert_within_limits, mrkdwn_texts
from tests.helpers import backstage_config, component, folder_sources, group

MakeCatalog = Callable[[Config], Catalog]
NOW = datetime(2025, 3, 14, 12, 0, tzinfo=UTC)

MONOREPO = """\
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: {name}
  annotations:
    github.com/project-slug: acme/mono
    backstage.io/source-location: url:https://github.com/acme/mono/tree/main/services/{folder}/
    pagerduty.com/service-id: {service}
  links:
    - url: https://status.acme.example/{name}
      title: Status page
spec:
  type: service
  lifecycle: production
  owner: {owner}
"""


@pytest.fixture
def acme(make_catalog: MakeCatalog, tmp_path: Path) -> Catalog:
    root = tmp_path / "acme"
    root.mkdir()
    docs = [
        MONOREPO.format(name="billing-api", folder="billing", service="PBILL01", owner="team-a"),
        MONOREPO.format(name="invoices-worker", folder="invoices", service="PINV002", owner="team-b"),
        group("team-a", "  profile:\n    displayName: <!channel> & Friends\n"),
        group("team-b"),
        component("legacy-thing", owner="team-a").replace("lifecycle: production", "lifecycle: deprecated"),
        component("new-thing", owner="team-a", extra="  dependsOn: [component:legacy-thing]\n"),
    ]
    (root / "all.yaml").write_text("---\n".join(docs), encoding="utf-8")
    catalog = make_catalog(backstage_config(tmp_path, {"acme": root}))
    assert catalog.sync()[0].ok
    return catalog


@pytest.mark.parametrize(
    ("question", "ref"),
    [
        ("who owns https://github.com/acme/mono/blob/main/services/invoices/handler.py", "component:default/invoices-worker"),
        ("who owns https://github.com/acme/mono/tree/main/services/billing", "component:default/billing-api"),
        ("who owns <https://github.com/acme/mono/blob/main/services/billing/api.py#L10|this file>?", "component:default/billing-api"),
        ("who owns https://status.acme.example/invoices-worker/", "component:default/invoices-worker"),
        ("who owns https://acme.pagerduty.com/service-directory/PBILL01", "component:default/billing-api"),
        ("runbook for https://acme.pagerduty.com/services/PINV002", "component:default/invoices-worker"),
    ],
)
def test_links_resolve_to_their_entity(acme: Catalog, question: str, ref: str) -> None:
    answer = acme.ask(question)
    assert answer.subject is not None and answer.subject.ref == ref, answer.text


def test_a_link_to_a_repository_shared_by_two_owners_asks_which(acme: Catalog) -> None:
    answer = acme.ask("who owns https://github.com/acme/mono/pull/5")
    assert answer.status == "ambiguous"
    assert {c.ref for c in answer.candidates} == {"component:default/billing-api", "component:default/invoices-worker"}


def test_several_subjects_answer_each_in_json_and_one_stays_as_it_was(example_catalog: Catalog) -> None:
    both = example_catalog.ask("who owns payments-service and checkout-api?").to_json()
    assert both["entity"] is None and both["status"] == "answered"
    assert [(a["entity"], a["answer"]["owner"]) for a in both["answers"]] == [
        ("component:default/payments-service", "group:default/payments"),
        ("component:default/checkout-api", "group:default/checkout"),
    ]
    assert "#team-payments" in both["text"] and "#team-checkout" in both["text"]
    one = example_catalog.ask("who owns payments-service?").to_json()
    assert "answers" not in one and one["entity"] == "component:default/payments-service"
    assert one["answer"]["owner"] == "group:default/payments"


def test_a_gap_question_names_data_from_a_failing_source(make_catalog: MakeCatalog, tmp_path: Path) -> None:
    config, folders = folder_sources(tmp_path, {"good": component("steady-service"), "flaky": component("shaky-service")})
    catalog = make_catalog(config)
    assert all(r.ok for r in catalog.sync())
    before = catalog.ask("which services come from a failing source?")
    assert (before.intent, before.gaps[0].key, before.gaps[0].total) == ("gaps", "failing_source", 0)
    shutil.rmtree(folders["flaky"])
    assert not catalog.sync(["flaky"])[0].ok
    after = catalog.ask("which services come from a failing source?")
    assert [i.ref for i in after.gaps[0].items] == ["component:default/shaky-service"]
    assert after.to_json()["answer"]["gaps"][0]["items"][0]["ref"] == "component:default/shaky-service"


def test_small_talk_is_never_a_catalog_search_and_a_stray_word_asks_back(example_catalog: Catalog) -> None:
    for said in ("thanks!", "hi", "ok", "<@U0123ABCD> thank you so much"):
        answer = example_catalog.ask(said)
        assert (answer.intent, answer.status) == ("smalltalk", "help"), said
        assert answer.candidates == [] and answer.subject is None and answer.examples
    stray = example_catalog.ask("banana")
    assert (stray.intent, stray.status) == ("unknown", "unknown")
    assert "banana" in (stray.message or "") and stray.candidates == []
    example_catalog.flush_records()
    with example_catalog.session() as s:
        recorded = [(row.question, row.reason) for row in questionlog.unanswered(s)]
    assert recorded == [("banana", "unknown")]


@pytest.mark.parametrize(
    "question",
    [
        "who owns billing-api and invoices-worker",
        "what team is team-a on",
        "how do I reach team-a?",
        "is legacy-thing deprecated?",
        "which services have no runbook?",
        "which components are deprecated?",
        "what's firing?",
        "who owns <https://github.com/acme/mono/pull/5|a PR>",
        "thanks!",
        "kumquat",
        "which team owns the most services",
        "who owns the service?",
        "who is on call?",
    ],
)
def test_every_answer_kind_renders_as_safe_block_kit(acme: Catalog, question: str) -> None:
    answer = acme.ask(question)
    text, blocks = render_answer(answer, public_url="https://wayfinder.example", now=NOW)
    assert_within_limits(blocks, max_blocks=50)
    for shown in mrkdwn_texts(blocks):
        assert_safe_mrkdwn(shown)
    assert "<!channel>" not in text and all("<!channel>" not in t for t in mrkdwn_texts(blocks))


def test_lifecycle_says_what_still_depends_on_a_deprecated_entity(acme: Catalog) -> None:
    answer = acme.ask("is legacy-thing deprecated?")
    assert answer.message == "Yes: legacy-thing is deprecated. 1 still depends on it."
    assert [i.ref for i in answer.items] == ["component:default/new-thing"]
    _, blocks = render_answer(answer, public_url="https://wayfinder.example", now=NOW)
    assert any("Still used by" in t and "new-thing" in t for t in mrkdwn_texts(blocks))


def test_a_lifecycle_stage_lists_exactly_what_is_at_it_and_a_name_still_gets_its_verdict(acme: Catalog) -> None:
    listed = acme.ask("which components are deprecated?")
    assert (listed.intent, [i.ref for i in listed.gaps[0].items]) == ("gaps", ["component:default/legacy-thing"])
    assert acme.ask("what does team-a own that is deprecated?").gaps[0].total == 1
    none = acme.ask("what does team-b own that is deprecated?")
    assert none.gaps[0].total == 0
    _, blocks = render_answer(none, public_url="https://wayfinder.example", now=NOW)
    assert any(t.endswith("\nNone.") for t in mrkdwn_texts(blocks))
    assert acme.ask("is legacy-thng deprecated?").intent == "lifecycle"  # a typo in the name is still one entity
    assert acme.ask("which components fail the production readiness scorecard").intent != "gaps"  # names a scorecard, not a stage


def test_everything_of_a_kind_is_counted_in_full_and_listed_without_strays(acme: Catalog) -> None:
    teams = acme.ask("list all teams")
    assert (teams.intent, teams.gaps[0].total, [i.ref for i in teams.gaps[0].items]) == (
        "gaps",
        2,
        ["group:default/team-a", "group:default/team-b"],
    )
    _, blocks = render_answer(teams, public_url="https://wayfinder.example", now=NOW)
    assert any(t.startswith("*Teams (2)*\n") for t in mrkdwn_texts(blocks))  # not "Teams with ..."
    assert acme.ask("who owns all the billing services").intent == "owner"  # asks for owners, not a list


def test_a_system_lists_its_own_parts_only(example_catalog: Catalog) -> None:
    parts = example_catalog.ask("what components are in the general ledger system")
    listed = {i.ref for i in parts.gaps[0].items}
    assert parts.intent == "gaps" and "component:default/ledger-service" in listed
    assert "component:default/payments-service" not in listed and all(r.startswith("component:") for r in listed)
    assert example_catalog.ask("what system is ledger-service in").intent == "where"


def test_words_scattered_over_a_domain_description_offer_its_parts_instead_of_answering(example_catalog: Catalog) -> None:
    scattered = example_catalog.ask("who owns the shopping basket")  # commerce: "Shopping experience end to end: ... basket"
    assert scattered.status == "ambiguous"
    assert "component:default/cart-service" in {c.ref for c in scattered.candidates}
    phrase = example_catalog.ask("who owns the shopping experience")
    assert (phrase.status, phrase.subject.ref if phrase.subject else None) == ("answered", "domain:default/commerce")


def test_a_long_paste_is_said_back_clipped(example_catalog: Catalog) -> None:
    answer = example_catalog.ask("who owns " + "x" * 5000)
    assert answer.status == "not_found"
    said = [*answer.notes, answer.message or ""]
    assert any("xxx…" in n for n in said) and all(len(n) < 120 for n in said)


def test_an_unknown_name_whose_near_names_all_have_one_owner_is_answered_by_that_owner(example_catalog: Catalog) -> None:
    answer = example_catalog.ask("who owns fraud detection")  # every fraud-* entity is Risk & Fraud's
    assert (answer.status, answer.subject.ref if answer.subject else None) == ("answered", "group:default/risk")
    assert answer.notes[0].startswith("Nothing in the catalog is called 'fraud detection'. Everything named like it is owned by Risk & Fraud")
    assert len(answer.candidates) >= 2
    assert example_catalog.ask("who owns ledger-service-v2").status == "not_found"  # near names with different owners


PERSON = """\
apiVersion: backstage.io/v1alpha1
kind: User
metadata:
  name: alice
  annotations:
    slack.com/user-id: U0ALICE1
spec:
  profile: {displayName: Alice Smith}
  memberOf: [team-b]
"""


def test_a_person_mentioned_in_slack_is_the_subject_and_the_bot_mention_is_not(make_catalog: MakeCatalog, tmp_path: Path) -> None:
    root = tmp_path / "org"
    root.mkdir()
    (root / "all.yaml").write_text("---\n".join([group("team-b"), PERSON, component("billing-api", owner="team-b")]), encoding="utf-8")
    catalog = make_catalog(backstage_config(tmp_path, {"org": root}))
    assert catalog.sync()[0].ok
    answer = catalog.ask("<@U0BOT123> what team is <@U0ALICE1> on?")  # how Slack delivers "@wayfinder what team is @alice on?"
    assert (answer.intent, answer.subject.ref if answer.subject else None) == ("team_of", "user:default/alice")
    assert [t.ref for t in answer.teams] == ["group:default/team-b"]
    assert catalog.ask("<@U0BOT123>, who owns billing-api").subject is not None


def test_reaching_a_team_lists_every_way_and_what_pages_it(acme: Catalog, example_catalog: Catalog) -> None:
    answer = example_catalog.ask("how do I reach the payments team?")
    assert answer.owner is not None and answer.owner.slack_channel == "#team-payments"
    assert {i.name for i in answer.paged_via} == {"payments-service", "payouts-service", "refunds-worker"}
    data = answer.to_json()["answer"]
    assert data["owner"] == "group:default/payments" and data["contact"]["email"] == "payments@northwind.example"
    quiet = example_catalog.ask("how do I reach the loyalty team?")
    assert "loyalty has no Slack channel in the catalog." in quiet.text and "loyalty@northwind.example" in quiet.text


def test_a_word_sharing_only_letters_with_names_is_not_offered_them(example_catalog: Catalog) -> None:
    """"router" shares trigrams with product-discovery and ben.carter: nobody typing it meant them."""
    for question in ("who owns router", "who owns filling", "who owns kafka-connect"):
        answer = example_catalog.ask(question)
        assert (answer.status, answer.candidates) == ("not_found", []), answer.text
    near = example_catalog.ask("who owns checkout-worker")  # a real name with a word changed: its siblings, not strangers
    offered = {c.name for c in near.candidates}
    assert near.status == "not_found" and "checkout-web" in offered
    assert all({"checkout", "worker"} & set(name.split("-")) for name in offered), offered


def test_the_apis_asked_for_are_the_ones_listed(example_catalog: Catalog) -> None:
    consumed = example_catalog.ask("which apis does checkout-api consume")
    assert {i.ref for i in consumed.items} == {"api:default/inventory-grpc", "api:default/payments-grpc", "api:default/product-catalog-rest"}
    provided = example_catalog.ask("what APIs does checkout-api provide")
    assert [i.ref for i in provided.items] == ["api:default/checkout-rest"] and provided.intent == "apis"
    assert "api:checkout-rest (provides)" in provided.text
    both = {i.ref for i in example_catalog.ask("which apis does payments-service have").items}
    assert {"api:default/payments-grpc", "api:default/ledger-grpc"} <= both
    assert example_catalog.ask("who calls payments-grpc").intent == "dependents"  # of an API, callers are its dependents


def test_failing_a_scorecard_or_a_rule_lists_exactly_those_entities(example_catalog: Catalog) -> None:
    def listed(question: str) -> set[str]:
        answer = example_catalog.ask(question)
        assert answer.intent == "scorecard" and answer.scoreboard is not None, answer.text
        return {s.ref for s in answer.scoreboard.scores}

    below_gold = listed("who is below Gold on production readiness?")
    assert below_gold and listed("which services fail the production readiness scorecard") == below_gold
    runbook = listed("who is failing has-runbook")
    assert runbook and runbook < below_gold
    failing = example_catalog.ask("who is failing has-runbook").scoreboard
    assert failing is not None and all("has-runbook" in {r.id for r in s.failing} for s in failing.scores)
    one = example_catalog.ask("is checkout-api failing production readiness?")  # about one entity: its own levels
    assert one.subject is not None and one.subject.ref == "component:default/checkout-api"


def test_a_kind_word_narrows_the_listed_items_not_the_subject(example_catalog: Catalog) -> None:
    databases = example_catalog.ask("what databases does payments-service use")
    assert [i.ref for i in databases.items] == ["resource:default/payments-db"]  # not its topic, nor the APIs it calls
    everything = {i.ref for i in example_catalog.ask("what does payments-service use").items}
    assert {"resource:default/payment-events-topic", "api:default/ledger-grpc"} <= everything
    services = example_catalog.ask("which services depend on ledger-db")
    assert services.items and all(i.kind == "component" and i.type == "service" for i in services.items)
    named = example_catalog.ask("what does the payments service depend on")  # "service" names the subject here
    assert {i.ref for i in named.items} == everything


def test_a_typo_of_another_kind_does_not_outweigh_near_names_of_the_kind_asked_for(example_catalog: Catalog) -> None:
    """Dropping the kind word found resource catalog-db two letters off "catalogo", and team search one off "searh":
    the asker said "service" and "api", and a name of that kind is near, so it is offered instead."""
    for question, offered in [("who owns the catalogo service", "product-catalog-service"), ("who owns the searh api", "search-query-rest")]:
        answer = example_catalog.ask(question)
        assert answer.status == "not_found" and [c.name for c in answer.candidates][:1] == [offered], answer.text
