"""GitHub webhooks: a push to a repository's default branch resyncs that repository at once.

The body is trusted only when `X-Hub-Signature-256` is the HMAC-SHA256 of the raw bytes under
a configured source's `webhook_secret`; the matching secret also says which source the
delivery is for. Only the named repository is read again (its descriptors, or its CODEOWNERS
for an inferred component), as a snapshot scoped to that repository: its own entities are
added, updated or retired, no other repository's are touched, and the run is recorded like any
sync. Transports (the HTTP route) only pass the raw body and headers in and the result out.

Each delivery resyncs at most once: its `X-GitHub-Delivery` id and the digest of its signed body
(the header is not signed, so a replay could change it) are claimed in the database, like
Slack's event ids, before anything is read. A body that is not a push payload, or whose
`repository.full_name` is not `owner/name`, is refused before any URL is built from it.

A push is answered as soon as it is kept, as GitHub advises: claimed and queued in the database
(`catalog.store.queued_pushes`) in one transaction, then 202. The resync follows the answer
(`resync_queued`: the transport runs it right after answering): resyncing before answering made
each push's ack wait for GitHub and a catalog write, the slowest acks of the replica drill while a
big sync ran. Whoever ends a run of the source resyncs what waits, each repository once, so a
push that finds another run going on (its lease held) lands when that run ends. A replica killed
after answering leaves its push queued: every replica looks for waiting pushes on a timer
(`QueuedPushSweep` in `bot.http.webhooks`), and a successful full sync reads them too. A resync
that fails keeps its push queued, tried again on that timer.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, Field, ValidationError

from catalog.config import GitHubSourceConfig
from catalog.core import Catalog
from catalog.store import queued_pushes
from catalog.store.claims import claim
from catalog.sync.engine import HeldSource, SyncReport, skipped, source_lease
from catalog.sync.sources.base import Source
from catalog.sync.sources.github import GitHubSource, Repository, commit_authors

# GitHub's rules: an owner is letters, digits and single hyphens; a repository adds `.` and `_`.
_FULL_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]{0,38}/[A-Za-z0-9._-]{1,100}")


class PushEvent(BaseModel):
    """The fields of GitHub's push event that a resync reads; the rest of the body is ignored.

    Parsed by pydantic's JSON parser, which bounds nesting (a signed body 100,000 levels deep is
    refused, not a `RecursionError`) and checks each field's type (a `ref` that is a list is
    refused, not echoed as a Python repr).
    """

    ref: str
    deleted: bool = False
    repository: Repository
    commits: list[Any] = Field(default_factory=list)


class WebhookResult(BaseModel):
    """What became of a delivery (its resync comes after: `resync_queued`); `status` is the HTTP status for the transport to answer with."""

    status: int
    message: str
    source: str | None = None
    repository: str | None = None


def signature_matches(secret: str, body: bytes, signature: str | None) -> bool:
    """Constant-time check of `sha256=<hex>` against the HMAC of the raw body."""
    if not signature:
        return False
    expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected.encode(), signature.strip().encode())


def handle_github_push(catalog: Catalog, body: bytes, signature: str | None, event: str, *, delivery: str | None) -> WebhookResult:
    """Verify a delivery and, for a push to a default branch not seen before, queue its repository's resync (`resync_queued` does it)."""
    configs = [c for c in catalog.config.sources if isinstance(c, GitHubSourceConfig) and c.webhook_secret]
    if not configs:
        return WebhookResult(status=401, message="no github source has a webhook_secret, so no delivery can be verified")
    signed = [c for c in configs if c.webhook_secret and signature_matches(c.webhook_secret.get_secret_value(), body, signature)]
    if not signed:
        return WebhookResult(status=401, message="X-Hub-Signature-256 is missing or does not match")
    if event == "ping":
        return WebhookResult(status=200, message="pong")
    if event != "push":
        return WebhookResult(status=202, message=f"ignored: only push events resync (got {event or 'no event'})")
    try:
        push = PushEvent.model_validate_json(body)
    except ValidationError as exc:
        return WebhookResult(status=400, message=f"the body is not a GitHub push payload: {_first_error(exc)}")
    repo = push.repository
    if not _FULL_NAME.fullmatch(repo.full_name) or repo.full_name.rpartition("/")[2] in (".", ".."):
        return WebhookResult(status=400, message="repository.full_name is not owner/name")
    org = repo.full_name.split("/", 1)[0].lower()
    config = next((c for c in signed if c.org.lower() == org), None)
    if config is None:
        return WebhookResult(status=202, message=f"ignored: no github source reads the {org} organisation", repository=repo.full_name)
    reply = WebhookResult(status=202, message="", source=config.name, repository=repo.full_name)
    if push.deleted:
        return reply.model_copy(update={"message": f"ignored: the push deleted {push.ref}, and a deletion resyncs nothing"})
    if push.ref != f"refs/heads/{repo.default_branch}":
        return reply.model_copy(update={"message": f"ignored: {push.ref} is not the default branch {repo.default_branch}"})
    if not GitHubSource(config, catalog.factory).wanted(repo):
        return reply.model_copy(update={"message": "ignored: the source skips forks or archived repositories like this one"})
    if not delivery:
        return reply.model_copy(update={"status": 400, "message": "X-GitHub-Delivery is missing, so the delivery cannot be deduplicated"})
    keys = [f"github:{delivery}", "github-body:" + hashlib.sha256(body).hexdigest()]
    with catalog.session() as session:  # claimed and queued together: a crash between the two would lose the push
        first = all([claim(session, key, now=datetime.now(UTC)) for key in keys])
        if first:
            queued_pushes.queue(session, config.name, repo.model_dump(mode="json"), commit_authors(push.commits))
    if not first:
        catalog.metrics.duplicates.labels("github").inc()
        return reply.model_copy(update={"message": f"ignored: delivery {delivery[:64]} (or its body) was already handled"})
    return reply.model_copy(update={"message": f"queued: {repo.full_name} is resynced next; `wayfinder sync status` shows the run"})


