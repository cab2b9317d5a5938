"""The entity card and App Home summary, on the Northwind example catalog."""

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import update

from catalog.answers.card import SLACK_USER_ID, entity_card, person
from catalog.answers.home import Missing, home_summary
from catalog.answers.models import EntitySummary
from catalog.core import Catalog
from catalog.store.models import Entity, SourceState
from catalog.store.precedence import DESCRIPTOR, SLACK
from catalog.store.reads import get_entity, headline_of, headlines, related_refs, user_ref_by_email


def refs(items: list) -> list[str]:
    return [i.ref for i in items]


def test_card_has_the_full_picture(example_catalog: Catalog) -> None:
    with example_catalog.session() as session:
        card = entity_card(session, "component:default/payments-service")
    assert card is not None
    assert card.entity.title == "Payments Service" and card.entity.lifecycle == "production"
    owner = card.owner
    assert owner is not None and owner.ref == "group:default/payments"
    assert (owner.slack_channel, owner.slack_channel_id, owner.slack_usergroup_handle) == ("#team-payments", "C0123ABCD", "payments-team")
    assert owner.email == "payments@northwind.example" and len(owner.members) == 3
    assert card.system and card.system.ref == "system:default/payments-platform"
    assert card.domain and card.domain.ref == "domain:default/money-movement"
    assert {link.type for link in card.links} >= {"repo", "docs", "runbook", "dashboard"}
    assert {"component:default/ledger-service", "resource:default/payments-db", "api:default/psp-gateway-rest"} <= set(
        refs(card.depends_on)
    )
    assert "component:default/checkout-api" in refs(card.dependents)
    via = {d.ref: d.via for d in card.dependents}
    assert via["component:default/event-pipeline"] == "api:default/payment-events"  # consumes an API it provides
    assert [s.source for s in card.sources] == ["northwind"] and card.sources[0].synced_at is not None


def test_card_dependents_include_qualified_references(example_catalog: Catalog) -> None:
    with example_catalog.session() as session:
        card = entity_card(session, "resource:default/ledger-db")
    assert card is not None
    assert set(refs(card.dependents)) == {
        "component:default/ledger-service",
        "component:default/reconciliation-job",
        "component:default/statements-generator",
    }


def test_card_for_a_team_is_the_team_itself(example_catalog: Catalog) -> None:
    with example_catalog.session() as session:
        card = entity_card(session, "group:default/loyalty")
    assert card is not None and card.owner is not None
    assert card.owner.ref == "group:default/loyalty"
    assert card.owner.slack_channel is None and card.owner.email == "loyalty@northwind.example"


def test_card_without_owner(example_catalog: Catalog) -> None:
    with example_catalog.session() as session:
        card = entity_card(session, "component:default/metrics-warehouse-loader")
    assert card is not None and card.owner is None
    assert card.system and card.system.ref == "system:default/analytics"


def test_card_by_bare_name_and_missing(example_catalog: Catalog) -> None:
    with example_catalog.session() as session:
        by_name = entity_card(session, "Payments-Service")
        assert by_name is not None and by_name.entity.ref == "component:default/payments-service"
        assert entity_card(session, "component:default/no-such-thing") is None
        assert entity_card(session, "no-such-thing") is None


def test_answers_carry_the_card_only_with_a_subject(example_catalog: Catalog) -> None:
    answered = example_catalog.ask("what depends on ledger-db?")
    assert answered.card is not None and answered.card.entity.ref == "resource:default/ledger-db"
    assert refs(answered.card.dependents) == refs(answered.items)  # one computation, two views
    no_owner = example_catalog.ask("who owns metrics-warehouse-loader")
    assert no_owner.status == "no_data" and no_owner.card is not None
    assert example_catalog.ask("gateway").card is None  # ambiguous
    assert example_catalog.ask("help").card is None
    assert "card" not in answered.to_json()  # the `ask --json` contract is unchanged


def test_user_by_email_is_case_insensitive(example_catalog: Catalog) -> None:
    with example_catalog.session() as session:
        assert user_ref_by_email(session, " Maya.Levi@Northwind.Example ") == "user:default/maya.levi"
        assert user_ref_by_email(session, "nobody@northwind.example") is None
        assert user_ref_by_email(session, "") is None


def test_home_summary_teams_and_gaps(example_catalog: Catalog) -> None:
    with example_catalog.session() as session:
        summary = home_summary(session, user_ref=None, email="maya.levi@northwind.example")
    assert summary.user is not None and summary.user.ref == "user:default/maya.levi"
    assert refs([t.team for t in summary.teams]) == ["group:default/data-platform"]
    owns = refs(summary.teams[0].owns)
    assert "system:default/analytics" in owns and "component:default/bi-dashboards" in owns
    gaps = {g.entity.ref: g.missing for g in summary.gaps}
    # Unowned, but part of a system the team owns: nobody else would notice it.
    assert gaps == {"component:default/metrics-warehouse-loader": [Missing.OWNER]}


