"""Ownership, team and search pages through the real server: what a responder opening an alert link sees.

Why: every card, App Home entry and unfurl links to `/o/...`; these pages are opened at 3 a.m.
from a phone, so they must put on-call, owner and runbook first, say what is missing and where to
fix it, never run catalog text as markup, and resolve the loose names alert templates carry.
"""

from __future__ import annotations

import re
import sqlite3
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select
from sqlmodel import col

from catalog.adoption.models import AdoptionEvent
from catalog.config import Config
from catalog.core import Catalog
from tests.e2e.pages_server import serve_pages
from tests.helpers import backstage_config
from tests.pagerduty_world import PAYMENTS, T0, World, pagerduty, world  # noqa: F401 (fixtures)

ASKED = T0 + timedelta(minutes=5)


@pytest.fixture
def pages(example_catalog: Catalog) -> Iterator[httpx.Client]:
    with serve_pages(example_catalog) as client:
        yield client


@pytest.fixture
def oncall_pages(world: World) -> Iterator[httpx.Client]:
    world.sync_pagerduty()
    with serve_pages(world.catalog, clock=lambda: ASKED) as client:
        yield client


def text_of(html: str) -> str:
    """The page's visible text, roughly: tags dropped, whitespace folded."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html.split("</style>")[-1])).strip()


def test_ownership_page_puts_oncall_owner_and_runbook_first(oncall_pages: httpx.Client) -> None:
    response = oncall_pages.get("/o/component/default/payments-service")

    assert response.status_code == 200 and response.headers["content-type"].startswith("text/html")
    html, text = response.text, text_of(response.text)
    assert html.index('id="oncall"') < html.index('id="owner"') < html.index('id="runbook"') < html.index('id="dependents"')
    assert "L1 Nadia Haddad until 16:55 UTC · Payments primary" in text
    assert text.index("Nadia Haddad") < text.index("Samuel Okafor") < text.index("Elena Rossi")  # level 1 first
    assert "Escalation: Payments" in text and "as of 08:55 UTC" in text
    assert 'href="https://slack.com/app_redirect?channel=C0123ABCD"' in html  # the owner team's channel
    assert "payments@northwind.example" in text and "@payments-team" in text
    assert re.search(r'<a href="https://runbooks\.northwind\.example/payments-service" id="runbook"', html)
    assert "from northwind, synced" in text and "from pagerduty, synced" in text
    # the blast radius names each dependent's owner
    assert "Checkout API (component, service) · owned by checkout" in text


def test_failing_source_says_since_when(world: World, pagerduty) -> None:  # noqa: F811
    world.sync_pagerduty()
    pagerduty.fail("/oncalls", status=503, times=None)
    assert not world.sync_pagerduty(T0 + timedelta(minutes=17)).ok

    with serve_pages(world.catalog, clock=lambda: T0 + timedelta(minutes=30)) as client:
        text = text_of(client.get("/o/component/default/payments-service").text)

    assert "PagerDuty unreachable since 09:12 UTC; on-call as of 08:55 UTC." in text
    assert "from pagerduty: unreachable since 09:12 UTC" in text


def test_missing_facts_are_said_with_where_to_fix_them(pages: httpx.Client) -> None:
    pricing = text_of(pages.get("/o/component/default/pricing-service").text)
    no_owner = text_of(pages.get("/o/component/default/tax-calculator").text)
    loyalty = text_of(pages.get("/o/component/default/loyalty-service").text)

    assert "No runbook. Add one in catalog/components/product-information/pricing-service.yaml (a link with type: runbook)." in pricing
    assert "No owner. Add spec.owner in catalog/components/order-management/tax-calculator.yaml." in no_owner
    assert "loyalty has no Slack channel. Add the slack.com/channel annotation in catalog/org/teams.yaml." in loyalty
    assert "loyalty-service has no PagerDuty service in the catalog" in loyalty


def test_short_links_redirect_to_the_canonical_page(pages: httpx.Client) -> None:
    for path in (
        "/o/payments-service", "/o/Payments-Service", "/o/component/payments-service", "/o/component/payments_service",
        "/o/component:payments-service", "/o/component%3Adefault%2Fpayments-service",  # a ref, as answers print it and URL-quoted
    ):  # fmt: skip
        response = pages.get(path)
        assert (response.status_code, response.headers.get("location")) == (302, "/o/component/default/payments-service"), path
    assert pages.get("/o/payments-service", follow_redirects=True).status_code == 200


def test_unknown_name_answers_404_with_the_nearest_names_and_a_search_box(pages: httpx.Client) -> None:
    for path in ("/o/ledger-srv-zzz", "/o/component/default/ledger-srv-zzz"):
        response = pages.get(path)
        assert response.status_code == 404, path
        assert "ledger-service" in response.text and '<input type="search" name="q" value="ledger-srv-zzz"' in response.text

    as_json = pages.get("/o/ledger-srv-zzz", headers={"Accept": "application/json"})
    assert as_json.status_code == 404 and as_json.json()["error"] == "not_found" and as_json.json()["error_id"]
    assert "component:default/ledger-service" in [s["ref"] for s in as_json.json()["suggestions"]]


BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


@pytest.mark.parametrize(("path", "status"), [("/nope", 404), ("/o/", 404), ("/o/a/b/c/d", 404), ("/adoption?days=0", 422)])
def test_a_bad_address_gets_the_error_page_or_the_json_error(pages: httpx.Client, path: str, status: int) -> None:
    """A browser gets the site's page with its search box; anyone else the API's error shape, never FastAPI's `{"detail": …}`."""
    page = pages.get(path, headers={"Accept": BROWSER})
    data = pages.get(path)

    assert (page.status_code, data.status_code) == (status, status)
    assert page.headers["content-type"].startswith("text/html") and 'role="search"' in page.text and "Error id" in page.text
    assert set(data.json()) == {"error", "message", "error_id"} and data.json()["error"] in ("not_found", "invalid_request")
    assert "days" in data.json()["message"] if status == 422 else data.json()["message"] == f"Nothing is served at {path}."


