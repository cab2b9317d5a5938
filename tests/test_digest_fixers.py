"""Who fixed what: a GitHub push's commit author is named next to the rule it fixed in the weekly digest.

Why: "payments-api rose to Silver" thanks nobody; the digest should say who did it, and only when a
source really knows (a push's commits name the author of each changed file). A change the source
cannot attribute (a scheduled full sync, a file without history) names nobody: no guessing.
End to end over real HTTP: the fake GitHub, the push webhook's resync, the evaluation, the digest's Block Kit.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import pytest

from bot.slack.views.digest import render_team_digest
from catalog.config import Config
from catalog.core import Catalog
from catalog.scorecards.service import Scorecards
from catalog.sync.sources.github import commit_authors
from catalog.sync.webhooks import handle_github_push, resync_queued
from tests.fakes.github_api import FakeGitHub, webhook_signature
from tests.github_world import TOKEN, github_yaml, sync
from tests.test_github_webhook import push

SECRET = "whsec-fixers"
TEAM = "group:default/team-payments"
NOW = datetime.now(UTC)
WEEK_AGO = NOW - timedelta(days=8)  # before the syncs below, which stamp entities with the real clock
LATER = NOW + timedelta(hours=1)
SCORECARDS = """
scorecards:
  - id: readiness
    title: Readiness
    levels: [Bronze, Silver]
    applies_to: {kind: component}
    rules:
      - {id: has-owner, level: Bronze, check: {field: owner, op: exists}, fix: "Add spec.owner."}
      - {id: has-runbook, title: Runbook, level: Silver, check: {link_type: runbook, op: exists}, fix: "Add a runbook link."}
digests:
  timezone: UTC
"""
PEOPLE = """apiVersion: backstage.io/v1alpha1
kind: Group
metadata: {name: team-payments}
spec: {type: team, children: []}
---
apiVersion: backstage.io/v1alpha1
kind: User
metadata:
  name: ada
  annotations: {github.com/user-login: ada-gh, slack.com/user-id: U0ADA1234}
spec: {memberOf: [team-payments]}
"""


def service(name: str, *, runbook: bool = False) -> str:
    links = f"  links: [{{url: 'https://runbooks.example/{name}', type: runbook}}]\n" if runbook else ""
    return f"apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: {name}\n{links}spec:\n  type: service\n  lifecycle: production\n  owner: team-payments\n"


@pytest.fixture
def github() -> Iterator[FakeGitHub]:
    with FakeGitHub(org="acme", token=TOKEN) as fake:
        fake.add_repo("people", files={"catalog-info.yaml": PEOPLE})
        fake.add_repo("payments", files={"catalog-info.yaml": service("payments-api")})
        fake.add_repo("ledger", files={"catalog-info.yaml": service("ledger-api")})
        yield fake


@pytest.fixture
def catalog(github: FakeGitHub, write_config: Callable[[str], Config], make_catalog: Callable[[Config], Catalog], monkeypatch: pytest.MonkeyPatch) -> Catalog:
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    monkeypatch.setenv("GITHUB_WEBHOOK_SECRET", SECRET)
    catalog = make_catalog(write_config("sources:\n" + github_yaml(github.url, webhook_secret="${GITHUB_WEBHOOK_SECRET}") + SCORECARDS))
    assert sync(catalog).ok
    catalog.evaluate_scorecards(now=WEEK_AGO)
    return catalog


def deliver_push(catalog: Catalog, github: FakeGitHub, repo: str, commits: list[dict[str, object]]) -> None:
    body = json.loads(push(github, repo))
    body["commits"] = commits
    raw = json.dumps(body).encode()
    assert handle_github_push(catalog, raw, webhook_signature(SECRET, raw), "push", delivery=str(uuid.uuid4())).status == 202
    [report] = resync_queued(catalog, "gh")  # what the route runs after answering
    assert report.ok and report.updated == 1, report


def test_the_digest_names_who_fixed_a_rule_when_a_push_says_so(catalog: Catalog, github: FakeGitHub) -> None:
    # ada's push adds the runbook to payments-api; the ledger's runbook arrives by a scheduled sync, which knows no author.
    github.set_file("payments", "catalog-info.yaml", service("payments-api", runbook=True))
    deliver_push(catalog, github, "payments", [
        {"id": "a1", "author": {"name": "Ada", "email": "ada@example.com", "username": "ada-gh"}, "added": [], "modified": ["catalog-info.yaml"], "removed": []},
    ])  # fmt: skip
    github.set_file("ledger", "catalog-info.yaml", service("ledger-api", runbook=True))
    assert sync(catalog).ok
    catalog.evaluate_scorecards(now=LATER)

    digest = Scorecards(catalog).team_digest(TEAM, now=LATER)
    assert digest is not None
    rose = {m.name: m for m in digest.rose}
    assert (rose["payments-api"].from_level, rose["payments-api"].to_level, rose["payments-api"].fixed) == ("Bronze", "Silver", ["Runbook"])
    [fixer] = rose["payments-api"].fixed_by
    assert (fixer.rule, fixer.login, fixer.user_ref, fixer.slack_user_id) == ("Runbook", "ada-gh", "user:default/ada", "U0ADA1234")
    assert rose["ledger-api"].fixed == ["Runbook"] and rose["ledger-api"].fixed_by == []  # nobody is guessed

    _, blocks = render_team_digest(digest, public_url=None)
    text = json.dumps(blocks, ensure_ascii=False)
    assert "*payments-api* on Readiness: Bronze → Silver (fixed: Runbook by <@U0ADA1234>)" in text
    assert "*ledger-api* on Readiness: Bronze → Silver (fixed: Runbook)" in text


def test_a_fixer_the_catalog_does_not_know_is_shown_by_login(catalog: Catalog, github: FakeGitHub) -> None:
    github.set_file("payments", "catalog-info.yaml", service("payments-api", runbook=True))
    deliver_push(catalog, github, "payments", [{"id": "b1", "author": {"name": "Eve", "username": "eve-<b>"}, "modified": ["catalog-info.yaml"]}])
    catalog.evaluate_scorecards(now=LATER)
    digest = Scorecards(catalog).team_digest(TEAM, now=LATER)
    assert digest is not None
    _, blocks = render_team_digest(digest, public_url=None)
    assert "(fixed: Runbook by @eve-&lt;b&gt;)" in json.dumps(blocks, ensure_ascii=False)  # escaped, no mention


def test_commit_authors_name_the_last_author_of_each_file_and_nobody_unknown() -> None:
    commits = [
        {"author": {"username": "ada-gh"}, "added": ["catalog-info.yaml"], "modified": ["CODEOWNERS"]},
        {"author": {"username": "bob-gh"}, "modified": ["catalog-info.yaml"]},
        {"author": {"name": "no account"}, "modified": ["CODEOWNERS"]},  # GitHub matched no account: the last change is nobody's we know
        {"author": {"username": "cy-gh"}, "removed": ["docs/old.yaml"]},
    ]
    assert commit_authors(commits) == {"catalog-info.yaml": "github:bob-gh"}
