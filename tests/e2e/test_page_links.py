"""Where the pages' links go, and what a link that finds nothing says, through the real server.

Why: a responder follows the owner link on an ownership page to reach the team that gets paged. A
link that opens a namesake in another namespace sends them to the wrong Slack channel and on-call;
a short link that guesses from a fragment of a name opens the wrong service; a page that says
"nothing is called X" while X is a component sends them searching for something that is there.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from catalog.config import Config
from catalog.core import Catalog
from tests.e2e.pages_server import serve_pages
from tests.e2e.test_pages import text_of
from tests.helpers import folder_sources

NAMESAKES = """\
apiVersion: backstage.io/v1alpha1
kind: Group
metadata: {name: checkout, annotations: {slack.com/channel: "#checkout"}}
spec: {type: team, profile: {displayName: Checkout}, children: []}
---
apiVersion: backstage.io/v1alpha1
kind: Group
metadata: {name: checkout, namespace: other, annotations: {slack.com/channel: "#other-checkout"}}
spec: {type: team, profile: {displayName: Other Checkout}, children: []}
---
apiVersion: backstage.io/v1alpha1
kind: User
metadata: {name: mallory}
spec: {profile: {displayName: "<img src=x> Mallory"}, memberOf: [checkout]}
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata: {name: ns-owned, namespace: other}
spec: {type: service, lifecycle: production, owner: group:other/checkout}
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata: {name: storefront}
spec: {type: service, lifecycle: production, owner: checkout, dependsOn: ["component:other/ns-owned", "component:orphan-owner"]}
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata: {name: orphan-owner}
spec: {type: service, lifecycle: production, owner: group:default/no-such-team}
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata: {name: checkout-api}
spec: {type: service, lifecycle: production, owner: checkout}
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata: {name: product-catalog-service}
spec: {type: service, lifecycle: production, owner: checkout}
"""


@pytest.fixture
def namesakes(make_catalog: Callable[[Config], Catalog], tmp_path: Path) -> Catalog:
    """Two teams called checkout (default and other namespace), a dangling owner, a person whose name holds markup."""
    config, _ = folder_sources(tmp_path, {"namesakes": NAMESAKES})
    catalog = make_catalog(config)
    assert all(r.ok for r in catalog.sync())
    return catalog


@pytest.fixture
def client(namesakes: Catalog) -> Iterator[httpx.Client]:
    with serve_pages(namesakes) as served:
        yield served


def section(html: str, id: str) -> str:
    """The HTML of the page's section with that id."""
    return html.split(f'id="{id}"', 1)[1].split("</section>", 1)[0]


def test_owner_links_keep_the_namespace_of_the_team(client: httpx.Client) -> None:
    owner = section(client.get("/o/component/other/ns-owned").text, "owner")
    listed = client.get("/o/component/default/storefront").text
    team = client.get("/t/other/checkout")

    assert 'href="/t/other/checkout">Other Checkout</a>' in owner and "namespace other" in owner
    assert 'href="/t/other/checkout">other/checkout</a>' in listed  # a dependent's owner, in the blast radius list
    assert "ns-owned (component, service, namespace other)" in text_of(listed)
    assert team.status_code == 200 and "Other Checkout" in text_of(team.text) and "#other-checkout" in team.text
    assert "#other-checkout" not in client.get("/t/checkout").text  # the default namespace's team keeps its short link
    assert client.get("/t/other/checkout", headers={"Accept": "application/json"}).json()["team"]["ref"] == "group:other/checkout"
    assert client.get("/api/v1/teams/other/checkout").json()["team"]["slack_channel"] == "#other-checkout"


def test_an_owner_missing_from_the_catalog_is_named_not_linked(client: httpx.Client) -> None:
    page = client.get("/o/component/default/orphan-owner").text
    listed = client.get("/o/component/default/storefront").text

    assert "The owner group:default/no-such-team is not in the catalog." in text_of(page)
    assert "no-such-team" in text_of(page) and "/t/no-such-team" not in page
    assert "owned by no-such-team" in text_of(listed) and "/t/no-such-team" not in listed