def test_head_answers_like_get_without_a_body(pages: httpx.Client) -> None:
    """Link checkers and unfurlers ask with HEAD before they GET."""
    for path in ("/o/component/default/payments-service", "/o/payments-service", "/o/nope-zzz", "/t/payments", "/?q=payments", "/adoption"):
        get, head = pages.get(path), pages.head(path)
        assert (head.status_code, head.headers.get("content-type"), head.content) == (get.status_code, get.headers.get("content-type"), b""), path


def test_every_answer_says_what_a_browser_may_do_with_it(pages: httpx.Client) -> None:
    """Catalog text on the portal's origin: no content sniffing, no framing by another site, no script; caches keep HTML and JSON apart."""
    for path in ("/o/component/default/payments-service", "/o/payments-service", "/api/v1/entities?limit=1", "/nope", "/healthz"):
        headers = pages.get(path).headers
        assert (headers["x-content-type-options"], headers["x-frame-options"]) == ("nosniff", "DENY"), path
        assert "frame-ancestors 'none'" in headers["content-security-policy"] and "default-src 'none'" in headers["content-security-policy"], path
        assert "Accept" in headers["vary"], path


def test_a_trailing_slash_redirect_stays_on_this_server_whatever_the_host_header(pages: httpx.Client) -> None:
    for path, to in (("/o/checkout-api/", "/o/checkout-api"), ("/t/payments/?x=1", "/t/payments?x=1"), ("/api/v1/entities/", "/api/v1/entities")):
        response = pages.get(path, headers={"Host": "evil.example"})
        assert (response.status_code, response.headers["location"]) == (307, to), path


def test_pages_answer_json_when_asked(pages: httpx.Client) -> None:
    page = pages.get("/o/component/default/payments-service", headers={"Accept": "application/json"})
    team = pages.get("/t/payments", headers={"Accept": "application/json"})
    search = pages.get("/", params={"q": "who owns checkout-api?"}, headers={"Accept": "application/json"})

    assert page.headers["content-type"] == "application/json"
    assert page.json()["card"]["owner"]["ref"] == "group:default/payments"
    assert [link["title"] for link in page.json()["links"]][:2] == ["Runbook", "Service dashboard"]
    assert team.json()["team"]["ref"] == "group:default/payments"
    assert (search.json()["intent"], search.json()["answer"]["owner"]) == ("owner", "group:default/checkout")


