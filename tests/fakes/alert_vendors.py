"""Local fakes of the alert vendors' read APIs that pasted links are looked up on: Grafana, Sentry, Datadog.

Each serves only the one or two `GET`s Wayfinder makes, in the vendor's shape (the fields it
reads and a few it does not), checks the vendor's credentials (401 in the vendor's envelope
otherwise) and answers 404 for ids never added. Faults and delays come from `FakeHTTPServer`.
"""

from __future__ import annotations

import re
from typing import Any

from tests.fakes.http_fake import Body, FakeHTTPServer, RecordedRequest, Response

__all__ = ["FakeDatadog", "FakeGrafana", "FakeSentry"]


class _VendorFake(FakeHTTPServer):
    """Routes `GET` paths by regex (`routes`: pattern -> the kind's objects by id), behind one credential check."""

    routes: dict[str, str]  # path pattern with an `id` group -> kind

    def __init__(self) -> None:
        super().__init__()
        self._objects: dict[str, dict[str, dict[str, Any]]] = {kind: {} for kind in self.routes.values()}

    def _add(self, kind: str, id: str, body: dict[str, Any]) -> None:
        with self._lock:
            self._objects[kind][id] = body

    def authorized(self, request: RecordedRequest) -> bool:
        raise NotImplementedError

    def handle(self, request: RecordedRequest) -> Response:
        if not self.authorized(request):
            return Response.of(401, self.error_body(401))
        for pattern, kind in self.routes.items():
            found = re.fullmatch(pattern, request.path)
            if request.method == "GET" and found and found["id"] in self._objects[kind]:
                return Response.of(200, self._objects[kind][found["id"]])
        return Response.of(404, self.error_body(404))


class FakeGrafana(_VendorFake):
    """Grafana's HTTP API with a service account token (`Authorization: Bearer`)."""

    routes = {r"/api/dashboards/uid/(?P<id>[\w-]+)": "dashboard", r"/api/v1/provisioning/alert-rules/(?P<id>[\w-]+)": "rule"}

    def __init__(self, *, token: str) -> None:
        super().__init__()
        self.token = token

    def add_dashboard(self, uid: str, title: str, *, tags: list[str], folder: str = "General") -> None:
        body = {
            "dashboard": {"uid": uid, "title": title, "tags": tags, "version": 3, "panels": []},
            "meta": {"slug": title.lower().replace(" ", "-"), "folderTitle": folder, "url": f"/d/{uid}/x", "canEdit": False},
        }  # fmt: skip
        self._add("dashboard", uid, body)

    def add_alert_rule(self, uid: str, title: str, *, labels: dict[str, str]) -> None:
        body = {"uid": uid, "title": title, "folderUID": "f1", "ruleGroup": "checks", "labels": labels, "condition": "C", "for": "5m"}
        self._add("rule", uid, body)

    def authorized(self, request: RecordedRequest) -> bool:
        return request.headers.get("authorization") == f"Bearer {self.token}"

    def error_body(self, status: int) -> Body:
        return {"message": "invalid API key" if status == 401 else "Not found", "traceID": ""}


class FakeSentry(_VendorFake):
    """Sentry's API for one organization with an auth token (`Authorization: Bearer`)."""

    def __init__(self, *, token: str, organization: str) -> None:
        self.routes = {rf"/api/0/organizations/{re.escape(organization)}/issues/(?P<id>\d+)/": "issue"}
        super().__init__()
        self.token = token

    def add_issue(self, id: str, *, project_slug: str, project_name: str, title: str = "TypeError: x is undefined") -> None:
        project = {"id": "42", "name": project_name, "slug": project_slug, "platform": "python"}
        self._add("issue", id, {"id": id, "shortId": f"{project_slug.upper()}-1", "title": title, "project": project, "status": "unresolved"})

    def authorized(self, request: RecordedRequest) -> bool:
        return request.headers.get("authorization") == f"Bearer {self.token}"

    def error_body(self, status: int) -> Body:
        return {"detail": "Invalid token" if status == 401 else "The requested resource does not exist"}


class FakeDatadog(_VendorFake):
    """Datadog's API v1 monitors, with `DD-API-KEY` and `DD-APPLICATION-KEY`."""

    routes = {r"/api/v1/monitor/(?P<id>\d+)": "monitor"}

    def __init__(self, *, api_key: str, application_key: str) -> None:
        super().__init__()
        self.api_key, self.application_key = api_key, application_key

    def add_monitor(self, id: str, name: str, *, tags: list[str]) -> None:
        self._add("monitor", id, {"id": int(id), "name": name, "type": "metric alert", "tags": tags, "query": "avg(last_5m):x > 1"})

    def authorized(self, request: RecordedRequest) -> bool:
        headers = request.headers
        return headers.get("dd-api-key") == self.api_key and headers.get("dd-application-key") == self.application_key

    def error_body(self, status: int) -> Body:
        return {"errors": ["Forbidden" if status == 401 else "Monitor not found"]}
