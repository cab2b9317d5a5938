"""Slack users <-> catalog Users, for the bot: who asked, and the Slack ids of the people an answer lists.

`users.info` and `users.lookupByEmail` are rate limited (tiers 4 and 3), so answers never call
them per message: results go into the identity cache (`Catalog.identities`), whose rules (expiry,
"no Slack account" markers) the Slack source shares (`catalog.store.identities`).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.compose import Services
from bot.slack.client import hurried
from catalog.answers.models import Answer, Contact, Person
from catalog.store.identities import Identity

log = logging.getLogger(__name__)
MAX_LOOKUPS_PER_ANSWER = 10  # an answer shows about ten people; more would only cost rate limit


def identify(services: Services, client: WebClient, slack_user_id: str, *, hurry: bool = False) -> Identity:
    """Who this Slack user is in the catalog; unknown (for `UNKNOWN_TTL`) when Slack cannot say right now.

    `hurry` when Slack is waiting (the ack carries the answer, or a trigger_id is about to expire):
    the lookup then gives up after a second and never sleeps out a 429's Retry-After.
    """
    now = services.clock()
    known = services.catalog.identities.get(slack_user_id, now=now)
    if known is not None:
        return known
    try:
        user = (hurried(client) if hurry else client).users_info(user=slack_user_id)["user"]
    except (SlackApiError, OSError) as exc:  # OSError: a timeout or a broken connection
        reason = exc.response.get("error") if isinstance(exc, SlackApiError) else type(exc).__name__
        log.warning("users.info failed for %s: %s; treating them as unknown for now", slack_user_id, reason)
        return services.catalog.identities.unknown_for_now(slack_user_id, now=now)
    return services.catalog.identities.learn(user, now=now)


def add_slack_ids(services: Services, client: WebClient, answer: Answer) -> None:
    """Fill in the Slack ids of the people an answer lists, so the card can mention them."""
    people = [p for p in _people(answer) if not p.slack_user_id and p.email][:MAX_LOOKUPS_PER_ANSWER]
    known = slack_ids(services, client, {p.ref: p.email for p in people if p.email})
    for p in people:
        p.slack_user_id = known.get(p.ref) or p.slack_user_id


def slack_ids(services: Services, client: WebClient, emails: Mapping[str, str]) -> dict[str, str]:
    """user ref -> Slack user id, for users given as ref -> email (cached first, then looked up)."""
    if not emails:
        return {}
    now = services.clock()
    refs = {email.lower(): ref for ref, email in emails.items()}
    known = services.catalog.identities.slack_ids(refs, now=now)
    fetched = [i for email in sorted(refs.keys() - known.keys()) if (i := _lookup(client, email, refs[email]))]
    services.catalog.identities.remember(fetched, now=now)
    known |= {i.email: i.slack_user_id for i in fetched if i.email}
    return {refs[email]: slack_id for email, slack_id in known.items() if email in refs and Identity(slack_id).has_account}


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
            return Identity.no_account(email, user_ref)
        log.warning("users.lookupByEmail failed: %s", exc.response.get("error"))
        return None
    return Identity.of_slack_user(user, user_ref, email=email)
