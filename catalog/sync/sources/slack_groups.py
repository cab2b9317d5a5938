"""Slack as a source: user groups for catalog Groups, user ids for catalog Users.

Slack knows who is who in chat but nothing about ownership, so this source never creates
entities. It asserts facts about Groups and Users that other sources already put in the catalog,
at low precedence (`catalog.store.precedence.SLACK`), so a descriptor written by people always wins a
disagreement (`catalog.store.merge.merge`):

- a Group gets `slack.com/usergroup-id` and `slack.com/usergroup-handle` of its Slack user group,
  found by the Group's own annotations (id, then handle), else by handle == Group name, else by
  the user group's name written as a slug (`Payments Team` -> `payments-team`) == Group name;
- a User gets `slack.com/user-id`, matched on email (Slack `profile.email`, catalog
  `spec.profile.email`, case-insensitive).

It also refreshes the Slack identity cache (`ChatIdentity`) from the same listing, so the bot's
"my team" answers need no per-message Slack calls.

It talks to the Web API over plain httpx (`ApiClient`): the catalog package imports no Slack
library. Reads are `usergroups.list` (include_users) and `users.list` (cursor pages); both are
Tier 2 (20+/min), so a 429 waits its `Retry-After`, and any `ok: false` stops the run with a
`SourceError` before anything is written.
"""

from __future__ import annotations

import re
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlmodel import Session

from catalog.errors import SourceError
from catalog.store.engine import SessionFactory, session_scope, upsert_insert
from catalog.store.merge import CatalogEntity, merge
from catalog.store.models import ChatIdentity, Entity
from catalog.store.precedence import SLACK
from catalog.sync.sources.base import Snapshot
from catalog.sync.sources.descriptor import EntityDoc
from catalog.sync.sources.http import ApiClient

USERGROUP_ID = "slack.com/usergroup-id"
USERGROUP_HANDLE = "slack.com/usergroup-handle"
USER_ID = "slack.com/user-id"
# Identities outlive a missed sync or two; a scheduled resync refreshes them long before this.
IDENTITY_TTL = timedelta(hours=24)
PAGE_SIZE = 200  # Slack's recommended users.list page size
_BATCH = 500  # rows per statement: SQLite caps bound parameters per statement

JSON = dict[str, Any]


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
        identity_ttl: timedelta = IDENTITY_TTL,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.name = name
        self.api_url = api_url
        self.token = token
        self.factory = factory
        self.page_size = page_size
        self.identity_ttl = identity_ttl
        self.sleep = sleep
        self.clock = clock

    def fetch(self) -> Snapshot:
        if not self.token:
            raise SourceError(f"source {self.name!r}: no Slack token; set SLACK_BOT_TOKEN or the source's `token`")
        client = ApiClient(self.name, self.api_url, headers={"Authorization": f"Bearer {self.token}"}, sleep=self.sleep)
        try:
            usergroups = [g for g in self._call(client, "usergroups.list", {"include_users": "true"}).get("usergroups", []) if not g.get("date_delete")]
            members = list(self._members(client))
        finally:
            client.close()
        with session_scope(self.factory) as session:
            groups, users = _catalog_people(session, exclude_source=self.name)
        people = [m for m in members if not m.get("deleted") and not m.get("is_bot") and _email(m)]
        user_ids = _match_users(people, users)
        entities = [_assert(g, {USERGROUP_ID: str(ug["id"]), USERGROUP_HANDLE: str(ug["handle"])}) for g, ug in _match_groups(usergroups, groups)]
        entities += [_assert(u, {USER_ID: user_ids[u.ref]}) for u in users if u.ref in user_ids]
        refs_by_slack_id = {slack_id: ref for ref, slack_id in user_ids.items()}
        with session_scope(self.factory) as session:
            _refresh_identities(session, people, refs_by_slack_id, [str(m["id"]) for m in members if m.get("deleted")], self.clock(), self.identity_ttl)
        return Snapshot(entities=entities, requests=client.requests)

    def _call(self, client: ApiClient, method: str, params: dict[str, Any]) -> JSON:
        """One Web API read; Slack reports errors as HTTP 200 with `ok: false`."""
        body = client.json(method, params=params)
        if not isinstance(body, dict) or body.get("ok") is not True:
            error = body.get("error", "no error code") if isinstance(body, dict) else "not a JSON object"
            needed = f" (the app needs the {body['needed']} scope)" if isinstance(body, dict) and body.get("needed") else ""
            raise SourceError(f"{self.name}: Slack {method} failed: {error}{needed}; nothing changed")
        return body

    def _members(self, client: ApiClient) -> Iterator[JSON]:
        cursor = ""
        while True:
            page = self._call(client, "users.list", {"limit": self.page_size} | ({"cursor": cursor} if cursor else {}))
            yield from page.get("members", [])
            cursor = (page.get("response_metadata") or {}).get("next_cursor") or ""
            if not cursor:
                return