def test_home_summary_flags_team_without_channel_and_missing_runbook(example_catalog: Catalog) -> None:
    with example_catalog.session() as session:
        loyalty = home_summary(session, user_ref="user:default/hannah.schmidt", email=None)
        notifications = home_summary(session, user_ref="user:default/isabel.moreno", email=None)
    gaps = {g.entity.ref: g.missing for g in loyalty.gaps}
    assert gaps["component:default/loyalty-service"] == [Missing.SLACK_CHANNEL]
    assert {g.entity.ref: g.missing for g in notifications.gaps} == {"component:default/push-sender": [Missing.RUNBOOK]}


def test_home_summary_flags_stale_sources(example_catalog: Catalog) -> None:
    with example_catalog.session() as session:
        session.execute(update(SourceState).values(last_error="timeout", last_error_at=datetime(2100, 1, 1, tzinfo=UTC)))
        session.flush()
        summary = home_summary(session, user_ref="user:default/isabel.moreno", email=None)
    assert summary.gaps and all(Missing.FRESH_DATA in g.missing and g.stale_sources == ["northwind"] for g in summary.gaps)


def test_home_summary_for_someone_not_in_the_catalog(example_catalog: Catalog) -> None:
    with example_catalog.session() as session:
        assert home_summary(session, user_ref=None, email="stranger@elsewhere.example").user is None
        assert home_summary(session, user_ref=None, email=None).teams == []
        assert home_summary(session, user_ref="group:default/payments", email=None).user is None  # not a User


def test_listed_entities_show_what_their_merged_views_show(example_catalog: Catalog) -> None:
    """A card lists dependencies, dependents, placement and members from their headline columns
    only (`reads.headlines`), and must still say what the fully merged entity says, other sources included."""
    now = datetime(2026, 3, 14, tzinfo=UTC)

    def row(ref: str, source: str, precedence: int, **facts: Any) -> Entity:
        kind, _, rest = ref.partition(":")
        return Entity(
            source=source, precedence=precedence, ref=ref, kind=kind, namespace="default", name=rest.rpartition("/")[2],
            content_hash=source, first_seen_at=now, updated_at=now, **facts,
        )  # fmt: skip

    with example_catalog.session() as session:
        members = [t for _, t in related_refs(session, "group:default/payments", ["hasMember"])]
        session.add_all([
            # outranks the descriptor: an empty title hides nothing, its lifecycle and owner win
            row("component:default/ledger-service", "override", DESCRIPTOR + 1, title="", lifecycle="experimental", owner_ref="group:default/loyalty"),
            # ranks below: the descriptor's profile wins whole, the Slack id fills the gap
            row(members[0], "slack", SLACK, spec={"profile": {"displayName": "Not Shown", "email": "no@x"}}, annotations={SLACK_USER_ID: "U0HEADLINE"}),
            # ranks above with a profile lacking a display name: the title shows, as in the merged entity
            row(members[1], "people", DESCRIPTOR + 1, spec={"profile": {"email": "only@northwind.example"}}),
        ])  # fmt: skip
        session.commit()

    with example_catalog.session() as session:
        card = entity_card(session, "component:default/payments-service")  # the neighbourhood statement
    assert card is not None and card.owner is not None
    listed = [*card.depends_on, *card.dependents, card.system, card.domain]
    with example_catalog.session() as session:
        merged = {s.ref: get_entity(session, s.ref) for s in listed if s is not None}
        expected = [EntitySummary.of(m, relation=s.relation, via=s.via) if (m := merged[s.ref]) else s for s in listed if s is not None]
        people = [person(headline_of(u)) for r in members if (u := get_entity(session, r))]
        one_by_one = headlines(session, [s.ref for s in listed if s is not None] + members)  # not through the neighbourhood
    assert [s for s in listed if s is not None] == expected
    assert {m.ref: m for m in card.owner.members} == {p.ref: p for p in people}
    ledger = next(s for s in card.depends_on if s.ref == "component:default/ledger-service")
    assert ledger.title and (ledger.lifecycle, ledger.owner_ref) == ("experimental", "group:default/loyalty")
    by_ref = {m.ref: m for m in card.owner.members}
    assert by_ref[members[0]].slack_user_id == "U0HEADLINE" and by_ref[members[0]].display_name != "Not Shown"
    assert by_ref[members[1]].email == "only@northwind.example"
    assert {r: EntitySummary.of(h) for r, h in one_by_one.items()} == {r: EntitySummary.of(e) for r in one_by_one if (e := get_entity(session, r))}
