"""The PagerDuty source: on-call facts land on the catalog entities PagerDuty services belong to.

Why: "who is on call for X?" is asked mid-incident. The facts must reach the right entity (by
the annotation people wrote, else by an unambiguous name), never invent entities, and survive
every way PagerDuty can fail (errors, timeouts, a page missing halfway, garbage, a revoked
token) without losing what the last good sync knew; the answer then says it is stale and
since when. Every test talks real HTTP to the local fake PagerDuty.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import pytest

from catalog.answers.oncall import SERVICE_ID_ANNOTATION
from catalog.config import Config, load_config
from catalog.core import Catalog
from catalog.store.precedence import PAGERDUTY
from catalog.store.reads import get_entity
from catalog.sync.sources.pagerduty import PagerDutySource
from catalog.sync.sources.registry import SourceContext, build_source
from tests.fakes.pagerduty_api import FakePagerDuty
from tests.helpers import active_refs
from tests.pagerduty_world import PAYMENTS, REFUNDS, T0, TAX, TOKEN, World, pagerduty, world  # noqa: F401 (fixtures)

T_FAIL = T0 + timedelta(minutes=17)  # 09:12


def test_sync_links_services_by_annotation_and_by_name_and_invents_nothing(world: World) -> None:
    before = active_refs(world.catalog)

    report = world.sync_pagerduty()

    assert report.ok, report.error
    assert (report.added, report.updated, report.removed) == (3, 0, 0)
    assert set(world.pagerduty_rows()) == {PAYMENTS, REFUNDS, TAX}
    assert all(row.precedence == PAGERDUTY for row in world.pagerduty_rows().values())
    assert active_refs(world.catalog) == before  # legacy-billing matched nothing: no entity for it
    (unlinked,) = [p for p in report.problems if "match no catalog entity" in p.message]
    assert unlinked.severity == "warning" and "legacy-billing (PLEGACY)" in unlinked.message
    tax = world.entity(TAX)
    assert tax.annotations[SERVICE_ID_ANNOTATION] == "PTAXC01"  # 'Tax Calculator' == tax-calculator
    assert tax.spec["pagerduty"]["service"]["name"] == "Tax Calculator"


def test_facts_carry_the_service_policy_and_each_shift_with_its_window(world: World) -> None:
    world.sync_pagerduty()

    facts = world.entity(PAYMENTS).spec["pagerduty"]

    assert facts["service"] == {
        "id": "PPAYSV1",
        "name": "Payments Service",
        "url": "https://acme.pagerduty.com/service-directory/PPAYSV1",
        "status": "active",
        "teams": [{"id": "PTPAY01", "name": "Payments", "url": "https://acme.pagerduty.com/teams/PTPAY01"}],
    }
    assert facts["escalation_policy"]["name"] == "Payments"
    assert [
        (s["level"], s["user"]["name"], s["user"]["email"], s.get("schedule", {}).get("name"), s.get("start"), s.get("end"))
        for s in facts["oncall"]
    ] == [
        (1, "Nadia Haddad", "nadia.haddad@northwind.example", "Payments primary", "2026-03-14T07:55:00Z", "2026-03-14T16:55:00Z"),
        (2, "Samuel Okafor", "samuel.okafor@northwind.example", "Payments secondary", "2026-03-13T08:55:00Z", "2026-03-20T08:55:00Z"),
        (3, "Elena Rossi", "elena.rossi@northwind.example", None, None, None),
    ]
    assert {"url": "https://acme.pagerduty.com/service-directory/PPAYSV1", "title": "PagerDuty", "type": "pagerduty"} in world.entity(
        PAYMENTS
    ).links


def test_requests_authenticate_and_ask_for_expanded_users_and_earliest_oncalls(world: World, pagerduty: FakePagerDuty) -> None:
    world.sync_pagerduty()

    assert {r.headers["authorization"] for r in pagerduty.log} == {f"Token token={TOKEN}"}
    assert {r.headers["accept"] for r in pagerduty.log} == {"application/vnd.pagerduty+json;version=2"}
    assert sorted(r.path for r in pagerduty.log) == ["/escalation_policies", "/oncalls", "/schedules", "/services", "/teams"]
    (oncalls,) = [r for r in pagerduty.log if r.path == "/oncalls"]
    assert (oncalls.param("include[]"), oncalls.param("earliest"), oncalls.param("limit")) == ("users", "true", "100")


def test_listings_are_read_page_by_page_until_more_is_false(world: World, pagerduty: FakePagerDuty) -> None:
    pagerduty.bulk_add_services(450, escalation_policy_id="PEPPAY1")  # 454 services: 5 pages of 100
    pagerduty.add_escalation_policy("PEPBULK", "Platform")
    for i in range(130):  # 130 on-call entries: 2 pages
        pagerduty.add_user(f"PUB{i:04d}", f"Platform person {i}", f"p{i}@northwind.example")
        pagerduty.add_oncall(f"PUB{i:04d}", "PEPBULK", None, 1)

    report = world.sync_pagerduty()

    assert report.ok, report.error
    assert [r.param("offset") for r in pagerduty.log if r.path == "/services"] == ["0", "100", "200", "300", "400"]
    assert [r.param("offset") for r in pagerduty.log if r.path == "/oncalls"] == ["0", "100"]
    assert report.requests == pagerduty.requests == 10
    assert set(world.pagerduty_rows()) == {PAYMENTS, REFUNDS, TAX}
    (unlinked,) = [p for p in report.problems if "match no catalog entity" in p.message]
    assert unlinked.message.startswith("451 PagerDuty services match no catalog entity") and unlinked.message.endswith("and 431 more")


def test_unchanged_account_resyncs_without_writing(world: World) -> None:
    world.sync_pagerduty()

    again = world.sync_pagerduty(T0 + timedelta(minutes=5))

    assert (again.added, again.updated, again.removed, again.unchanged) == (0, 0, 0, 3)


def test_rotation_updates_the_facts(world: World, pagerduty: FakePagerDuty) -> None:
    world.sync_pagerduty()
    pagerduty.add_user("PUIVAN1", "Ivan Petrov", "ivan.petrov@northwind.example")
    pagerduty.add_oncall("PUIVAN1", "PEPPAY1", "PSPAY01", 1, T0 - timedelta(minutes=5), T0 + timedelta(hours=12))
    pagerduty.clock = lambda: T0 + timedelta(hours=9)  # Nadia's shift is over; Ivan's has begun

    report = world.sync_pagerduty(T0 + timedelta(hours=9))

    assert (report.updated, report.unchanged) == (2, 1)  # payments-service and tax-calculator share the policy
    level_one = [s["user"]["name"] for s in world.entity(PAYMENTS).spec["pagerduty"]["oncall"] if s["level"] == 1]
    assert level_one == ["Ivan Petrov"]


@pytest.mark.parametrize(
    ("headers", "waits"),
    [({"Retry-After": "7"}, [7.0]), ({"ratelimit-reset": "12"}, [12.0])],
    ids=["retry-after", "ratelimit-reset"],
)
def test_rate_limited_request_waits_as_told_then_succeeds(
    world: World, pagerduty: FakePagerDuty, headers: dict[str, str], waits: list[float]
) -> None:
    pagerduty.fail("/oncalls", status=429, headers=headers)

    report = world.sync_pagerduty()

    assert report.ok, report.error
    assert world.slept == waits
    assert pagerduty.count("/oncalls") == 2
    assert len(world.entity(PAYMENTS).spec["pagerduty"]["oncall"]) == 3


def test_a_5xx_that_clears_on_retry_is_not_a_failure(world: World, pagerduty: FakePagerDuty) -> None:
    pagerduty.fail("/services", status=503, times=2)

    report = world.sync_pagerduty()

    assert report.ok, report.error
    assert len(world.slept) == 2 and pagerduty.count("/services") == 3


def test_an_account_without_the_teams_feature_still_syncs_on_call(world: World, pagerduty: FakePagerDuty) -> None:
    """Why: teams only name what services reference; PagerDuty answers 402 on /teams to accounts
    without the feature, and that must not cost anyone the on-call data."""
    pagerduty.fail("/teams", status=402, times=None)

    report = world.sync_pagerduty()

    assert report.ok, report.error
    assert set(world.pagerduty_rows()) == {PAYMENTS, REFUNDS, TAX}
    (teams,) = [p for p in report.problems if "/teams" in p.message]
    assert teams.severity == "warning" and "no Teams feature" in teams.message
    facts = world.entity(PAYMENTS).spec["pagerduty"]
    assert [t["id"] for t in facts["service"]["teams"]] == ["PTPAY01"]  # named by the service's reference
    assert len(facts["oncall"]) == 3


@dataclass
class Fault:
    """One way PagerDuty fails: how to cause it (returning how to undo it, if the fake keeps state), and what the run reports."""

    inject: Callable[[FakePagerDuty], Callable[[], None] | None]
    error: str
    settings: dict[str, object] = field(default_factory=dict)  # config overrides for the failing run


def _revoke_token(fake: FakePagerDuty) -> Callable[[], None]:
    fake.token = "rotated-elsewhere"
    return lambda: setattr(fake, "token", TOKEN)


def _exhaust_rate_limit(fake: FakePagerDuty) -> Callable[[], None]:
    fake.rate_limit_remaining = 0
    return lambda: setattr(fake, "rate_limit_remaining", fake.rate_limit)


FAULTS = {
    "500 on every try": Fault(lambda f: f.fail("/services", status=500, times=None), "/services answered HTTP 500 after 3 tries"),
    "timeout": Fault(lambda f: f.delay("/escalation_policies", 2.0), "ReadTimeout calling /escalation_policies", {"timeout_seconds": 0.2}),
    "network error": Fault(lambda f: None, "ConnectError calling /services", {"api_url": "http://127.0.0.1:1"}),
    "401 revoked token": Fault(_revoke_token, "/services answered HTTP 401"),
    "page 3 of 5 missing": Fault(lambda f: f.fail("/services", status=404, query={"offset": "200"}), "/services answered HTTP 404"),
    "page 3 of 5 fails": Fault(
        lambda f: f.fail("/services", status=502, times=None, query={"offset": "200"}), "/services answered HTTP 502"
    ),
    "malformed JSON": Fault(
        lambda f: f.fail("/schedules", status=200, body='{"schedules": [{"id": '), "/schedules answered malformed JSON"
    ),
    "not a listing": Fault(
        lambda f: f.fail("/teams", status=200, body={"teams": "nope", "more": False}), "/teams at offset 0 is not a PagerDuty listing"
    ),
    "item without id": Fault(
        lambda f: f.fail("/escalation_policies", status=200, body={"escalation_policies": [{"name": "x"}], "more": False}),
        "/escalation_policies at offset 0: item 0.id: Field required",
    ),
    "rate limited on every try": Fault(_exhaust_rate_limit, "/services answered HTTP 429 after 3 tries"),
}


@pytest.mark.parametrize("fault", list(FAULTS))
def test_a_failing_sync_loses_nothing_and_answers_say_since_when(world: World, pagerduty: FakePagerDuty, fault: str) -> None:
    pagerduty.bulk_add_services(450, escalation_policy_id="PEPPAY1")  # five pages, so a fault can hit page 3
    assert world.sync_pagerduty().ok
    catalog = active_refs(world.catalog)
    kept = {ref: (row.content_hash, row.spec) for ref, row in world.pagerduty_rows().items()}
    undo = FAULTS[fault].inject(pagerduty)

    failed = world.sync_pagerduty(T_FAIL, **FAULTS[fault].settings)

    assert failed.status == "failed"
    assert failed.error is not None and FAULTS[fault].error in failed.error and TOKEN not in failed.error
    after = world.pagerduty_rows()
    assert {ref: (row.content_hash, row.spec) for ref, row in after.items()} == kept
    assert all(row.retired_at is None for row in after.values())
    assert active_refs(world.catalog) == catalog
    answer = world.ask("who is on call for payments-service?", T_FAIL + timedelta(minutes=1))
    assert answer.status == "answered" and answer.oncall is not None and answer.oncall.stale
    assert answer.notes[0] == "PagerDuty unreachable since 09:12 UTC; on-call as of 08:55 UTC."
    assert "Level 1: Nadia Haddad" in answer.text
    fields = answer.to_json()["answer"]
    assert (fields["stale"], fields["failing_since"], fields["as_of"]) == (True, "2026-03-14T09:12:00Z", "2026-03-14T08:55:00Z")

    pagerduty.clear_faults()
    if undo:
        undo()
    recovered = world.sync_pagerduty(T_FAIL + timedelta(minutes=5))

    assert recovered.ok, recovered.error
    assert set(world.pagerduty_rows()) == set(kept)
    later = world.ask("who is on call for payments-service?", T_FAIL + timedelta(minutes=6))
    assert later.oncall is not None and not later.oncall.stale and later.to_json()["answer"]["failing_since"] is None


def test_page_3_fault_stops_the_listing_there(world: World, pagerduty: FakePagerDuty) -> None:
    pagerduty.bulk_add_services(450, escalation_policy_id="PEPPAY1")
    pagerduty.fail("/services", status=404, query={"offset": "200"})

    assert world.sync_pagerduty().status == "failed"
    assert [r.param("offset") for r in pagerduty.log if r.path == "/services"] == ["0", "100", "200"]


# -- linking rules, on a small catalog of our own -------------------------------------------


def _descriptor(name: str, *, kind: str = "Component", namespace: str = "default", service_id: str | None = None) -> str:
    annotation = f"  annotations:\n    {SERVICE_ID_ANNOTATION}: {service_id}\n" if service_id else ""
    spec = {
        "Component": "type: service\n  lifecycle: production\n  owner: team-a",
        "Resource": "type: database\n  owner: team-a",
        "Group": "type: team",
    }[kind]
    return (
        f"apiVersion: backstage.io/v1alpha1\nkind: {kind}\nmetadata:\n  name: {name}\n  namespace: {namespace}\n"
        f"{annotation}spec:\n  {spec}\n"
    )


@pytest.fixture
def bare_account() -> Iterator[FakePagerDuty]:
    with FakePagerDuty(token=TOKEN, clock=lambda: T0) as fake:
        fake.add_escalation_policy("PEP1", "Default")
        yield fake


@pytest.fixture
def small(
    make_catalog: Callable[[Config], Catalog], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, bare_account: FakePagerDuty
) -> Catalog:
    """Descriptors each test writes, then PagerDuty, configured as users would (token from the environment)."""
    monkeypatch.setenv("PAGERDUTY_TOKEN", TOKEN)
    (tmp_path / "catalog").mkdir()
    path = tmp_path / "wayfinder.yaml"
    path.write_text(
        f"sources:\n  - name: main\n    type: backstage\n    path: {tmp_path / 'catalog'}\n"
        f"  - name: pagerduty\n    type: pagerduty\n    token: ${{PAGERDUTY_TOKEN}}\n    api_url: {bare_account.url}\n",
        encoding="utf-8",
    )
    return make_catalog(load_config(path))


def _sync_small(small: Catalog, tmp_path: Path, descriptors: list[str]) -> tuple[set[str], list[str]]:
    """Write the descriptors and run every configured source once; return PagerDuty's linked refs and warnings."""
    (tmp_path / "catalog" / "all.yaml").write_text("---\n".join(descriptors), encoding="utf-8")
    reports = small.sync()
    assert all(r.ok for r in reports), [r.error for r in reports]
    return active_refs(small, "pagerduty"), [p.message for p in reports[1].problems]


