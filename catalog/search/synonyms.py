"""Other words engineers use for what a catalog entry describes: "k8s" for "Kubernetes".

A description search (`catalog.search.fulltext`) first looks for the question's own words; only
when they find nothing does it try these, and the answer always says which reading it took.
Two strengths:

- `SAME`: one thing spelt another way (abbreviations, British and American spellings). A match
  answers as the question's own words would: "who owns typeahead" finds the "Type-ahead" service.
- `RELATED`: words often used for the same job, but not always ("billing" for "invoicing").
  A match is only offered ("Did you mean ...?"), never answered for sure: one confident wrong
  answer costs more trust than a question back.

Single words are the keys and phrases ("sign in") only alternatives, because a question's words
are looked up one at a time. Kept small and generic on purpose: what one company means by "auth"
or "platform" belongs in its entities' tags and aliases, not here.
"""

from __future__ import annotations

from functools import cache
from typing import Literal

Strength = Literal["same", "related"]

SAME = """
typeahead, type ahead
k8s, kubernetes
i18n, internationalisation, internationalization
l10n, localisation, localization
2fa, two factor
mfa, multi factor
sso, single sign on
kyc, know your customer
db, database
catalogue, catalog
authorisation, authorization, authz
authentication, authn
personalisation, personalization
tokenisation, tokenization
organisation, organization
recs, recommendation
frontend, front end, web, ui, webapp
indexing, indexer
"""

RELATED = """
basket, cart
coupon, voucher, discount, promo, promotion
sso, login, signin, sign in, log in, authentication
authorization, permission, access control, rbac
typeahead, autocomplete, autosuggest, suggestion
email, mail
sms, text message
thumbnail, image resizing
toggle, feature flag, kill switch
chargeback, dispute
invoice, invoicing, billing
shipping, delivery, carrier, shipment
inventory, stock
deploy, deployment, release, rollout, canary
cdn, edge cache
2fa, mfa, otp
analytics, bi, reporting
etl, data pipeline, ingestion
ledger, bookkeeping, accounting
payout, disbursement
signup, sign up, registration, register
"""


@cache
def _table(strength: Strength) -> dict[str, tuple[str, ...]]:
    table: dict[str, tuple[str, ...]] = {}
    groups = SAME if strength == "same" else SAME + RELATED  # what is the same is related too
    for line in groups.strip().splitlines():
        group = tuple(alternative.strip() for alternative in line.split(","))
        for key in group:
            if " " not in key:
                others = table.get(key, ()) + tuple(other for other in group if other != key)
                table[key] = tuple(dict.fromkeys(others))
    return table


def synonyms(word: str, strength: Strength) -> tuple[str, ...]:
    """Other words and phrases for `word` (lowercase; a plural finds its singular's), or ()."""
    table = _table(strength)
    for key in (word, word.removesuffix("s"), word.removesuffix("es")):
        if key in table:
            return table[key]
    return ()




def respellings(text: str, limit: int = 4) -> list[tuple[str, str]]:
    """Words of `text` that have another one-word `SAME` spelling, each with it: ("catalogue", "catalog"), up to `limit`."""
    table = _table("same")
    pairs = [(w, other) for w in dict.fromkeys(text.lower().split()) for other in table.get(w, ()) if " " not in other]
    return pairs[:limit]
