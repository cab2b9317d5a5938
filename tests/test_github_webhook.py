"""`POST /webhooks/github`: a signed push to a default branch is queued, answered, and resyncs that one repository.

Why: a merged `catalog-info.yaml` change should show up in answers within seconds, not at the next
scheduled sync; the answer must not wait for GitHub and a catalog write (GitHub advises answering
first); a push answered must never be lost, even by a replica that dies next; and since anyone can
POST to the URL, an unsigned or wrongly signed delivery must change nothing, and a resync of one
repository must never retire another's entities.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import httpx
import pytest
from sqlalchemy import func, select
from sqlmodel import col

from bot.compose import Services
from bot.http.app import create_http_app
from bot.http.webhooks import QueuedPushSweep
from catalog.config import Config
from catalog.core import Catalog
from catalog.store import leases
from catalog.store.models import SourceState, SyncRun
from catalog.sync import runs as sync_runs
from catalog.sync.engine import SyncReport
from catalog.sync.webhooks import WebhookResult, handle_github_push, resync_every_queued, resync_queued
from catalog.tls import tls_context
from tests.e2e.harness import ServerThread
from tests.fakes.github_api import FakeGitHub, webhook_signature
from tests.github_world import TOKEN, component, entity, github_yaml, state, sync
from tests.helpers import active_refs, rows

SECRET = "whsec-wayfinder-test"


@pytest.fixture
def github() -> Iterator[FakeGitHub]:
    with FakeGitHub(org="acme", token=TOKEN) as fake:
        fake.add_repo("payments", files={"catalog-info.yaml": component("payments-api") + "---\n" + component("payments-worker")})
        fake.add_repo("ledger", files={".github/CODEOWNERS": "* @acme/ledger-team\n"})
        fake.add_repo("search", files={"catalog-info.yaml": component("search-api", owner="team-search")})
        yield fake


@pytest.fixture
def catalog(
    github: FakeGitHub, write_config: Callable[[str], Config], make_catalog: Callable[[Config], Catalog], monkeypatch: pytest.MonkeyPatch
) -> Catalog:
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    monkeypatch.setenv("GITHUB_WEBHOOK_SECRET", SECRET)
    catalog = make_catalog(write_config("sources:\n" + github_yaml(github.url, webhook_secret="${GITHUB_WEBHOOK_SECRET}")))
    assert sync(catalog).ok
    return catalog


def push(github: FakeGitHub, repo: str, *, ref: str = "refs/heads/main", **fields: object) -> bytes:
    """A push event body with the repository object GitHub would send (epoch `pushed_at`, as pushes carry), and `fields` on top."""
    listed = httpx.get(f"{github.url}/orgs/acme/repos", params={"per_page": 100}, headers={"Authorization": f"Bearer {TOKEN}"}, verify=tls_context()).json()
    repository = next(r for r in listed if r["name"] == repo)
    repository["pushed_at"] = int(time.time())
    event = {"ref": ref, "before": "0" * 40, "after": "1" * 40, "repository": repository, "pusher": {"name": "octocat"}}
    return json.dumps(event | fields).encode()


def deliver(catalog: Catalog, body: bytes, signature: str | None, event: str) -> WebhookResult:
    """One delivery, with a fresh `X-GitHub-Delivery` id as GitHub sends it."""
    return handle_github_push(catalog, body, signature, event, delivery=str(uuid.uuid4()))


QUEUED = "queued: acme/{repo} is resynced next; `wayfinder sync status` shows the run"


def resynced(catalog: Catalog, github: FakeGitHub, body: bytes) -> SyncReport:
    """Deliver `body`, see it answered 202 before anything was read, then run the resync that follows the answer."""
    repo, requests, run_count = json.loads(body)["repository"]["name"], github.requests, runs(catalog)
    result = deliver(catalog, body, webhook_signature(SECRET, body), "push")
    assert (result.status, result.source, result.repository, result.message) == (202, "gh", f"acme/{repo}", QUEUED.format(repo=repo))
    assert (github.requests, runs(catalog)) == (requests, run_count)  # answered before anything was read
    [report] = resync_queued(catalog, "gh")
    return report


def runs(catalog: Catalog) -> int:
    with catalog.session() as session:
        return session.scalar(select(func.count()).select_from(SyncRun)) or 0


@pytest.mark.parametrize("signature", [None, "", "sha256=" + "0" * 64, "sha1=abc", "wrong-secret"])
def test_missing_or_bad_signature_is_refused_and_changes_nothing(github: FakeGitHub, catalog: Catalog, signature: str | None) -> None:
    github.set_file("payments", "catalog-info.yaml", component("payments-api", description="changed"))
    body = push(github, "payments")
    before, run_count, requests = state(catalog), runs(catalog), github.requests
    if signature == "wrong-secret":
        signature = webhook_signature("not-the-secret", body)

    result = deliver(catalog, body, signature, "push")

    assert result.status == 401
    assert (state(catalog), runs(catalog), github.requests) == (before, run_count, requests)


def test_a_signature_over_other_bytes_is_refused(github: FakeGitHub, catalog: Catalog) -> None:
    body = push(github, "payments")
    tampered = body.replace(b'"refs/heads/main"', b'"refs/heads/main" ')
    assert deliver(catalog, tampered, webhook_signature(SECRET, body), "push").status == 401


def test_push_changing_catalog_info_updates_that_repository_once_answered(github: FakeGitHub, catalog: Catalog) -> None:
    github.set_file("payments", "catalog-info.yaml", component("payments-api", description="Now with refunds"))
    github.remove_repo("search")  # a full sync would retire search-api; a push to payments must not
    body = push(github, "payments")

    report = resynced(catalog, github, body)

    assert (report.status, report.scope, report.added, report.updated, report.removed) == ("ok", "acme/payments", 0, 1, 1)
    assert entity(catalog, "component:default/payments-api").description == "Now with refunds"
    assert active_refs(catalog, "gh") == {"component:default/payments-api", "component:default/ledger", "component:default/search-api"}
    assert resync_queued(catalog, "gh") == []  # read and forgotten
    with catalog.session() as session:
        run = session.get(SyncRun, report.run_id)
        assert run is not None and (run.status, run.message) == ("ok", "partial: acme/payments")
        source = session.get(SourceState, "gh")
        assert source is not None and source.last_success_at is not None and source.last_success_at < run.started_at


@contextmanager
def busy(catalog: Catalog) -> Iterator[None]:
    """Another run of the `gh` source (a full sync elsewhere) holds its lease for the block."""
    now, name = datetime.now(UTC), sync_runs.lease_name("gh")
    assert leases.claim(catalog.factory, name, "a full sync elsewhere", now=now, until=now + sync_runs.LEASE_TTL)
    try:
        yield
    finally:
        leases.release(catalog.factory, name, "a full sync elsewhere")


def partial_runs(catalog: Catalog) -> list[str | None]:
    with catalog.session() as session:
        return list(session.scalars(select(col(SyncRun.message)).where(col(SyncRun.message).startswith("partial")).order_by(col(SyncRun.id))))


def test_a_push_while_its_source_is_busy_is_queued_and_lands_when_the_holder_finishes(github: FakeGitHub, catalog: Catalog) -> None:
    """Webhook, manual and scheduled runs share the source's lease, so the push must not interleave with
    the run holding it; it used to get 409 and wait for the next scheduled sync (GitHub does not redeliver)."""
    github.set_file("payments", "catalog-info.yaml", component("payments-api", description="Now with refunds"))
    body = push(github, "payments")
    before, run_count = state(catalog), runs(catalog)

    with busy(catalog):
        result = handle_github_push(catalog, body, webhook_signature(SECRET, body), "push", delivery="d-1")
        assert resync_queued(catalog, "gh") == []  # the queued push's own look: the holder's work
        assert (state(catalog), runs(catalog)) == (before, run_count)
    assert (result.status, result.source, result.repository, result.message) == (202, "gh", "acme/payments", QUEUED.format(repo="payments"))
    again = handle_github_push(catalog, body, webhook_signature(SECRET, body), "push", delivery="d-1")  # GitHub's "Redeliver"
    assert again.status == 202 and "already handled" in again.message  # queued is handled: it will not resync twice

    reports = resync_queued(catalog, "gh")  # what the holder does once it has released the lease

    assert [(r.status, r.scope, r.updated) for r in reports] == [("ok", "acme/payments", 1)]
    assert entity(catalog, "component:default/payments-api").description == "Now with refunds"
    assert resync_queued(catalog, "gh") == [] and partial_runs(catalog) == ["partial: acme/payments"]


def test_pushes_queued_for_one_repository_resync_it_once_with_every_pushs_authors(github: FakeGitHub, catalog: Catalog) -> None:
    def commit(login: str, path: str) -> dict[str, object]:
        return {"author": {"username": login}, "added": [], "modified": [path]}

    github.set_file("payments", "catalog-info.yaml", component("payments-api", description="v2") + "---\n" + component("payments-worker"))
    github.set_file("ledger", ".github/CODEOWNERS", "* @acme/finance\n")
    pushes = [
        push(github, "payments", commits=[commit("alice", "catalog-info.yaml")]),
        push(github, "payments", commits=[commit("bob", "README.md")]),  # does not make bob the author of alice's change
        push(github, "ledger", commits=[commit("carol", ".github/CODEOWNERS")]),
        push(github, "payments", after="2" * 40),
    ]
    with busy(catalog):
        assert {deliver(catalog, body, webhook_signature(SECRET, body), "push").status for body in pushes} == {202}
    requests = github.requests

    reports = resync_queued(catalog, "gh")

    assert [(r.status, r.scope) for r in reports] == [("ok", "acme/payments"), ("ok", "acme/ledger")]
    assert partial_runs(catalog) == ["partial: acme/payments", "partial: acme/ledger"]
    assert github.requests - requests == sum(r.requests for r in reports)
    payments, ledger = rows(catalog, "gh")["component:default/payments-api"], rows(catalog, "gh")["component:default/ledger"]
    assert (payments.description, payments.changed_by) == ("v2", "github:alice")
    assert (ledger.owner_ref, ledger.changed_by) == ("group:default/finance", "github:carol")
    assert resync_queued(catalog, "gh") == []


def test_a_queued_resync_that_fails_stays_queued_for_the_next_run(github: FakeGitHub, catalog: Catalog) -> None:
    github.set_file("payments", "catalog-info.yaml", component("payments-api", description="after the outage"))
    body = push(github, "payments")
    with busy(catalog):
        assert deliver(catalog, body, webhook_signature(SECRET, body), "push").status == 202
    github.fail("/contents/", status=500, times=None)
    assert [r.status for r in resync_queued(catalog, "gh")] == ["failed"]  # tried once, not again and again

    github.clear_faults()

    assert [r.status for r in resync_queued(catalog, "gh")] == ["ok"]
    assert entity(catalog, "component:default/payments-api").description == "after the outage"


def test_a_full_sync_reads_the_pushes_queued_before_it_and_forgets_them(github: FakeGitHub, catalog: Catalog) -> None:
    """So a push queued by a replica that died before resyncing it waits no longer than the next scheduled sync."""
    github.set_file("payments", "catalog-info.yaml", component("payments-api", description="Now with refunds"))
    body = push(github, "payments")
    with busy(catalog):
        assert deliver(catalog, body, webhook_signature(SECRET, body), "push").status == 202

    (report,) = catalog.sync(["gh"])

    assert (report.status, report.scope, report.updated) == ("ok", None, 1)
    assert entity(catalog, "component:default/payments-api").description == "Now with refunds"
    assert partial_runs(catalog) == [] and resync_queued(catalog, "gh") == []


def test_a_push_queued_while_a_full_sync_runs_is_resynced_after_it(github: FakeGitHub, catalog: Catalog) -> None:
    results: list[WebhookResult] = []

    def push_after_the_last_repository_was_read(done: int, total: int) -> None:
        if done == total:  # the full sync holds the lease and has read payments already
            github.set_file("payments", "catalog-info.yaml", component("payments-api", description="Pushed meanwhile"))
            body = push(github, "payments")
            results.append(deliver(catalog, body, webhook_signature(SECRET, body), "push"))

    (report,) = catalog.sync(["gh"], progress=lambda name: push_after_the_last_repository_was_read)

    assert report.ok and [r.status for r in results] == [202]
    assert entity(catalog, "component:default/payments-api").description == "Pushed meanwhile"
    assert partial_runs(catalog) == ["partial: acme/payments"]


def test_push_rereads_codeowners_of_an_inferred_component(github: FakeGitHub, catalog: Catalog) -> None:
    github.set_file("ledger", ".github/CODEOWNERS", "* @acme/finance\n")
    report = resynced(catalog, github, push(github, "ledger"))
    assert (report.status, report.updated) == ("ok", 1)
    assert entity(catalog, "component:default/ledger").owner_ref == "group:default/finance"


def test_a_pushed_descriptor_takes_over_an_inferred_component_but_not_the_reverse(github: FakeGitHub, catalog: Catalog) -> None:
    github.set_file(
        "search", "catalog-info.yaml", component("search-api", owner="team-search") + "---\n" + component("ledger", owner="team-books")
    )
    assert resynced(catalog, github, push(github, "search")).ok
    ledger = rows(catalog, "gh")["component:default/ledger"]
    assert (ledger.owner_ref, ledger.location, ledger.precedence) == (
        "group:default/team-books",
        "github:acme/search/catalog-info.yaml:10",
        100,
    )

    report = resynced(catalog, github, push(github, "ledger"))  # the ledger repository still has no descriptor: its guess must not win back
    assert report.ok
    assert rows(catalog, "gh")["component:default/ledger"].location == "github:acme/search/catalog-info.yaml:10"
    with catalog.session() as session:
        run = session.get(SyncRun, report.run_id)
    assert run is not None and any("already defined at github:acme/search/catalog-info.yaml:10" in e for e in run.errors)


def test_a_push_whose_repository_cannot_be_read_fails_keeps_everything_and_stays_queued(github: FakeGitHub, catalog: Catalog) -> None:
    """The resync after the answer fails (GitHub's delivery log shows the 202): the run records why, and the push waits for the next try."""
    github.set_file("payments", "catalog-info.yaml", component("payments-api", description="changed"))
    github.fail("/contents/", status=401, times=None)
    before = state(catalog)

    report = resynced(catalog, github, push(github, "payments"))

    assert report.status == "failed" and report.error is not None and "HTTP 401" in report.error
    assert state(catalog) == before
    with catalog.session() as session:
        run = session.get(SyncRun, report.run_id)
        assert run is not None and run.status == "failed" and "HTTP 401" in (run.message or "")
    github.clear_faults()
    assert [(r.status, r.scope) for r in resync_queued(catalog, "gh")] == [("ok", "acme/payments")]
    assert entity(catalog, "component:default/payments-api").description == "changed"


def test_a_push_whose_resync_is_refused_is_not_tried_again(github: FakeGitHub, catalog: Catalog) -> None:
    """Emptying a repository's descriptor would retire all its entities: refused, as a full sync would be, and
    forgotten (the sweep would only be refused again every 30 s); `wayfinder sync --allow-large-delete` decides."""
    github.set_file("payments", "catalog-info.yaml", "")
    before = state(catalog)

    report = resynced(catalog, github, push(github, "payments"))

    assert report.status == "refused" and report.error is not None and "would retire all 2 entities" in report.error
    assert state(catalog) == before
    assert resync_every_queued(catalog) == []


@pytest.mark.parametrize(
    ("event", "ref", "status", "message"),
    [
        ("ping", "refs/heads/main", 200, "pong"),
        ("push", "refs/heads/feature/x", 202, "ignored: refs/heads/feature/x is not the default branch main"),
        ("issues", "refs/heads/main", 202, "ignored: only push events resync (got issues)"),
    ],
)
def test_other_deliveries_change_nothing(github: FakeGitHub, catalog: Catalog, event: str, ref: str, status: int, message: str) -> None:
    github.set_file("payments", "catalog-info.yaml", component("payments-api", description="changed"))
    body = push(github, "payments", ref=ref)
    before, run_count = state(catalog), runs(catalog)
    result = deliver(catalog, body, webhook_signature(SECRET, body), event)
    assert (result.status, result.message) == (status, message)
    assert (state(catalog), runs(catalog)) == (before, run_count)


@pytest.fixture
def server(catalog: Catalog) -> Iterator[httpx.Client]:
    """`wayfinder serve`'s HTTP app (without Slack) on a free port."""
    running = ServerThread(create_http_app(Services(catalog=catalog), slack=None)).start()
    with httpx.Client(base_url=running.url, timeout=10, verify=tls_context()) as client:
        yield client
    running.stop()


def test_http_route_passes_raw_body_and_headers(github: FakeGitHub, catalog: Catalog, server: httpx.Client) -> None:
    github.set_file(
        "payments", "catalog-info.yaml", component("payments-api", description="Via HTTP") + "---\n" + component("payments-worker")
    )
    body = push(github, "payments")

    refused = server.post("/webhooks/github", content=body, headers={"X-GitHub-Event": "push", "X-Hub-Signature-256": "sha256=00"})
    assert refused.status_code == 401
    accepted = server.post(
        "/webhooks/github",
        content=body,
        headers={
            "X-GitHub-Event": "push", "X-Hub-Signature-256": webhook_signature(SECRET, body),
            "Content-Type": "application/json", "X-GitHub-Delivery": str(uuid.uuid4()),
        },  # fmt: skip
    )
    assert accepted.status_code == 202
    assert accepted.json()["message"] == QUEUED.format(repo="payments")
    deadline = time.monotonic() + 10
    while partial_runs(catalog) != ["partial: acme/payments"]:  # resynced after the answer; its run is recorded last
        assert time.monotonic() < deadline, "the push answered was not resynced"
        time.sleep(0.01)
    assert entity(catalog, "component:default/payments-api").description == "Via HTTP"


def test_http_route_resyncs_the_queued_pushes_after_answering(github: FakeGitHub, catalog: Catalog) -> None:
    """Run in-process (`ASGITransport` returns once the background work is done too), so nothing waits on a clock."""
    app = create_http_app(Services(catalog=catalog), slack=None)

    async def post(body: bytes) -> httpx.Response:
        headers = {"X-GitHub-Event": "push", "X-Hub-Signature-256": webhook_signature(SECRET, body), "X-GitHub-Delivery": str(uuid.uuid4())}
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://wayfinder") as client:
            return await client.post("/webhooks/github", content=body, headers=headers)

    github.set_file("payments", "catalog-info.yaml", component("payments-api", description="Via the queue"))
    with busy(catalog):
        assert asyncio.run(post(push(github, "payments"))).status_code == 202  # its own look after answering finds the lease held
    assert entity(catalog, "component:default/payments-api").description is None

    assert asyncio.run(post(push(github, "ledger"))).status_code == 202  # its resync after answering takes what waited too

    assert entity(catalog, "component:default/payments-api").description == "Via the queue"
    assert partial_runs(catalog) == ["partial: acme/payments", "partial: acme/ledger"]


def test_replays_of_one_delivery_resync_once(github: FakeGitHub, catalog: Catalog) -> None:
    """20 replays of one `X-GitHub-Delivery` used to cause 20 resyncs and 20 API requests."""
    github.set_file("payments", "catalog-info.yaml", component("payments-api", description="once"))
    body, run_count = push(github, "payments"), runs(catalog)

    first = handle_github_push(catalog, body, webhook_signature(SECRET, body), "push", delivery="d-1")
    replays = [handle_github_push(catalog, body, webhook_signature(SECRET, body), "push", delivery="d-1") for _ in range(19)]
    # the header is not signed: a replay under a new delivery id is still the same signed body
    renamed = handle_github_push(catalog, body, webhook_signature(SECRET, body), "push", delivery="d-2")
    [report] = resync_queued(catalog, "gh")

    assert first.message == QUEUED.format(repo="payments") and report.ok
    assert all(r.status == 202 and "already handled" in r.message for r in [*replays, renamed])
    assert resync_queued(catalog, "gh") == [] and runs(catalog) == run_count + 1
    assert catalog.metrics.registry.get_sample_value("wayfinder_duplicate_deliveries_dropped_total", {"origin": "github"}) == 20


def test_a_push_answered_by_a_replica_that_died_before_resyncing_it_is_resynced_by_the_sweep(github: FakeGitHub, catalog: Catalog) -> None:
    """The answer went out, the replica was killed before its resync: GitHub will not send the push again.

    Another replica's `QueuedPushSweep` (its timer here a few milliseconds) finds the push waiting and
    resyncs it; GitHub's "Redeliver" meanwhile changes nothing, since the push is kept already.
    """
    github.set_file("payments", "catalog-info.yaml", component("payments-api", description="after the crash"))
    body = push(github, "payments")
    assert handle_github_push(catalog, body, webhook_signature(SECRET, body), "push", delivery="d-1").status == 202  # no resync follows
    redelivered = handle_github_push(catalog, body, webhook_signature(SECRET, body), "push", delivery="d-1")
    assert "already handled" in redelivered.message

    sweep = QueuedPushSweep(Services(catalog=catalog), seconds=0.005).start()
    try:
        deadline = time.monotonic() + 10
        while entity(catalog, "component:default/payments-api").description != "after the crash":
            assert time.monotonic() < deadline, "the sweep did not resync the waiting push"
            time.sleep(0.01)
    finally:
        sweep.stop()
    assert partial_runs(catalog) == ["partial: acme/payments"] and resync_every_queued(catalog) == []


def test_a_served_app_sweeps_the_queue_while_it_runs(catalog: Catalog) -> None:
    """The sweep belongs to the server's lifespan: `wayfinder serve` runs it, and stopping the server stops it."""
    app = create_http_app(Services(catalog=catalog), slack=None)
    seen: list[bool] = []

    async def serve() -> None:
        async with app.router.lifespan_context(app):  # what uvicorn runs around serving
            seen.append(_sweeping())

    assert not _sweeping()
    asyncio.run(serve())
    assert seen == [True] and not _sweeping()


def _sweeping() -> bool:
    return "wayfinder-push-sweep" in {thread.name for thread in threading.enumerate()}


def test_a_delivery_without_an_id_is_refused(github: FakeGitHub, catalog: Catalog) -> None:
    body, run_count = push(github, "payments"), runs(catalog)
    result = handle_github_push(catalog, body, webhook_signature(SECRET, body), "push", delivery=None)
    assert (result.status, runs(catalog)) == (400, run_count)


@pytest.mark.parametrize(
    "full_name", ["acme/../../orgs/acme/repos?x=", "acme/..", "acme/pay ments", "acme", "acme/a/b", "-acme/x", "acme/x%2F"]
)
def test_a_repository_name_that_is_not_owner_slash_name_is_refused_before_any_request(
    github: FakeGitHub, catalog: Catalog, full_name: str
) -> None:
    payload = json.loads(push(github, "payments"))
    payload["repository"]["full_name"] = full_name
    body = json.dumps(payload).encode()
    before, run_count, requests = state(catalog), runs(catalog), github.requests

    result = deliver(catalog, body, webhook_signature(SECRET, body), "push")

    assert (result.status, result.message) == (400, "repository.full_name is not owner/name")
    assert (state(catalog), runs(catalog), github.requests) == (before, run_count, requests)


def test_a_deleted_default_branch_is_ignored_as_a_deletion(github: FakeGitHub, catalog: Catalog) -> None:
    """It used to answer "refs/heads/main is not the default branch main"."""
    body, run_count = push(github, "payments", deleted=True, after="0" * 40), runs(catalog)
    result = deliver(catalog, body, webhook_signature(SECRET, body), "push")
    assert (result.status, result.message) == (202, "ignored: the push deleted refs/heads/main, and a deletion resyncs nothing")
    assert runs(catalog) == run_count


_REPOSITORY = {"name": "payments", "full_name": "acme/payments", "default_branch": "main", "html_url": "https://github.com/acme/payments"}


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b'{"ref":"refs/heads/main","repository":' + b"[" * 100_000 + b"]" * 100_000 + b"}", "Invalid JSON: recursion limit exceeded at line 1 column 239"),
        (json.dumps({"ref": ["refs/heads/main"], "repository": _REPOSITORY}).encode(), "ref: Input should be a valid string"),
        (json.dumps({"ref": "refs/heads/main", "repository": None}).encode(), "repository: Input should be an object"),
        (json.dumps({"ref": "refs/heads/main", "repository": {"full_name": "acme/payments"}}).encode(), "repository.name: Field required"),
        (json.dumps({"ref": "refs/heads/main"}).encode(), "repository: Field required"),
        (b"[]", "Input should be an object"),
        (b"{nope", "Invalid JSON: key must be a string at line 1 column 2"),
    ],
    ids=["nested-100000-deep", "ref-a-list", "repository-null", "repository-incomplete", "no-repository", "an-array", "not-json"],
)
def test_a_signed_body_that_is_not_a_push_payload_is_refused_with_400(github: FakeGitHub, catalog: Catalog, body: bytes, reason: str) -> None:
    """A 100,000-deep body used to answer 500 (RecursionError) and a list `ref` was echoed as a Python repr."""
    before, run_count, requests = state(catalog), runs(catalog), github.requests
    result = deliver(catalog, body, webhook_signature(SECRET, body), "push")
    assert (result.status, result.message) == (400, f"the body is not a GitHub push payload: {reason}")
    assert (state(catalog), runs(catalog), github.requests) == (before, run_count, requests)
