"""Who may post alerts: PagerDuty's HMAC signature over the raw body, a bearer token for the rest."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping

from catalog.config import AlertsConfig, SignedProvider, TokenProvider


class AlertRefused(Exception):
    """The request is refused with `status` (401 unauthenticated, 404 provider not configured)."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status


def authenticate(config: AlertsConfig | None, provider: str, body: bytes, headers: Mapping[str, str]) -> None:
    """Raise `AlertRefused` unless `provider` is configured and the request proves it is the sender."""
    settings = getattr(config.providers, provider, None) if config else None
    if isinstance(settings, SignedProvider):
        if not pagerduty_signature_ok(settings.secret.get_secret_value(), body, headers.get("x-pagerduty-signature", "")):
            raise AlertRefused(401, "missing or wrong X-PagerDuty-Signature")
    elif isinstance(settings, TokenProvider):
        scheme, _, token = headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(token.strip().encode(), settings.token.get_secret_value().encode()):
            raise AlertRefused(401, "missing or wrong Authorization: Bearer token")
    else:
        raise AlertRefused(404, f"alert provider {provider!r} is not configured (alerts.providers)")


def pagerduty_signature_ok(secret: str, body: bytes, header: str) -> bool:
    """Any `v1=<hex>` in the header matches HMAC-SHA256(secret, body); several are sent while a secret rotates."""
    expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    found = False
    for part in header.split(","):
        version, _, signature = part.strip().partition("=")
        # bytes: compare_digest refuses non-ASCII str, and a header may carry anything
        found |= version == "v1" and hmac.compare_digest(signature.strip().lower().encode("utf-8", "replace"), expected.encode())
    return found