def test_configured_source_is_built_from_the_config(small: Catalog) -> None:
    source = build_source(small.config.source("pagerduty"), SourceContext(small.factory))

    assert isinstance(source, PagerDutySource)
    assert (source.type, source.token, source.max_retries) == ("pagerduty", TOKEN, 3)


def test_annotation_beats_a_name_match(small: Catalog, bare_account: FakePagerDuty, tmp_path: Path) -> None:
    bare_account.add_service("PBILL01", "billing-api", escalation_policy_id="PEP1")  # same name, but...
    bare_account.add_service("PBILL02", "Billing (new)", escalation_policy_id="PEP1")  # ...the annotation names this one

    linked, warnings = _sync_small(small, tmp_path, [_descriptor("billing-api", service_id="PBILL02")])

    assert linked == {"component:default/billing-api"}
    with small.session() as s:
        entity = get_entity(s, "component:default/billing-api")
    assert entity is not None and entity.spec["pagerduty"]["service"]["id"] == "PBILL02"
    assert any("billing-api (PBILL01)" in w and "match no catalog entity" in w for w in warnings)


def test_name_match_ignores_case_and_separators_and_skips_groups(small: Catalog, bare_account: FakePagerDuty, tmp_path: Path) -> None:
    bare_account.add_service("PS1", "Orders API", escalation_policy_id="PEP1")
    bare_account.add_service("PS2", "orders_db", escalation_policy_id="PEP1")
    bare_account.add_service("PS3", "Team A", escalation_policy_id="PEP1")  # a Group is not a service

    linked, _ = _sync_small(
        small, tmp_path, [_descriptor("orders-api"), _descriptor("orders.db", kind="Resource"), _descriptor("team-a", kind="Group")]
    )

    assert linked == {"component:default/orders-api", "resource:default/orders.db"}


