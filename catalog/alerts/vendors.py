"""Vendor APIs behind pasted alert links, when the URL alone does not name the service (well).

A PagerDuty incident link carries only the incident id, a Grafana link a uid, a Sentry link an
issue id, a Datadog link a monitor id. With the vendor's token configured (a PagerDuty source;
`alerts.lookups` for Grafana, Sentry and Datadog), the object is looked up for what it is about:
PagerDuty's service, Grafana's labels, tags and folder, Sentry's project, Datadog's tags. One
lookup protocol (`Lookups.look_up(kind, id) -> Looked`) over one cached HTTP client: every call
has a short timeout (an unfurl must not hang on a vendor), and answers, found or not, are cached
for a while, so a link pasted in many channels costs one request. A failure says what went wrong
(`Looked.problem`: timed out, token refused, not found), never with the token.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import quote

from pydantic import SecretStr

from catalog.config import AlertLookups, Config, DatadogLookup, PagerDutySourceConfig, SentryLookup, VendorLookup
from catalog.tls import tls_context

if TYPE_CHECKING:  # httpx is imported on the first lookup: `wayfinder ask` never needs it
    import httpx

log = logging.getLogger(__name__)

TIMEOUT_SECONDS = 3.0  # per request, whatever the source's own (sync) timeout
FOUND_TTL, MISSING_TTL = 600.0, 60.0  # seconds an answer, or a miss or failure, is kept
MAX_ENTRIES = 2000


@dataclass(frozen=True)
class Looked:
    """What a vendor says a linked object is about, or why it could not say."""

    service_ids: tuple[str, ...] = ()  # PagerDuty service ids
    labels: Mapping[str, str] = field(default_factory=dict)  # label or `key:value` tag -> value
    names: tuple[str, ...] = ()  # other names, most specific first (a project, a title, a folder)
    problem: str | None = None  # set when the lookup failed: "timed out", "refused the token (HTTP 401)"


@dataclass(frozen=True)
class _Fetched:
    body: dict[str, Any] | None
    problem: str | None = None


class Lookups:
    """One vendor's REST API, read with a token: `GET` a path, cached; subclasses say which path and what it means."""

    vendor: ClassVar[str]
    kinds: ClassVar[Mapping[str, str]]  # link group -> what the card calls it ("dashboard")

    def __init__(self, url: str, timeout: float, token: SecretStr, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._url = url.rstrip("/")
        self._timeout = min(TIMEOUT_SECONDS, timeout)
        self._token = token
        self._clock = clock
        self._cache: dict[str, tuple[float, _Fetched]] = {}
        self._lock = threading.Lock()
        self._client: httpx.Client | None = None

    def look_up(self, kind: str, id: str) -> Looked:
        """What object `id` of `kind` (a link group, say `grafana_dashboard`) is about."""
        fetched = self._get(kind, self._path(kind, quote(id, safe="")))  # a link's pattern may capture anything
        if fetched.body is None:
            return Looked(problem=fetched.problem)
        return self._read(kind, fetched.body)

    def _path(self, kind: str, id: str) -> str:
        raise NotImplementedError

    def _read(self, kind: str, body: dict[str, Any]) -> Looked:
        raise NotImplementedError

    def _headers(self) -> dict[str, str]:
        raise NotImplementedError

    def _get(self, kind: str, path: str) -> _Fetched:
        now = self._clock()
        with self._lock:
            cached = self._cache.get(path)
            if cached is not None and cached[0] > now:
                return cached[1]
        fetched = self._fetch(self.kinds[kind], path)
        with self._lock:
            if len(self._cache) >= MAX_ENTRIES:
                self._cache.clear()
            self._cache[path] = (now + (FOUND_TTL if fetched.body is not None else MISSING_TTL), fetched)
        return fetched

    def _fetch(self, what: str, path: str) -> _Fetched:
        """GET `path`; a failure is logged with the vendor and `what` was looked up, never the URL's ids or the token."""
        import httpx

        try:
            response = self._http().get(self._url + path)
        except httpx.TimeoutException:
            log.warning("%s lookup of %s timed out", self.vendor, what)
            return _Fetched(None, "timed out")
        except httpx.HTTPError as exc:
            log.warning("%s lookup of %s failed: %s", self.vendor, what, type(exc).__name__)
            return _Fetched(None, "could not be reached")
        status = response.status_code
        if status != 200:
            if status != 404:
                log.warning("%s lookup of %s answered HTTP %d", self.vendor, what, status)
            return _Fetched(None, _PROBLEMS.get(status, f"answered HTTP {status}"))
        try:
            body = response.json()
        except ValueError:
            return _Fetched(None, "answered with something other than JSON")
        return _Fetched(body, None) if isinstance(body, dict) else _Fetched(None, "answered with an unexpected shape")

    def _http(self) -> httpx.Client:
        import httpx

        with self._lock:
            if self._client is None:
                self._client = httpx.Client(timeout=self._timeout, headers=self._headers(), verify=tls_context())
            return self._client


_PROBLEMS = {401: "refused the token (HTTP 401)", 403: "refused the token (HTTP 403)", 404: "does not know it (HTTP 404)"}


class PagerDutyLookups(Lookups):
    """`GET /incidents/{id}` (for its service) and `GET /services/{id}` (for its name) on REST API v2."""

    vendor = "PagerDuty"
    kinds = {"incident": "incident", "service_id": "service"}

    def __init__(self, source: PagerDutySourceConfig, *, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__(source.api_url, source.timeout_seconds, source.token, clock=clock)

    def _path(self, kind: str, id: str) -> str:
        return f"/incidents/{id}" if kind == "incident" else f"/services/{id}"

    def _read(self, kind: str, body: dict[str, Any]) -> Looked:
        if kind == "incident":
            service = (body.get("incident") or {}).get("service") or {}
            return Looked(service_ids=(str(service["id"]),) if service.get("id") else (), names=_present(service.get("summary")))
        service = body.get("service") or {}
        return Looked(names=_present(service.get("name") or service.get("summary")))

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Token token={self._token.get_secret_value()}", "Accept": "application/vnd.pagerduty+json;version=2"}


class _ConfiguredLookups(Lookups):
    """A vendor of `alerts.lookups`: its URL, timeout and token from there, sent as a bearer token."""

    def __init__(self, config: VendorLookup, *, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__(config.url, config.timeout_seconds, config.token, clock=clock)

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self._token.get_secret_value()}", "Accept": "application/json"}


class GrafanaLookups(_ConfiguredLookups):
    """`GET /api/dashboards/uid/{uid}` (tags, title, folder) and `GET /api/v1/provisioning/alert-rules/{uid}` (labels, title)."""

    vendor = "Grafana"
    kinds = {"grafana_dashboard": "dashboard", "grafana_rule": "alert rule"}

    def _path(self, kind: str, id: str) -> str:
        return f"/api/dashboards/uid/{id}" if kind == "grafana_dashboard" else f"/api/v1/provisioning/alert-rules/{id}"

    def _read(self, kind: str, body: dict[str, Any]) -> Looked:
        if kind == "grafana_dashboard":
            dashboard, meta = body.get("dashboard") or {}, body.get("meta") or {}
            tags = [str(t) for t in dashboard.get("tags") or []]
            plain = tuple(t for t in tags if ":" not in t and "=" not in t)
            return Looked(labels=_tagged(tags), names=plain + _present(dashboard.get("title"), meta.get("folderTitle")))
        labels = body.get("labels") or {}
        return Looked(labels={str(k): str(v) for k, v in labels.items()}, names=_present(body.get("title")))


class SentryLookups(_ConfiguredLookups):
    """`GET /api/0/organizations/{org}/issues/{id}/`: the issue's project (its slug, then its name)."""

    vendor = "Sentry"
    kinds = {"sentry_issue": "issue"}

    def __init__(self, config: SentryLookup, *, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__(config, clock=clock)
        self._organization = config.organization

    def _path(self, kind: str, id: str) -> str:
        return f"/api/0/organizations/{self._organization}/issues/{id}/"

    def _read(self, kind: str, body: dict[str, Any]) -> Looked:
        project = body.get("project") or {}
        return Looked(names=_present(project.get("slug"), project.get("name")))


class DatadogLookups(_ConfiguredLookups):
    """`GET /api/v1/monitor/{id}`: the monitor's `key:value` tags (`service:checkout`); the token is the API key."""

    vendor = "Datadog"
    kinds = {"datadog_monitor": "monitor"}

    def __init__(self, config: DatadogLookup, *, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__(config, clock=clock)
        self._application_key = config.application_key

    def _path(self, kind: str, id: str) -> str:
        return f"/api/v1/monitor/{id}"

    def _read(self, kind: str, body: dict[str, Any]) -> Looked:
        return Looked(labels=_tagged(str(t) for t in body.get("tags") or []))

    def _headers(self) -> dict[str, str]:
        keys = {"DD-API-KEY": self._token.get_secret_value(), "DD-APPLICATION-KEY": self._application_key.get_secret_value()}
        return keys | {"Accept": "application/json"}


def _tagged(tags: Iterable[str]) -> dict[str, str]:
    """`service:checkout` and `service=checkout` tags as {"service": "checkout"} (the first of each key wins)."""
    labels: dict[str, str] = {}
    for tag in tags:
        key, sep, value = tag.replace("=", ":", 1).partition(":")
        if sep and value:
            labels.setdefault(key.strip(), value.strip())
    return labels


def _present(*values: Any) -> tuple[str, ...]:
    return tuple(str(v) for v in values if v)


_SHARED: dict[tuple[str, ...], Lookups] = {}  # one cache per vendor account and process
_SHARED_LOCK = threading.Lock()


def vendor_lookups(config: Config) -> dict[str, Lookups]:
    """Link group -> the vendor lookups that answer it, for every vendor with a token configured."""
    pagerduty = next((s for s in config.sources if isinstance(s, PagerDutySourceConfig)), None)
    configured = config.alerts.lookups if config.alerts else AlertLookups()
    found: list[tuple[tuple[str, ...], Callable[[], Lookups]]] = []
    if pagerduty is not None:
        found.append((("pagerduty", pagerduty.api_url, pagerduty.token.get_secret_value()), lambda: PagerDutyLookups(pagerduty)))
    if (grafana := configured.grafana) is not None:
        found.append((("grafana", grafana.url, grafana.token.get_secret_value()), lambda: GrafanaLookups(grafana)))
    if (sentry := configured.sentry) is not None:
        found.append((("sentry", sentry.url, sentry.organization, sentry.token.get_secret_value()), lambda: SentryLookups(sentry)))
    if (datadog := configured.datadog) is not None:
        found.append((("datadog", datadog.url, datadog.token.get_secret_value(), datadog.application_key.get_secret_value()), lambda: DatadogLookups(datadog)))
    by_group: dict[str, Lookups] = {}
    with _SHARED_LOCK:
        for key, make in found:
            lookups = _SHARED.get(key) or _SHARED.setdefault(key, make())
            by_group |= dict.fromkeys(lookups.kinds, lookups)
    return by_group