def resync_queued(catalog: Catalog, source: str) -> list[SyncReport]:
    """Resync each repository with pushes queued for `source`, once however many it got.

    Called after every push answered, after every run of the source ends (its lease released) and
    on the sweep's timer: one that finds the lease held leaves the work to its holder, which looks
    again once it has released it. A repository whose resync fails stays queued: tried once per
    call, again on the next (a successful full sync clears it). One refused (it would retire too
    much) is forgotten, as a refused full sync is: `wayfinder sync --allow-large-delete` decides.
    """
    config = next((c for c in catalog.config.sources if c.name == source and isinstance(c, GitHubSourceConfig)), None)
    reports: list[SyncReport] = []
    failed: set[str] = set()
    while config is not None and queued_pushes.oldest(catalog.factory, source, skip=failed) is not None:
        with source_lease(catalog.factory, source) as held:
            if held is None:
                break
            reports += _resync_each(held, GitHubSource(config, catalog.factory), failed)
    return reports


def resync_every_queued(catalog: Catalog) -> list[SyncReport]:
    """`resync_queued` for every GitHub source: what a replica killed after answering a push left queued."""
    return [report for c in catalog.config.sources if isinstance(c, GitHubSourceConfig) for report in resync_queued(catalog, c.name)]


def _resync_each(held: HeldSource, github: GitHubSource, failed: set[str]) -> list[SyncReport]:
    """Under the source's lease, each queued repository once: its pushes are read and forgotten by the lease's holder, so no other run repeats them."""
    reports: list[SyncReport] = []
    while (queued := queued_pushes.oldest(held.factory, github.name, skip=failed)) is not None:
        repo = Repository.model_validate(queued.repository)
        report = held.run(github.repository(repo, queued.authors), max_delete_fraction=github.config.max_delete_fraction)
        if report.status == "failed":  # GitHub unreachable, a 5xx, a bad token: the next try may succeed
            failed.add(queued.full_name)
        else:  # done, or refused (it would retire too much): trying again would be refused again
            queued_pushes.forget(held.factory, queued.ids)
        reports.append(report)
    return reports


def sync_organisation(catalog: Catalog, source: Source, config: GitHubSourceConfig, *, allow_large_delete: bool) -> SyncReport:
    """A full sync of a GitHub source, settling the pushes queued while the source was busy.

    The run reads every push queued before it started, so on success those are forgotten (what a
    crash left queued waits no longer than the next scheduled sync); those queued while it ran
    are resynced after it.
    """
    with source_lease(catalog.factory, config.name) as held:
        if held is None:
            return skipped(catalog.factory, config.name)
        covered = queued_pushes.last_id(catalog.factory, config.name)
        report = held.run(source, allow_large_delete=allow_large_delete, max_delete_fraction=config.max_delete_fraction)
        if report.ok:
            queued_pushes.forget_up_to(catalog.factory, config.name, covered)
    resync_queued(catalog, config.name)
    return report


def _first_error(exc: ValidationError) -> str:
    """Where the body first differs from a push payload and how, in pydantic's words (never the input itself)."""
    error = exc.errors(include_url=False, include_input=False)[0]
    where = ".".join(str(part) for part in error["loc"])
    return f"{where}: {error['msg']}" if where else error["msg"]
