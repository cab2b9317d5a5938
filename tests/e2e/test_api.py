"""The JSON API under /api/v1 and bearer tokens, through the real server.

Why: the API is what the remote CLI, scripts and other portals build on, so its answers must be
the core's models (the same as `wayfinder ask --json`), its pages must not skip or repeat
entities while paging, its errors must be JSON a program can read, and a configured token must
guard pages and API alike without ever showing up in a log.
"""

from __future__ import annotations

import logging
import re
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from catalog.config import Config
from catalog.core import Catalog
from catalog.errors import ConfigError
from catalog.store.engine import make_engine, upgrade
from tests.e2e.pages_server import TOKEN, serve_pages
from tests.e2e.test_pages import text_of
from tests.helpers import active_refs


@pytest.fixture
def api(example_catalog: Catalog) -> Iterator[httpx.Client]:
    with serve_pages(example_catalog) as client:
        yield client


def test_ask_is_the_cli_json_answer(api: httpx.Client, example_catalog: Catalog) -> None:
    for question in ("who owns payments-service?", "what depends on ledger-db?", "who owns nothing-like-this-at-all"):
        response = api.get("/api/v1/ask", params={"q": question})
        assert response.status_code == 200
        assert response.json() == example_catalog.ask(question).to_json() | {"sources": response.json()["sources"]}, question


def test_entities_page_through_every_entity_once(api: httpx.Client, example_catalog: Catalog) -> None:
    seen: list[str] = []
    cursor = None
    while True:
        body = api.get("/api/v1/entities", params={"limit": 25} | ({"cursor": cursor} if cursor else {})).json()
        seen += [item["ref"] for item in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) and set(seen) == active_refs(example_catalog)


def test_entities_filter_by_kind_owner_and_text(api: httpx.Client) -> None:
    owned = api.get("/api/v1/entities", params={"owner": "payments", "kind": "component"}).json()["items"]
    found = api.get("/api/v1/entities", params={"q": "LEDGER", "kind": "resource"}).json()["items"]

    assert {i["name"] for i in owned} == {"payments-service", "refunds-worker", "payouts-service", "payments-sdk-js"}
    assert {i["name"] for i in found} == {"ledger-db"}


def test_entity_and_team_endpoints(api: httpx.Client) -> None:
    entity = api.get("/api/v1/entities/component/default/payments-service").json()
    team = api.get("/api/v1/teams/payments").json()

    assert (entity["card"]["entity"]["ref"], entity["card"]["owner"]["ref"]) == (
        "component:default/payments-service",
        "group:default/payments",
    )
    assert team["team"]["slack_channel"] == "#team-payments" and "component:default/payments-service" in [
        o["entity"]["ref"] for o in team["owns"]
    ]


def test_errors_are_json_with_a_message_and_an_error_id(api: httpx.Client) -> None:
    for path, status, code in (
        ("/api/v1/entities/component/default/nope", 404, "not_found"),
        ("/api/v1/teams/nope", 404, "not_found"),
        ("/api/v1/entities?cursor=%%%%", 400, "invalid_request"),
        ("/api/v1/ask", 422, "invalid_request"),
        ("/api/v1/no-such-route", 404, "not_found"),
    ):
        response = api.get(path)
        body = response.json()
        assert (response.status_code, body["error"]) == (status, code), path
        assert body["message"] and len(body["error_id"]) == 12, path


def test_an_unknown_scorecard_is_refused_without_the_servers_paths(api: httpx.Client) -> None:
    response = api.get("/api/v1/scorecards/check", params={"entity": "payments-service", "scorecard": "nope", "min_level": "Gold"})

    assert (response.status_code, response.json()["error"]) == (400, "invalid_request")
    assert response.json()["message"].startswith("no scorecard 'nope' in wayfinder.yaml; known: ") and "/" not in response.json()["message"]


