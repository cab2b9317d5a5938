"""Slack users <-> catalog Users, matched by email and cached in `chat_identity`.

`users.info` and `users.lookupByEmail` are rate limited (tiers 4 and 3), so answers never call
them per message: each result is kept for `Services.identity_ttl` (24 h by default). A row whose
`slack_user_id` starts with `~` records that an email has no Slack account, so catalog people who
are not in the workspace are not looked up again on every answer that lists them.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import datetime

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlmodel import col, select

from bot.compose import Services
from catalog.answers.models import Answer, Contact, Person
from catalog.store.engine import upsert_insert
from catalog.store.models import ChatIdentity
from catalog.store.reads import user_ref_by_email

log = logging.getLogger(__name__)
NO_ACCOUNT = "~"
MAX_LOOKUPS_PER_ANSWER = 10  # an answer shows about ten people; more would only cost rate limit


@dataclass(frozen=True)
class Identity:
    slack_user_id: str
    email: str | None = None
    user_ref: str | None = None
    display_name: str | None = None


def identify(services: Services, client: WebClient, slack_user_id: str) -> Identity:
    """Who this Slack user is in the catalog; unknown (not cached) when Slack cannot say right now."""
    now = services.clock()
    with services.catalog.session() as session:
        row = session.get(ChatIdentity, slack_user_id)
        if row is not None and row.expires_at > now:
            return Identity(row.slack_user_id, row.email, row.user_ref, row.display_name)
    try:
        user = client.users_info(user=slack_user_id)["user"]
    except SlackApiError as exc:
        log.warning("users.info failed for %s: %s", slack_user_id, exc.response.get("error"))
        return Identity(slack_user_id)
    profile = user.get("profile") or {}
    email = (profile.get("email") or "").lower() or None
    name = profile.get("display_name") or profile.get("real_name") or user.get("name")
    with services.catalog.session() as session:
        user_ref = user_ref_by_email(session, email) if email else None
    identity = Identity(slack_user_id, email, user_ref, name)
    _remember(services, [identity], now)
    return identity


def add_slack_ids(services: Services, client: WebClient, answer: Answer) -> None:
    """Fill in the Slack ids of the people an answer lists, so the card can mention them."""
    people = [p for p in _people(answer) if not p.slack_user_id and p.email][:MAX_LOOKUPS_PER_ANSWER]
    if not people:
        return
    now = services.clock()
    refs = {p.email.lower(): p.ref for p in people if p.email}
    fresh = select(ChatIdentity).where(col(ChatIdentity.email).in_(refs), col(ChatIdentity.expires_at) > now)
    with services.catalog.session() as session:
        rows = sorted(session.exec(fresh), key=lambda r: not r.slack_user_id.startswith(NO_ACCOUNT))
        known = {row.email: row.slack_user_id for row in rows}  # a real account (sorted last) wins
    fetched = [i for email in sorted(refs.keys() - known.keys()) if (i := _lookup(client, email, refs[email]))]
    _remember(services, fetched, now)
    known |= {i.email: i.slack_user_id for i in fetched}
    for p in people:
        slack_id = known.get((p.email or "").lower())
        if slack_id and not slack_id.startswith(NO_ACCOUNT):
            p.slack_user_id = slack_id


def _people(answer: Answer) -> list[Person | Contact]:
    """Everyone the card may show: owners that are people, team members, members asked for."""
    owners = [c for c in (answer.owner, answer.card.owner if answer.card else None) if c is not None]
    return [*(c for c in owners if c.kind == "user"), *(m for c in owners for m in c.members), *answer.members]


def _lookup(client: WebClient, email: str, user_ref: str) -> Identity | None:
    """The Slack account of `email`, a no-account marker, or None when Slack cannot say right now."""
    try:
        user = client.users_lookupByEmail(email=email)["user"]
    except SlackApiError as exc:
        if exc.response.get("error") == "users_not_found":
            return Identity(NO_ACCOUNT + hashlib.sha256(email.encode()).hexdigest()[:40], email, user_ref)
        log.warning("users.lookupByEmail failed: %s", exc.response.get("error"))
        return None
    return Identity(user["id"], email, user_ref, (user.get("profile") or {}).get("real_name"))


def _remember(services: Services, identities: list[Identity], now: datetime) -> None:
    """Cache results as one upsert per row, so concurrent answers never trip over each other."""
    if not identities:
        return
    with services.catalog.session() as session:
        insert = upsert_insert(session)
        expires_at = now + services.identity_ttl
        for i in identities:
            values = {"email": i.email, "user_ref": i.user_ref, "display_name": i.display_name, "fetched_at": now, "expires_at": expires_at}
            upsert = insert(ChatIdentity).values(slack_user_id=i.slack_user_id, **values)
            session.execute(upsert.on_conflict_do_update(index_elements=["slack_user_id"], set_=values))
