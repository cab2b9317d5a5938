"""Slack as a source: user groups for catalog Groups, user ids for catalog Users.

Slack knows who is who in chat but nothing about ownership, so this source never creates
entities. It asserts facts about Groups and Users that other sources already put in the catalog,
at low precedence (`catalog.store.precedence.SLACK`), so a descriptor written by people always wins a
disagreement (`catalog.store.merge.merge`):

- a Group gets `slack.com/usergroup-id` and `slack.com/usergroup-handle` (if it has one) of its
  Slack user group, found by the Group's own annotations (id, then handle), else by handle ==
  Group name, else by the user group's name written as a slug (`Payments Team` ->
  `payments-team`) == Group name;
- a User gets `slack.com/user-id`, matched on email (Slack `profile.email`, catalog
  `spec.profile.email`, case-insensitive); when several active accounts share that email, the
  first listed, with a warning.

It also refreshes the Slack identity cache from the same listing, under the rules the bot uses
too (`catalog.store.identities`), so the bot's "my team" answers need no per-message Slack calls.

The same listing counts the engineers (`Engineers`): the members of the configured user groups,
else every person in the workspace. The adoption report's shares are of that count when known.

It talks to the Web API through slack_sdk's `WebClient` at the configured API URL; this is the
only catalog module that imports slack_sdk. Reads are `usergroups.list` (include_users) and
`users.list` (cursor pages); both are Tier 2 (20+/min), so a 429 waits its `Retry-After` (up to
`MAX_WAIT`), 5xx and dropped connections are retried after a short backoff, and any error stops
the run with a `SourceError` before anything is written.
"""

from __future__ import annotations

import re
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.http_retry import HttpRequest, HttpResponse, RetryHandler, RetryState
from slack_sdk.web import SlackResponse
from sqlalchemy import select
from sqlmodel import Session, col

from catalog.adoption.models import AdoptionPopulation
from catalog.errors import SourceError
from catalog.store import identities
from catalog.store.engine import SessionFactory, session_scope
from catalog.store.identities import Identity, normal_email
from catalog.store.merge import CatalogEntity, merge
from catalog.store.models import Entity
from catalog.store.precedence import SLACK
from catalog.sync.sources.base import Snapshot
from catalog.sync.sources.descriptor import EntityDoc, Problem

USERGROUP_ID = "slack.com/usergroup-id"
USERGROUP_HANDLE = "slack.com/usergroup-handle"
USER_ID = "slack.com/user-id"
SLACKBOT = "USLACKBOT"  # a user in users.list, flagged neither bot nor app
PAGE_SIZE = 200  # Slack's recommended users.list page size
MAX_RETRIES = 3
MAX_WAIT = 60.0  # seconds; a longer Retry-After fails the run instead of hanging the sync
TIMEOUT = 10  # seconds per request

JSON = dict[str, Any]


@dataclass(frozen=True)
class Engineers:
    """Who counts as an engineer: the members of `usergroups` (handles or ids) when given, else every
    person in the workspace; never bots, apps, Slackbot or deactivated accounts; guests only if `guests`."""

    usergroups: list[str] = field(default_factory=list)
    guests: bool = False

    def count(self, members: list[JSON], usergroups: list[JSON]) -> tuple[int, str]:
        """(how many, the basis the report names: "slack user groups" or "slack members")."""
        people = {str(m["id"]) for m in members if self._is_engineer(m)}
        if not self.usergroups:
            return len(people), "slack members"
        wanted = {name.lower() for name in self.usergroups}
        grouped = {str(u) for ug in usergroups if {str(ug["id"]).lower(), _handle(ug).lower()} & wanted for u in ug.get("users") or []}
        return len(grouped & people), "slack user groups"

    def _is_engineer(self, member: JSON) -> bool:
        if member.get("deleted") or member.get("is_bot") or member.get("is_app_user") or member.get("id") == SLACKBOT:
            return False
        return self.guests or not (member.get("is_restricted") or member.get("is_ultra_restricted"))


