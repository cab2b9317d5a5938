"""The GitHub and PagerDuty fakes behave like the real APIs, checked with a plain httpx client.

Why: the sync-source tests and benchmarks trust these fakes; if a fake drifts from the vendor's
shapes or pagination, those tests would pass against behaviour production never sees.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from catalog.tls import tls_context
from tests.fakes.github_api import FakeGitHub, webhook_signature
from tests.fakes.http_fake import FakeServerError
from tests.fakes.pagerduty_api import FakePagerDuty

TIMEOUT = httpx.Timeout(5.0)
GH_TOKEN = "ghs_fake"
PD_TOKEN = "pd_fake"
PD_ACCEPT = "application/vnd.pagerduty+json;version=2"
CATALOG_INFO = (
    "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: payments-api\n"
    "  description: Takes the money\nspec:\n  type: service\n  owner: team-payments\n"
)


def _fixture(root: Path, name: str) -> Any:
    return json.loads((root / name).read_text())


@pytest.fixture
def github() -> Iterator[FakeGitHub]:
    with FakeGitHub(org="acme", token=GH_TOKEN) as fake:
        yield fake


@pytest.fixture
def gh_client(github: FakeGitHub) -> Iterator[httpx.Client]:
    headers = {
        "Authorization": f"Bearer {GH_TOKEN}",
        "Accept": "application/vnd.github+json",
    }
    with httpx.Client(base_url=github.url, headers=headers, timeout=TIMEOUT, verify=tls_context()) as client:
        yield client


@pytest.fixture
def pagerduty() -> Iterator[FakePagerDuty]:
    with FakePagerDuty(token=PD_TOKEN) as fake:
        yield fake


@pytest.fixture
def pd_client(pagerduty: FakePagerDuty) -> Iterator[httpx.Client]:
    headers = {"Authorization": f"Token token={PD_TOKEN}", "Accept": PD_ACCEPT}
    with httpx.Client(base_url=pagerduty.url, headers=headers, timeout=TIMEOUT, verify=tls_context()) as client:
        yield client


def _all_repo_names(client: httpx.Client, url: str) -> tuple[list[str], list[httpx.Response]]:
    names: list[str] = []
    responses = []
    next_url: str | None = url
    while next_url:
        response = client.get(next_url)
        response.raise_for_status()
        responses.append(response)
        names += [repo["name"] for repo in response.json()]
        next_url = response.links.get("next", {}).get("url")
    return names, responses


# -- GitHub ----------------------------------------------------------------------------------


def test_repo_listing_follows_link_next_across_three_pages(
    github: FakeGitHub, gh_client: httpx.Client
) -> None:
    expected = github.bulk_add_repos(7)

    names, responses = _all_repo_names(gh_client, "/orgs/acme/repos?per_page=3")

    assert names == expected
    assert len(responses) == 3
    first, middle, last = (response.links for response in responses)
    assert set(first) == {"next", "last"}
    assert set(middle) == {"prev", "next", "last", "first"}
    assert set(last) == {"prev", "first"}
    # Like GitHub, later pages live under /organizations/<id>/, not the URL the client built.
    assert (
        middle["next"]["url"]
        == f"{github.url}/organizations/{github.org_id}/repos?per_page=3&page=3"
    )
    assert middle["last"]["url"].endswith("page=3")


def test_repo_objects_carry_the_repos_facts(github: FakeGitHub, gh_client: httpx.Client) -> None:
    github.add_repo(
        "payments-api",
        description="Takes the money",
        topics=["payments"],
        language="Python",
        archived=True,
    )

    (repo,) = gh_client.get("/orgs/acme/repos").json()

    assert repo["full_name"] == "acme/payments-api"
    assert repo["owner"]["login"] == "acme"
    assert repo["owner"]["type"] == "Organization"
    assert (repo["description"], repo["topics"], repo["language"]) == (
        "Takes the money",
        ["payments"],
        "Python",
    )
    assert repo["archived"] is True
    assert repo["default_branch"] == "main"
    assert repo["html_url"] == "https://github.com/acme/payments-api"


def test_per_page_defaults_to_30_and_is_capped_at_100(
    github: FakeGitHub, gh_client: httpx.Client
) -> None:
    github.bulk_add_repos(150)

    assert len(gh_client.get("/orgs/acme/repos").json()) == 30
    capped = gh_client.get("/orgs/acme/repos", params={"per_page": 500})
    assert len(capped.json()) == 100
    assert capped.links["last"]["url"].endswith("per_page=500&page=2")


def test_contents_come_back_base64_wrapped_every_60_characters(
    github: FakeGitHub, gh_client: httpx.Client
) -> None:
    github.add_repo("payments-api", files={"catalog-info.yaml": CATALOG_INFO})

    response = gh_client.get(
        "/repos/acme/payments-api/contents/catalog-info.yaml", params={"ref": "main"}
    )

    body = response.json()
    assert (body["type"], body["encoding"], body["path"]) == (
        "file",
        "base64",
        "catalog-info.yaml",
    )
    lines = body["content"].split("\n")
    assert lines[-1] == ""
    assert all(len(line) <= 60 for line in lines) and len(lines[0]) == 60
    data = base64.b64decode("".join(lines))
    assert data.decode() == CATALOG_INFO
    assert body["size"] == len(data)
    assert body["sha"] == hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


@pytest.mark.parametrize(
    "accept", ["application/vnd.github.raw+json", "application/vnd.github.v3.raw"]
)
def test_contents_raw_media_types_return_the_text(
    github: FakeGitHub, gh_client: httpx.Client, accept: str
) -> None:
    github.add_repo("payments-api", files={".github/CODEOWNERS": "* @acme/payments\n"})

    response = gh_client.get(
        "/repos/acme/payments-api/contents/.github/CODEOWNERS",
        headers={"Accept": accept},
    )

    assert response.status_code == 200
    assert response.text == "* @acme/payments\n"
    assert response.headers["content-type"].startswith(accept)


def test_contents_directory_listing_and_404s(github: FakeGitHub, gh_client: httpx.Client) -> None:
    github.add_repo(
        "payments-api",
        files={".github/CODEOWNERS": "* @acme/payments\n", "README.md": "hi"},
    )
    root = gh_client.get("/repos/acme/payments-api/contents/").json()
    assert [(entry["type"], entry["path"]) for entry in root] == [
        ("dir", ".github"),
        ("file", "README.md"),
    ]

    missing = gh_client.get("/repos/acme/payments-api/contents/catalog-info.yaml")
    assert missing.status_code == 404
    assert missing.json()["message"] == "Not Found"
    assert gh_client.get("/repos/acme/nope/contents/README.md").status_code == 404
    wrong_ref = gh_client.get(
        "/repos/acme/payments-api/contents/README.md", params={"ref": "feature"}
    )
    assert wrong_ref.status_code == 404


def test_remove_file_and_repo(github: FakeGitHub, gh_client: httpx.Client) -> None:
    github.add_repo("payments-api", files={"catalog-info.yaml": CATALOG_INFO})
    github.add_repo("billing")

    github.remove_file("payments-api", "catalog-info.yaml")
    github.remove_repo("billing")

    assert gh_client.get("/repos/acme/payments-api/contents/catalog-info.yaml").status_code == 404
    assert [repo["name"] for repo in gh_client.get("/orgs/acme/repos").json()] == ["payments-api"]


def test_matching_etag_gets_304_without_spending_rate_limit(
    github: FakeGitHub, gh_client: httpx.Client
) -> None:
    github.add_repo("payments-api", files={"catalog-info.yaml": CATALOG_INFO})
    path = "/repos/acme/payments-api/contents/catalog-info.yaml"

    first = gh_client.get(path)
    etag = first.headers["etag"]
    assert etag.startswith('"') and etag.endswith('"')
    remaining = int(first.headers["x-ratelimit-remaining"])

    cached = gh_client.get(path, headers={"If-None-Match": etag})
    assert cached.status_code == 304
    assert cached.content == b""
    assert int(cached.headers["x-ratelimit-remaining"]) == remaining
    assert github.rate_limit_remaining == remaining

    github.set_file("payments-api", "catalog-info.yaml", CATALOG_INFO + "# changed\n")
    changed = gh_client.get(path, headers={"If-None-Match": etag})
    assert changed.status_code == 200
    assert changed.headers["etag"] != etag
    assert int(changed.headers["x-ratelimit-remaining"]) == remaining - 1


def test_rate_limit_headers_and_exhaustion(github: FakeGitHub, gh_client: httpx.Client) -> None:
    response = gh_client.get("/orgs/acme/repos")
    for name in ("limit", "remaining", "used", "reset", "resource"):
        assert f"x-ratelimit-{name}" in response.headers
    assert response.headers["x-ratelimit-used"] == "1"

    github.rate_limit_remaining = 0
    limited = gh_client.get("/orgs/acme/repos")
    assert limited.status_code == 403
    assert limited.headers["x-ratelimit-remaining"] == "0"
    assert "rate limit exceeded" in limited.json()["message"]


def test_injected_429_with_retry_after_then_recovers(
    github: FakeGitHub, gh_client: httpx.Client
) -> None:
    github.fail("/orgs/acme/repos", status=429, headers={"retry-after": "1"})

    throttled = gh_client.get("/orgs/acme/repos")
    assert throttled.status_code == 429
    assert throttled.headers["retry-after"] == "1"
    assert "x-ratelimit-remaining" in throttled.headers
    assert gh_client.get("/orgs/acme/repos").status_code == 200


def test_secondary_rate_limit_403_carries_githubs_message(
    github: FakeGitHub, gh_client: httpx.Client
) -> None:
    github.fail("/repos", status=403)

    response = gh_client.get("/orgs/acme/repos")

    assert response.status_code == 403
    assert response.json()["message"].startswith("You have exceeded a secondary rate limit")


def test_failure_on_page_3_of_5(github: FakeGitHub, gh_client: httpx.Client) -> None:
    github.bulk_add_repos(50)
    github.fail("/repos", status=500, query={"page": "3"})

    with pytest.raises(httpx.HTTPStatusError) as failed:
        _all_repo_names(gh_client, "/orgs/acme/repos?per_page=10")
    assert failed.value.response.status_code == 500
    assert github.count("/repos") == 3

    names, responses = _all_repo_names(gh_client, "/orgs/acme/repos?per_page=10")
    assert len(names) == 50 and len(responses) == 5


def test_malformed_json_body(github: FakeGitHub, gh_client: httpx.Client) -> None:
    github.fail("/orgs/acme/repos", status=200, body="{not json")

    response = gh_client.get("/orgs/acme/repos")

    assert response.status_code == 200
    with pytest.raises(json.JSONDecodeError):
        response.json()


def test_delay_provokes_a_client_timeout(github: FakeGitHub) -> None:
    github.delay("/orgs/acme/repos", 2.0, times=1)
    headers = {"Authorization": f"token {GH_TOKEN}"}

    with httpx.Client(base_url=github.url, headers=headers, timeout=0.2, verify=tls_context()) as client:
        with pytest.raises(httpx.ReadTimeout):
            client.get("/orgs/acme/repos")
        assert client.get("/orgs/acme/repos").status_code == 200


def test_bad_or_missing_token_gets_401(github: FakeGitHub) -> None:
    with httpx.Client(base_url=github.url, timeout=TIMEOUT, verify=tls_context()) as client:
        missing = client.get("/orgs/acme/repos")
        wrong = client.get("/orgs/acme/repos", headers={"Authorization": "Bearer nope"})
        legacy = client.get("/orgs/acme/repos", headers={"Authorization": f"token {GH_TOKEN}"})

    assert missing.status_code == wrong.status_code == 401
    assert missing.json()["message"] == "Bad credentials"
    assert legacy.status_code == 200


def test_request_log_records_method_path_query_and_headers(
    github: FakeGitHub, gh_client: httpx.Client
) -> None:
    gh_client.get(
        "/orgs/acme/repos",
        params={"per_page": 5},
        headers={"X-GitHub-Api-Version": "2022-11-28"},
    )

    (request,) = github.log
    assert (request.method, request.path) == ("GET", "/orgs/acme/repos")
    assert request.query == {"per_page": ["5"]}
    assert request.headers["x-github-api-version"] == "2022-11-28"
    assert github.requests == 1


def test_webhook_signature_matches_githubs_documented_example() -> None:
    # Test values from GitHub's "Validating webhook deliveries" documentation.
    signature = webhook_signature("It's a Secret to Everybody", b"Hello, World!")

    assert signature == "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"


# -- PagerDuty -------------------------------------------------------------------------------


def test_services_classic_pagination_over_several_pages(
    pagerduty: FakePagerDuty, pd_client: httpx.Client
) -> None:
    pagerduty.add_escalation_policy("PEP0001", "Payments")
    expected = pagerduty.bulk_add_services(60, escalation_policy_id="PEP0001")

    ids: list[str] = []
    pages = []
    offset = 0
    while True:
        page = pd_client.get("/services", params={"offset": offset}).json()
        pages.append(page)
        ids += [service["id"] for service in page["services"]]
        if not page["more"]:
            break
        offset += page["limit"]

    assert ids == expected
    assert [(page["offset"], page["limit"], page["more"]) for page in pages] == [
        (0, 25, True),
        (25, 25, True),
        (50, 25, False),
    ]
    assert all(page["total"] is None for page in pages)
    counted = pd_client.get("/services", params={"limit": 100, "total": "true"}).json()
    assert (counted["total"], counted["more"], len(counted["services"])) == (
        60,
        False,
        60,
    )


def _payments_on_pagerduty(pagerduty: FakePagerDuty) -> None:
    pagerduty.add_team("PTEAM01", "Payments", description="Money people")
    pagerduty.add_user("PUSER01", "Ann Lee", "ann@example.com", team_ids=["PTEAM01"])
    pagerduty.add_schedule("PSCHED1", "Payments primary", user_ids=["PUSER01"])
    pagerduty.add_escalation_policy(
        "PEP0001", "Payments", [["PSCHED1"], ["PUSER01"]], team_ids=["PTEAM01"]
    )
    pagerduty.add_service(
        "PSVC001", "payments-api", escalation_policy_id="PEP0001", team_ids=["PTEAM01"]
    )


def test_objects_reference_each_other(pagerduty: FakePagerDuty, pd_client: httpx.Client) -> None:
    _payments_on_pagerduty(pagerduty)

    (policy,) = pd_client.get("/escalation_policies").json()["escalation_policies"]
    targets = [(t["type"], t["id"]) for rule in policy["escalation_rules"] for t in rule["targets"]]
    assert targets == [("schedule_reference", "PSCHED1"), ("user_reference", "PUSER01")]
    assert [service["id"] for service in policy["services"]] == ["PSVC001"]
    (schedule,) = pd_client.get("/schedules").json()["schedules"]
    assert [ref["id"] for ref in schedule["escalation_policies"]] == ["PEP0001"]
    (service,) = pd_client.get("/services").json()["services"]
    assert service["escalation_policy"]["summary"] == "Payments"
    assert service["teams"][0] == {
        "id": "PTEAM01",
        "type": "team_reference",
        "summary": "Payments",
        "self": f"{pagerduty.url}/teams/PTEAM01",
        "html_url": "https://acme.pagerduty.com/teams/PTEAM01",
    }


def test_get_one_service_and_404(pagerduty: FakePagerDuty, pd_client: httpx.Client) -> None:
    pagerduty.add_service(
        "PSVC001",
        "payments-api",
        escalation_policy_id="PEP0001",
        description="Takes money",
    )

    service = pd_client.get("/services/PSVC001").json()["service"]
    missing = pd_client.get("/services/PNOPE00")

    assert (service["id"], service["name"], service["description"]) == (
        "PSVC001",
        "payments-api",
        "Takes money",
    )
    assert missing.status_code == 404
    assert missing.json() == {"error": {"message": "Not Found", "code": 2100}}

    pagerduty.remove_service("PSVC001")
    assert pd_client.get("/services/PSVC001").status_code == 404


def test_oncalls_include_users_filters_and_earliest(
    pagerduty: FakePagerDuty, pd_client: httpx.Client
) -> None:
    now = datetime.now(UTC)
    pagerduty.add_user("PUSER01", "Ann Lee", "ann@example.com")
    pagerduty.add_user("PUSER02", "Bo Chen", "bo@example.com")
    pagerduty.add_schedule("PSCHED1", "Payments primary")
    pagerduty.add_oncall(
        "PUSER01",
        "PEP0001",
        "PSCHED1",
        1,
        now - timedelta(hours=1),
        now + timedelta(hours=1),
    )
    pagerduty.add_oncall(
        "PUSER01",
        "PEP0001",
        "PSCHED1",
        1,
        now - timedelta(hours=2),
        now + timedelta(hours=2),
    )
    pagerduty.add_oncall("PUSER02", "PEP0001", None, 2)  # permanent, no schedule
    pagerduty.add_oncall(
        "PUSER02",
        "PEP0002",
        "PSCHED1",
        1,
        now + timedelta(days=1),
        now + timedelta(days=2),
    )

    plain = pd_client.get("/oncalls").json()["oncalls"]
    assert len(plain) == 3  # the future shift is not on call now
    assert plain[0]["user"]["type"] == "user_reference" and "email" not in plain[0]["user"]
    assert (plain[2]["schedule"], plain[2]["start"], plain[2]["end"]) == (
        None,
        None,
        None,
    )

    params = {
        "include[]": "users",
        "escalation_policy_ids[]": "PEP0001",
        "earliest": "true",
    }
    earliest = pd_client.get("/oncalls", params=params).json()["oncalls"]
    assert [(o["user"]["email"], o["escalation_level"]) for o in earliest] == [
        ("ann@example.com", 1),
        ("bo@example.com", 2),
    ]
    assert earliest[0]["user"]["type"] == "user"
    assert earliest[0]["start"] == (now - timedelta(hours=2)).isoformat(timespec="seconds").replace(
        "+00:00", "Z"
    )
    assert (
        pd_client.get("/oncalls", params={"escalation_policy_ids[]": "PEP0002"}).json()["oncalls"]
        == []
    )


def test_pagerduty_auth_and_api_version(pagerduty: FakePagerDuty) -> None:
    with httpx.Client(base_url=pagerduty.url, timeout=TIMEOUT, verify=tls_context()) as client:
        missing = client.get("/services")
        wrong = client.get("/services", headers={"Authorization": "Token token=nope"})
        bearer = client.get("/services", headers={"Authorization": f"Bearer {PD_TOKEN}"})
        old_version = client.get(
            "/services",
            headers={
                "Authorization": f"Token token={PD_TOKEN}",
                "Accept": "application/vnd.pagerduty+json;version=1",
            },
        )

    assert missing.status_code == wrong.status_code == 401
    assert missing.json()["error"]["message"] == "Unauthorized"
    assert bearer.status_code == 200
    assert old_version.status_code == 406


def test_pagerduty_rate_limit_and_injected_429(
    pagerduty: FakePagerDuty, pd_client: httpx.Client
) -> None:
    ok = pd_client.get("/teams")
    assert (ok.headers["ratelimit-limit"], ok.headers["ratelimit-remaining"]) == (
        "960",
        "959",
    )
    assert "ratelimit-reset" in ok.headers

    pagerduty.fail("/teams", status=429, headers={"Retry-After": "1", "ratelimit-reset": "1"})
    throttled = pd_client.get("/teams")
    assert throttled.status_code == 429
    assert (throttled.headers["retry-after"], throttled.headers["ratelimit-reset"]) == (
        "1",
        "1",
    )
    assert throttled.json() == {"error": {"message": "Rate Limit Exceeded", "code": 2020}}

    pagerduty.rate_limit_remaining = 0
    limited = pd_client.get("/teams")
    assert limited.status_code == 429
    assert limited.headers["ratelimit-remaining"] == "0"


def test_pagerduty_failure_at_an_offset_and_malformed_json(
    pagerduty: FakePagerDuty, pd_client: httpx.Client
) -> None:
    pagerduty.bulk_add_services(80, escalation_policy_id="PEP0001")
    pagerduty.fail("/services", status=500, query={"offset": "50"})
    pagerduty.fail("/services", status=200, body="{not json", query={"offset": "75"})

    assert pd_client.get("/services", params={"offset": 25}).status_code == 200
    failed = pd_client.get("/services", params={"offset": 50})
    assert failed.status_code == 500
    assert failed.json()["error"]["code"] == 2000
    assert pd_client.get("/services", params={"offset": 50}).status_code == 200
    with pytest.raises(json.JSONDecodeError):
        pd_client.get("/services", params={"offset": 75}).json()


def test_pagerduty_delay_and_offset_cap(pagerduty: FakePagerDuty, pd_client: httpx.Client) -> None:
    pagerduty.delay("/oncalls", 2.0, times=1)
    with pytest.raises(httpx.ReadTimeout):
        pd_client.get("/oncalls", timeout=0.2)
    assert pd_client.get("/oncalls").status_code == 200

    too_deep = pd_client.get("/services", params={"offset": 9950, "limit": 100})
    assert too_deep.status_code == 400
    assert too_deep.json()["error"]["code"] == 2001
    assert pd_client.get("/services", params={"limit": 1000}).json()["limit"] == 100


# -- conformance: the fakes' objects have exactly the fields of the vendors' own examples ------


def test_github_objects_have_the_fields_of_githubs_examples(
    third_party: Path, github: FakeGitHub, gh_client: httpx.Client
) -> None:
    examples = third_party / "github"
    github.add_repo("payments-api", files={"catalog-info.yaml": CATALOG_INFO, "docs/a.md": "a"})

    (repo,) = gh_client.get("/orgs/acme/repos").json()
    file = gh_client.get("/repos/acme/payments-api/contents/catalog-info.yaml").json()
    entries = gh_client.get("/repos/acme/payments-api/contents/").json()

    example = _fixture(examples, "rest-list-org-repos.example.json")[0]
    assert list(repo) == list(example)
    assert list(repo["owner"]) == list(example["owner"])
    assert list(file) == list(_fixture(examples, "rest-get-content-file.example.json"))
    entry_keys = list(_fixture(examples, "rest-get-content-directory.example.json")[0])
    assert [list(entry) for entry in entries] == [entry_keys, entry_keys]


def test_pagerduty_objects_have_the_fields_of_pagerdutys_examples(
    third_party: Path, pagerduty: FakePagerDuty, pd_client: httpx.Client
) -> None:
    examples = third_party / "pagerduty"
    _payments_on_pagerduty(pagerduty)
    pagerduty.add_oncall("PUSER01", "PEP0001", "PSCHED1", 1)

    for endpoint, fixture in [
        ("services", "rest-v2-list-services.json"),
        ("teams", "rest-v2-list-teams.json"),
        ("users", "rest-v2-list-users.json"),
        ("escalation_policies", "rest-v2-list-escalation-policies.json"),
        ("schedules", "rest-v2-list-schedules.json"),
        ("oncalls", "rest-v2-list-oncalls.json"),
    ]:
        example = _fixture(examples, fixture)
        body = pd_client.get(f"/{endpoint}").json()
        assert list(body) == list(example)
        (item,) = body[endpoint]
        example_keys = list(example[endpoint][0])
        if endpoint == "services":  # real services carry a description; the example omits it
            example_keys.insert(example_keys.index("name") + 1, "description")
        assert list(item) == example_keys, endpoint
    single = pd_client.get("/services/PSVC001").json()
    example = _fixture(examples, "rest-v2-get-service.json")
    example_keys = list(example["service"])
    example_keys.insert(example_keys.index("name") + 1, "description")
    assert (list(single), list(single["service"])) == (list(example), example_keys)


def test_a_failing_fake_names_its_error_instead_of_passing_for_a_vendor_outage(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """E.g. a template file that is missing: the request fails, and stopping the fake says why."""
    from tests.fakes import github_api

    monkeypatch.setattr(github_api, "_TEMPLATES", tmp_path / "nowhere")
    github_api._template.cache_clear()
    github = FakeGitHub(org="acme").start()
    github.add_repo("payments-api")
    try:
        response = httpx.get(f"{github.url}/orgs/acme/repos", timeout=TIMEOUT, verify=tls_context())
    finally:
        with pytest.raises(FakeServerError, match=r"FakeGitHub failed answering 1 request.*nowhere/repository\.json"):
            github.stop()
        github_api._template.cache_clear()
    assert response.status_code == 500
    assert "repository.json" in response.json()["message"]
