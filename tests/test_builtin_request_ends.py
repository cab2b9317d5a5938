"""A built-in action's request that ends without approval (rejected, expired, cancelled) closes its domain record.

Why: an exemption or a learned alias whose request expired or was cancelled used to stay pending
(or proposed) for ever: listed as waiting, and an alias never proposed again. Driven by the
injected clock and the scheduler's `tick`, never by sleeping.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest

from actions.builtin import propose_alias, request_exemption
from actions.service import ActionService, Actor
from catalog.adoption.service import Adoption
from catalog.config import AdoptionConfig, Config, load_config
from catalog.core import Catalog
from catalog.scorecards.service import Scorecards
from tests.actions_world import Clock
from tests.invoke_cli import one_source_config

GATEWAY = "component:default/payment-gateway"
OWNER = Actor("slack", user_ref="user:default/tomasz.wierzbicki", slack_user_id="UTOM", name="Tomasz")
OUTSIDER = Actor("slack", user_ref="user:default/ana.folau", slack_user_id="UANA", name="Ana")
ADMIN = Actor("slack", slack_user_id="U0ADMIN")
BILLING = "component:default/billing"


@pytest.fixture
def clock(example_catalog: Catalog) -> Clock:
    clock = Clock()
    example_catalog.clock = clock
    return clock


def exempt(actions: ActionService, clock: Clock, rule: str = "fresh") -> tuple[int, int]:
    """An outsider asks for an exemption: (request id, exemption id)."""
    until = (clock() + timedelta(days=30)).date()
    request = request_exemption(actions, OUTSIDER, scorecard="production-readiness", ref=GATEWAY, rule=rule, reason="Frozen for the audit", expires_on=until)
    return request.id, int(request.inputs["exemption"])


def status(catalog: Catalog, exemption_id: int) -> str | None:
    view = Scorecards(catalog).exemption(exemption_id)
    return view.status if view else None


def test_an_expired_exemption_request_closes_the_exemption_and_it_may_be_asked_again(example_catalog: Catalog, clock: Clock) -> None:
    actions = ActionService(example_catalog, clock=clock)
    request_id, exemption_id = exempt(actions, clock)

    clock.advance(days=6)
    assert actions.tick()["expired"] == 0 and status(example_catalog, exemption_id) == "pending"
    clock.advance(days=1, minutes=1)  # past the built-in action's 7 days
    assert actions.tick()["expired"] == 1
    assert actions.get(request_id).state == "expired" and status(example_catalog, exemption_id) == "expired"
    assert actions.tick()["expired"] == 0  # once

    again, again_exemption = exempt(actions, clock)
    assert actions.approve(again, OWNER).state == "succeeded" and status(example_catalog, again_exemption) == "approved"
    assert status(example_catalog, exemption_id) == "expired"  # the old one stays closed


def test_a_cancelled_exemption_request_closes_the_exemption(example_catalog: Catalog, clock: Clock) -> None:
    actions = ActionService(example_catalog, clock=clock)
    request_id, exemption_id = exempt(actions, clock)
    assert actions.cancel(request_id, OUTSIDER).state == "cancelled"
    view = Scorecards(example_catalog).exemption(exemption_id)
    assert view and (view.status, view.decided_by) == ("cancelled", OUTSIDER.user_ref)
    clock.advance(days=8)
    assert actions.tick()["expired"] == 0 and status(example_catalog, exemption_id) == "cancelled"


@pytest.fixture
def billing(tmp_path: Path, make_catalog: Callable[[Config], Catalog]) -> Catalog:
    config = load_config(one_source_config(tmp_path))
    config.adoption = AdoptionConfig(admins=["U0ADMIN"])
    catalog = make_catalog(config)
    assert all(r.ok for r in catalog.sync())
    return catalog


def test_an_expired_alias_request_is_closed_then_proposed_again_by_the_next_confirmation(billing: Catalog) -> None:
    clock = Clock()
    actions = ActionService(billing, clock=clock)
    first = propose_alias(actions, question="who owns bllng", ref=BILLING)
    assert first is not None

    clock.advance(days=14, minutes=1)
    assert actions.tick()["expired"] == 1
    [(alias, provenance)] = Adoption(billing).aliases()
    assert alias.status == "expired" and "not decided" in provenance and "proposed again" in provenance
    assert billing.ask("who owns bllng").notes  # still only a fuzzy match

    clock.advance(days=30)
    second = propose_alias(actions, question="who owns BLLNG?", ref=BILLING)
    assert second is not None and second.id != first.id and second.state == "pending"  # asked again, once
    assert propose_alias(actions, question="who owns bllng", ref=BILLING) is None
    assert actions.approve(second.id, ADMIN).state == "succeeded"
    [(alias, _)] = Adoption(billing).aliases()
    assert (alias.status, alias.decided_by, alias.confirmations) == ("approved", "U0ADMIN", 3)
    assert not billing.ask("who owns bllng").notes


def test_a_rejected_alias_is_not_proposed_again(billing: Catalog) -> None:
    actions = ActionService(billing, clock=Clock())
    request = propose_alias(actions, question="who owns bllng", ref=BILLING)
    assert request and actions.reject(request.id, ADMIN, "not a name we use").state == "rejected"
    assert propose_alias(actions, question="who owns bllng", ref=BILLING) is None
    [(alias, _)] = Adoption(billing).aliases()
    assert alias.status == "rejected"