def test_team_page_shows_contacts_members_and_what_it_owns_with_gaps(pages: httpx.Client) -> None:
    payments = text_of(pages.get("/t/payments").text)
    loyalty = text_of(pages.get("/t/loyalty").text)
    pricing_team = pages.get("/api/v1/entities/component/default/pricing-service").json()["card"]["owner"]["name"]
    gaps = {o["entity"]["name"]: o["gaps"] for o in pages.get(f"/api/v1/teams/{pricing_team}").json()["owns"]}

    assert "Nadia Haddad" in payments and "payments@northwind.example" in payments and "Payments Service (component, service)" in payments
    assert "No Slack channel in the catalog." in loyalty and "loyalty@northwind.example" in loyalty
    assert "no runbook" in gaps["pricing-service"]
    assert pages.get("/t/no-such-team").status_code == 404


def test_search_page_answers_a_question_like_ask(pages: httpx.Client, example_catalog: Catalog) -> None:
    response = pages.get("/", params={"q": "who owns payments-service?"})
    empty = pages.get("/")

    assert response.status_code == 200
    assert example_catalog.ask("who owns payments-service?").text.splitlines()[0] in text_of(response.text)
    assert 'href="/o/component/default/payments-service"' in response.text
    assert empty.status_code == 200 and '<form action="/" method="get"' in empty.text


def test_search_page_links_every_listed_entity(pages: httpx.Client) -> None:
    """A list answer ("tier-1 services", "which team owns the most services") links each entity to its page."""
    html = pages.get("/", params={"q": "tier-1 services"}).text
    assert "Services tagged tier-1 (13)" in text_of(html)
    assert 'href="/o/component/default/checkout-api"' in html and 'href="/o/component/default/android-app"' not in html
    assert 'class="answer"' not in html  # the lists are the answer: not written out twice
    ranked = pages.get("/", params={"q": "which team owns the most services"}).text
    assert "Services owned by checkout (6)" in text_of(ranked) and "…and 1 more" in text_of(ranked)


@pytest.mark.parametrize(
    ("question", "head", "listed"),
    [
        ("what does payments-service depend on", "payments-service (Payments Service) depends on:", "ledger-grpc"),
        ("what does the loyalty team own", "group:loyalty owns 5:", "rewards-worker"),
        ("who owns the api?", "Several entities match; which one did you mean?", "payment-events"),
    ],
)
def test_search_page_writes_a_listed_entity_once(pages: httpx.Client, question: str, head: str, listed: str) -> None:
    """The answer's head, then its entities as links (with how each relates): not also as plain text above them."""
    html = pages.get("/", params={"q": question}).text
    shown = text_of(html)
    assert head in shown and shown.count(listed) == 1
    assert f'/{listed}"' in html
    if "depend" in question:
        assert "consumes API" in shown  # the relation stays, now on the linked row


@pytest.fixture
def hostile(make_catalog: Callable[[Config], Catalog], tmp_path: Path) -> Catalog:
    """A catalog written by someone unfriendly, with two things called `checkout` and one to retire."""
    files = tmp_path / "catalog"
    files.mkdir()
    (files / "all.yaml").write_text(HOSTILE, encoding="utf-8")
    catalog = make_catalog(backstage_config(tmp_path, {"hostile": files}))
    assert all(r.ok for r in catalog.sync())
    return catalog


HOSTILE = """\
apiVersion: backstage.io/v1alpha1
kind: Group
metadata: {name: pirates}
spec: {type: team, children: []}
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: evil-service
  description: <script>alert(1)</script> and "quotes" ' too
  links:
    - {url: "javascript:alert(1)", title: Runbook, type: runbook}
    - {url: "https://ok.example/dash", title: "<b>Dashboard</b>", type: dashboard}
spec: {type: service, lifecycle: production, owner: pirates}
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata: {name: checkout}
spec: {type: service, lifecycle: production, owner: pirates}
---
apiVersion: backstage.io/v1alpha1
kind: API
metadata: {name: checkout}
spec: {type: openapi, lifecycle: production, owner: pirates, definition: "openapi: 3.0.0"}
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata: {name: old-billing}
spec: {type: service, lifecycle: deprecated, owner: pirates}
"""


