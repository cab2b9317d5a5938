"""PagerDuty as a source: who is on call for the services the catalog already knows.

PagerDuty knows who is on call, not what a service is or who owns it, so this source never
creates entities. For each PagerDuty service linked to a catalog entity it asserts the same
ref at low precedence (`catalog.store.precedence.PAGERDUTY`) carrying only PagerDuty facts: the
annotation `pagerduty.com/service-id`, a link to the service, and `spec.pagerduty`
(`catalog.answers.oncall.PagerDutyFacts`: the service, its escalation policy and who is on call at
each level, with each shift's window). The merge adds these to what descriptors say and never
overrides them. Services that match no entity are reported in one warning and skipped, so a
PagerDuty-only name can never make a catalog name ambiguous.

Linking, against the other sources' active entities (this source's own rows would feed back):
1. the annotation `pagerduty.com/service-id` on any entity names the service explicitly;
2. else a Component or Resource whose name equals the service's name, ignoring case and
   separators (`Payments Service` = `payments-service`), when exactly one does and it names
   no service of its own.

Reads (REST v2, `Authorization: Token token=…`): `/services`, `/teams`, `/escalation_policies`,
`/schedules` and `/oncalls?include[]=users&earliest=true` (one entry per policy, level and
user, with the user's email), each with classic `limit`/`offset` pagination until `more` is
false. Teams, policies and schedules give the names the references only summarise. Any failure
(a network error, timeout, 429 or 5xx that outlasts the retries, a 401, a page missing
mid-listing, JSON that is malformed or not PagerDuty's shape) raises `SourceError` before
anything is written, so the facts of the last good sync stay, visibly stale. The one exception
is a 402 on `/teams` (an account without the Teams feature): teams only give names, so that is a
warning. A 429 waits `Retry-After`, else PagerDuty's `ratelimit-reset`.
"""

from __future__ import annotations

import builtins
import re
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TypeVar

import httpx
from pydantic import BaseModel, TypeAdapter, ValidationError
from sqlalchemy import select
from sqlmodel import Session, col

from catalog.answers.oncall import SERVICE_ID_ANNOTATION, SPEC_KEY, OnCallShift, OnCallUser, PagerDutyFacts, PagerDutyRef, PagerDutyService
from catalog.config import PagerDutySourceConfig
from catalog.errors import SourceError
from catalog.store.engine import SessionFactory, session_scope
from catalog.store.models import Entity
from catalog.store.precedence import PAGERDUTY
from catalog.sync.sources.base import Snapshot
from catalog.sync.sources.descriptor import EntityDoc, Link, Problem
from catalog.sync.sources.http import ApiClient, HttpStatusError, default_retry_delay

ACCEPT = "application/vnd.pagerduty+json;version=2"
PAGE_SIZE = 100  # PagerDuty's largest `limit`
MAX_OFFSET_PLUS_LIMIT = 10_000  # PagerDuty answers 400 beyond this
NAME_LINKABLE_KINDS = ("component", "resource")
UNLINKED_SHOWN = 20  # an account may have thousands of services the catalog does not know


# -- PagerDuty's payloads: only the fields used; anything else PagerDuty sends is ignored ------


class _Ref(BaseModel):
    id: str
    summary: str | None = None
    html_url: str | None = None


class _Named(BaseModel):
    """A team, escalation policy or schedule as its own listing returns it."""

    id: str
    name: str
    html_url: str | None = None


class _Service(_Named):
    status: str | None = None
    escalation_policy: _Ref | None = None
    teams: list[_Ref] = []


class _User(BaseModel):
    """A user as `include[]=users` expands it (name, email), or a bare reference (summary)."""

    id: str
    name: str | None = None
    summary: str | None = None
    email: str | None = None


class _OnCall(BaseModel):
    user: _User
    schedule: _Ref | None = None
    escalation_policy: _Ref
    escalation_level: int
    start: datetime | None = None
    end: datetime | None = None


M = TypeVar("M", bound=BaseModel)


@dataclass
class _Account:
    services: list[_Service]
    teams: dict[str, _Named]
    policies: dict[str, _Named]
    schedules: dict[str, _Named]
    oncalls: dict[str, list[_OnCall]]  # by escalation policy id
    problems: list[Problem]  # what could be read only in part


@dataclass(frozen=True)
class _Target:
    """A catalog entity a service can be linked to."""

    ref: str
    kind: str
    namespace: str
    name: str


@dataclass
class _Targets:
    by_service_id: dict[str, list[_Target]] = field(default_factory=lambda: defaultdict(list))
    by_name: dict[str, list[_Target]] = field(default_factory=lambda: defaultdict(list))


def _retry_delay(response: httpx.Response, attempt: int) -> float | None:
    """PagerDuty's 429 says when its rate-limit window resets in `ratelimit-reset`, often without `Retry-After`."""
    if response.status_code == 429 and "retry-after" not in response.headers:
        try:
            return float(response.headers["ratelimit-reset"])
        except (KeyError, ValueError):
            pass
    return default_retry_delay(response, attempt)


