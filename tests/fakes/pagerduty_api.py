"""A local fake of the PagerDuty REST API v2: services, teams, users, escalation policies,
schedules and on-calls.

Why: the PagerDuty sync source must be tested (and benchmarked) against PagerDuty's real
behaviour: classic ``limit``/``offset``/``more`` pagination with the 10,000 cap, ``total`` only on
request, ``[]`` array filters, ``include[]=users`` on on-calls, ``Token token=`` auth, rate-limit
headers and 429s. Objects are built from templates in ``tests/data/pagerduty``, written in the
shape of PagerDuty's REST responses; the conformance tests in ``tests/test_fake_sources_api.py``
check that they carry exactly the fields of PagerDuty's own OpenAPI examples (when
``WAYFINDER_FIXTURES`` is present). Only ids, names, references and URLs are varied.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from http import HTTPStatus
from pathlib import Path
from typing import Any, TypeVar

from .http_fake import Body, FakeHTTPServer, RecordedRequest, Response, rebase

__all__ = ["FakePagerDuty"]

_TEMPLATES = Path(__file__).resolve().parents[1] / "data" / "pagerduty"

_API = "https://api.pagerduty.com"
_MAX_LIMIT = 100
_MAX_OFFSET_PLUS_LIMIT = 10_000
# PagerDuty error codes, from its REST API "Errors" and "Rate Limits" pages.
_ERRORS: dict[int, tuple[int, str]] = {
    400: (2001, "Invalid Input Provided"),
    401: (2006, "Unauthorized"),
    403: (2010, "Access Denied"),
    404: (2100, "Not Found"),
    406: (2001, "Invalid Input Provided"),
    408: (2016, "The request took too long to process"),
    429: (2020, "Rate Limit Exceeded"),
    500: (2000, "An internal error has occurred. PagerDuty team has been notified."),
}
_PLURAL = {
    "service": "services",
    "team": "teams",
    "user": "users",
    "schedule": "schedules",
    "escalation_policy": "escalation_policies",
}
_ACCEPT_VERSION = re.compile(r"application/vnd\.pagerduty\+json\s*;\s*version=(\w+)")
_SERVICE = re.compile(r"^/services/(?P<id>[^/]+)$")
_INCIDENT = re.compile(r"^/incidents/(?P<id>[^/]+)$")

T = TypeVar("T")


@cache
def _template(name: str) -> dict[str, Any]:
    """One object as PagerDuty returns it (never modified: callers rebase a copy)."""
    item: dict[str, Any] = json.loads((_TEMPLATES / name).read_text(encoding="utf-8"))
    return item


def _aware(value: datetime | None) -> datetime | None:
    return value if value is None or value.tzinfo else value.replace(tzinfo=UTC)


def _timestamp(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat(timespec="seconds").replace("+00:00", "Z")


@dataclass
class _Service:
    id: str
    name: str
    description: str | None
    escalation_policy_id: str
    team_ids: tuple[str, ...]
    status: str


@dataclass
class _Team:
    id: str
    name: str
    description: str | None


@dataclass
class _User:
    id: str
    name: str
    email: str
    team_ids: tuple[str, ...]


@dataclass
class _EscalationPolicy:
    id: str
    name: str
    rule_targets: tuple[tuple[str, ...], ...]
    team_ids: tuple[str, ...]
    escalation_delay_in_minutes: int
    num_loops: int


@dataclass
class _Schedule:
    id: str
    name: str
    time_zone: str
    description: str | None
    user_ids: tuple[str, ...]


@dataclass
class _OnCall:
    user_id: str
    escalation_policy_id: str
    schedule_id: str | None
    level: int
    start: datetime | None
    end: datetime | None


class FakePagerDuty(FakeHTTPServer):
    """PagerDuty REST v2 for one account.

    Serves ``GET /services``, ``/services/{id}``, ``/incidents/{id}``, ``/teams``, ``/users``, ``/escalation_policies``,
    ``/schedules`` and ``/oncalls``, in insertion order. References to ids that were never added
    still render (with the id as summary), so tests can model dangling references.
    ``rate_limit_remaining`` is a plain attribute: set it to 0 to get PagerDuty's 429.
    """

    def __init__(
        self,
        *,
        token: str | None = None,
        subdomain: str = "acme",
        rate_limit: int = 960,
        rate_limit_remaining: int | None = None,
        rate_limit_reset: int = 60,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        super().__init__()
        self.token = token
        self.web_url = f"https://{subdomain}.pagerduty.com"
        self.rate_limit = rate_limit
        self.rate_limit_remaining = (
            rate_limit if rate_limit_remaining is None else rate_limit_remaining
        )
        self.rate_limit_reset = rate_limit_reset
        self.clock = clock  # "now" for /oncalls windows; tests pin it instead of racing the wall clock
        self._services: dict[str, _Service] = {}
        self._teams: dict[str, _Team] = {}
        self._users: dict[str, _User] = {}
        self._policies: dict[str, _EscalationPolicy] = {}
        self._schedules: dict[str, _Schedule] = {}
        self._oncalls: list[_OnCall] = []
        self._incidents: dict[str, tuple[str, str]] = {}  # id -> (service id, title)
        self._by_kind: dict[str, dict[str, Any]] = {
            "service": self._services,
            "team": self._teams,
            "user": self._users,
            "schedule": self._schedules,
            "escalation_policy": self._policies,
        }

    # -- state (each add_* replaces an object with the same id) -----------------------------

    def add_service(
        self,
        id: str,
        name: str,
        *,
        escalation_policy_id: str,
        description: str | None = None,
        team_ids: Sequence[str] = (),
        status: str = "active",
    ) -> None:
        with self._lock:
            self._services[id] = _Service(
                id, name, description, escalation_policy_id, tuple(team_ids), status
            )

    def add_incident(self, id: str, *, service_id: str, title: str = "Something is on fire") -> None:
        """An incident for ``GET /incidents/{id}`` (what a pasted incident link is looked up with)."""
        with self._lock:
            self._incidents[id] = (service_id, title)

    def bulk_add_services(
        self,
        count: int,
        *,
        escalation_policy_id: str,
        team_ids: Sequence[str] = (),
        id_format: str = "PS{i:05d}",
        name_format: str = "service-{i:05d}",
    ) -> list[str]:
        """Add ``count`` services in one go (benchmarks); returns their ids."""
        ids = [id_format.format(i=i) for i in range(count)]
        with self._lock:
            for i, service_id in enumerate(ids):
                self._services[service_id] = _Service(
                    service_id,
                    name_format.format(i=i),
                    None,
                    escalation_policy_id,
                    tuple(team_ids),
                    "active",
                )
        return ids

    def remove_service(self, id: str) -> None:
        with self._lock:
            del self._services[id]

    def add_team(self, id: str, name: str, *, description: str | None = None) -> None:
        with self._lock:
            self._teams[id] = _Team(id, name, description)

    def add_user(self, id: str, name: str, email: str, *, team_ids: Sequence[str] = ()) -> None:
        with self._lock:
            self._users[id] = _User(id, name, email, tuple(team_ids))

    def add_escalation_policy(
        self,
        id: str,
        name: str,
        rule_targets: Sequence[Sequence[str]] = (),
        *,
        team_ids: Sequence[str] = (),
        escalation_delay_in_minutes: int = 30,
        num_loops: int = 0,
    ) -> None:
        """``rule_targets`` holds one sequence of target ids per escalation rule, in level order.

        An id added with :meth:`add_schedule` renders as a ``schedule_reference``, any other id as
        a ``user_reference`` (resolved when served, so the order of the add_* calls is free).
        """
        rules = tuple(tuple(targets) for targets in rule_targets)
        with self._lock:
            self._policies[id] = _EscalationPolicy(
                id, name, rules, tuple(team_ids), escalation_delay_in_minutes, num_loops
            )

    def add_schedule(
        self,
        id: str,
        name: str,
        *,
        time_zone: str = "UTC",
        description: str | None = None,
        user_ids: Sequence[str] = (),
    ) -> None:
        with self._lock:
            self._schedules[id] = _Schedule(id, name, time_zone, description, tuple(user_ids))

    def add_oncall(
        self,
        user_id: str,
        escalation_policy_id: str,
        schedule_id: str | None = None,
        level: int = 1,
        start: datetime | None = None,
        end: datetime | None = None,
    ) -> None:
        """Add an on-call entry; ``start``/``end`` of None mean a permanent (non-schedule) one.

        ``/oncalls`` only returns entries covering the moment of the request, as PagerDuty does
        without ``since``/``until``; naive datetimes are taken as UTC.
        """
        with self._lock:
            self._oncalls.append(
                _OnCall(
                    user_id,
                    escalation_policy_id,
                    schedule_id,
                    level,
                    _aware(start),
                    _aware(end),
                )
            )

    # -- HTTP ------------------------------------------------------------------------------

    def error_body(self, status: int) -> Body:
        code, message = _ERRORS.get(status, (2000, HTTPStatus(status).phrase))
        return {"error": {"message": message, "code": code}}

    def handle(self, request: RecordedRequest) -> Response:
        if self.token is not None:
            auth = request.headers.get("authorization", "")
            if auth not in (f"Token token={self.token}", f"Bearer {self.token}"):
                return Response.of(401, self.error_body(401))
        version = _ACCEPT_VERSION.search(request.headers.get("accept", ""))
        if version is not None and version.group(1) != "2":
            return Response.of(406, self._invalid(f"Unsupported API version {version.group(1)}"))
        if request.method != "GET":
            return Response.of(404, self.error_body(404))
        match request.path.rstrip("/"):
            case "/services":
                return self._page(
                    request,
                    "services",
                    list(self._services.values()),
                    self._service_json,
                )
            case "/teams":
                return self._page(request, "teams", list(self._teams.values()), self._team_json)
            case "/users":
                return self._page(request, "users", list(self._users.values()), self._user_json)
            case "/escalation_policies":
                policies = list(self._policies.values())
                return self._page(request, "escalation_policies", policies, self._policy_renderer())
            case "/schedules":
                return self._page(
                    request,
                    "schedules",
                    list(self._schedules.values()),
                    self._schedule_json,
                )
            case "/oncalls":
                oncalls = self._current_oncalls(request)
                return self._page(request, "oncalls", oncalls, self._oncall_renderer(request))
            case path if (found := _INCIDENT.match(path)) and found["id"] in self._incidents:
                service_id, title = self._incidents[found["id"]]
                incident = {
                    "id": found["id"], "type": "incident", "title": title, "summary": title, "status": "triggered",
                    "html_url": f"{self.web_url}/incidents/{found['id']}", "service": self._ref("service", service_id),
                }  # fmt: skip
                return Response.of(200, {"incident": incident})
            case path if (found := _SERVICE.match(path)) and found["id"] in self._services:
                return Response.of(
                    200,
                    {"service": self._service_json(self._services[found["id"]], single=True)},
                )
        return Response.of(404, self.error_body(404))

    def finalize(self, request: RecordedRequest, response: Response) -> Response:
        """Count the request and add PagerDuty's ``ratelimit-*`` headers."""
        if response.status != 401:
            if self.rate_limit_remaining <= 0:
                response = Response.of(429, self.error_body(429))
            else:
                self.rate_limit_remaining -= 1
        response.headers = {
            "ratelimit-limit": str(self.rate_limit),
            "ratelimit-remaining": str(self.rate_limit_remaining),
            "ratelimit-reset": str(self.rate_limit_reset),
            **response.headers,
        }
        return response

    def _invalid(self, detail: str) -> dict[str, Any]:
        return {
            "error": {
                "message": "Invalid Input Provided",
                "code": 2001,
                "errors": [detail],
            }
        }

    def _page(
        self,
        request: RecordedRequest,
        key: str,
        items: list[T],
        render: Callable[[T], dict[str, Any]],
    ) -> Response:
        """Classic pagination: render only the requested slice, so large accounts stay cheap."""
        try:
            limit = min(int(request.param("limit") or 25), _MAX_LIMIT)
            offset = int(request.param("offset") or 0)
        except ValueError:
            return Response.of(400, self._invalid("limit and offset must be integers"))
        if limit < 1 or offset < 0:
            return Response.of(400, self._invalid("limit must be positive and offset not negative"))
        if offset + limit > _MAX_OFFSET_PLUS_LIMIT:
            return Response.of(
                400,
                self._invalid(f"Offset must be less than {_MAX_OFFSET_PLUS_LIMIT}."),
            )
        body = {
            key: [render(item) for item in items[offset : offset + limit]],
            "limit": limit,
            "offset": offset,
            "more": offset + limit < len(items),
            "total": len(items) if request.param("total") == "true" else None,
        }
        return Response.of(200, body)

    # -- rendering -------------------------------------------------------------------------

    def _rebase(self, template: dict[str, Any], template_id: str, new_id: str) -> dict[str, Any]:
        replacements = {
            _API: self.url,
            "https://subdomain.pagerduty.com": self.web_url,
            template_id: new_id,
        }
        result: dict[str, Any] = rebase(template, replacements)
        return result

    def _ref(self, kind: str, ref_id: str) -> dict[str, Any]:
        """``{id, type: "<kind>_reference", summary, self, html_url}``, as in every fixture."""
        known = self._by_kind[kind].get(ref_id)
        html_path = "service-directory" if kind == "service" else _PLURAL[kind]
        return {
            "id": ref_id,
            "type": f"{kind}_reference",
            "summary": known.name if known else ref_id,
            "self": f"{self.url}/{_PLURAL[kind]}/{ref_id}",
            "html_url": f"{self.web_url}/{html_path}/{ref_id}",
        }

    def _refs(self, kind: str, ids: Iterable[str]) -> list[dict[str, Any]]:
        return [self._ref(kind, item) for item in ids]

    def _service_json(self, service: _Service, *, single: bool = False) -> dict[str, Any]:
        """A service as ``GET /services`` lists it, or as ``GET /services/{id}`` returns it."""
        if single:
            template = _template("service.json")
        else:
            template = _template("service-listed.json")
        data = self._rebase(template, template["id"], service.id)
        data.update(
            summary=service.name,
            name=service.name,
            status=service.status,
            escalation_policy=self._ref("escalation_policy", service.escalation_policy_id),
            teams=self._refs("team", service.team_ids),
        )
        # Real services carry ``description`` (PagerDuty's OpenAPI example lacks it): after ``name``.
        with_description: dict[str, Any] = {}
        for field_name, value in data.items():
            with_description[field_name] = value
            if field_name == "name":
                with_description["description"] = service.description
        return with_description

    def _team_json(self, team: _Team) -> dict[str, Any]:
        template = _template("team.json")
        data = self._rebase(template, template["id"], team.id)
        data.update(summary=team.name, name=team.name, description=team.description)
        return data

    def _user_json(self, user: _User) -> dict[str, Any]:
        template = _template("user.json")
        data = self._rebase(template, template["id"], user.id)
        data.update(
            summary=user.name,
            name=user.name,
            email=user.email,
            teams=self._refs("team", user.team_ids),
        )
        return data

    def _policy_renderer(self) -> Callable[[_EscalationPolicy], dict[str, Any]]:
        """Index services by policy once per request, not once per rendered policy."""
        services_by_policy: dict[str, list[str]] = defaultdict(list)
        for service in self._services.values():
            services_by_policy[service.escalation_policy_id].append(service.id)
        template = _template("escalation_policy.json")

        def render(policy: _EscalationPolicy) -> dict[str, Any]:
            data = self._rebase(template, template["id"], policy.id)
            data.update(
                summary=policy.name,
                name=policy.name,
                escalation_rules=[
                    {
                        "id": f"R{level}{policy.id}",
                        "escalation_delay_in_minutes": policy.escalation_delay_in_minutes,
                        "targets": [
                            self._ref(
                                "schedule" if target in self._schedules else "user",
                                target,
                            )
                            for target in targets
                        ],
                    }
                    for level, targets in enumerate(policy.rule_targets, start=1)
                ],
                services=self._refs("service", services_by_policy[policy.id]),
                num_loops=policy.num_loops,
                teams=self._refs("team", policy.team_ids),
            )
            return data

        return render

    def _schedule_json(self, schedule: _Schedule) -> dict[str, Any]:
        template = _template("schedule.json")
        data = self._rebase(template, template["id"], schedule.id)
        policies = [
            policy.id
            for policy in self._policies.values()
            if any(schedule.id in targets for targets in policy.rule_targets)
        ]
        data.update(
            summary=schedule.name,
            name=schedule.name,
            time_zone=schedule.time_zone,
            description=schedule.description,
            escalation_policies=self._refs("escalation_policy", policies),
            users=self._refs("user", schedule.user_ids),
        )
        return data

    def _current_oncalls(self, request: RecordedRequest) -> list[_OnCall]:
        """Entries covering now, narrowed by the ``[]`` filters and ``earliest=true``."""
        now = self.clock()
        filters: dict[str, Callable[[_OnCall], str | None]] = {
            "escalation_policy_ids[]": lambda o: o.escalation_policy_id,
            "schedule_ids[]": lambda o: o.schedule_id,
            "user_ids[]": lambda o: o.user_id,
        }
        entries = [
            oncall
            for oncall in self._oncalls
            if (oncall.start is None or oncall.start <= now)
            and (oncall.end is None or now < oncall.end)
            and all(
                attribute(oncall) in request.query[name]
                for name, attribute in filters.items()
                if name in request.query
            )
        ]
        if request.param("earliest") != "true":
            return entries
        # PagerDuty: "the earliest on-call for each combination of escalation policy, level, user".
        never = datetime.min.replace(tzinfo=UTC)
        earliest: dict[tuple[str, int, str], _OnCall] = {}
        for oncall in entries:
            key = (oncall.escalation_policy_id, oncall.level, oncall.user_id)
            if key not in earliest or (oncall.start or never) < (earliest[key].start or never):
                earliest[key] = oncall
        return list(earliest.values())

    def _oncall_renderer(self, request: RecordedRequest) -> Callable[[_OnCall], dict[str, Any]]:
        expand_users = "users" in request.query.get("include[]", [])

        def render(oncall: _OnCall) -> dict[str, Any]:
            user = self._users.get(oncall.user_id)
            return {
                "user": self._user_json(user)
                if expand_users and user
                else self._ref("user", oncall.user_id),
                "schedule": self._ref("schedule", oncall.schedule_id) if oncall.schedule_id else None,
                "escalation_policy": self._ref("escalation_policy", oncall.escalation_policy_id),
                "escalation_level": oncall.level,
                "start": _timestamp(oncall.start),
                "end": _timestamp(oncall.end),
            }

        return render