def test_ambiguous_name_links_nothing_and_says_why(small: Catalog, bare_account: FakePagerDuty, tmp_path: Path) -> None:
    bare_account.add_service("PS1", "Search", escalation_policy_id="PEP1")

    linked, warnings = _sync_small(small, tmp_path, [_descriptor("search"), _descriptor("search", namespace="labs")])

    assert linked == set()
    assert any("'Search' (PS1) matches component:default/search, component:labs/search by name; not linked" in w for w in warnings)


def test_two_services_with_one_name_link_the_first_and_say_so(small: Catalog, bare_account: FakePagerDuty, tmp_path: Path) -> None:
    bare_account.add_service("PS1", "checkout", escalation_policy_id="PEP1")
    bare_account.add_service("PS2", "Checkout", escalation_policy_id="PEP1")

    linked, warnings = _sync_small(small, tmp_path, [_descriptor("checkout")])

    assert linked == {"component:default/checkout"}
    assert any("both match component:default/checkout by name; PS1 is used" in w for w in warnings)


def test_annotation_naming_an_unknown_service_is_a_warning_not_a_guess(small: Catalog, bare_account: FakePagerDuty, tmp_path: Path) -> None:
    bare_account.add_service("PS1", "ledger", escalation_policy_id="PEP1")

    linked, warnings = _sync_small(small, tmp_path, [_descriptor("ledger", service_id="PGONE01")])

    assert linked == set()  # the explicit (wrong) annotation wins over the name: fix the annotation
    assert f"{SERVICE_ID_ANNOTATION} PGONE01 names no service this PagerDuty account lists" in warnings