class PagerDutySource:
    """Reads a PagerDuty account and links its services to catalog entities."""

    type = "pagerduty"

    def __init__(
        self,
        name: str,
        *,
        api_url: str,
        token: str,
        factory: SessionFactory,
        timeout: float = 10.0,
        max_retries: int = 3,
        page_size: int = PAGE_SIZE,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.name = name
        self.api_url = api_url
        self.token = token
        self.factory = factory
        self.timeout = timeout
        self.max_retries = max_retries
        self.page_size = page_size
        self.sleep = sleep

    @classmethod
    def from_config(
        cls, cfg: PagerDutySourceConfig, factory: SessionFactory, *, sleep: Callable[[float], None] = time.sleep
    ) -> PagerDutySource:
        return cls(
            cfg.name, api_url=cfg.api_url, token=cfg.token.get_secret_value(), factory=factory,
            timeout=cfg.timeout_seconds, max_retries=cfg.max_retries, sleep=sleep,
        )  # fmt: skip

    def fetch(self) -> Snapshot:
        headers = {"Authorization": f"Token token={self.token}", "Accept": ACCEPT}
        client = ApiClient(
            self.name,
            self.api_url,
            headers=headers,
            timeout=self.timeout,
            max_retries=self.max_retries,
            retry_delay=_retry_delay,
            sleep=self.sleep,
        )
        try:
            account = self._read(client)
        finally:
            client.close()
        with session_scope(self.factory) as session:
            targets = _load_targets(session, exclude_source=self.name)
        links, problems = _link(account.services, targets)
        problems = account.problems + problems
        entities = [_assert(target, service, account) for target, service in links]
        return Snapshot(entities=entities, problems=problems, requests=client.requests, enriches=True)

    def _read(self, client: ApiClient) -> _Account:
        services = {s.id: s for s in self._list(client, "services", _Service)}  # a listing that shifts may repeat one
        teams, problems = self._teams(client)
        policies = {p.id: p for p in self._list(client, "escalation_policies", _Named)}
        schedules = {s.id: s for s in self._list(client, "schedules", _Named)}
        oncalls: dict[str, list[_OnCall]] = defaultdict(list)
        for oncall in self._list(client, "oncalls", _OnCall, {"include[]": "users", "earliest": "true"}):
            oncalls[oncall.escalation_policy.id].append(oncall)
        return _Account(list(services.values()), teams, policies, schedules, oncalls, problems)

    def _teams(self, client: ApiClient) -> tuple[dict[str, _Named], list[Problem]]:
        """Teams by id. They only name the teams services reference, so an account without the Teams
        feature (402 on `/teams`) is a warning: services keep their team references' own summaries."""
        try:
            return {t.id: t for t in self._list(client, "teams", _Named)}, []
        except HttpStatusError as exc:
            if exc.status != 402:
                raise
            message = "/teams answered HTTP 402: the account has no Teams feature; team names come from the services' references"
            return {}, [Problem(severity="warning", message=message)]

    # `builtins.type`: in this class body `type` is the source's type name, not the builtin.
    def _list(self, client: ApiClient, key: str, model: builtins.type[M], params: dict[str, str] | None = None) -> list[M]:
        """Every item of `/{key}`, page by page until `more` is false; any bad page fails the source."""
        adapter = TypeAdapter(list[model])  # type: ignore[valid-type]  # a list of the model given at run time
        items: list[M] = []
        offset = 0
        while True:
            if offset + self.page_size > MAX_OFFSET_PLUS_LIMIT:
                raise SourceError(
                    f"{self.name}: /{key} lists more than PagerDuty's offset pagination reaches ({MAX_OFFSET_PLUS_LIMIT}); nothing changed"
                )
            body = client.json(f"/{key}", params={**(params or {}), "limit": str(self.page_size), "offset": str(offset)})
            page = body.get(key) if isinstance(body, dict) else None
            more = body.get("more") if isinstance(body, dict) else None
            if not isinstance(page, list) or not isinstance(more, bool):
                raise SourceError(
                    f"{self.name}: /{key} at offset {offset} is not a PagerDuty listing (no {key!r} list or 'more' flag); nothing changed"
                )
            try:
                items += adapter.validate_python(page)
            except ValidationError as exc:
                first = exc.errors()[0]
                where = ".".join(str(p) for p in first["loc"])
                raise SourceError(f"{self.name}: /{key} at offset {offset}: item {where}: {first['msg']}; nothing changed") from None
            if not more:
                return items
            if not page:
                raise SourceError(f"{self.name}: /{key} at offset {offset} says there is more but sent nothing; nothing changed")
            offset += len(page)


def _normal(name: str) -> str:
    """Names compared ignoring case and separators: `Payments Service` = `payments-service`."""
    return re.sub(r"[\s_.\-]+", "", name.lower())


def _load_targets(session: Session, *, exclude_source: str) -> _Targets:
    """Active entities of the other sources, by the service id they name and by normalised name.

    Rows come in merge order (highest precedence first), so the service id is the one the merged
    entity shows.
    """
    rows: Iterable[tuple[str, str, str, str, dict[str, str] | None]] = session.execute(
        select(col(Entity.ref), col(Entity.kind), col(Entity.namespace), col(Entity.name), col(Entity.annotations))
        .where(col(Entity.source) != exclude_source, col(Entity.retired_at).is_(None))
        .order_by(col(Entity.precedence).desc(), col(Entity.source))
    )
    targets = _Targets()
    seen: set[str] = set()
    named: set[str] = set()
    for ref, kind, namespace, name, entity_annotations in rows:
        target = _Target(ref, kind, namespace, name)
        service_id = (entity_annotations or {}).get(SERVICE_ID_ANNOTATION)
        if service_id and ref not in named:
            named.add(ref)
            targets.by_service_id[service_id].append(target)
        if ref not in seen:
            seen.add(ref)
            if kind in NAME_LINKABLE_KINDS:
                targets.by_name[_normal(name)].append(target)
    for candidates in targets.by_name.values():
        candidates[:] = [t for t in candidates if t.ref not in named]  # an explicit link is never overridden by a name
    return targets


def _link(services: list[_Service], targets: _Targets) -> tuple[list[tuple[_Target, _Service]], list[Problem]]:
    """Pair services with entities (annotation first, then name), reporting everything left over."""
    problems: list[Problem] = []
    listed = {s.id for s in services}
    for service_id, named_by in targets.by_service_id.items():
        if service_id not in listed:
            message = f"{SERVICE_ID_ANNOTATION} {service_id} names no service this PagerDuty account lists"
            problems += [Problem(severity="warning", entity=t.ref, message=message) for t in named_by]
    linked: dict[str, tuple[_Target, _Service]] = {}
    for service in services:
        for target in targets.by_service_id.get(service.id, []):
            linked[target.ref] = (target, service)
    unlinked: list[_Service] = []
    for service in services:
        if service.id in targets.by_service_id:
            continue
        candidates = targets.by_name.get(_normal(service.name), [])
        if not candidates:
            unlinked.append(service)
        elif len(candidates) > 1:
            refs = ", ".join(t.ref for t in candidates)
            problems.append(_hint(f"PagerDuty service {service.name!r} ({service.id}) matches {refs} by name; not linked"))
        elif candidates[0].ref in linked:
            first = linked[candidates[0].ref][1]
            problems.append(
                _hint(
                    f"PagerDuty services {first.name!r} ({first.id}) and {service.name!r} ({service.id}) both match "
                    f"{candidates[0].ref} by name; {first.id} is used"
                )
            )
        else:
            linked[candidates[0].ref] = (candidates[0], service)
    if unlinked:
        shown = ", ".join(f"{s.name} ({s.id})" for s in unlinked[:UNLINKED_SHOWN])
        more = f" and {len(unlinked) - UNLINKED_SHOWN} more" if len(unlinked) > UNLINKED_SHOWN else ""
        problems.append(
            Problem(
                severity="warning", message=f"{len(unlinked)} PagerDuty services match no catalog entity and were skipped: {shown}{more}"
            )
        )
    return list(linked.values()), problems


def _hint(message: str) -> Problem:
    return Problem(severity="warning", message=f"{message}; add the annotation {SERVICE_ID_ANNOTATION} to the right entity")


def _named(ref: _Ref, listing: dict[str, _Named]) -> PagerDutyRef:
    """A reference under the name its own listing gives (a reference's summary may lag behind)."""
    found = listing.get(ref.id)
    return PagerDutyRef(
        id=ref.id, name=found.name if found else ref.summary or ref.id, url=(found.html_url if found else None) or ref.html_url
    )


def _facts(service: _Service, account: _Account) -> PagerDutyFacts:
    policy = service.escalation_policy
    shifts = [
        OnCallShift(
            level=o.escalation_level,
            user=OnCallUser(id=o.user.id, name=o.user.name or o.user.summary or o.user.id, email=o.user.email),
            schedule=_named(o.schedule, account.schedules) if o.schedule else None,
            start=o.start,
            end=o.end,
        )
        for o in (account.oncalls.get(policy.id, []) if policy else [])
    ]
    return PagerDutyFacts(
        service=PagerDutyService(
            id=service.id,
            name=service.name,
            url=service.html_url,
            status=service.status,
            teams=[_named(t, account.teams) for t in service.teams],
        ),
        escalation_policy=_named(policy, account.policies) if policy else None,
        oncall=sorted(shifts, key=lambda s: (s.level, s.user.name.lower(), s.user.id)),  # stable order: unchanged on-call, unchanged hash
    )


def _assert(target: _Target, service: _Service, account: _Account) -> EntityDoc:
    """The entity's own ref, carrying only PagerDuty facts, below every source that defines it."""
    facts = _facts(service, account)
    return EntityDoc(
        ref=target.ref,
        kind=target.kind,
        namespace=target.namespace,
        name=target.name,
        annotations={SERVICE_ID_ANNOTATION: service.id},
        links=[Link(url=service.html_url, title="PagerDuty", type="pagerduty")] if service.html_url else [],
        spec={SPEC_KEY: facts.model_dump(mode="json", exclude_none=True)},
        precedence=PAGERDUTY,
    )
