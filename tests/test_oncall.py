"""On-call answers: who is on call now and until when, and when that may no longer be true.

Why: this question is asked during incidents, when a wrong name costs minutes. The answer must
put level 1 first with the end of the shift, fall back to the owner when PagerDuty has nothing,
and never present a shift that has ended, or data from a source that stopped syncing, as
current: it says so, with the times. Clocks are pinned (see tests/pagerduty_world.py).
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

from typer.testing import CliRunner

from bot.cli.main import app
from tests.fakes.pagerduty_api import FakePagerDuty
from tests.pagerduty_world import PAYMENTS, REFUNDS, T0, TOKEN, World, pagerduty, world  # noqa: F401 (fixtures)

ASKED = T0 + timedelta(minutes=5)  # 09:00, inside Nadia's shift (until 16:55)


def test_answer_names_who_is_on_call_now_level_one_first_and_until_when(world: World) -> None:
    world.sync_pagerduty()

    answer = world.ask("who is on call for payments-service?", ASKED)

    assert (answer.intent, answer.status, answer.subject and answer.subject.ref) == ("oncall", "answered", PAYMENTS)
    assert answer.text.splitlines()[:5] == [
        "On call for component:payments-service (Payments Service), from PagerDuty service Payments Service (escalation policy Payments):",
        "  Level 1: Nadia Haddad <nadia.haddad@northwind.example> (Payments primary), until 16:55 UTC",
        "  Level 2: Samuel Okafor <samuel.okafor@northwind.example> (Payments secondary), until 2026-03-20 08:55 UTC",
        "  Level 3: Elena Rossi <elena.rossi@northwind.example>, always (not on a schedule)",
        "Owner: Payments [group:payments], Slack #team-payments",
    ]
    assert answer.notes == []


def test_json_lists_each_shift_with_its_window_and_freshness(world: World) -> None:
    world.sync_pagerduty()

    data = world.ask("who is on call for payments-service?", ASKED).to_json()

    fields = data["answer"]
    assert [(s["level"], s["user"], s["email"], s["start"], s["end"]) for s in fields["oncall"]] == [
        (1, "Nadia Haddad", "nadia.haddad@northwind.example", "2026-03-14T07:55:00Z", "2026-03-14T16:55:00Z"),
        (2, "Samuel Okafor", "samuel.okafor@northwind.example", "2026-03-13T08:55:00Z", "2026-03-20T08:55:00Z"),
        (3, "Elena Rossi", "elena.rossi@northwind.example", None, None),
    ]
    assert (fields["as_of"], fields["stale"], fields["failing_since"]) == ("2026-03-14T08:55:00Z", False, None)
    assert (fields["service"]["id"], fields["source"], fields["owner"]) == ("PPAYSV1", "pagerduty", "group:default/payments")
    assert (data["intent"], data["entity"], data["status"]) == ("oncall", PAYMENTS, "answered")


def test_other_phrasings_reach_the_same_answer(world: World) -> None:
    world.sync_pagerduty()

    for question in ("payments-service on-call", "oncall for Payments Service", "who's on call for the payments service"):
        answer = world.ask(question, ASKED)
        assert (answer.intent, answer.status, answer.subject and answer.subject.ref) == ("oncall", "answered", PAYMENTS), question


def test_a_shift_that_ended_after_the_last_sync_makes_the_answer_stale(world: World) -> None:
    world.sync_pagerduty()

    answer = world.ask("who is on call for payments-service?", T0 + timedelta(hours=8, minutes=5))  # 17:00

    assert answer.oncall is not None and answer.oncall.stale
    assert (
        "  Level 1: Nadia Haddad <nadia.haddad@northwind.example> (Payments primary), until 16:55 UTC (ended)" in answer.text.splitlines()
    )
    assert answer.notes[0] == (
        "A shift shown ended at 16:55 UTC, after the last PagerDuty sync (on-call as of 08:55 UTC): "
        "someone else may be on call now; check https://acme.pagerduty.com/service-directory/PPAYSV1."
    )
    assert (answer.to_json()["answer"]["stale"], answer.to_json()["answer"]["failing_since"]) == (True, None)


def test_a_shift_pagerduty_listed_after_it_had_ended_is_not_said_to_end_after_the_sync(world: World, pagerduty: FakePagerDuty) -> None:
    """Why: PagerDuty's own example lists a shift that ended in 2015; "ended after the last sync" was false."""
    shift = {
        "user": {"id": "PT23IWX", "type": "user_reference", "summary": "Tim Wright"},
        "schedule": {"id": "PI7DH85", "type": "schedule_reference", "summary": "Daily Engineering Rotation"},
        "escalation_policy": {"id": "PEPPAY1", "type": "escalation_policy_reference", "summary": "Payments"},
        "escalation_level": 2,
        "start": "2015-03-06T15:28:51-05:00",
        "end": "2015-03-07T15:28:51-05:00",
    }
    pagerduty.fail("/oncalls", status=200, body={"oncalls": [shift], "limit": 25, "offset": 0, "more": False, "total": None})
    world.sync_pagerduty()

    answer = world.ask("who is on call for payments-service?", ASKED)

    assert answer.oncall is not None and answer.oncall.stale
    assert answer.notes[0] == (
        "A shift shown ended at 2015-03-07 20:28 UTC, before the last PagerDuty sync (on-call as of 08:55 UTC), which still listed it: "
        "someone else may be on call now; check https://acme.pagerduty.com/service-directory/PPAYSV1."
    )


