"""Approval-gated actions without Slack: the state machine, approvers from the catalog, executors, the clock.

Why: an action that runs twice, runs unapproved, or is approved by its own requester is worse than
a ticket; every transition is a conditional update so clicks, retries, replicas and restarts race
safely, and the timed work runs from an injected clock, never from sleeping.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from actions.errors import InvalidInputs, Refused, UnknownAction
from actions.executors.base import Outcome, Run
from actions.service import ActionService
from catalog.config import Config
from catalog.core import Catalog
from tests.actions_world import LEAD, OTHER_LEAD, REQUESTER, STRANGER, Clock, RecordingNotifier, write_config
from tests.fakes.executor import FakeExecutor

REASON = {"reason": "Investigating the refunds incident", "duration": "2d", "level": "read"}


@pytest.fixture
def world(example_catalog: Catalog, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, executor: FakeExecutor,
          make_catalog: Callable[[Config], Catalog]) -> Callable[..., ActionService]:  # fmt: skip
    config = write_config(tmp_path, monkeypatch, executor.url)
    clock, notifier = Clock(), RecordingNotifier()
    delays: list[float] = []

    def build(**kwargs: Any) -> ActionService:
        service = ActionService(make_catalog(config), notifier=notifier, clock=clock, sleep=delays.append, **kwargs)
        service.register_internal("noop", lambda run: "nothing to do")
        return service

    build.clock, build.notifier, build.delays = clock, notifier, delays  # type: ignore[attr-defined]
    return build


def test_request_approve_run_once_with_a_valid_signature(world: Callable[..., ActionService], executor: FakeExecutor) -> None:
    service = world()
    request = service.request("db-read-access", REQUESTER, REASON, target="resource:default/payments-db", channel="C0GENERAL")
    assert request.state == "pending"
    assert request.channel == "C0123ABCD"  # the owning team's channel
    assert [p.ref for p in request.waiting_on] == ["user:default/nadia.haddad", "user:default/samuel.okafor"]  # the leads annotation
    done = service.approve(request.id, LEAD)
    assert done.state == "succeeded"
    assert len(executor.runs) == 1 and executor.bad_signatures == 0
    assert executor.runs[0]["inputs"]["reason"] == REASON["reason"] and executor.runs[0]["target"] == "resource:default/payments-db"
    assert done.ttl_expires_at == world.clock.now + timedelta(days=2)  # type: ignore[attr-defined]
    assert world.notifier.kinds(request.id) == ["created", "approved", "running", "succeeded"]  # type: ignore[attr-defined]
    with pytest.raises(Refused, match="already decided"):
        service.approve(request.id, OTHER_LEAD)
    assert len(executor.runs) == 1
    events = [(a["event"], a["actor"]) for a in service.audit()]
    assert events[:3] == [("requested", REQUESTER.user_ref), ("pending", REQUESTER.user_ref), ("approval", LEAD.user_ref)]
    assert ("succeeded", "wayfinder") in events


def test_a_click_landing_before_the_card_is_stored_is_still_drawn_on_it(world: Callable[..., ActionService], executor: FakeExecutor) -> None:
    service, notifier = world(), world.notifier  # type: ignore[attr-defined]
    post = notifier.post_card

    def approved_while_posting(request: Any) -> str | None:
        ts = post(request)
        service.approve(request.id, LEAD)  # the approver clicked before Wayfinder had stored the card's ts
        return ts

    notifier.post_card = approved_while_posting
    request = service.request("db-read-access", REQUESTER, REASON, target="resource:default/payments-db", channel="C0GENERAL")
    assert request.state == "succeeded" and len(executor.runs) == 1
    assert [(e.kind, e.request.ts) for e in notifier.events[:3]] == [("approved", None), ("running", None), ("succeeded", None)]  # no card to redraw yet
    last = notifier.events[-1]
    assert last.kind == "caught_up" and last.request.ts == "1700000000.000001"  # the card, redrawn in place
    assert last.text == "While this card was being posted: Nadia Haddad approved. It is now succeeded."


def test_secrets_are_masked_in_the_audit_and_views(world: Callable[..., ActionService]) -> None:
    service = world()
    request = service.request("db-read-access", REQUESTER, REASON | {"api_token": "s3cr3t-value"}, target="resource:default/payments-db")
    assert request.inputs["api_token"] == "***"
    assert "s3cr3t-value" not in str(service.audit())


def test_self_approval_is_refused_and_says_who_can(world: Callable[..., ActionService], executor: FakeExecutor) -> None:
    service = world()
    request = service.request("db-read-access", LEAD, REASON, target="resource:default/payments-db")
    assert [p.name for p in request.waiting_on] == ["Samuel Okafor"]
    with pytest.raises(Refused) as refused:
        service.approve(request.id, LEAD)
    assert "your own request" in str(refused.value) and "Samuel Okafor" in str(refused.value)
    assert service.get(request.id).state == "pending" and executor.runs == []


def test_an_unauthorized_click_is_refused(world: Callable[..., ActionService], executor: FakeExecutor) -> None:
    service = world()
    request = service.request("db-read-access", REQUESTER, REASON, target="resource:default/payments-db")
    for actor in (STRANGER, REQUESTER):
        with pytest.raises(Refused, match="not an approver"):
            service.approve(request.id, actor)
    assert executor.runs == [] and service.get(request.id).state == "pending"


def test_reject_needs_a_reason_and_ends_the_request(world: Callable[..., ActionService], executor: FakeExecutor) -> None:
    service = world()
    request = service.request("db-read-access", REQUESTER, REASON, target="resource:default/payments-db")
    with pytest.raises(InvalidInputs):
        service.reject(request.id, LEAD, " ")
    done = service.reject(request.id, LEAD, "Use the replica instead")
    assert done.state == "rejected" and done.rejection and done.rejection.reason == "Use the replica instead"
    with pytest.raises(Refused, match="decided by Nadia Haddad: it is rejected"):
        service.approve(request.id, OTHER_LEAD)
    assert executor.runs == []


def test_invalid_inputs_are_reported_per_field(world: Callable[..., ActionService]) -> None:
    service = world()
    with pytest.raises(InvalidInputs) as invalid:
        service.request("db-read-access", REQUESTER, {"reason": "short", "duration": "30d", "level": "admin"}, target="component:default/payments-api")
    assert set(invalid.value.errors) == {"reason", "duration", "level", "target"}
    assert "At most 1w" in invalid.value.errors["duration"]
    assert service.list_requests() == []


@pytest.mark.parametrize("duration", ["99999999999999999999d", "1000000000d", "200000000w"])
def test_a_duration_beyond_any_clock_is_a_field_error_not_a_crash(world: Callable[..., ActionService], duration: str) -> None:
    """Typed into the request form, it raised OverflowError before the ack: a 500, and Slack lost the form."""
    with pytest.raises(InvalidInputs) as invalid:
        world().request("db-read-access", REQUESTER, {**REASON, "duration": duration}, target="component:default/payments-service")
    assert invalid.value.errors["duration"].startswith(f"{duration!r} is far longer than any duration")


@pytest.mark.parametrize("request_id", [2**31, 2**63, 10**20, 0, -1])
def test_an_id_no_request_can_have_is_no_such_request(world: Callable[..., ActionService], request_id: int) -> None:
    """A forged button value of 99999999999999999999 made the database raise: an apology and a traceback."""
    service = world()
    with pytest.raises(UnknownAction, match=f"there is no request #{request_id}"):
        service.approve(request_id, LEAD)
    assert not service.report_status(request_id, "token", "succeeded")


def test_requesters_are_checked(world: Callable[..., ActionService]) -> None:
    service = world()
    with pytest.raises(Refused, match="Only group:default/payments"):
        service.request("payments-only", STRANGER, {})
    assert service.request("payments-only", REQUESTER, {}).state == "succeeded"
    assert "payments-only" not in [a.id for a in service.available(STRANGER)]
    assert "payments-only" in [a.id for a in service.available(REQUESTER)]


@pytest.mark.parametrize("replicas", [1, 2])
def test_parallel_approvals_and_double_clicks_run_once(world: Callable[..., ActionService], executor: FakeExecutor, replicas: int) -> None:
    services = [world() for _ in range(replicas)]
    request = services[0].request("db-read-access", REQUESTER, REASON, target="resource:default/payments-db")
    clicks = [(services[i % replicas], actor) for i, actor in enumerate([LEAD, LEAD, OTHER_LEAD, OTHER_LEAD, LEAD, OTHER_LEAD])]
    barrier = threading.Barrier(len(clicks))
    outcomes: list[str] = []

    def click(service: ActionService, actor: Any) -> None:
        barrier.wait()
        try:
            outcomes.append(service.approve(request.id, actor).state)
        except Refused:
            outcomes.append("refused")

    threads = [threading.Thread(target=click, args=pair) for pair in clicks]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(executor.runs) == 1
    assert services[0].get(request.id).state == "succeeded"
    assert outcomes.count("refused") >= len(clicks) - 2


def test_quorum_of_two(world: Callable[..., ActionService], executor: FakeExecutor) -> None:
    service = world()
    request = service.request("quorum-access", REQUESTER, {}, target="resource:default/payments-db")
    assert service.approve(request.id, LEAD).state == "pending"
    with pytest.raises(Refused, match="already decided"):
        service.approve(request.id, LEAD)  # the same approver twice is one approval
    assert executor.runs == []
    assert service.approve(request.id, OTHER_LEAD).state == "succeeded"
    assert len(executor.runs) == 1


def test_two_stages_in_order(world: Callable[..., ActionService], executor: FakeExecutor) -> None:
    service = world()
    request = service.request("staged-access", REQUESTER, {}, target="resource:default/payments-db")
    with pytest.raises(Refused, match="not an approver"):
        service.approve(request.id, STRANGER)  # stage 2's approver cannot go first
    assert service.approve(request.id, LEAD).stage == 1
    with pytest.raises(Refused, match="not an approver"):
        service.approve(request.id, OTHER_LEAD)  # stage 1 is closed
    assert service.approve(request.id, STRANGER).state == "succeeded"
    assert len(executor.runs) == 1


def test_a_restart_between_approval_and_execution_completes_exactly_once(world: Callable[..., ActionService], executor: FakeExecutor) -> None:
    first = world()
    request = first.request("db-read-access", REQUESTER, REASON, target="resource:default/payments-db")
    first.run = lambda request_id: False  # type: ignore[method-assign]  # the process dies right after the approval commits
    assert first.approve(request.id, LEAD).state == "approved"
    assert executor.runs == []
    replicas = [world(), world()]  # after the restart, two replicas' schedulers tick at once
    barrier = threading.Barrier(2)
    threads = [threading.Thread(target=lambda s=s: (barrier.wait(), s.tick())) for s in replicas]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(executor.runs) == 1
    assert replicas[0].get(request.id).state == "succeeded"
    assert replicas[0].tick()["started"] == 0


def test_executor_500_and_timeout_are_retried_and_reported(world: Callable[..., ActionService], executor: FakeExecutor) -> None:
    service = world()
    executor.fail("/", status=500, times=1)
    executor.delay("/", 1.5, times=1)
    request = service.request("db-read-access", REQUESTER, REASON, target="resource:default/payments-db")
    assert service.approve(request.id, LEAD).state == "succeeded"
    progress = [e.text for e in world.notifier.events if e.kind == "progress"]  # type: ignore[attr-defined]
    assert len(progress) == 2 and any("HTTP 500" in p for p in progress) and any("timed out after 1 s" in p for p in progress)
    assert world.delays == [1.0, 2.0]  # type: ignore[attr-defined]  # backoff, injected: nobody sleeps
    assert len(executor.runs) == 1


def test_an_executor_failing_every_attempt_fails_the_run(world: Callable[..., ActionService], executor: FakeExecutor) -> None:
    service = world()
    executor.fail("/", status=503, times=None)
    request = service.request("db-read-access", REQUESTER, REASON, target="resource:default/payments-db")
    done = service.approve(request.id, LEAD)
    assert done.state == "failed" and "HTTP 503 (3 attempts)" in (done.result or "")
    assert world.notifier.kinds(request.id)[-1] == "failed"  # type: ignore[attr-defined]


def test_long_running_executor_reports_with_its_token(world: Callable[..., ActionService], executor: FakeExecutor) -> None:
    service = world()
    executor.answer = "running"
    request = service.request("db-read-access", REQUESTER, REASON, target="resource:default/payments-db")
    assert service.approve(request.id, LEAD).state == "running"
    token = executor.runs[0]["status_token"]
    assert not service.report_status(request.id, "wrong-token", "succeeded")
    assert service.report_status(request.id, token, "progress", "half way")
    assert service.report_status(request.id, token, "succeeded", "granted")
    assert service.get(request.id).state == "succeeded"
    assert not service.report_status(request.id, token, "failed")  # final: the token is spent
    world.clock.advance(hours=1)  # type: ignore[attr-defined]
    assert service.tick()["interrupted"] == 0


def test_expiry_reminder_and_escalation_follow_the_clock(world: Callable[..., ActionService]) -> None:
    service = world()
    clock, notifier = world.clock, world.notifier  # type: ignore[attr-defined]
    request = service.request("db-read-access", REQUESTER, REASON, target="resource:default/payments-db")
    assert service.tick() == dict.fromkeys(service.tick(), 0)
    clock.advance(hours=4, minutes=1)
    assert service.tick()["reminded"] == 1 and service.tick()["reminded"] == 0
    reminder = next(e for e in notifier.events if e.kind == "reminder")
    assert [p.name for p in reminder.notify] == ["Nadia Haddad", "Samuel Okafor"]
    clock.advance(hours=4)
    assert service.tick()["escalated"] == 1
    escalation = next(e for e in notifier.events if e.kind == "escalated")
    assert "user:default/ben.carter" in [p.ref for p in escalation.notify]
    assert service.approve(request.id, STRANGER).state == "succeeded"  # escalation approvers may decide now
    other = service.request("db-read-access", REQUESTER, REASON, target="resource:default/payments-db")
    clock.advance(days=3)
    assert service.tick()["expired"] == 1
    assert service.get(other.id).state == "expired"
    with pytest.raises(Refused, match="expired"):
        service.approve(other.id, LEAD)


def test_ttl_reminders_then_teardown(world: Callable[..., ActionService], executor: FakeExecutor) -> None:
    service = world()
    clock, notifier = world.clock, world.notifier  # type: ignore[attr-defined]
    request = service.request("db-read-access", REQUESTER, REASON, target="resource:default/payments-db")
    service.approve(request.id, LEAD)
    clock.advance(hours=23)
    assert service.tick()["ttl_reminded"] == 0
    clock.advance(hours=2)  # one day left
    assert service.tick()["ttl_reminded"] == 1 and service.tick()["ttl_reminded"] == 0
    clock.advance(hours=22, minutes=30)  # half an hour left
    assert service.tick()["ttl_reminded"] == 1
    assert [e.text.split(",")[0] for e in notifier.events if e.kind == "ttl_reminder"] == ["This ends in one day", "This ends in one hour"]
    clock.advance(hours=1)
    assert service.tick()["torn_down"] == 1 and service.tick()["torn_down"] == 0
    assert service.get(request.id).state == "torn_down"
    assert [r["operation"] for r in executor.runs] == ["run", "teardown"]


def test_catalog_executor_registers_then_retires_an_entity(world: Callable[..., ActionService]) -> None:
    service = world()
    done = service.request("dev-env", REQUESTER, {"name": "elena-sandbox"})
    assert done.state == "succeeded" and done.entity_ref == "resource:default/dev-elena-sandbox"
    card = service.catalog.cards(["resource:default/dev-elena-sandbox"])["resource:default/dev-elena-sandbox"]
    assert card.owner is not None and card.owner.ref == "group:default/payments"  # the requester's team
    world.clock.advance(days=5, minutes=1)  # type: ignore[attr-defined]
    assert service.tick()["torn_down"] == 1
    assert service.catalog.cards(["resource:default/dev-elena-sandbox"]) == {}


def test_extend_and_tear_down_now_are_the_requesters(world: Callable[..., ActionService]) -> None:
    service = world()
    done = service.request("dev-env", REQUESTER, {"name": "elena-box"})
    with pytest.raises(Refused, match="Only the requester"):
        service.extend(done.id, LEAD)
    before = done.ttl_expires_at
    assert before is not None
    assert (service.extend(done.id, REQUESTER).ttl_expires_at or before) > before
    assert service.teardown(done.id, REQUESTER)
    assert service.get(done.id).state == "torn_down"


def test_built_in_actions_are_registered_in_code(world: Callable[..., ActionService]) -> None:
    from actions.definitions import ActionDefinition

    service = world()
    seen: list[Run] = []

    def exempt(run: Run) -> Outcome:
        seen.append(run)
        return Outcome("succeeded", "exempted")

    service.register_internal("exempt", exempt)
    service.add_definition(ActionDefinition.model_validate({
        "id": "scorecard-exemption", "title": "Exempt from a scorecard rule", "inputs": [{"id": "rule", "type": "text"}],
        "approval": {"policy": "any", "approvers": ["user:default/ben.carter"]}, "executor": {"type": "internal", "handler": "exempt"},
    }))  # fmt: skip
    request = service.request("scorecard-exemption", REQUESTER, {"rule": "has-runbook"})
    assert service.approve(request.id, STRANGER).result == "exempted"
    assert seen[0].inputs == {"rule": "has-runbook"}


def test_the_timed_work_runs_on_one_replica_at_a_time(world: Callable[..., ActionService]) -> None:
    from actions.jobs import JOB, ActionJobs
    from catalog.store import leases

    first, second = ActionJobs(world(), owner="replica-1"), ActionJobs(world(), owner="replica-2")
    now = world.clock()  # type: ignore[attr-defined]
    assert leases.claim(first.service.catalog.factory, JOB, "replica-1", now=now, until=now + timedelta(minutes=1))
    assert second.run() is None  # replica 1 is ticking
    leases.release(first.service.catalog.factory, JOB, "replica-1")
    assert second.run() is not None


def test_an_entity_whose_publish_was_skipped_appears_at_the_next_tick(world: Callable[..., ActionService]) -> None:
    from catalog.store import leases
    from catalog.sync import runs

    service = world()
    factory, now = service.catalog.factory, world.clock()  # type: ignore[attr-defined]
    assert leases.claim(factory, runs.lease_name("actions"), "another-replica", now=now, until=now + timedelta(minutes=5))
    done = service.request("dev-env", REQUESTER, {"name": "held-box"})
    assert done.state == "succeeded" and service.catalog.cards([done.entity_ref or ""]) == {}  # that sync was skipped
    leases.release(factory, runs.lease_name("actions"), "another-replica")
    service.tick()
    assert list(service.catalog.cards([done.entity_ref or ""])) == ["resource:default/dev-held-box"]


def test_with_no_eligible_approver_the_request_says_so_and_escalates(world: Callable[..., ActionService]) -> None:
    from actions.definitions import ActionDefinition

    service = world()
    service.add_definition(ActionDefinition.model_validate({
        "id": "nadia-only", "title": "Only Nadia approves", "executor": {"type": "internal", "handler": "noop"},
        "approval": {"policy": "any", "approvers": ["user:default/nadia.haddad"], "escalate_to": ["user:default/ben.carter"]},
    }))  # fmt: skip
    request = service.request("nadia-only", LEAD, {})
    assert request.escalated and [p.name for p in request.waiting_on] == ["Ben Carter"]
    event = next(e for e in world.notifier.events if e.request.id == request.id)  # type: ignore[attr-defined]
    assert event.kind == "no_approver" and "Nobody but the requester" in event.text and [p.name for p in event.notify] == ["Ben Carter"]
    assert service.approve(request.id, STRANGER).state == "succeeded"


def test_github_workflow_dispatch_through_the_sources_client(example_catalog: Catalog, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                             make_catalog: Callable[[Config], Catalog]) -> None:  # fmt: skip
    from catalog.config import load_config
    from tests.conftest import EXAMPLES
    from tests.fakes.github_api import FakeGitHub

    with FakeGitHub(org="northwind", token="ghs-test-token") as github:
        github.add_repo("deployer")
        monkeypatch.setenv("GH_TOKEN", "ghs-test-token")
        path = tmp_path / "wayfinder.yaml"
        path.write_text(f"""sources:
  - {{name: northwind, type: backstage, path: {EXAMPLES / 'catalog'}}}
  - {{name: gh, type: github, org: northwind, token: "${{GH_TOKEN}}", api_url: "{github.url}"}}
