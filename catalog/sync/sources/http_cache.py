"""Conditional GETs for source APIs, with ETags and bodies kept in the `http_cache` table.

A 304 answer costs no rate limit at GitHub and carries no body, so the body it stands for must
be stored with its ETag; 404s are stored too (body None), so an absent file is known to be
absent without asking again. Entries are plain facts about URLs, true whatever the sync that
fetched them did afterwards, so they are saved even when a run fails.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import httpx
from sqlalchemy import select
from sqlmodel import col

from catalog.store.engine import SessionFactory, session_scope, upsert_insert
from catalog.store.models import HttpCacheEntry
from catalog.sync.sources.http import ApiClient, HttpStatusError

_UPDATED = ("etag", "next_url", "body", "fetched_at")


@dataclass(frozen=True)
class Cached:
    """What a URL last answered: `body` None means 404."""

    etag: str | None
    body: str | None
    next_url: str | None
    fetched_at: datetime


class HttpCache:
    """One source's entries, loaded once per run and written back with `save`."""

    def __init__(self, factory: SessionFactory, source: str) -> None:
        self.factory = factory
        self.source = source
        with session_scope(factory) as session:
            rows = session.scalars(select(HttpCacheEntry).where(col(HttpCacheEntry.source) == source))
            self._entries = {row.url: Cached(row.etag, row.body, row.next_url, row.fetched_at) for row in rows}
        self._changed: set[str] = set()

    def get(self, url: str) -> Cached | None:
        return self._entries.get(url)

    def put(self, url: str, entry: Cached) -> None:
        self._entries[url] = entry
        self._changed.add(url)

    def save(self) -> None:
        """Upsert what changed, atomically per row, so replicas and webhooks may write concurrently."""
        if not self._changed:
            return
        entries = [(url, self._entries[url]) for url in sorted(self._changed)]
        rows = [
            {"source": self.source, "url": url, "etag": e.etag, "next_url": e.next_url, "body": e.body, "fetched_at": e.fetched_at}
            for url, e in entries
        ]
        with session_scope(self.factory) as session:
            stmt = upsert_insert(session)(HttpCacheEntry)
            stmt = stmt.on_conflict_do_update(index_elements=["source", "url"], set_={c: stmt.excluded[c] for c in _UPDATED})
            session.execute(stmt, rows)
        self._changed.clear()


def conditional_get(
    api: ApiClient,
    cache: HttpCache,
    url: str,
    *,
    headers: dict[str, str] | None = None,
    keep: Callable[[httpx.Response], str] = lambda response: response.text,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> Cached:
    """GET `url` with `If-None-Match`; 200, 304 and 404 come back as (and are stored as) an entry.

    `keep` turns a 200 into the stored body and may raise `SourceError` for a body that cannot be
    used, which is then never cached. Any other status raises `HttpStatusError`.
    """
    cached = cache.get(url)
    sent = dict(headers or {})
    if cached is not None and cached.etag:
        sent["If-None-Match"] = cached.etag
    response = api.get(url, headers=sent)
    fetched_at = _server_time(response) or clock()
    if response.status_code == 304 and cached is not None:
        entry = replace(cached, fetched_at=fetched_at)
    elif response.status_code == 200:
        entry = Cached(response.headers.get("etag"), keep(response), response.links.get("next", {}).get("url"), fetched_at)
    elif response.status_code == 404:
        entry = Cached(None, None, None, fetched_at)
    else:
        raise HttpStatusError(api.name, url, response)
    cache.put(url, entry)
    return entry


def _server_time(response: httpx.Response) -> datetime | None:
    """The response's `Date`: comparing it with the server's own timestamps needs no clock sync."""
    value = response.headers.get("date")
    try:
        return parsedate_to_datetime(value).astimezone(UTC) if value else None
    except (TypeError, ValueError):
        return None