def test_failing_source_and_ended_shift_are_both_said(world: World, pagerduty: FakePagerDuty) -> None:
    world.sync_pagerduty()
    pagerduty.fail("/oncalls", status=503, times=None)
    assert not world.sync_pagerduty(T0 + timedelta(minutes=17)).ok

    answer = world.ask("who is on call for payments-service?", T0 + timedelta(days=1))

    assert answer.notes[0] == (
        "PagerDuty unreachable since 2026-03-14 09:12 UTC; on-call as of 2026-03-14 08:55 UTC. "
        "A shift shown ended at 2026-03-14 16:55 UTC, after the last PagerDuty sync: "
        "someone else may be on call now; check https://acme.pagerduty.com/service-directory/PPAYSV1."
    )
    assert "from pagerduty: unreachable since 09:12 UTC; data as of 2026-03-14 08:55 UTC" in answer.text


def test_nobody_on_call_falls_back_to_the_owner(world: World) -> None:
    world.sync_pagerduty()

    answer = world.ask("who is on call for refunds-worker?", ASKED)

    assert answer.status == "no_data"
    assert answer.text.splitlines()[:2] == [
        "Nobody to name as on call for component:refunds-worker; its owner:",
        "Payments [group:payments]",
    ]
    assert answer.notes[0] == "PagerDuty lists nobody on call for service refunds-worker as of 08:55 UTC. Ask the owner."
    assert (answer.to_json()["answer"]["oncall"], answer.to_json()["answer"]["owner"]) == ([], "group:default/payments")


def test_a_team_is_answered_with_who_is_on_call_for_each_of_its_paged_services(world: World) -> None:
    """PagerDuty pages per service: "who is on call for payments" named nobody and said the team had no PagerDuty service."""
    world.sync_pagerduty()

    answer = world.ask("who's on call for the payments team?", ASKED)

    assert (answer.intent, answer.status, answer.subject and answer.subject.ref) == ("oncall", "answered", "group:default/payments")
    assert [p.subject.ref for p in answer.parts if p.subject] == [PAYMENTS, "component:default/payouts-service", REFUNDS]
    assert answer.parts[0].notes[0] == "payments is a team: PagerDuty pages for each service it owns."
    lines = answer.text.splitlines()
    assert "  Level 1: Nadia Haddad <nadia.haddad@northwind.example> (Payments primary), until 16:55 UTC" in lines
    assert "Nobody to name as on call for component:refunds-worker; its owner:" in lines
    assert [a["entity"] for a in answer.to_json()["answers"]] == [PAYMENTS, "component:default/payouts-service", REFUNDS]


def test_a_team_without_paged_services_or_a_person_answers_for_itself(world: World) -> None:
    world.sync_pagerduty()

    team, person = world.ask("who is on call for team loyalty?", ASKED), world.ask("who is on call for nadia haddad?", ASKED)

    assert team.status == "no_data" and team.text.splitlines()[:2] == ["Nobody to name as on call for group:loyalty; the team:", "Loyalty [group:loyalty]"]
    assert team.notes[0] == "Nothing loyalty owns names a PagerDuty service (annotation pagerduty.com/service-id); ask the team."
    assert person.status == "no_data" and person.text.splitlines()[0] == "Nobody to name as on call for user:nadia.haddad; the person:"


def test_entity_without_pagerduty_link_says_so_and_names_its_owner(world: World) -> None:
    world.sync_pagerduty()

    answer = world.ask("who is on call for loyalty-service?", ASKED)

    assert answer.status == "no_data" and answer.oncall is None
    assert answer.text.splitlines()[:2] == [
        "Nobody to name as on call for component:loyalty-service; its owner:",
        "Loyalty [group:loyalty]",
    ]
    assert answer.notes[0] == (
        "loyalty-service has no PagerDuty service in the catalog (annotation pagerduty.com/service-id, "
        "or a PagerDuty service with the same name); ask the owner."
    )
    fields = answer.to_json()["answer"]
    assert (fields["oncall"], fields["as_of"], fields["stale"], fields["owner"]) == ([], None, False, "group:default/loyalty")


def test_annotated_service_not_synced_yet_is_named(world: World) -> None:
    answer = world.ask("who is on call for ledger-service?", ASKED)  # PagerDuty never synced

    assert answer.status == "no_data"
    assert answer.notes[0] == "ledger-service names PagerDuty service PLEDGR1, but no PagerDuty source has synced it; ask the owner."
    assert "Ledger [group:ledger]" in answer.text


def test_linked_by_name_without_owner_still_answers(world: World) -> None:
    world.sync_pagerduty()

    answer = world.ask("who is on call for tax-calculator?", ASKED)

    assert answer.status == "answered"
    assert answer.text.splitlines()[1] == "  Level 1: Nadia Haddad <nadia.haddad@northwind.example> (Payments primary), until 16:55 UTC"
    assert not any(line.startswith("Owner:") for line in answer.text.splitlines())
    assert any(note.startswith("tax-calculator has no owner in the catalog.") for note in answer.notes)


def test_cli_json_carries_the_oncall_fields(world: World, tmp_path: Path) -> None:
    world.sync_pagerduty()
    env = {"DATABASE_URL": world.catalog.database_url, "WAYFINDER_CONFIG": str(tmp_path / "wayfinder.yaml"), "PAGERDUTY_TOKEN": TOKEN}

    result = CliRunner().invoke(app, ["ask", "who is on call for payments-service?", "--json"], env=env)

    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["intent"] == "oncall" and data["answer"]["oncall"][0]["user"] == "Nadia Haddad"
    assert {"oncall", "as_of", "stale", "failing_since", "service", "owner"} <= set(data["answer"])