actions:
  - id: deploy-preview
    title: Deploy a preview
    inputs: [{{id: branch, type: text}}, {{id: dry_run, type: boolean}}]
    approval: {{policy: none}}
    executor: {{type: github-workflow, source: gh, repository: northwind/deployer, workflow: preview.yml, ref: main}}
""", encoding="utf-8")  # fmt: skip
        service = ActionService(make_catalog(load_config(path)))
        request = service.request("deploy-preview", REQUESTER, {"branch": "feature/x", "dry_run": True})
        assert request.state == "running"  # the workflow reports its end on the status URL
        [(repo, workflow, body)] = github.dispatches
        assert (repo, workflow, body["ref"]) == ("deployer", "preview.yml", "main")
        assert body["inputs"]["branch"] == "feature/x" and body["inputs"]["dry_run"] == "true"
        assert body["inputs"]["wayfinder_request"] == str(request.id) and body["inputs"]["wayfinder_status_url"].endswith(f"/actions/runs/{request.id}/status")
        assert service.report_status(request.id, body["inputs"]["wayfinder_status_token"], "succeeded", "deployed")
        assert service.get(request.id).state == "succeeded"


def test_an_extension_can_need_approval_like_the_original(world: Callable[..., ActionService], executor: FakeExecutor) -> None:
    service = world()
    original = service.request("db-read-access", REQUESTER, REASON, target="resource:default/payments-db")
    ends = service.approve(original.id, LEAD).ttl_expires_at
    assert ends is not None
    extension = service.extend(original.id, REQUESTER)
    assert extension.id != original.id and extension.state == "pending" and extension.extends_id == original.id
    assert service.get(original.id).ttl_expires_at == ends  # nothing changes before the approval
    done = service.approve(extension.id, OTHER_LEAD)
    assert done.state == "succeeded" and done.ttl_expires_at is None
    assert service.get(original.id).ttl_expires_at == ends + timedelta(days=2)
    assert len(executor.runs) == 1  # the extension runs no executor


def test_decisions_and_finished_requests_feed_the_adoption_report(world: Callable[..., ActionService], executor: FakeExecutor) -> None:
    """Issue 15: the median time to approval per action and the actions' self-service rate come from the actions' own transitions."""
    from catalog.adoption.service import Adoption

    service = world()
    done = service.request("db-read-access", REQUESTER, REASON, target="resource:default/payments-db")
    world.clock.advance(minutes=30)  # type: ignore[attr-defined]
    service.approve(done.id, LEAD)
    refused = service.request("db-read-access", REQUESTER, REASON, target="resource:default/payments-db")
    world.clock.advance(minutes=10)  # type: ignore[attr-defined]
    service.reject(refused.id, LEAD, "not for production data")
    now = world.clock.now  # type: ignore[attr-defined]
    report = Adoption(service.catalog).report(since=now - timedelta(days=1), until=now + timedelta(minutes=1))
    assert report.approval_median_minutes == {"db-read-access": 20.0}  # the median of 30 and 10 minutes
    assert (report.actions_self_service.of, report.actions_self_service.hits) == (2, 1)  # one completed, one rejected
