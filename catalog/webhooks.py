"""GitHub webhooks: a push to a repository's default branch resyncs that repository at once.

The body is trusted only when `X-Hub-Signature-256` is the HMAC-SHA256 of the raw bytes under
a configured source's `webhook_secret`; the matching secret also says which source the
delivery is for. Only the named repository is read again (its descriptors, or its CODEOWNERS
for an inferred component), as a snapshot scoped to that repository: its own entities are
added, updated or retired, no other repository's are touched, and the run is recorded like any
sync. Transports (the HTTP route) only pass the raw body and headers in and the result out.
"""

from __future__ import annotations

import hashlib
import hmac
import json

from pydantic import BaseModel, ValidationError

from catalog.config import GitHubSourceConfig
from catalog.core import Catalog
from catalog.sources.github import GitHubSource, Repository
from catalog.sync import sync_source

# HTTP statuses by sync outcome: GitHub's delivery log shows a failed resync as a failure, and
# one that found a sync of its source already running (it reads the repository too) as a conflict.
_STATUS = {"ok": 200, "failed": 502, "refused": 409, "skipped": 409}
# GitHub abandons a delivery after 10 s; a rate limit that needs longer fails it (the next
# scheduled sync reads the repository anyway) rather than holding the request.
WEBHOOK_MAX_WAIT = 5.0


class WebhookResult(BaseModel):
    """What a delivery did; `status` is the HTTP status for the transport to answer with."""

    status: int
    message: str
    source: str | None = None
    repository: str | None = None
    added: int = 0
    updated: int = 0
    removed: int = 0
    run_id: int | None = None


def signature_matches(secret: str, body: bytes, signature: str | None) -> bool:
    """Constant-time check of `sha256=<hex>` against the HMAC of the raw body."""
    if not signature:
        return False
    expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected.encode(), signature.strip().encode())


def handle_github_push(catalog: Catalog, body: bytes, signature: str | None, event: str) -> WebhookResult:
    """Verify a delivery and, for a push to a default branch, resync that repository."""
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
        payload = json.loads(body)
        repo = Repository.model_validate(payload["repository"])
        ref = str(payload.get("ref", ""))
    except (ValueError, KeyError, TypeError, ValidationError):
        return WebhookResult(status=400, message="the push payload has no usable repository")
    org = repo.full_name.split("/", 1)[0].lower()
    config = next((c for c in signed if c.org.lower() == org), None)
    if config is None:
        return WebhookResult(status=202, message=f"ignored: no github source reads the {org} organisation", repository=repo.full_name)
    ignored = WebhookResult(status=202, message="", source=config.name, repository=repo.full_name)
    if ref != f"refs/heads/{repo.default_branch}" or payload.get("deleted"):
        return ignored.model_copy(update={"message": f"ignored: {ref} is not the default branch {repo.default_branch}"})
    source = GitHubSource(config, catalog.factory, max_wait=WEBHOOK_MAX_WAIT)
    if not source.wanted(repo):
        return ignored.model_copy(update={"message": "ignored: the source skips forks or archived repositories like this one"})
    report = sync_source(catalog.factory, source.repository(repo), max_delete_fraction=config.max_delete_fraction)
    message = report.error or f"resynced {repo.full_name}: {report.added} added, {report.updated} updated, {report.removed} removed"
    return WebhookResult(
        status=_STATUS[report.status],
        message=message,
        source=config.name,
        repository=repo.full_name,
        added=report.added,
        updated=report.updated,
        removed=report.removed,
        run_id=report.run_id,
    )