def test_hostile_text_and_links_are_rendered_harmless(hostile: Catalog) -> None:
    with serve_pages(hostile) as client:
        html = client.get("/o/component/default/evil-service").text

    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<b>Dashboard</b>" not in html and "&lt;b&gt;Dashboard&lt;/b&gt;" in html
    assert not re.search(r'href="\s*javascript:', html, re.IGNORECASE)
    assert "javascript:alert(1)" in html  # shown as text, so people can see what is wrong with it
    assert '<a href="https://ok.example/dash"' in html
    assert "<script" not in html.lower()  # the pages carry no script at all


def test_a_runbook_link_that_is_not_a_web_address_is_a_missing_runbook(hostile: Catalog) -> None:
    """A `javascript:` runbook is shown as text, not as a link: at 3 a.m. that is no runbook, and both pages say so."""
    with serve_pages(hostile) as client:
        page = text_of(client.get("/o/component/default/evil-service").text)
        team = client.get("/t/pirates").text

    assert "No runbook: its runbook link is not a web address (javascript:alert(1)). Replace it in catalog/all.yaml with an https link." in page
    assert re.search(r'evil-service</a> <span class="meta">\(component, service\)</span>( <span class="badge bad">[^<]+</span>)* <span class="badge bad">no runbook</span>', team)


def test_ambiguous_name_offers_a_choice_with_owners(hostile: Catalog) -> None:
    with serve_pages(hostile) as client:
        response = client.get("/o/checkout")

    assert response.status_code == 300
    assert 'href="/o/component/default/checkout"' in response.text and 'href="/o/api/default/checkout"' in response.text
    assert text_of(response.text).count("owned by pirates") == 2


def test_retired_entities_still_render_marked_with_their_last_owner(hostile: Catalog, tmp_path: Path) -> None:
    files = tmp_path / "catalog" / "all.yaml"
    files.write_text(HOSTILE.rsplit("---", 1)[0], encoding="utf-8")  # old-billing removed from the source
    assert all(r.ok for r in hostile.sync())

    with serve_pages(hostile) as client:
        page = client.get("/o/component/default/old-billing")
        short = client.get("/o/old-billing")

    assert page.status_code == 200
    assert "Retired: removed from the catalog on" in text_of(page.text)
    assert 'href="/t/pirates"' in page.text
    assert (short.status_code, short.headers["location"]) == (302, "/o/component/default/old-billing")


def test_pages_do_not_wait_for_a_sync_and_every_view_is_counted_once(pages: httpx.Client, example_catalog: Catalog) -> None:
    """Why: a view is bookkeeping; a page that waited for a sync's write lock (seconds on SQLite) to count itself would fail a
    responder at 3 a.m. Views are batched by a background writer, which waits for the lock instead, and loses none."""

    def views() -> int:
        with example_catalog.session() as session:
            return session.scalar(select(func.count()).select_from(AdoptionEvent).where(col(AdoptionEvent.kind) == "page_view")) or 0

    before = views()
    blocker = sqlite3.connect(str(example_catalog.engine.url.database), isolation_level=None) if example_catalog.engine.dialect.name == "sqlite" else None
    if blocker is not None:
        blocker.execute("BEGIN IMMEDIATE")  # what a sync's write transaction holds until it commits
    try:
        for _ in range(20):  # well under the 30 s busy timeout a write in the request would wait for
            assert pages.get("/o/component/default/payments-service", timeout=5).status_code == 200
    finally:
        if blocker is not None:
            blocker.execute("COMMIT")
            blocker.close()
    deadline = time.monotonic() + 30
    while views() < before + 20 and time.monotonic() < deadline:
        time.sleep(0.05)  # the writer's next batch, every half second
    example_catalog.flush_records()
    assert views() == before + 20