def test_openapi_declares_the_error_shape_and_the_docs_load_nothing_from_elsewhere(api: httpx.Client) -> None:
    """A client generated from the document expects the errors it gets; the docs page runs no third-party script on our origin."""
    schema = api.get("/api/v1/openapi.json").json()
    docs = api.get("/api/v1/docs")

    assert {"/ask", "/entities", "/entities/{kind}/{namespace}/{name}", "/teams/{name}", "/teams/{namespace}/{name}"} <= set(schema["paths"])
    assert schema["servers"] == [{"url": "/api/v1"}]
    assert schema["paths"]["/ask"]["get"]["responses"]["4XX"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/ErrorBody"}
    assert set(schema["components"]["schemas"]["ErrorBody"]["required"]) == {"error", "message", "error_id"}
    assert "HTTPValidationError" not in schema["components"]["schemas"] and "securitySchemes" not in schema["components"]  # no tokens here
    assert docs.status_code == 200 and "GET /api/v1/entities/{kind}/{namespace}/{name}" in text_of(docs.text)
    assert re.search(r"<code>q</code> <span class=\"meta\">\(query, required\)</span>: The question, as typed in Slack", docs.text)
    assert "<script" not in docs.text.lower() and "cdn" not in docs.text.lower()


def test_with_tokens_the_api_description_needs_one_and_declares_it(guarded: Catalog) -> None:
    with serve_pages(guarded) as client:
        refused = [client.get(path).status_code for path in ("/api/v1/openapi.json", "/api/v1/docs")]
        schema = client.get("/api/v1/openapi.json", headers={"Authorization": "Bearer " + TOKEN}).json()
        docs = client.get("/api/v1/docs", headers={"Authorization": "Bearer " + TOKEN}).text

    assert refused == [401, 401]
    assert schema["components"]["securitySchemes"] == {"bearer": {"type": "http", "scheme": "bearer"}} and schema["security"] == [{"bearer": []}]
    assert "Authorization: Bearer &lt;token&gt;" in docs


def test_tokens_guard_pages_and_api_and_are_never_logged(guarded: Catalog, caplog: pytest.LogCaptureFixture) -> None:
    paths = (
        "/o/component/default/payments-service",
        "/o/payments-service",
        "/t/payments",
        "/?q=who+owns+payments-service",
        "/api/v1/ask?q=who+owns+payments-service",
        "/api/v1/entities",
    )
    caplog.set_level(logging.DEBUG)
    with serve_pages(guarded) as client:
        for path in paths:
            missing = client.get(path)
            wrong = client.get(path, headers={"Authorization": "Bearer " + TOKEN[:-1] + "X"})
            basic = client.get(path, headers={"Authorization": "Basic " + TOKEN})
            right = client.get(path, headers={"Authorization": "Bearer " + TOKEN})
            assert [r.status_code for r in (missing, wrong, basic)] == [401, 401, 401], path
            assert missing.headers["www-authenticate"] == "Bearer" and missing.json()["error"] == "unauthorized"
            assert right.status_code in (200, 302), path
            assert TOKEN not in wrong.text
        assert client.get("/healthz").status_code == 200  # health and metrics stay open for load balancers
    assert TOKEN not in caplog.text and TOKEN[:-1] not in caplog.text


def test_empty_token_variable_is_a_config_error(write_config: Callable[[str], Config], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WF_TEST_TOKEN", "")
    with pytest.raises(ConfigError, match=r"wayfinder.yaml:3: http.auth.tokens: each token must be at least 16 characters"):
        write_config('http:\n  auth:\n    tokens: ["${WF_TEST_TOKEN}"]\n')


def test_a_database_gone_away_is_503_saying_so_not_a_500(tmp_path: Path) -> None:
    """The server is fine and the request may work in a moment: the API and the pages say the database is unavailable."""
    folder = tmp_path / "data"
    folder.mkdir()
    url = f"sqlite:///{folder / 'wayfinder.db'}"
    upgrade(make_engine(url))
    catalog = Catalog(url, Config())
    try:
        with serve_pages(catalog) as client:
            assert client.get("/api/v1/ask", params={"q": "who owns payments-service?"}).status_code == 200
            shutil.rmtree(folder)
            catalog.engine.dispose()  # pooled connections kept the removed file open; new ones cannot open it
            api = client.get("/api/v1/ask", params={"q": "who owns payments-service?"})
            page = client.get("/o/component/default/payments-service", headers={"Accept": "text/html"})
    finally:
        catalog.dispose()
    assert api.status_code == 503 and api.json()["error"] == "database_unavailable" and api.headers["retry-after"] == "5"
    assert page.status_code == 503 and "database is unavailable" in page.text and page.headers["content-type"].startswith("text/html")