class SlackSource:
    """Reads Slack user groups and users, and maps them onto catalog Groups and Users."""

    type = "slack"

    def __init__(
        self,
        name: str,
        *,
        api_url: str,
        token: str | None,
        factory: SessionFactory,
        page_size: int = PAGE_SIZE,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        engineers: Engineers | None = None,
    ) -> None:
        self.name = name
        self.engineers = engineers or Engineers()
        self.api_url = api_url
        self.token = token
        self.factory = factory
        self.page_size = page_size
        self.sleep = sleep
        self.clock = clock

    def fetch(self) -> Snapshot:
        if not self.token:
            raise SourceError(f"source {self.name!r}: no Slack token; set SLACK_BOT_TOKEN or the source's `token`")
        retries = _Retries(self.sleep)
        client = WebClient(token=self.token, base_url=self.api_url.rstrip("/") + "/", timeout=TIMEOUT, retry_handlers=[retries])
        calls: list[str] = []
        usergroups = [
            g
            for g in self._call(calls, "usergroups.list", client.usergroups_list, include_users=True).get("usergroups", [])
            if not g.get("date_delete") and g.get("id")
        ]
        members = list(self._members(client, calls))
        with session_scope(self.factory) as session:
            groups, users = _catalog_people(session, exclude_source=self.name)
        people = [m for m in members if not m.get("deleted") and not m.get("is_bot") and _email(m)]
        user_ids, problems = _match_users(people, users)
        entities = [_assert(g, _usergroup_facts(ug)) for g, ug in _match_groups(usergroups, groups)]
        entities += [_assert(u, {USER_ID: user_ids[u.ref]}) for u in users if u.ref in user_ids]
        refs_by_slack_id = {slack_id: ref for ref, slack_id in user_ids.items()}
        with session_scope(self.factory) as session:
            identities.remember(session, [Identity.of_slack_user(m, refs_by_slack_id.get(str(m["id"]))) for m in people], now=self.clock())
            identities.forget(session, [str(m["id"]) for m in members if m.get("deleted")])
            engineers, basis = self.engineers.count(members, usergroups)
            if engineers:  # none found (a misspelt user group) is not "no engineers": the last count stands
                session.merge(AdoptionPopulation(source=self.name, engineers=engineers, basis=basis, counted_at=self.clock()))
        return Snapshot(entities=entities, problems=problems, requests=len(calls) + retries.retries, enriches=True)

    def _call(self, calls: list[str], method: str, call: Callable[..., SlackResponse], **params: Any) -> JSON:
        """One Web API read (counted in `calls`); any error fails the run before anything is written."""
        calls.append(method)
        try:
            body = call(**params).data
        except SlackApiError as exc:
            status, data = exc.response.status_code, exc.response.data if isinstance(exc.response.data, dict) else {}
            error = f"HTTP {status} ({data.get('error', 'no error code')})" if status != 200 else data.get("error", "no error code")
            needed = f" (the app needs the {data['needed']} scope)" if data.get("needed") else ""
            raise SourceError(f"{self.name}: Slack {method} failed: {error}{needed}; nothing changed") from None
        except (SlackClientError, OSError) as exc:  # unreachable or timed out, after the retries
            raise SourceError(f"{self.name}: Slack {method} failed: {type(exc).__name__}; nothing changed") from None
        if not isinstance(body, dict):
            raise SourceError(f"{self.name}: Slack {method} answered something other than a JSON object; nothing changed")
        return body

    def _members(self, client: WebClient, calls: list[str]) -> Iterator[JSON]:
        cursor = ""
        while True:
            page = self._call(calls, "users.list", client.users_list, limit=self.page_size, cursor=cursor or None)
            yield from page.get("members", [])
            cursor = (page.get("response_metadata") or {}).get("next_cursor") or ""
            if not cursor:
                return


def _catalog_people(session: Session, *, exclude_source: str) -> tuple[list[CatalogEntity], list[CatalogEntity]]:
    """Active Groups and Users as the other sources describe them (our own facts would feed back)."""
    rows: dict[str, list[Entity]] = defaultdict(list)
    query = select(Entity).where(
        col(Entity.kind).in_(["group", "user"]), col(Entity.source) != exclude_source, col(Entity.retired_at).is_(None)
    )
    for row in session.scalars(query):
        rows[row.ref].append(row)
    merged = [m for ref in sorted(rows) if (m := merge(rows[ref], {})) is not None]
    return [m for m in merged if m.kind == "group"], [m for m in merged if m.kind == "user"]


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def _handle(usergroup: JSON) -> str:
    """A user group's handle, or "" when Slack sends none (missing or null): never the text "None"."""
    handle = usergroup.get("handle")
    return handle if isinstance(handle, str) else ""


