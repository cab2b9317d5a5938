"""A real Wayfinder HTTP server (uvicorn on a free port) in front of a fake Slack Web API."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from bot.http.app import SlackCredentials
from catalog.config import Config
from catalog.core import Catalog
from tests.conftest import EXAMPLES
from tests.e2e.harness import Wayfinder, start_wayfinder
from tests.e2e.pages_server import TOKEN
from tests.fakes.slack_api import FakeSlackAPI


@pytest.fixture
def fake_slack() -> Iterator[FakeSlackAPI]:
    with FakeSlackAPI() as fake:
        yield fake


@pytest.fixture
def start(fake_slack: FakeSlackAPI, make_catalog: Callable[[Config], Catalog]) -> Iterator[Callable[..., Wayfinder]]:
    """Start servers on any catalog (several may share one database, like replicas); all stop after the test.

    Requesting `make_catalog` first makes pytest stop the servers before the databases go away.
    """
    running: list[Wayfinder] = []

    def start_one(catalog: Catalog, slack: SlackCredentials | None = None) -> Wayfinder:
        running.append(start_wayfinder(catalog, fake_slack, slack))
        return running[-1]

    yield start_one
    for wayfinder in running:
        wayfinder.close()


@pytest.fixture
def wayfinder(start: Callable[..., Wayfinder], example_catalog: Catalog) -> Wayfinder:
    """Wayfinder serving the Northwind example organisation."""
    return start(example_catalog)


@pytest.fixture
def guarded(make_catalog: Callable[[Config], Catalog], write_config: Callable[[str], Config], monkeypatch: pytest.MonkeyPatch) -> Catalog:
    """The example organisation with `http.auth.tokens` set to `TOKEN`: pages and API need it."""
    monkeypatch.setenv("WF_TEST_TOKEN", TOKEN)
    config = write_config(
        f'sources:\n  - name: northwind\n    type: backstage\n    path: {EXAMPLES / "catalog"}\nhttp:\n  auth:\n    tokens: ["${{WF_TEST_TOKEN}}"]\n'
    )
    catalog = make_catalog(config)
    assert all(r.ok for r in catalog.sync())
    return catalog
