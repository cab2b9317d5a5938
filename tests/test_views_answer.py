"""The answer card renderer, on real answers from the example catalog and on synthetic extremes."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.slack.ids import ActionId
from bot.slack.metadata import AskValue, FeedbackValue, ShareValue
from bot.slack.views.answer import render_answer
from catalog.answers.models import Answer, Contact, EntityCard, EntitySummary, LinkInfo, Person
from catalog.core import Catalog
from catalog.store.merge import Freshness
from tests.blockkit import BOT_TOKEN, assert_safe_mrkdwn, assert_within_limits, mrkdwn_texts, walk

PUBLIC = "https://wayfinder.example.com"
NOW = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)


def render(answer: Answer, *, now: datetime = NOW, ephemeral: bool = False) -> tuple[str, list[dict[str, Any]]]:
    text, blocks = render_answer(answer, public_url=PUBLIC, now=now, ephemeral=ephemeral)
    assert_within_limits(blocks, max_blocks=50)
    assert_safe_mrkdwn(text)
    return text, blocks


def all_text(blocks: list[dict[str, Any]]) -> str:
    return "\n".join(mrkdwn_texts(blocks))


def elements(blocks: list[dict[str, Any]], action_id: str) -> list[dict[str, Any]]:
    return [d for d in walk(blocks) if d.get("action_id") == action_id]


def test_owner_card_shows_team_channel_and_people(example_catalog: Catalog) -> None:
    text, blocks = render(example_catalog.ask("who owns payments-service?"))
    assert blocks[0] == {"type": "header", "text": {"type": "plain_text", "text": "Payments Service", "emoji": True}}
    lead = blocks[1]["text"]["text"]
    assert lead.startswith(
        f"<{PUBLIC}/o/component/default/payments-service|Payments Service> is owned by "
        f"<{PUBLIC}/o/group/default/payments|Payments> · <#C0123ABCD>"
    )
    texts = all_text(blocks)
    assert "*Contact*\n<#C0123ABCD> · `@payments-team` · payments@northwind.example" in texts
    assert "*Leads*: Nadia Haddad, Samuel Okafor\n*Ask*: Elena Rossi, Nadia Haddad, Samuel Okafor" in texts  # `wayfinder.io/leads` first
    assert f"*System*\n<{PUBLIC}/o/system/default/payments-platform|Payments Platform>" in texts
    assert "*Lifecycle*\nproduction" in texts
    assert "<https://runbooks.northwind.example/payments-service|Runbook>" in texts
    assert "*Depends on (8)*" in texts and "*Used by (3)*" in texts
    assert "<!subteam" not in texts  # a card never pages a whole team
    assert text.startswith("component:payments-service (Payments Service) is owned by:")


def test_what_a_thing_is_leads_with_its_owner_and_description_and_shows_its_tags(example_catalog: Catalog) -> None:
    text, blocks = render(example_catalog.ask("what is checkout-api?"))
    lead = blocks[1]["text"]["text"]
    assert lead.startswith(f"<{PUBLIC}/o/component/default/checkout-api|Checkout API> is owned by <{PUBLIC}/o/group/default/checkout|Checkout>")
    assert "Checkout orchestration: prices the basket" in lead
    assert "*Tags*: java, spring" in all_text(blocks)
    assert text.startswith("component:checkout-api (Checkout API): Checkout orchestration")


@pytest.mark.parametrize("question", ["who is nadia?", "what does nadia own?"])
def test_a_person_card_lists_their_teams_and_warns_of_nothing_else(example_catalog: Catalog, question: str) -> None:
    _, blocks = render(example_catalog.ask(question))
    texts = all_text(blocks)
    assert f"*Teams*\n• <{PUBLIC}/o/group/default/payments|Payments>" in texts
    assert ":warning: Member of" not in texts  # a person's team is not a warning


@pytest.mark.parametrize(
    ("question", "contact"),
    [
        ("who owns search-api", "*Contact*\n#team-search · search@northwind.example"),  # channel name, no id
        ("who owns loyalty-service", "*Contact*\nloyalty@northwind.example"),  # no Slack at all
    ],
)
def test_channel_link_only_with_a_known_id(example_catalog: Catalog, question: str, contact: str) -> None:
    _, blocks = render(example_catalog.ask(question))
    texts = all_text(blocks)
    assert contact in texts
    assert "<#" not in texts


def test_mentions_only_from_resolved_slack_ids(example_catalog: Catalog) -> None:
    answer = example_catalog.ask("who owns payments-service?")
    assert answer.card and answer.card.owner
    members = answer.card.owner.members
    members[0].slack_user_id, members[1].slack_user_id = "U0ELENA1", "U1> <!channel"
    texts = all_text(render(answer)[1])
    assert "*Ask*: <@U0ELENA1>, Nadia Haddad, Samuel Okafor" in texts
    assert "<!channel" not in texts


def test_missing_owner_and_runbook_are_called_out(example_catalog: Catalog) -> None:
    texts = all_text(render(example_catalog.ask("who owns metrics-warehouse-loader"))[1])
    assert ":warning: metrics-warehouse-loader has no owner in the catalog." in texts
    assert "*Owner*\n:warning: none in the catalog" in texts
    assert "No runbook link" in all_text(render(example_catalog.ask("who owns pricing-service"))[1])


def test_context_line_names_the_source_and_its_age(example_catalog: Catalog) -> None:
    answer = example_catalog.ask("who owns payments-service?")
    synced = answer.card.sources[0].synced_at if answer.card else None
    assert synced is not None
    _, blocks = render(answer, now=synced + timedelta(minutes=3))
    contexts = [b["elements"][0]["text"] for b in blocks if b["type"] == "context"]
    assert contexts == ["from northwind, synced 3 min ago"]


def test_stale_source_says_so(example_catalog: Catalog) -> None:
    answer = example_catalog.ask("who owns payments-service?")
    assert answer.card is not None
    answer.card.sources = [
        Freshness(source="northwind", synced_at=NOW - timedelta(hours=5), failing_since=NOW - timedelta(hours=2), last_error="timeout")
    ]
    _, blocks = render(answer)
    context = next(b["elements"][0]["text"] for b in blocks if b["type"] == "context")
    assert context.startswith(":warning: from northwind: unreachable since 10:00 UTC; data as of")


def test_ambiguous_offers_at_most_five_buttons_that_round_trip(example_catalog: Catalog) -> None:
    answer = example_catalog.ask("gateway")
    assert answer.status == "ambiguous"
    _, blocks = render(answer)
    buttons = elements(blocks, ActionId.DID_YOU_MEAN)
    assert 2 <= len(buttons) <= 5
    values = [AskValue.model_validate_json(b["value"]) for b in buttons]
    assert [v.ref for v in values] == [c.ref for c in answer.candidates[:5]]
    assert all(v.question == "gateway" and v.intent == "owner" for v in values)
    assert [v.model_dump_json() for v in values] == [b["value"] for b in buttons]
    clicked = example_catalog.ask_about(values[1].question, ref=values[1].ref or "", intent=values[1].intent)
    assert clicked.status == "answered" and clicked.subject and clicked.subject.ref == values[1].ref


def test_a_team_without_the_link_asked_for_offers_what_it_owns_that_has_one(example_catalog: Catalog) -> None:
    """"runbook for payments" said "payments has no runbook link" during an incident; its services have runbooks."""
    answer = example_catalog.ask("runbook for payments")
    _, blocks = render(answer)

    assert blocks[0]["text"]["text"].startswith("payments has no runbook link of its own, but these things it owns have: which one do you mean?")
    values = [AskValue.model_validate_json(b["value"]) for b in elements(blocks, ActionId.DID_YOU_MEAN)]
    assert [v.ref for v in values] == ["component:default/payments-service", "component:default/payouts-service", "component:default/refunds-worker"]
    clicked = example_catalog.ask_about(values[0].question, ref=values[0].ref or "", intent=values[0].intent)
    assert clicked.intent == "links" and "https://runbooks.northwind.example/payments-service" in {link.url for link in clicked.links}


def test_many_candidates_are_cut_to_five() -> None:
    candidates = [EntitySummary(ref=f"component:default/svc-{i}", kind="component", name=f"svc-{i}") for i in range(12)]
    _, blocks = render(Answer(question="svc", intent="owner", status="ambiguous", candidates=candidates))
    assert len(elements(blocks, ActionId.DID_YOU_MEAN)) == 5
    assert "…and 7 more; type more of the name" in all_text(blocks)  # all services: naming the kind would not narrow them


def test_candidates_of_several_kinds_suggest_naming_the_kind() -> None:
    kinds = ["component", "api", "group"] * 3
    candidates = [EntitySummary(ref=f"{k}:default/pay-{i}", kind=k, name=f"pay-{i}") for i, k in enumerate(kinds)]
    _, blocks = render(Answer(question="pay", intent="owner", status="ambiguous", candidates=candidates))
    assert "…and 4 more; add the kind (“service”, “team”) to narrow it down." in all_text(blocks)


def test_not_found_suggests_nearest_names() -> None:
    near = EntitySummary(
        ref="component:default/payments-service", kind="component", name="payments-service", owner_ref="group:default/payments"
    )
    answer = Answer(
        question="who owns paymint-srv",
        intent="owner",
        status="not_found",
        candidates=[near],
        notes=["Nothing in the catalog is called 'paymint-srv'."],
    )
    _, blocks = render(answer)
    texts = all_text(blocks)
    assert "Nothing in the catalog is called 'paymint-srv'.\nThe nearest names:" in texts
    assert "owned by payments" in texts
    [button] = elements(blocks, ActionId.DID_YOU_MEAN)
    assert AskValue.model_validate_json(button["value"]).ref == near.ref


def test_not_found_without_candidates(example_catalog: Catalog) -> None:
    _, blocks = render(example_catalog.ask("who owns zzqx"))
    assert "Try `help`" in all_text(blocks)
    assert elements(blocks, ActionId.DID_YOU_MEAN) == []


@pytest.mark.parametrize("question", ["help", "please reticulate the splines for me today"])
def test_help_and_unknown_offer_real_examples(example_catalog: Catalog, question: str) -> None:
    answer = example_catalog.ask(question)
    assert answer.status in ("help", "unknown")
    _, blocks = render(answer)
    values = [AskValue.model_validate_json(b["value"]) for b in elements(blocks, ActionId.DID_YOU_MEAN)]
    assert [v.question for v in values] == answer.examples[:5]
    assert all(v.ref is None for v in values)
    assert all(example_catalog.ask(v.question).status in ("answered", "no_data") for v in values)


def test_feedback_is_one_element_with_two_values(example_catalog: Catalog) -> None:
    answer = example_catalog.ask("who owns payments-service?")
    _, blocks = render(answer)
    [feedback] = elements(blocks, ActionId.FEEDBACK)
    assert feedback["type"] == "feedback_buttons"
    up, down = (FeedbackValue.model_validate_json(feedback[k]["value"]) for k in ("positive_button", "negative_button"))
    assert (up.helpful, down.helpful) == (True, False)
    assert (up.question, up.intent, up.ref) == ("who owns payments-service?", "owner", "component:default/payments-service")


def test_share_button_only_when_ephemeral(example_catalog: Catalog) -> None:
    answer = example_catalog.ask("who owns payments-service?")
    assert elements(render(answer)[1], ActionId.SHARE) == []
    [share] = elements(render(answer, ephemeral=True)[1], ActionId.SHARE)
    assert ShareValue.model_validate_json(share["value"]).question == "who owns payments-service?"
    [page] = elements(render(answer)[1], ActionId.LINK)
    assert page["url"] == f"{PUBLIC}/o/component/default/payments-service"


@pytest.mark.parametrize("intent", ["depends_on", "dependents", "members", "links", "owned_by"])
def test_each_intent_leads_with_its_list(example_catalog: Catalog, intent: str) -> None:
    question = {
        "depends_on": "what does payments-service depend on",
        "dependents": "what depends on ledger-db",
        "members": "who is in team payments",
        "links": "links for payments-service",
        "owned_by": "what does payments own",
    }[intent]
    answer = example_catalog.ask(question)
    assert answer.intent == intent
    heading = {
        "depends_on": "*Depends on (",
        "dependents": "*Used by (",
        "members": "*Members (3)*",
        "links": "*Links (",
        "owned_by": "*Owns (9)*",
    }[intent]
    _, blocks = render(answer)
    assert blocks[2]["text"]["text"].startswith(heading)
    assert sum(t.startswith(heading) for t in mrkdwn_texts(blocks)) == 1  # not repeated further down


def huge_answer(intent: str) -> Answer:
    """300 of everything, 5,000 characters wherever text is free-form."""
    long = "x" * 5000

    def entity(i: int, kind: str = "component") -> EntitySummary:
        return EntitySummary(
            ref=f"{kind}:default/e-{i}",
            kind=kind,
            name=f"e-{i}",
            title=f"{long} {i}",
            description=long,
            type=long,
            relation="dependsOn",
            via=f"api:default/{long}",
        )

    people = [Person(ref=f"user:default/u{i}", name=f"u{i}", display_name=long, slack_user_id=f"U{i:08d}") for i in range(300)]
    owner = Contact(
        ref="group:default/big",
        kind="group",
        name="big",
        display_name=long,
        email=long,
        slack_channel=long,
        slack_usergroup_handle=long,
        members=people,
    )
    subject = entity(0)
    card = EntityCard(
        entity=subject.model_copy(update={"lifecycle": long}), owner=owner,
        system=entity(1, "system"), domain=entity(2, "domain"), parent=entity(3),
        links=[LinkInfo(url=f"https://example.com/{i}/{long}", title=long, type="runbook") for i in range(300)],
        depends_on=[entity(i) for i in range(300)], dependents=[entity(i) for i in range(300)],
        sources=[Freshness(source=f"{long}{i}", synced_at=NOW) for i in range(30)],
    )  # fmt: skip
    return Answer(
        question=long, intent=intent, status="answered", subject=subject, card=card, owner=owner, members=people,
        items=[entity(i) for i in range(300)], notes=[long] * 10, text=long * 20,
    )  # fmt: skip


@pytest.mark.parametrize("intent", ["owner", "depends_on", "dependents", "members", "links", "owned_by", "where"])
def test_limits_hold_for_huge_answers(intent: str) -> None:
    text, blocks = render(huge_answer(intent), ephemeral=True)
    assert len(text) <= 3000
    texts = all_text(blocks)
    assert "…and " in texts and " more" in texts
    assert elements(blocks, ActionId.FEEDBACK) and elements(blocks, ActionId.SHARE)  # the tail survives


def test_limits_hold_for_huge_choices_and_help() -> None:
    long = "y" * 5000
    candidates = [
        EntitySummary(
            ref=f"component:default/c{i}", kind="component", name=f"c{i}", title=long, description=long, owner_ref=f"group:default/{long}"
        )
        for i in range(300)
    ]
    for answer in (
        Answer(question=long, intent="owner", status="ambiguous", candidates=candidates),
        Answer(question=long, intent="owner", status="not_found", candidates=candidates, notes=[long]),
        Answer(question=long, intent="unknown", status="unknown", examples=[long] * 300),
    ):
        _, blocks = render(answer, ephemeral=True)
        for button in elements(blocks, ActionId.DID_YOU_MEAN):
            assert len(AskValue.model_validate_json(button["value"]).question) < 2000


def test_catalog_text_cannot_ping_or_spoof_links(example_catalog: Catalog) -> None:
    answer = example_catalog.ask("who owns payments-service?")
    assert answer.card and answer.card.owner
    evil = "<!channel> <https://evil|docs> & <@U123>"
    answer.card.entity.description = evil
    answer.card.entity.title = "<!here> Payments"
    answer.card.owner.display_name = "<@U999>"
    answer.card.owner.slack_channel_id = "C1> <!everyone"
    answer.card.links.append(LinkInfo(url="javascript:alert(1)", title="<!channel>"))
    answer.notes.append(evil)
    answer.text = evil
    text, blocks = render(answer)
    assert "&lt;!channel&gt; &lt;https://evil|docs&gt; &amp; &lt;@U123&gt;" in all_text(blocks)
    strings = [text] + [s for d in walk(blocks) for s in d.values() if isinstance(s, str)]
    for s in strings:
        if s.startswith("{"):  # button values are JSON for the app, never shown
            continue
        assert "<" not in BOT_TOKEN.sub("", s) or s == "<!here> Payments", s  # plain_text (header) is never parsed
    assert not any(token in json.dumps(mrkdwn_texts(blocks)) for token in ("<!channel>", "<!here>", "<!everyone", "<@U123>", "<@U999>", "<https://evil"))
