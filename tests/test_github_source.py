"""The GitHub source, against the local GitHub fake over real HTTP.

Why: GitHub is where most ownership facts come from. The source must read a whole org the way
GitHub serves it (Link pagination, raw contents, ETags, rate limits), import descriptors exactly
as the Backstage source does, infer the rest from CODEOWNERS with the documented team mapping,
and, whatever fails, never lose what the catalog already knows.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from catalog.config import Config, GitHubSourceConfig
from catalog.core import Catalog
from catalog.sync.engine import sync_source
from catalog.sync.sources.github import GitHubSource
from tests.fakes.github_api import FakeGitHub
from tests.fakes.http_fake import RecordedRequest
from tests.github_world import OLD, TOKEN, component, entity, github_yaml, state, sync
from tests.helpers import active_refs, rows

MakeCatalog = Callable[[Config], Catalog]
WriteConfig = Callable[[str], Config]


@pytest.fixture
def github() -> Iterator[FakeGitHub]:
    with FakeGitHub(org="acme", token=TOKEN) as fake:
        yield fake


@pytest.fixture
def catalog(github: FakeGitHub, write_config: WriteConfig, make_catalog: MakeCatalog, monkeypatch: pytest.MonkeyPatch) -> Catalog:
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    return make_catalog(write_config("sources:\n" + github_yaml(github.url)))


def listing(request: RecordedRequest) -> bool:
    return request.path.endswith("/repos")


def small_org(github: FakeGitHub, count: int = 10, **repo: Any) -> None:
    """`count` repositories, half with a descriptor and half inferred from CODEOWNERS."""
    for i in range(count):
        files = {"catalog-info.yaml": component(f"svc-{i:02d}")} if i % 2 else {".github/CODEOWNERS": "* @acme/platform\n"}
        github.add_repo(f"repo-{i:02d}", description=f"Repository {i}", files=files, **repo)


# -- what lands in the catalog ---------------------------------------------------------------


def test_descriptors_are_imported_and_other_repositories_inferred(github: FakeGitHub, catalog: Catalog) -> None:
    github.add_repo(
        "payments",
        files={"catalog-info.yaml": component("payments-api", description="Takes the money") + "---\n" + component("payments-worker")},
    )
    github.add_repo(
        "ledger",
        description="Double-entry ledger",
        topics=["finance", "go"],
        language="Go",
        archived=True,
        files={".github/CODEOWNERS": "# owners\n* @acme/ledger-team @alice\n/docs/ @acme/writers\n"},
    )
    github.add_repo("web", language="Jupyter Notebook", files={"CODEOWNERS": "*.md @acme/writers\n* @Bob\n"})
    github.add_repo("handbook", files={"docs/CODEOWNERS": "* docs@acme.example\n"})
    github.add_repo("scratch")
    github.add_repo("left-pad", fork=True)  # forks are left out unless include_forks
    [report] = catalog.sync()  # through the registry, as `wayfinder sync` runs it
    assert report.ok, report.error

    assert active_refs(catalog, "gh") == {
        "component:default/payments-api",
        "component:default/payments-worker",
        "component:default/ledger",
        "component:default/web",
        "component:default/handbook",
        "component:default/scratch",
    }
    api = entity(catalog, "component:default/payments-api")
    assert (api.description, api.owner_ref, api.location) == (
        "Takes the money",
        "group:default/team-payments",
        "github:acme/payments/catalog-info.yaml:1",
    )
    assert entity(catalog, "component:default/payments-worker").location == "github:acme/payments/catalog-info.yaml:11"
    assert rows(catalog, "gh")["component:default/payments-api"].precedence == 100

    ledger = entity(catalog, "component:default/ledger")
    assert ledger.owner_ref == "group:default/ledger-team"  # the first owner of the root rule
    assert (ledger.description, ledger.type, ledger.lifecycle) == ("Double-entry ledger", "service", "deprecated")
    assert ledger.tags == ["finance", "go"]
    assert ledger.annotations == {"github.com/project-slug": "acme/ledger"}
    assert ledger.links == [{"url": "https://github.com/acme/ledger", "title": "Repository", "icon": "github", "type": "repo"}]
    assert ledger.location == "github:acme/ledger"
    assert rows(catalog, "gh")["component:default/ledger"].precedence == 50

    web = entity(catalog, "component:default/web")
    assert (web.owner_ref, web.lifecycle, web.tags) == ("user:default/bob", "production", ["jupyter-notebook"])
    assert entity(catalog, "component:default/handbook").owner_ref is None  # no catalog User has that email
    assert entity(catalog, "component:default/scratch").owner_ref is None
    warnings = {str(p) for p in report.problems if p.severity == "warning"}
    assert "github:acme/scratch: warning: no CODEOWNERS file; the inferred component has no owner" in warnings
    assert any("docs@acme.example matches no catalog user" in w for w in warnings)
    assert report.requests == github.requests


def test_forks_and_archived_repositories_can_be_left_out(
    github: FakeGitHub, write_config: WriteConfig, make_catalog: MakeCatalog, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    github.add_repo("active")
    github.add_repo("old", archived=True)
    github.add_repo("forked", fork=True)
    catalog = make_catalog(write_config("sources:\n" + github_yaml(github.url, include_archived="false", include_forks="true")))
    assert sync(catalog).ok
    assert active_refs(catalog, "gh") == {"component:default/active", "component:default/forked"}


def test_codeowners_teams_and_users_map_to_annotated_catalog_entities(
    github: FakeGitHub, write_config: WriteConfig, make_catalog: MakeCatalog, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    people = tmp_path / "people"
    people.mkdir()
    (people / "org.yaml").write_text(
        "apiVersion: backstage.io/v1alpha1\nkind: Group\nmetadata:\n  name: payments-team\n  annotations:\n"
        "    github.com/team-slug: acme/pay-devs\nspec:\n  type: team\n  children: []\n---\n"
        "apiVersion: backstage.io/v1alpha1\nkind: User\nmetadata:\n  name: alice-smith\n  annotations:\n"
        "    github.com/user-login: alice\nspec:\n  memberOf: [payments-team]\n---\n"
        "apiVersion: backstage.io/v1alpha1\nkind: User\nmetadata:\n  name: carol\nspec:\n"
        "  profile:\n    email: carol@acme.example\n  memberOf: []\n",
        encoding="utf-8",
    )
    config = write_config(f"sources:\n  - name: people\n    type: backstage\n    path: {people}\n" + github_yaml(github.url))
    github.add_repo("checkout", files={".github/CODEOWNERS": "* @acme/pay-devs\n"})
    github.add_repo("search", files={".github/CODEOWNERS": "* @acme/search-team\n"})
    github.add_repo("notes", files={".github/CODEOWNERS": "* @Alice\n"})
    github.add_repo("infra", files={".github/CODEOWNERS": "* @dave\n"})
    github.add_repo("blog", files={".github/CODEOWNERS": "* Carol@acme.example\n"})
    catalog = make_catalog(config)
    assert all(r.ok for r in catalog.sync())

    owners = {name: entity(catalog, f"component:default/{name}").owner_ref for name in ("checkout", "search", "notes", "infra", "blog")}
    assert owners == {
        "checkout": "group:default/payments-team",  # annotated Group
        "search": "group:default/search-team",  # the default rule: the team slug
        "notes": "user:default/alice-smith",  # annotated User (logins are case-insensitive)
        "infra": "user:default/dave",
        "blog": "user:default/carol",  # by profile email
    }


def test_teams_of_another_organisation_own_nothing(github: FakeGitHub, catalog: Catalog) -> None:
    """Why: `@otherorg/platform` cannot own acme's repositories, and its slug alone would name acme's
    own, unrelated `platform` Group."""
    github.add_repo("shared-lib", files={"CODEOWNERS": "* @otherorg/platform\n"})
    github.add_repo("mixed", files={"CODEOWNERS": "* @OtherOrg/platform @ACME/payments\n"})  # org names ignore case

    report = sync(catalog)

    assert entity(catalog, "component:default/shared-lib").owner_ref is None
    assert entity(catalog, "component:default/mixed").owner_ref == "group:default/payments"
    foreign = sorted(str(p) for p in report.problems if "another organisation" in p.message)
    assert foreign == [
        "github:acme/mixed/CODEOWNERS: warning: owner @OtherOrg/platform is a team of another organisation than acme; it owns nothing here",
        "github:acme/shared-lib/CODEOWNERS: warning: owner @otherorg/platform is a team of another organisation than acme; it owns nothing here",
    ]


def test_a_descriptor_beats_the_inferred_component_field_by_field(
    github: FakeGitHub, write_config: WriteConfig, make_catalog: MakeCatalog, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    written = tmp_path / "written"
    written.mkdir()
    (written / "billing.yaml").write_text(component("billing", owner="team-billing"), encoding="utf-8")
    config = write_config(f"sources:\n  - name: handwritten\n    type: backstage\n    path: {written}\n" + github_yaml(github.url))
    github.add_repo("billing", description="Sends the invoices", topics=["invoices"], files={"CODEOWNERS": "* @acme/someone-else\n"})
    # Inside one org too: a descriptor in a platform repository describes the `auth` repository.
    github.add_repo("auth", description="Sign-in", files={"CODEOWNERS": "* @acme/guessed\n"})
    github.add_repo("platform", files={"catalog-info.yaml": component("auth", owner="team-identity")})
    catalog = make_catalog(config)
    assert all(r.ok for r in catalog.sync())

    billing = entity(catalog, "component:default/billing")
    assert billing.owner_ref == "group:default/team-billing"
    assert billing.field_sources["owner_ref"] == "handwritten"
    assert billing.field_sources["lifecycle"] == "handwritten"
    assert billing.description == "Sends the invoices"  # the descriptor has none: the repository fills it
    assert billing.field_sources["description"] == "gh"
    assert billing.tags == ["invoices"]
    assert billing.links[0]["url"] == "https://github.com/acme/billing"

    auth = entity(catalog, "component:default/auth")
    assert (auth.owner_ref, auth.location, auth.description) == (
        "group:default/team-identity",
        "github:acme/platform/catalog-info.yaml:1",
        None,
    )


def test_locations_in_a_repository_are_followed_within_it(github: FakeGitHub, catalog: Catalog) -> None:
    location = (
        "apiVersion: backstage.io/v1alpha1\nkind: Location\nmetadata:\n  name: mono\nspec:\n"
        "  targets:\n    - ./services/api.yaml\n    - ../elsewhere/x.yaml\n    - https://example.com/x.yaml\n    - ./missing.yaml\n"
    )
    github.add_repo("mono", files={"catalog-info.yaml": location, "services/api.yaml": component("mono-api")})
    report = sync(catalog)
    assert report.ok
    assert active_refs(catalog, "gh") == {"location:default/mono", "component:default/mono-api"}
    assert entity(catalog, "component:default/mono-api").location == "github:acme/mono/services/api.yaml:1"
    messages = sorted(p.message for p in report.problems)
    assert "location target missing.yaml does not exist in acme/mono" in messages
    assert "target ../elsewhere/x.yaml is not a file in acme/mono; not followed" in messages
    assert "target https://example.com/x.yaml is not a file in acme/mono; not followed" in messages


def test_url_locations_resolve_relative_targets_against_their_file_as_backstage_does(github: FakeGitHub, catalog: Catalog) -> None:
    """Why: `type: url` (or no type: a repository's file is read from a URL) with `./services/api.yaml`
    is how Backstage repositories lay out their descriptors; skipping it lost their entities silently."""

    def location(name: str, spec: str) -> str:
        return f"apiVersion: backstage.io/v1alpha1\nkind: Location\nmetadata:\n  name: {name}\nspec:\n{spec}"

    locations = [
        location("by-url", "  type: url\n  targets: [./services/api.yaml]\n"),
        location("untyped", "  target: services/worker.yaml\n"),
        location("glob", "  type: url\n  targets: ['./more/*.yaml']\n"),
        location("discovery", "  type: github-discovery\n  target: ./services/other.yaml\n"),
    ]
    github.add_repo(
        "payments",
        files={
            "catalog-info.yaml": "---\n".join(locations),
            "services/api.yaml": location("nested", "  type: url\n  target: ../docs/api.yaml\n"),
            "services/worker.yaml": component("payments-worker"),
            "docs/api.yaml": component("payments-api"),
            "more/x.yaml": component("payments-x"),
        },
    )
    report = sync(catalog)

    assert active_refs(catalog, "gh") >= {"component:default/payments-api", "component:default/payments-worker"}
    assert "component:default/payments-x" not in active_refs(catalog, "gh")
    assert entity(catalog, "component:default/payments-api").location == "github:acme/payments/docs/api.yaml:1"
    problems = {(p.severity, p.file, p.message) for p in report.problems if "target" in p.message}
    assert problems == {
        (
            "error",
            "github:acme/payments/catalog-info.yaml:16",
            "target ./more/*.yaml is a glob, which the GitHub source cannot expand; name each file as a target",
        ),
        ("warning", "github:acme/payments/catalog-info.yaml:24", "target ./services/other.yaml is not a file in acme/payments; not followed"),
    }


def test_a_removed_repository_is_retired_after_a_complete_listing(github: FakeGitHub, catalog: Catalog) -> None:
    small_org(github, 4)
    assert sync(catalog).ok
    github.remove_repo("repo-00")
    report = sync(catalog)
    assert (report.ok, report.removed) == (True, 1)
    assert "component:default/repo-00" not in active_refs(catalog, "gh")


# -- paging, conditional requests, rate limits -------------------------------------------------


def test_listing_follows_link_next_over_several_pages(github: FakeGitHub, catalog: Catalog) -> None:
    small_org(github, 12)
    report = sync(catalog, page_size=5)
    assert report.ok and report.added == 12
    pages = [r for r in github.log if listing(r)]
    assert [r.path for r in pages] == ["/orgs/acme/repos", "/organizations/4242/repos", "/organizations/4242/repos"]
    assert [r.param("page") for r in pages] == [None, "2", "3"]  # the server's next URLs, never our own


def test_unchanged_org_costs_one_conditional_request_per_page(github: FakeGitHub, catalog: Catalog) -> None:
    small_org(github, 12, pushed_at=OLD)
    first = sync(catalog, page_size=5)
    assert first.ok and first.added == 12
    assert first.requests == 3 + 6 + 6 * 2  # pages, descriptors, and a 404 before each CODEOWNERS
    before, remaining = state(catalog), github.rate_limit_remaining

    again = sync(catalog, page_size=5)
    assert (again.ok, again.added, again.updated, again.removed, again.unchanged) == (True, 0, 0, 0, 12)
    assert again.requests == 3
    assert all(r.headers.get("if-none-match") for r in github.log[-3:])
    assert github.rate_limit_remaining == remaining  # 304s are free
    assert state(catalog) == before


def test_a_pushed_repository_is_read_again_conditionally(github: FakeGitHub, catalog: Catalog) -> None:
    small_org(github, 4, pushed_at=OLD)
    assert sync(catalog).ok
    remaining = github.rate_limit_remaining
    # A push (now, after the last read) that changed only the description.
    github.add_repo("repo-00", description="Renamed", files={".github/CODEOWNERS": "* @acme/platform\n"})
    report = sync(catalog)
    assert (report.ok, report.updated, report.unchanged) == (True, 1, 3)
    assert entity(catalog, "component:default/repo-00").description == "Renamed"
    reads = [r for r in github.log[-3:] if "/contents/" in r.path]
    assert [(r.path, bool(r.headers.get("if-none-match"))) for r in reads] == [
        ("/repos/acme/repo-00/contents/catalog-info.yaml", False),  # absent: a 404 has no ETag
        ("/repos/acme/repo-00/contents/.github/CODEOWNERS", True),
    ]
    assert github.rate_limit_remaining == remaining - 2  # the page and the 404; the CODEOWNERS 304 is free


def test_a_changed_descriptor_is_picked_up(github: FakeGitHub, catalog: Catalog) -> None:
    small_org(github, 4, pushed_at=OLD)
    assert sync(catalog).ok
    github.set_file("repo-01", "catalog-info.yaml", component("svc-01", owner="team-new"))
    report = sync(catalog)
    assert (report.ok, report.updated) == (True, 1)
    assert entity(catalog, "component:default/svc-01").owner_ref == "group:default/team-new"


def test_429_with_retry_after_waits_then_succeeds(github: FakeGitHub, catalog: Catalog) -> None:
    small_org(github, 4)
    github.fail(listing, status=429, headers={"retry-after": "7"}, times=1)
    github.fail("/contents/", status=429, headers={"retry-after": "3"}, times=1)
    waits: list[float] = []
    report = sync(catalog, waits=waits)
    assert report.ok and report.added == 4
    assert waits == [7.0, 3.0]


def test_secondary_rate_limit_without_headers_waits_a_minute(github: FakeGitHub, catalog: Catalog) -> None:
    small_org(github, 2)
    github.fail(listing, status=403, times=1)  # GitHub's "exceeded a secondary rate limit" message
    waits: list[float] = []
    assert sync(catalog, waits=waits).ok
    assert waits == [60.0]


def test_spent_primary_limit_waits_for_the_reset_when_it_is_near(github: FakeGitHub, catalog: Catalog) -> None:
    small_org(github, 2)
    github.rate_limit_remaining = 0
    waits: list[float] = []

    def sleep(seconds: float) -> None:  # time passes: the limit resets
        waits.append(seconds)
        github.rate_limit_remaining = github.rate_limit

    cfg = catalog.config.source("gh")
    assert isinstance(cfg, GitHubSourceConfig)
    source = GitHubSource(cfg, catalog.factory, sleep=sleep, clock=lambda: github.rate_limit_reset - 30.0)
    report = sync_source(catalog.factory, source)
    assert report.ok and report.added == 2
    assert waits == [31.0]


def test_plain_403_is_not_retried_and_keeps_that_repositorys_entities(github: FakeGitHub, catalog: Catalog) -> None:
    small_org(github, 4)
    assert sync(catalog).ok
    before = state(catalog)
    github.add_repo("repo-01", files={"catalog-info.yaml": component("svc-01", description="changed")})
    forbidden = {"message": "Resource not accessible by integration", "documentation_url": "https://docs.github.com/rest", "status": "403"}
    github.fail("/repos/acme/repo-01/contents/", status=403, body=forbidden, times=None)
    waits: list[float] = []
    report = sync(catalog, waits=waits)
    assert report.ok and waits == []
    assert any(p.file == "github:acme/repo-01" and "Resource not accessible by integration" in p.message for p in report.problems)
    assert state(catalog) == before


# -- failures never lose data ------------------------------------------------------------------


def _five_pages(github: FakeGitHub) -> None:
    small_org(github, 10)


def _changed_file_fails(github: FakeGitHub, status: int) -> None:
    github.set_file("repo-03", "catalog-info.yaml", component("svc-03", description="changed"))
    github.fail("/contents/", status=status, times=None)


FAULTS: dict[str, Callable[[FakeGitHub], None]] = {
    "500s on the listing": lambda gh: gh.fail(listing, status=500, times=None),
    "listing timeout": lambda gh: gh.delay(listing, 1.5, times=3),
    "500s on page 3 of 5": lambda gh: gh.fail(listing, status=500, times=None, query={"page": "3"}),
    "page 3 of 5 missing": lambda gh: gh.fail(listing, status=404, times=None, query={"page": "3"}),
    "malformed JSON on page 2": lambda gh: gh.fail(listing, status=200, body='[{"name": "repo-02", ', times=None, query={"page": "2"}),
    "a page that is not a repository list": lambda gh: gh.fail(listing, status=200, body={"message": "?"}, times=None, query={"page": "2"}),
    "401 bad credentials": lambda gh: gh.fail(listing, status=401, times=None),
    "primary limit spent until a distant reset": lambda gh: setattr(gh, "rate_limit_remaining", 0),
    "500s reading a changed file": lambda gh: _changed_file_fails(gh, 500),
    "401 reading a changed file": lambda gh: _changed_file_fails(gh, 401),
}


@pytest.mark.parametrize("fault", FAULTS)
def test_a_failing_sync_loses_nothing(github: FakeGitHub, catalog: Catalog, fault: str) -> None:
    _five_pages(github)
    first = sync(catalog, page_size=2)
    assert first.ok and first.added == 10
    before = state(catalog)

    github.remove_repo("repo-09")  # would be retired by a complete listing
    FAULTS[fault](github)
    report = sync(catalog, page_size=2)

    assert report.status == "failed", report
    assert state(catalog) == before  # nothing retired, nothing blanked
    freshness = entity(catalog, "component:default/repo-00").freshness["gh"]
    assert freshness.stale and freshness.last_error == report.error
    assert TOKEN not in (report.error or "")


def test_a_broken_descriptor_is_reported_and_the_rest_still_lands(github: FakeGitHub, catalog: Catalog) -> None:
    small_org(github, 4)
    github.add_repo("payments", files={"catalog-info.yaml": component("payments-api") + "---\n" + component("payments-worker")})
    assert sync(catalog).ok
    before = state(catalog)

    broken = (
        component("payments-api", description="Now with refunds")
        + "---\n"
        + component("payments-worker").replace("  type: service", "  type: [service")
    )
    github.set_file("payments", "catalog-info.yaml", broken)
    github.set_file("repo-00", ".github/CODEOWNERS", "* @acme/new-owners\n")
    github.add_repo(
        "fresh", files={"catalog-info.yaml": "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: Not Valid!\n"}
    )
    report = sync(catalog)

    assert report.ok, report.error
    errors = [p for p in report.problems if p.severity == "error"]
    assert [(p.file, p.line) for p in errors] == [
        ("github:acme/payments/catalog-info.yaml", 17),
        ("github:acme/fresh/catalog-info.yaml", 1),
    ]
    assert "invalid YAML" in errors[0].message and "invalid metadata.name" in errors[1].message
    assert entity(catalog, "component:default/payments-api").description == "Now with refunds"  # the good document lands
    assert state(catalog)["component:default/payments-worker"] == before["component:default/payments-worker"]  # the broken one stays
    assert entity(catalog, "component:default/repo-00").owner_ref == "group:default/new-owners"  # other repositories land
    assert "component:default/fresh" not in active_refs(catalog)

    github.set_file("payments", "catalog-info.yaml", component("payments-api", description="Now with refunds"))
    fixed = sync(catalog)
    assert (fixed.ok, fixed.removed) == (True, 1)  # once readable, what the file no longer says retires
    assert "component:default/payments-worker" not in active_refs(catalog, "gh")