OTHER_CHECKOUT = """\
apiVersion: backstage.io/v1alpha1
kind: Group
metadata: {name: checkout, namespace: other, annotations: {slack.com/channel: "#other-checkout"}}
spec: {type: team, profile: {displayName: Other Checkout}, children: []}
---
"""


def test_an_owner_retired_since_the_index_was_built_is_named_not_linked(client: httpx.Client, namesakes: Catalog, tmp_path: Path) -> None:
    """While the resolution index is of the page's own catalog generation it says which owners exist; once a
    sync has moved the catalog on, the page asks the database: a team retired a moment ago gets no link."""
    namesakes.build_index()
    assert 'href="/t/other/checkout">other/checkout</a>' in client.get("/o/component/default/storefront").text

    without = NAMESAKES.replace(OTHER_CHECKOUT, "")
    assert without != NAMESAKES
    (tmp_path / "namesakes" / "namesakes.yaml").write_text(without, encoding="utf-8")
    assert all(r.ok for r in namesakes.sync())
    listed = client.get("/o/component/default/storefront").text

    assert "owned by other/checkout" in text_of(listed) and "/t/other/checkout" not in listed


@pytest.mark.parametrize(("name", "nearest"), [("prod", "product-catalog-service"), ("src", "mallory")])
def test_a_fragment_of_a_name_offers_the_nearest_names_and_opens_nothing(client: httpx.Client, name: str, nearest: str) -> None:
    """`prod` is not product-catalog-service, nor `src` the person whose display name holds `src=x`."""
    response = client.get(f"/o/{name}")
    shown = text_of(response.text)

    assert response.status_code == 404 and "location" not in response.headers
    assert f"Nothing in the catalog is called “{name}”." in shown and "Several things" not in shown
    assert nearest in section(response.text, "suggestions")


def test_a_link_and_a_question_about_a_fragment_agree(client: httpx.Client, namesakes: Catalog) -> None:
    assert namesakes.ask("who owns prod").status != "answered"
    assert client.get("/o/prod").status_code == 404


def test_a_typo_is_offered_not_followed(client: httpx.Client) -> None:
    response = client.get("/o/chekout-api", headers={"Accept": "application/json"})

    assert response.status_code == 404
    assert "component:default/checkout-api" in [s["ref"] for s in response.json()["suggestions"]]


def test_a_name_of_another_kind_says_what_it_is_and_links_it(client: httpx.Client) -> None:
    for path, said in (
        ("/t/checkout-api", "No team is called “checkout-api”: component:checkout-api is a component."),
        ("/t/mallory", "No team is called “mallory”: user:mallory is a person."),
        ("/o/api/checkout-api", "No API is called “checkout-api”: component:checkout-api is a component."),
    ):
        response = client.get(path)
        assert response.status_code == 404, path
        assert said in text_of(response.text), path
        assert f'href="/o/{said.split(": ")[1].split(":")[0]}/default/' in section(response.text, "other-kinds"), path
    as_json = client.get("/t/checkout-api", headers={"Accept": "application/json"}).json()
    assert as_json["message"] == "No team is called “checkout-api”: component:checkout-api is a component."
    assert [e["ref"] for e in as_json["other_kinds"]] == ["component:default/checkout-api"]


def test_a_choice_between_namesakes_tells_them_apart(client: httpx.Client) -> None:
    response = client.get("/o/checkout")
    choices = section(response.text, "candidates")

    assert response.status_code == 300 and "Several things are called “checkout”" in text_of(response.text)
    assert "checkout (group, team, namespace other)" in text_of(choices) and "checkout (group, team)" in text_of(choices)
    assert "no owner" not in choices  # teams and people have no owner by nature