def test_facts_of_a_removed_entity_are_retired_by_the_next_sync(small: Catalog, bare_account: FakePagerDuty, tmp_path: Path) -> None:
    bare_account.add_service("PS1", "cart", escalation_policy_id="PEP1")
    bare_account.add_service("PS2", "wishlist", escalation_policy_id="PEP1")
    _sync_small(small, tmp_path, [_descriptor("cart"), _descriptor("wishlist")])

    linked, _ = _sync_small(small, tmp_path, [_descriptor("cart")])

    assert linked == {"component:default/cart"}
    assert active_refs(small) == {"component:default/cart"}


# -- the large-delete guard: PagerDuty only annotates what other sources define ----------------


def test_descriptors_deleted_on_purpose_do_not_make_the_next_pagerduty_run_refuse(
    small: Catalog, bare_account: FakePagerDuty, tmp_path: Path
) -> None:
    """Why: the descriptors' source retired those entities, allowed to; PagerDuty's rows that only
    annotated them go with them, and are no delete of PagerDuty's that anyone must allow again."""
    names = [f"svc-{i}" for i in range(12)]
    for name in names:
        bare_account.add_service(f"P{name}", name, escalation_policy_id="PEP1")
    _sync_small(small, tmp_path, [_descriptor(name) for name in names])
    (tmp_path / "catalog" / "all.yaml").write_text("---\n".join(_descriptor(name) for name in names[8:]), encoding="utf-8")
    [descriptors] = small.sync(["main"], allow_large_delete=True)
    assert (descriptors.ok, descriptors.removed) == (True, 8)

    [report] = small.sync(["pagerduty"])

    assert (report.status, report.removed, report.unchanged) == ("ok", 8, 4), report.error
    assert active_refs(small) == {f"component:default/{name}" for name in names[8:]}


def test_a_refused_run_says_so_and_not_that_pagerduty_is_unreachable(world: World, pagerduty: FakePagerDuty) -> None:
    assert world.sync_pagerduty().ok
    pagerduty.fail("/services", status=200, body={"services": [], "more": False})  # the account suddenly lists nothing

    refused = world.sync_pagerduty(T_FAIL)

    assert refused.status == "refused" and "would retire all 3 entities" in (refused.error or "")
    answer = world.ask("who is on call for payments-service?", T_FAIL + timedelta(minutes=1))
    assert answer.oncall is not None and answer.oncall.stale
    assert answer.notes[0] == (
        "PagerDuty syncs refused since 09:12 UTC (they would retire too much; see `wayfinder sync status`); on-call as of 08:55 UTC."
    )
    assert "unreachable" not in answer.text
    assert "from pagerduty: syncs refused since 09:12 UTC" in answer.text