def _usergroup_facts(usergroup: JSON) -> dict[str, str]:
    handle = _handle(usergroup)
    return {USERGROUP_ID: str(usergroup["id"])} | ({USERGROUP_HANDLE: handle} if handle else {})


def _match_groups(usergroups: list[JSON], groups: list[CatalogEntity]) -> Iterator[tuple[CatalogEntity, JSON]]:
    """Each catalog Group with its Slack user group, by the rules in the module docstring, in order."""
    by_id = {str(ug["id"]): ug for ug in usergroups}
    by_handle = {_handle(ug).lower(): ug for ug in usergroups if _handle(ug)}
    by_slug = {slug: ug for ug in usergroups if (slug := _slug(str(ug.get("name") or "")))}
    for group in groups:
        ug = (
            by_id.get(group.annotations.get(USERGROUP_ID, ""))
            or by_handle.get(group.annotations.get(USERGROUP_HANDLE, "").lower())
            or by_handle.get(group.name.lower())
            or by_slug.get(group.name.lower())
        )
        if ug is not None:
            yield group, ug


def _email(member: JSON) -> str:
    return normal_email((member.get("profile") or {}).get("email"))


def _match_users(people: list[JSON], users: list[CatalogEntity]) -> tuple[dict[str, str], list[Problem]]:
    """catalog User ref -> Slack user id, by email. When several active accounts share the email, the
    one the User's own `slack.com/user-id` names is used, else the first listed, with a warning."""
    by_email: dict[str, list[str]] = defaultdict(list)
    for member in people:
        by_email[_email(member)].append(str(member["id"]))
    matched: dict[str, str] = {}
    problems: list[Problem] = []
    for user in users:
        slack_ids = by_email.get(normal_email(user.profile("email")), [])
        chosen = user.annotations.get(USER_ID)
        if slack_ids:
            matched[user.ref] = chosen if chosen in slack_ids else slack_ids[0]
        if len(slack_ids) > 1 and chosen not in slack_ids:
            message = f"Slack accounts {', '.join(slack_ids)} share the email {user.profile('email')}; {slack_ids[0]} is used (set {USER_ID} on the User to choose)"
            problems.append(Problem(severity="warning", entity=user.ref, message=message))
    return matched, problems


def _assert(entity: CatalogEntity, annotations: dict[str, str]) -> EntityDoc:
    """A low-precedence row for an existing entity that carries only the Slack facts."""
    return EntityDoc(
        ref=entity.ref, kind=entity.kind, namespace=entity.namespace, name=entity.name, annotations=annotations, precedence=SLACK
    )


class _Retries(RetryHandler):
    """A 429 waits its `Retry-After` (up to `MAX_WAIT`); 5xx and dropped connections back off.

    slack_sdk's own handlers sleep with `time.sleep` plus jitter; this one sleeps through the
    source's injected `sleep`, so tests wait for nothing, and counts its retries as requests.
    """

    def __init__(self, sleep: Callable[[float], None]) -> None:
        super().__init__(max_retry_count=MAX_RETRIES)
        self.sleep = sleep
        self.retries = 0

    def _can_retry(
        self, *, state: RetryState, request: HttpRequest, response: HttpResponse | None = None, error: Exception | None = None
    ) -> bool:
        if response is None:
            return isinstance(error, OSError)  # URLError, connection reset, timeout
        if response.status_code == 429:
            return _retry_after(response) <= MAX_WAIT
        return response.status_code >= 500

    def prepare_for_next_attempt(
        self, *, state: RetryState, request: HttpRequest, response: HttpResponse | None = None, error: Exception | None = None
    ) -> None:
        state.next_attempt_requested = True
        rate_limited = response is not None and response.status_code == 429
        self.sleep(_retry_after(response) if rate_limited and response is not None else 2.0**state.current_attempt * 0.5)
        self.retries += 1
        state.increment_current_attempt()


def _retry_after(response: HttpResponse) -> float:
    values = next((v for k, v in response.headers.items() if k.lower() == "retry-after"), None)
    try:
        return float(values[0]) if values else 1.0
    except ValueError:
        return 1.0
