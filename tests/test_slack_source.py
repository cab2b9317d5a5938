"""The Slack source: Slack user groups and user ids land on the catalog's Groups and Users.

Why: "ping the payments team" and "is this person on my team?" need Slack ids, which no
descriptor author wants to maintain by hand. The source must add them without overriding what
people wrote, keep the bot's identity cache fresh, and lose nothing when Slack says no.
Every test talks real HTTP to the local fake Slack Web API.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from catalog.adoption.report import headlines
from catalog.adoption.service import Adoption
from catalog.config import AdoptionConfig, load_config
from catalog.core import Catalog
from catalog.store.models import ChatIdentity
from catalog.store.reads import get_entity
from catalog.sync.engine import SyncReport, sync_source
from catalog.sync.sources.slack_groups import USER_ID, USERGROUP_HANDLE, USERGROUP_ID, SlackSource
from tests.conftest import EXAMPLES
from tests.fakes.slack_api import FakeSlackAPI

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def fake() -> Iterator[FakeSlackAPI]:
    with FakeSlackAPI() as server:
        _seed(server)
        yield server


def _seed(fake: FakeSlackAPI) -> None:
    """User groups matched by each rule, and users matched (or not) by email."""
    fake.add_usergroup("S04STF7R0NT", "storefront-renamed", "Storefront", ["U001"])  # by id annotation
    fake.add_usergroup("S06N0T1FY", "notifications-team", "Notifications", ["U002"])  # by handle annotation
    fake.add_usergroup("S07SEARCH", "search", "Search squad", [])  # handle == group name
    fake.add_usergroup("S08MERCH", "merch", "Merchandising", [])  # slug of its name == group name
    fake.add_usergroup("S09FANS", "coffee-fans", "Coffee fans", [])  # no catalog group
    fake.add_usergroup("S10LOYAL", "loyalty", "Loyalty", [])["date_delete"] = 1_700_000_000  # deleted in Slack
    fake.add_user("U001", "Ingrid.Halvorsen@northwind.example")  # email case differs
    fake.add_user("U002", "chen.wei@northwind.example")
    fake.add_user("U003", "contractor@elsewhere.example")  # in Slack, not in the catalog
    fake.add_user("U004", "sofia.petrova@northwind.example")["deleted"] = True
    fake.add_user("UBOT1", "bot@northwind.example", is_bot=True)
    for i in range(5):
        fake.add_user(f"U10{i}", f"guest{i}@elsewhere.example")


@pytest.fixture
def catalog(database_url: str, tmp_path: Path, fake: FakeSlackAPI) -> Iterator[Catalog]:
    """The example organisation plus a Slack source pointed at the fake, configured as users would."""
    path = tmp_path / "wayfinder.yaml"
    path.write_text(
        f"sources:\n  - name: northwind\n    type: backstage\n    path: {EXAMPLES / 'catalog'}\n"
        f"  - name: slack\n    type: slack\n    api_url: {fake.url}\n",
        encoding="utf-8",
    )
    made = Catalog(database_url, load_config(path), slack_token="xoxb-test")
    yield made
    made.dispose()


def _source(catalog: Catalog, fake: FakeSlackAPI, **kw: Any) -> SlackSource:
    return SlackSource("slack", api_url=fake.url, token="xoxb-test", factory=catalog.factory, **kw)


def _annotations(catalog: Catalog, ref: str) -> dict[str, str]:
    with catalog.session() as s:
        entity = get_entity(s, ref)
    assert entity is not None, ref
    return entity.annotations


def _identities(catalog: Catalog) -> dict[str, ChatIdentity]:
    with catalog.session() as s:
        return {i.slack_user_id: i for i in s.scalars(select(ChatIdentity))}


def _sync_all(catalog: Catalog) -> list[SyncReport]:
    reports = catalog.sync()
    assert all(r.ok for r in reports), [r.error for r in reports]
    return reports


def test_groups_and_users_get_their_slack_ids_without_overriding_descriptors(catalog: Catalog, fake: FakeSlackAPI) -> None:
    _, slack = _sync_all(catalog)

    assert _annotations(catalog, "group:default/storefront")[USERGROUP_HANDLE] == "storefront-team"  # the descriptor wins
    assert _annotations(catalog, "group:default/notifications")[USERGROUP_ID] == "S06N0T1FY"  # added where missing
    assert {k: v for k, v in _annotations(catalog, "group:default/search").items() if k.startswith("slack.com/usergroup")} == {
        USERGROUP_ID: "S07SEARCH",
        USERGROUP_HANDLE: "search",
    }
    assert _annotations(catalog, "group:default/merchandising")[USERGROUP_ID] == "S08MERCH"
    assert USERGROUP_ID not in _annotations(catalog, "group:default/loyalty")  # its Slack group was deleted
    assert _annotations(catalog, "user:default/ingrid.halvorsen")[USER_ID] == "U001"
    assert _annotations(catalog, "user:default/chen.wei")[USER_ID] == "U002"
    assert USER_ID not in _annotations(catalog, "user:default/sofia.petrova")  # deactivated in Slack
    with catalog.session() as s:
        search = get_entity(s, "group:default/search")
    assert search is not None and search.source == "northwind" and set(search.freshness) == {"northwind", "slack"}
    assert (slack.added, slack.requests) == (4 + 2, 2)  # groups + users matched; one usergroups.list, one users.list page
    assert fake.calls("usergroups.list")[0].params["include_users"] == "1"  # slack_sdk sends booleans as 1/0
    assert fake.calls("users.list")[0].token == "xoxb-test"


def test_identity_cache_is_refreshed_from_the_listing(catalog: Catalog, fake: FakeSlackAPI) -> None:
    catalog.sync(["northwind"])
    with catalog.session() as s:
        s.add(ChatIdentity(slack_user_id="U004", email="sofia.petrova@northwind.example", fetched_at=T0, expires_at=T0))
        s.add(ChatIdentity(slack_user_id="U002", email="old@northwind.example", fetched_at=T0, expires_at=T0))
    report = sync_source(catalog.factory, _source(catalog, fake, clock=lambda: T0 + timedelta(days=1)))
    assert report.ok, report.error

    ids = _identities(catalog)
    assert "U004" not in ids and "UBOT1" not in ids  # deactivated accounts are forgotten; bots never cached
    assert ids["U002"].email == "chen.wei@northwind.example" and ids["U002"].user_ref == "user:default/chen.wei"
    assert ids["U001"].email == "ingrid.halvorsen@northwind.example"
    assert ids["U003"].user_ref is None  # known to Slack, not to the catalog
    assert ids["U002"].expires_at == T0 + timedelta(days=2)


def test_users_list_is_paged_and_a_429_waits_its_retry_after(catalog: Catalog, fake: FakeSlackAPI) -> None:
    catalog.sync(["northwind"])
    fake.fail_next("users.list", 429, retry_after=7)
    waited: list[float] = []

    report = sync_source(catalog.factory, _source(catalog, fake, page_size=3, sleep=waited.append))

    assert report.ok, report.error
    assert waited == [7.0]
    pages = fake.calls("users.list")
    assert len(pages) == 1 + 4  # the rate-limited call, then 11 users in pages of 3
    assert [c.params.get("cursor") is None for c in pages] == [True, True, False, False, False]
    assert report.requests == 1 + len(pages)
    assert len(_identities(catalog)) == 8


@pytest.mark.parametrize(
    ("method", "status", "error", "expected"),
    [
        ("usergroups.list", 200, "invalid_auth", "invalid_auth"),
        ("users.list", 200, "missing_scope", "missing_scope"),
        ("users.list", 429, None, "HTTP 429"),
    ],
)
def test_a_slack_error_loses_nothing(
    catalog: Catalog, fake: FakeSlackAPI, method: str, status: int, error: str | None, expected: str
) -> None:
    _sync_all(catalog)
    before = _identities(catalog)
    fake.fail_next(method, status, error=error, retry_after=0, times=10)

    report = sync_source(catalog.factory, _source(catalog, fake, sleep=lambda _: None))

    assert report.status == "failed" and expected in (report.error or "")
    assert _annotations(catalog, "group:default/search")[USERGROUP_ID] == "S07SEARCH"
    assert _annotations(catalog, "user:default/chen.wei")[USER_ID] == "U002"
    assert {k: v.fetched_at for k, v in _identities(catalog).items()} == {k: v.fetched_at for k, v in before.items()}
    with catalog.session() as s:
        search = get_entity(s, "group:default/search")
    assert search is not None and search.freshness["slack"].stale


def test_without_a_token_the_source_fails_and_says_how_to_fix_it(catalog: Catalog, fake: FakeSlackAPI) -> None:
    source = SlackSource("slack", api_url=fake.url, token=None, factory=catalog.factory)
    report = sync_source(catalog.factory, source)
    assert report.status == "failed" and "SLACK_BOT_TOKEN" in (report.error or "")
    assert fake.calls() == []



@pytest.mark.parametrize(
    ("options", "engineers", "basis"),
    [
        ("", 5, "slack members"),  # U001-U003, U100-U101; not the deleted, bots, apps, Slackbot or guests
        ("    count_guests: true\n", 8, "slack members"),
        ("    engineer_usergroups: [storefront-renamed, S06N0T1FY, S10LOYAL]\n", 2, "slack user groups"),  # U001, U002; S10LOYAL is deleted
    ],
)
def test_the_adoption_shares_are_of_the_engineers_slack_counted(
    catalog: Catalog, fake: FakeSlackAPI, database_url: str, options: str, engineers: int, basis: str
) -> None:
    fake.add_user("U102", "guest2@elsewhere.example")["is_restricted"] = True
    fake.add_user("U103", "guest3@elsewhere.example")["is_ultra_restricted"] = True
    fake.add_user("U104", "guest4@elsewhere.example")["is_restricted"] = True
    fake.add_user("USLACKBOT", None, "slackbot")
    fake.add_user("UAPP1", "app@northwind.example")["is_app_user"] = True
    assert catalog.config.path is not None
    catalog.config.path.write_text(catalog.config.path.read_text(encoding="utf-8") + options, encoding="utf-8")
    configured = Catalog(database_url, load_config(catalog.config.path), slack_token="xoxb-test")
    try:
        adoption = Adoption(configured)
        assert adoption.report(since=T0, until=T0 + timedelta(days=7)).engineers_from == "unknown"  # nothing synced yet

        _sync_all(configured)
        report = adoption.report(since=T0, until=T0 + timedelta(days=7))

        assert (report.engineers, report.engineers_from) == (engineers, basis)
        assert f"of {engineers} engineers ({basis})" in headlines(report)[0].value
        configured.config.adoption = AdoptionConfig(engineers=300)  # a number the platform team set still wins
        assert Adoption(configured).report(since=T0, until=T0 + timedelta(days=7)).engineers_from == "config"
    finally:
        configured.dispose()



def _user(name: str, email: str, slack_id: str | None = None) -> str:
    annotation = f"  annotations:\n    {USER_ID}: {slack_id}\n" if slack_id else ""
    return (
        f"apiVersion: backstage.io/v1alpha1\nkind: User\nmetadata:\n  name: {name}\n{annotation}"
        f"spec:\n  profile:\n    email: {email}\n  memberOf: []\n"
    )


def _group(name: str) -> str:
    return f"apiVersion: backstage.io/v1alpha1\nkind: Group\nmetadata:\n  name: {name}\nspec:\n  type: team\n  children: []\n"


@pytest.fixture
def people(database_url: str, tmp_path: Path, fake: FakeSlackAPI) -> Iterator[tuple[Catalog, Path]]:
    """A catalog of the Groups and Users each test writes to the returned file, then Slack."""
    folder = tmp_path / "people"
    folder.mkdir()
    path = tmp_path / "wayfinder.yaml"
    path.write_text(f"sources:\n  - name: people\n    type: backstage\n    path: {folder}\n  - name: slack\n    type: slack\n    api_url: {fake.url}\n", encoding="utf-8")
    made = Catalog(database_url, load_config(path), slack_token="xoxb-test")
    yield made, folder / "people.yaml"
    made.dispose()


def test_users_deleted_on_purpose_do_not_make_the_next_slack_run_refuse(people: tuple[Catalog, Path], fake: FakeSlackAPI) -> None:
    """Why: Slack only annotates Users another source defines; when that source retires them (allowed
    to), Slack's rows go with them, and are no delete of Slack's that anyone must allow again."""
    catalog, descriptors = people
    descriptors.write_text("---\n".join(_user(f"dev{i}", f"dev{i}@northwind.example") for i in range(12)), encoding="utf-8")
    for i in range(12):
        fake.add_user(f"UDEV{i}", f"dev{i}@northwind.example")
    _sync_all(catalog)
    descriptors.write_text("---\n".join(_user(f"dev{i}", f"dev{i}@northwind.example") for i in range(4)), encoding="utf-8")
    assert catalog.sync(["people"], allow_large_delete=True)[0].removed == 8

    [report] = catalog.sync(["slack"])

    assert (report.status, report.removed, report.unchanged) == ("ok", 8, 4), report.error


def test_a_user_group_without_a_handle_matches_by_id_or_name_only(people: tuple[Catalog, Path], fake: FakeSlackAPI) -> None:
    """Why: Slack may send a user group with no handle, or `handle: null`; neither may crash the run
    or match a Group named "none"."""
    catalog, descriptors = people
    descriptors.write_text("---\n".join([_group("none"), _group("sre"), _group("payments-team")]), encoding="utf-8")
    del fake.add_usergroup("S2", "x", "SRE")["handle"]
    fake.add_usergroup("S3", "x", "Payments Team")["handle"] = None

    _, slack = _sync_all(catalog)

    assert slack.ok
    assert {k: v for k, v in _annotations(catalog, "group:default/sre").items() if k.startswith("slack.com/")} == {USERGROUP_ID: "S2"}
    assert _annotations(catalog, "group:default/payments-team").get(USERGROUP_ID) == "S3"
    assert USERGROUP_ID not in _annotations(catalog, "group:default/none")


def test_two_active_accounts_on_one_email_are_a_warning_and_the_users_annotation_chooses(
    people: tuple[Catalog, Path], fake: FakeSlackAPI
) -> None:
    catalog, descriptors = people
    users = [_user("carol", "carol@northwind.example"), _user("dan", "dan@northwind.example", slack_id="UDAN2")]
    descriptors.write_text("---\n".join(users), encoding="utf-8")
    for slack_id, email in [("UCAROL1", "carol@northwind.example"), ("UCAROL2", "Carol@northwind.example"), ("UDAN1", "dan@northwind.example"), ("UDAN2", "dan@northwind.example")]:
        fake.add_user(slack_id, email)

    _, slack = _sync_all(catalog)

    assert _annotations(catalog, "user:default/carol")[USER_ID] == "UCAROL1"
    assert [(p.severity, p.entity, p.message) for p in slack.problems] == [
        (
            "warning",
            "user:default/carol",
            f"Slack accounts UCAROL1, UCAROL2 share the email carol@northwind.example; UCAROL1 is used (set {USER_ID} on the User to choose)",
        )
    ]
    assert _identities(catalog)["UDAN2"].user_ref == "user:default/dan"  # the User's own annotation chose
