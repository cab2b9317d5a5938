"""Shared pieces of the GitHub source and webhook tests: config, descriptors, one sync, what is stored.

Why shared: both test modules drive the same source against the same fake; one copy of "how a
test runs a sync" keeps them from drifting apart. Retries never sleep: `sync` records the waits.
"""

from __future__ import annotations

from typing import Any

from catalog.config import GitHubSourceConfig
from catalog.core import Catalog
from catalog.store.merge import CatalogEntity
from catalog.store.reads import get_entity
from catalog.sync.engine import SyncReport, sync_source
from catalog.sync.sources.github import GitHubSource
from tests.helpers import rows

TOKEN = "ghs_wayfinder_test"
OLD = "2024-01-02T03:04:05Z"  # pushed long before any sync: such repositories are not read again


def component(name: str, *, owner: str = "team-payments", description: str | None = None) -> str:
    described = f"  description: {description}\n" if description else ""
    return (
        f"apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: {name}\n{described}"
        f"spec:\n  type: service\n  lifecycle: production\n  owner: {owner}\n"
    )


def github_yaml(url: str, **settings: object) -> str:
    lines = [
        "  - name: gh",
        "    type: github",
        "    org: acme",
        "    token: ${GITHUB_TOKEN}",
        f"    api_url: {url}",
        "    timeout_seconds: 0.5",
        "    max_retries: 2",
        *(f"    {key}: {value}" for key, value in settings.items()),
    ]
    return "\n".join(lines) + "\n"


def sync(catalog: Catalog, *, waits: list[float] | None = None, **kwargs: Any) -> SyncReport:
    """One run of the `gh` source; waits are recorded instead of slept."""
    cfg = catalog.config.source("gh")
    assert isinstance(cfg, GitHubSourceConfig)
    source = GitHubSource(cfg, catalog.factory, sleep=(waits if waits is not None else []).append, **kwargs)
    return sync_source(catalog.factory, source)


def entity(catalog: Catalog, ref: str) -> CatalogEntity:
    with catalog.session() as session:
        found = get_entity(session, ref)
    assert found is not None, ref
    return found


def state(catalog: Catalog) -> dict[str, tuple[str, bool]]:
    """Every row of the source: content hash and whether it is active."""
    return {ref: (row.content_hash, row.retired_at is None) for ref, row in rows(catalog, "gh").items()}
