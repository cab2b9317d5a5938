"""Merging: several sources describe one entity; each field comes from the best source that has it.

Why: a descriptor written by people, the repository, PagerDuty and Slack all say things about
payments-service. People must be able to trust that what they wrote wins (precedence, in one
place: `catalog.store.precedence`), that the other sources still fill the gaps, and that every
answer says which source each fact came from and how fresh that source is.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from catalog.answers.models import EntitySummary
from catalog.store.facts import ENTITY_FACTS
from catalog.store.merge import CatalogEntity, merge
from catalog.store.models import Entity
from catalog.store.precedence import DESCRIPTOR, GITHUB_INFERRED, PAGERDUTY, SLACK
from catalog.sync.sources.descriptor import EntityDoc
from tests.fakes.pagerduty_api import FakePagerDuty
from tests.helpers import relation_triples
from tests.pagerduty_world import PAYMENTS, T0, TAX, World, pagerduty, world  # noqa: F401 (fixtures)


def _row(source: str, precedence: int, **fields: Any) -> Entity:
    now = datetime(2026, 3, 14, tzinfo=UTC)
    return Entity(
        source=source, precedence=precedence, ref=PAYMENTS, kind="component", namespace="default", name="payments-service",
        content_hash=source, first_seen_at=now, updated_at=now, **fields,
    )  # fmt: skip


def test_precedence_is_descriptor_then_github_then_pagerduty_then_slack() -> None:
    assert DESCRIPTOR > GITHUB_INFERRED > PAGERDUTY > SLACK


def test_each_field_comes_from_the_highest_precedence_source_that_has_a_value() -> None:
    rows = [
        _row("slack", SLACK, annotations={"slack.com/channel": "#payments-alerts"}),
        _row("pagerduty", PAGERDUTY, description="PagerDuty's description", annotations={"pagerduty.com/service-id": "PPAYSV1"},
             spec={"pagerduty": {"service": {"id": "PPAYSV1"}}}),
        _row("github", GITHUB_INFERRED, title="payments-service", description="From the repository", lifecycle="deprecated",
             owner_ref="group:default/platform", tags=["java"], annotations={"github.com/project-slug": "northwind/payments"}),
        _row("northwind", DESCRIPTOR, title="Payments Service", lifecycle="production", owner_ref="group:default/payments",
             tags=["tier-1"], annotations={"github.com/project-slug": "northwind/payments-service", "pagerduty.com/service-id": ""},
             spec={"type": "service"}),
    ]  # fmt: skip

    merged = merge(rows, {})

    assert merged is not None
    assert (merged.title, merged.lifecycle, merged.owner_ref) == ("Payments Service", "production", "group:default/payments")
    assert merged.description == "From the repository"  # the descriptor has none; GitHub outranks PagerDuty
    assert merged.annotations == {
        "github.com/project-slug": "northwind/payments-service",
        "pagerduty.com/service-id": "PPAYSV1",  # an empty value in a descriptor hides nothing
        "slack.com/channel": "#payments-alerts",
    }
    assert merged.spec == {"type": "service", "pagerduty": {"service": {"id": "PPAYSV1"}}}
    assert merged.tags == ["tier-1", "java"]
    assert merged.source == "northwind"
    assert merged.field_sources == {
        "title": "northwind", "lifecycle": "northwind", "owner_ref": "northwind", "description": "github",
        "annotations.github.com/project-slug": "northwind", "annotations.pagerduty.com/service-id": "pagerduty",
        "annotations.slack.com/channel": "slack", "spec.type": "northwind", "spec.pagerduty": "pagerduty",
    }  # fmt: skip


def test_synced_entity_keeps_each_fields_own_source(world: World) -> None:
    world.sync_pagerduty()

    payments = world.entity(PAYMENTS)

    sources = payments.field_sources
    assert {
        k: sources[k] for k in ("title", "description", "owner_ref", "lifecycle", "system_ref", "location", "spec.owner")
    } == dict.fromkeys(("title", "description", "owner_ref", "lifecycle", "system_ref", "location", "spec.owner"), "northwind")
    assert sources["spec.pagerduty"] == "pagerduty"
    assert sources["annotations.pagerduty.com/service-id"] == "northwind"  # both say PPAYSV1; people's word is shown
    assert world.entity(TAX).field_sources["annotations.pagerduty.com/service-id"] == "pagerduty"  # linked by name: PagerDuty adds it
    assert payments.title == "Payments Service" and payments.owner_ref == "group:default/payments"


def test_pagerduty_rows_add_facts_but_no_relations_and_change_no_owner(world: World) -> None:
    before = relation_triples(world.catalog)
    owner_before = world.ask("who owns payments-service?", T0)

    world.sync_pagerduty()

    assert relation_triples(world.catalog) == before
    owner_after = world.ask("who owns payments-service?", T0)
    assert (owner_after.status, owner_after.owner) == (owner_before.status, owner_before.owner)


def test_answers_list_pagerduty_with_its_freshness_next_to_the_descriptors(world: World) -> None:
    world.sync_pagerduty()

    answer = world.ask("who owns payments-service?", T0 + timedelta(minutes=1))

    assert [f.source for f in answer.sources] == ["northwind", "pagerduty"]
    assert answer.text.splitlines()[-1] == "(from northwind, synced 6 min ago; from pagerduty, synced 1 min ago)"
    assert [(s["source"], s["source_type"]) for s in answer.to_json()["sources"]] == [
        ("northwind", "backstage"),
        ("pagerduty", "pagerduty"),
    ]


def test_a_failing_pagerduty_is_shown_stale_next_to_a_fresh_descriptor(world: World, pagerduty: FakePagerDuty) -> None:
    world.sync_pagerduty()
    pagerduty.fail("/services", status=500, times=None)
    world.sync_pagerduty(T0 + timedelta(minutes=17))

    answer = world.ask("who is on call for payments-service?", T0 + timedelta(minutes=18))

    assert answer.text.splitlines()[-1] == (
        "(from northwind, synced 23 min ago; from pagerduty: unreachable since 09:12 UTC; data as of 2026-03-14 08:55 UTC)"
    )
    northwind, pd = answer.sources
    assert not northwind.stale and pd.stale and pd.failing_since == T0 + timedelta(minutes=17)


def test_every_model_of_an_entity_carries_the_same_facts() -> None:
    """`ENTITY_FACTS` is the one list: a fact added to the table but not the descriptor (or the other
    way round) would be dropped on the way from a source to an answer without any error."""
    assert set(ENTITY_FACTS) <= set(Entity.model_fields)
    assert set(ENTITY_FACTS) <= set(EntityDoc.model_fields)
    assert set(ENTITY_FACTS) <= set(CatalogEntity.model_fields)


def test_every_fact_survives_the_merge_and_the_summary() -> None:
    """One source's row comes out of `merge` with each fact as written, and a summary repeats its own."""
    facts: dict[str, Any] = {
        "title": "Payments", "description": "Takes money", "type": "service", "lifecycle": "production",
        "owner_ref": "group:default/payments", "system_ref": "system:default/billing", "location": "file:///catalog.yaml",
        "labels": {"tier": "1"}, "annotations": {"a/b": "c"}, "spec": {"x": 1}, "tags": ["java"], "links": [{"url": "https://x"}],
    }  # fmt: skip
    assert set(facts) | {"ref", "kind", "namespace", "name"} == set(ENTITY_FACTS)
    merged = merge([_row("northwind", DESCRIPTOR, **facts)], {})
    assert merged is not None
    assert {name: getattr(merged, name) for name in facts} == facts
    summary = EntitySummary.of(merged, relation="dependsOn")
    assert (summary.ref, summary.name, summary.title, summary.owner_ref, summary.relation) == (
        PAYMENTS,
        "payments-service",
        "Payments",
        "group:default/payments",
        "dependsOn",
    )
