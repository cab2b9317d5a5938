"""Vendor APIs behind pasted alert links, when the URL alone does not name the service.

A PagerDuty incident link carries only the incident id, and a service link a service id the
catalog may not know. When a PagerDuty source is configured (its token and `api_url`), the
incident is looked up for its service, and the service for its name, which is then resolved like
a question. Every call has a short timeout (an unfurl must not hang on a vendor) and answers,
found or not, are cached for a while, so a link pasted in many channels costs one request.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from catalog.config import Config, PagerDutySourceConfig

if TYPE_CHECKING:  # httpx is imported on the first lookup: `wayfinder ask` never needs it
    import httpx

log = logging.getLogger(__name__)

TIMEOUT_SECONDS = 3.0  # per request, whatever the source's own (sync) timeout
FOUND_TTL, MISSING_TTL = 600.0, 60.0  # seconds an answer, or a miss or failure, is kept
MAX_ENTRIES = 2000


@dataclass(frozen=True)
class VendorService:
    id: str
    name: str | None


class PagerDutyLookups:
    """`GET /incidents/{id}` and `GET /services/{id}` on PagerDuty's REST API v2, cached."""

    def __init__(self, source: PagerDutySourceConfig, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._url = source.api_url.rstrip("/")
        self._token = source.token
        self._timeout = min(TIMEOUT_SECONDS, source.timeout_seconds)
        self._clock = clock
        self._cache: dict[str, tuple[float, Any]] = {}
        self._lock = threading.Lock()
        self._client: httpx.Client | None = None

    def incident_service(self, incident_id: str) -> VendorService | None:
        """The service an incident belongs to, with its name when PagerDuty gives it."""
        body = self._get(f"/incidents/{incident_id}")
        service = (body or {}).get("incident", {}).get("service") or {}
        return VendorService(str(service["id"]), service.get("summary")) if service.get("id") else None

    def service_name(self, service_id: str) -> str | None:
        service = (self._get(f"/services/{service_id}") or {}).get("service") or {}
        name = service.get("name") or service.get("summary")
        return str(name) if name else None

    def _get(self, path: str) -> dict[str, Any] | None:
        now = self._clock()
        with self._lock:
            cached = self._cache.get(path)
            if cached is not None and cached[0] > now:
                return cached[1]
        body = self._fetch(path)
        with self._lock:
            if len(self._cache) >= MAX_ENTRIES:
                self._cache.clear()
            self._cache[path] = (now + (FOUND_TTL if body is not None else MISSING_TTL), body)
        return body

    def _fetch(self, path: str) -> dict[str, Any] | None:
        import httpx

        try:
            response = self._http().get(self._url + path)
        except httpx.HTTPError as exc:
            log.warning("PagerDuty lookup of %s failed: %s", path.split("/")[1], type(exc).__name__)
            return None
        if response.status_code != 200:
            if response.status_code != 404:
                log.warning("PagerDuty lookup of %s answered HTTP %d", path.split("/")[1], response.status_code)
            return None
        try:
            body = response.json()
        except ValueError:
            return None
        return body if isinstance(body, dict) else None

    def _http(self) -> httpx.Client:
        import httpx

        with self._lock:
            if self._client is None:
                self._client = httpx.Client(
                    timeout=self._timeout,
                    headers={
                        "Authorization": f"Token token={self._token.get_secret_value()}",
                        "Accept": "application/vnd.pagerduty+json;version=2",
                    },
                )
            return self._client


_SHARED: dict[tuple[str, str], PagerDutyLookups] = {}  # one cache per PagerDuty account and process
_SHARED_LOCK = threading.Lock()


def pagerduty_lookups(config: Config) -> PagerDutyLookups | None:
    """Lookups with the first configured PagerDuty source's token, or None when there is none."""
    source = next((s for s in config.sources if isinstance(s, PagerDutySourceConfig)), None)
    if source is None:
        return None
    key = (source.api_url, source.token.get_secret_value())
    with _SHARED_LOCK:
        if key not in _SHARED:
            _SHARED[key] = PagerDutyLookups(source)
        return _SHARED[key]