def _catalog_people(session: Session, *, exclude_source: str) -> tuple[list[CatalogEntity], list[CatalogEntity]]:
    """Active Groups and Users as the other sources describe them (our own facts would feed back)."""
    rows: dict[str, list[Entity]] = defaultdict(list)
    query = select(Entity).where(Entity.kind.in_(["group", "user"]), Entity.source != exclude_source, Entity.retired_at.is_(None))  # type: ignore[attr-defined,union-attr]
    for row in session.scalars(query):
        rows[row.ref].append(row)
    merged = [m for ref in sorted(rows) if (m := merge(rows[ref], {})) is not None]
    return [m for m in merged if m.kind == "group"], [m for m in merged if m.kind == "user"]


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def _match_groups(usergroups: list[JSON], groups: list[CatalogEntity]) -> Iterator[tuple[CatalogEntity, JSON]]:
    """Each catalog Group with its Slack user group, by the rules in the module docstring, in order."""
    by_id = {str(ug["id"]): ug for ug in usergroups}
    by_handle = {str(ug["handle"]).lower(): ug for ug in usergroups}
    by_slug = {_slug(str(ug["name"])): ug for ug in usergroups}
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
    return str((member.get("profile") or {}).get("email") or "").strip().lower()


def _match_users(people: list[JSON], users: list[CatalogEntity]) -> dict[str, str]:
    """catalog User ref -> Slack user id, by email."""
    by_email = {_email(m): str(m["id"]) for m in people}
    matched = {}
    for user in users:
        slack_id = by_email.get((user.profile("email") or "").strip().lower())
        if slack_id:
            matched[user.ref] = slack_id
    return matched


def _assert(entity: CatalogEntity, annotations: dict[str, str]) -> EntityDoc:
    """A low-precedence row for an existing entity that carries only the Slack facts."""
    return EntityDoc(ref=entity.ref, kind=entity.kind, namespace=entity.namespace, name=entity.name, annotations=annotations, precedence=SLACK)


def _refresh_identities(
    session: Session, people: list[JSON], refs: dict[str, str], deleted: list[str], now: datetime, ttl: timedelta
) -> None:
    """Upsert the identity cache from the listing; forget deactivated Slack accounts."""
    rows = [
        {
            "slack_user_id": str(m["id"]),
            "email": _email(m),
            "user_ref": refs.get(str(m["id"])),
            "display_name": (m.get("profile") or {}).get("display_name") or m.get("real_name") or m.get("name"),
            "fetched_at": now,
            "expires_at": now + ttl,
        }
        for m in people
    ]
    insert = upsert_insert(session)
    for i in range(0, len(rows), _BATCH):
        stmt = insert(ChatIdentity).values(rows[i : i + _BATCH])
        fresh = {c: stmt.excluded[c] for c in ("email", "user_ref", "display_name", "fetched_at", "expires_at")}
        session.execute(stmt.on_conflict_do_update(index_elements=["slack_user_id"], set_=fresh))
    for i in range(0, len(deleted), _BATCH):
        session.execute(delete(ChatIdentity).where(ChatIdentity.slack_user_id.in_(deleted[i : i + _BATCH])))  # type: ignore[attr-defined]
