"""The Slack identity cache (`chat_identity`): Slack users <-> catalog Users, under one set of rules.

Two writers fill it: the Slack source from every `users.list` sync, and the bot when it meets
someone between syncs (`users.info`, `users.lookupByEmail`, both rate limited, so never called
per message). Both write through here, so a row means the same thing whoever wrote it:

- a row is trusted until `TTL` after it was fetched; an expired row is looked up again;
- emails are stored trimmed and lower-cased; the name shown is the profile's display name, else
  its real name, else the account name;
- a `slack_user_id` starting with `NO_ACCOUNT` records that an email has no Slack account, so
  catalog people outside the workspace are not looked up on every answer that lists them; a real
  account for the same email wins over such a marker;
- a deactivated account is forgotten;
- a row with nothing but the Slack id records that Slack could not say who that is just now
  (`users.info` failed, timed out or was rate limited); it lasts `UNKNOWN_TTL`, so a burst of clicks
  or keystrokes in a picker does not look the same person up again and again.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, delete
from sqlmodel import Session, col, select

from catalog.store.engine import SessionFactory, session_scope, upsert_insert
from catalog.store.models import ChatIdentity
from catalog.store.reads import user_ref_by_email
from catalog.store.write_behind import now_or_later

TTL = timedelta(hours=24)
UNKNOWN_TTL = timedelta(seconds=30)
NO_ACCOUNT = "~"
_BATCH = 500  # rows per statement: SQLite caps bound parameters per statement
_FIELDS = ("email", "user_ref", "display_name", "fetched_at", "expires_at")


@dataclass(frozen=True)
class Identity:
    slack_user_id: str
    email: str | None = None
    user_ref: str | None = None
    display_name: str | None = None

    @classmethod
    def of_slack_user(cls, user: Mapping[str, Any], user_ref: str | None = None, *, email: str | None = None) -> Identity:
        """From a Slack user object (`users.info`, `users.list` and `users.lookupByEmail` share its shape).

        `email` is the address the account was looked up by, which Slack may not repeat in the profile.
        """
        profile = user.get("profile") or {}
        name = profile.get("display_name") or profile.get("real_name") or user.get("real_name") or user.get("name")
        return cls(str(user["id"]), normal_email(email or profile.get("email")) or None, user_ref, name)

    @classmethod
    def no_account(cls, email: str, user_ref: str | None = None) -> Identity:
        """The marker that `email` has no Slack account (keyed by a hash: the id column is the key)."""
        email = normal_email(email)
        return cls(NO_ACCOUNT + hashlib.sha256(email.encode()).hexdigest()[:40], email, user_ref)

    @property
    def has_account(self) -> bool:
        return not self.slack_user_id.startswith(NO_ACCOUNT)


def normal_email(value: object) -> str:
    return str(value or "").strip().lower()


def cached(session: Session, slack_user_id: str, *, now: datetime) -> Identity | None:
    """The unexpired row for this Slack user, if any."""
    row = session.get(ChatIdentity, slack_user_id)
    if row is None or row.expires_at <= now:
        return None
    return Identity(row.slack_user_id, row.email, row.user_ref, row.display_name)


def slack_ids(session: Session, emails: Iterable[str], *, now: datetime) -> dict[str, str]:
    """email -> Slack user id (or a no-account marker) of the unexpired rows; a real account wins."""
    wanted = sorted({normal_email(e) for e in emails})
    if not wanted:
        return {}
    found: Iterable[tuple[str, str]] = session.execute(_FRESH_IDS, {"wanted": wanted, "now": now})
    rows = sorted(found, key=lambda row: not row[1].startswith(NO_ACCOUNT))
    return {email: slack_user_id for email, slack_user_id in rows if email}  # a real account (sorted last) wins


# Built once with its values bound: every answer that lists people asks (`IdentityCache.slack_ids`).
_FRESH_IDS = select(col(ChatIdentity.email), col(ChatIdentity.slack_user_id)).where(
    col(ChatIdentity.email).in_(bindparam("wanted", expanding=True)), col(ChatIdentity.expires_at) > bindparam("now")
)


def remember(session: Session, identities: Iterable[Identity], *, now: datetime, ttl: timedelta = TTL) -> None:
    """Upsert, a batch per statement, so concurrent writers never trip over each other."""
    rows = [
        {
            "slack_user_id": i.slack_user_id,
            "email": i.email,
            "user_ref": i.user_ref,
            "display_name": i.display_name,
            "fetched_at": now,
            "expires_at": now + ttl,
        }
        for i in identities
    ]
    insert = upsert_insert(session)
    for start in range(0, len(rows), _BATCH):
        stmt = insert(ChatIdentity).values(rows[start : start + _BATCH])
        session.execute(stmt.on_conflict_do_update(index_elements=["slack_user_id"], set_={c: stmt.excluded[c] for c in _FIELDS}))


def forget(session: Session, slack_user_ids: list[str]) -> None:
    """Drop deactivated accounts."""
    for start in range(0, len(slack_user_ids), _BATCH):
        session.execute(delete(ChatIdentity).where(col(ChatIdentity.slack_user_id).in_(slack_user_ids[start : start + _BATCH])))


class IdentityCache:
    """The cache for adapters (`Catalog.identities`): each call is its own short transaction.

    Lookups go through `reads` (the catalog's read sessions: on PostgreSQL without BEGIN and
    COMMIT), since every answer that names people asks: one round trip instead of three.
    """

    def __init__(self, factory: SessionFactory, reads: SessionFactory | None = None) -> None:
        self._factory = factory
        self._reads = reads or factory

    def get(self, slack_user_id: str, *, now: datetime) -> Identity | None:
        with session_scope(self._reads) as session:
            return cached(session, slack_user_id, now=now)

    def slack_ids(self, emails: Iterable[str], *, now: datetime) -> dict[str, str]:
        with session_scope(self._reads) as session:
            return slack_ids(session, emails, now=now)

    def learn(self, user: Mapping[str, Any], *, now: datetime) -> Identity:
        """Remember a Slack user fetched just now, matched to the catalog User with its email."""
        identity = Identity.of_slack_user(user)
        with session_scope(self._factory) as session:
            if identity.email:
                identity = Identity.of_slack_user(user, user_ref_by_email(session, identity.email))
            now_or_later(session, lambda s: remember(s, [identity], now=now), "Slack identity")
        return identity

    def unknown_for_now(self, slack_user_id: str, *, now: datetime) -> Identity:
        """Remember for `UNKNOWN_TTL` that Slack could not say who `slack_user_id` is; the unknown identity."""
        identity = Identity(slack_user_id)
        with session_scope(self._factory) as session:
            now_or_later(session, lambda s: remember(s, [identity], now=now, ttl=UNKNOWN_TTL), "Slack identity")
        return identity

    def remember(self, identities: list[Identity], *, now: datetime) -> None:
        """Cache fills never hold up an answer: on SQLite during a sync's write they are written after it."""
        if identities:
            with session_scope(self._factory) as session:
                now_or_later(session, lambda s: remember(s, identities, now=now), "Slack identities")
