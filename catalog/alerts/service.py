"""Alerts, end to end: accept a webhook (authenticate, parse, store) and, after the reply, turn the
stored deliveries into one ownership card per incident through a `CardPoster` the adapter provides.

Built from the `Catalog` (its sessions, config and resolution index); adapters reach alerts only
through this object. Each step is its own short transaction; Slack is called between the claim and
the commit that records what was posted.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from catalog.alerts.auth import AlertRefused, authenticate
from catalog.alerts.card import AlertCard, alert_card
from catalog.alerts.inbox import claim, claimable, finish, give_back, store
from catalog.alerts.links import entity_for_url
from catalog.alerts.lookup import find_entity
from catalog.alerts.models import AlertIncident
from catalog.alerts.payloads import PROVIDERS, MalformedAlert, parse_alert
from catalog.core import Catalog

log = logging.getLogger(__name__)

__all__ = ["AlertCard", "Alerts", "CardPoster", "Received"]


class CardPoster(Protocol):
    """How cards reach the chat (Slack's `chat.postMessage` / `chat.update` in production)."""

    def post(self, channel: str, card: AlertCard) -> str:
        """Post a new card; returns its message id (Slack `ts`)."""

    def update(self, channel: str, ts: str, card: AlertCard) -> None:
        """Redraw the card in place."""

    def reply(self, channel: str, ts: str, card: AlertCard) -> None:
        """One line in the card's thread saying what changed."""


@dataclass(frozen=True)
class Received:
    status: int  # the HTTP status to answer with
    outcome: str  # stored, duplicate, unauthorized, not_configured, malformed

    @property
    def stored(self) -> bool:
        return self.outcome == "stored"


class Alerts:
    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog

    @property
    def configured(self) -> bool:
        return self.catalog.config.alerts is not None

    def receive(self, provider: str, body: bytes, headers: Mapping[str, str], *, now: datetime) -> Received:
        """Authenticate, parse and store one webhook; nothing else happens before the reply."""
        config = self.catalog.config.alerts
        try:
            if provider not in PROVIDERS:
                raise AlertRefused(404, f"unknown alert provider {provider!r}")
            authenticate(config, provider, body, headers)
            assert config is not None  # authenticate refuses without it
            event = parse_alert(provider, body, labels=config.labels)
        except AlertRefused as refused:
            log.warning("refused %s alert with %d: %s", provider if provider in PROVIDERS else "unknown", refused.status, refused)
            return Received(refused.status, "unauthorized" if refused.status == 401 else "not_configured")
        except MalformedAlert as exc:
            log.warning("malformed %s alert: %s", provider, exc)
            return Received(400, "malformed")
        with self.catalog.session() as session:
            stored = store(session, event, body, now=now)
        return Received(202, "stored" if stored else "duplicate")

    def linked_entities(self, urls: Iterable[str]) -> dict[str, str]:
        """url -> entity ref, for pasted alert links the configured patterns recognise."""
        config = self.catalog.config.alerts
        if config is None:
            return {}
        with self.catalog.session() as session:
            index = self.catalog.index(session)
            return {url: ref for url in urls if (ref := entity_for_url(session, index, url, config.links))}

    def process_pending(self, poster: CardPoster, *, now: datetime) -> int:
        """Work through every claimable delivery (this replica's share); returns how many were handled."""
        handled = 0
        while True:
            with self.catalog.session() as session:
                ids = claimable(session, now=now)
            if not ids:
                return handled
            progressed = False
            for delivery_id in ids:
                with self.catalog.session() as session:
                    delivery = claim(session, delivery_id, now=now)
                    taken = (delivery.provider, delivery.body) if delivery else None
                if taken is None:
                    continue  # another worker has it
                progressed = True
                handled += 1
                try:
                    self._apply(delivery_id, *taken, poster=poster, now=now)
                except Exception as exc:  # noqa: BLE001  any failure: the delivery is retried, then set aside
                    log.exception("alert delivery %d failed", delivery_id)
                    with self.catalog.session() as session:
                        give_back(session, delivery_id, error=type(exc).__name__, now=now)
            if not progressed:
                return handled

    def _apply(self, delivery_id: int, provider: str, body: str, *, poster: CardPoster, now: datetime) -> None:
        config = self.catalog.config.alerts
        assert config is not None
        try:
            event = parse_alert(provider, body.encode("utf-8"), labels=config.labels)
        except MalformedAlert as exc:
            with self.catalog.session() as session:
                finish(session, delivery_id, now=now, error=str(exc)[:300])
            return
        with self.catalog.session() as session:
            incident = session.get(AlertIncident, event.group_key)
            status = event.status
            if incident is None and status is None:  # a note, a priority change, a service event: no incident to show
                finish(session, delivery_id, now=now)
                return
            if incident is None:
                found = find_entity(session, self.catalog.index(session), event)
                incident = AlertIncident(
                    group_key=event.group_key, provider=provider, title=event.title, severity=event.severity, url=event.url,
                    status=status or "triggered", entity_ref=found.ref if found else None, matched=found.matched if found else None,
                    opened_at=now, updated_at=now,
                )  # fmt: skip
                changed = True
            else:
                changed = status is not None and status != incident.status
                if changed:
                    incident.status, incident.updated_at = status or incident.status, now
            if changed and incident.status == "acknowledged" and event.actor:
                incident.acknowledged_by = event.actor
            if changed or incident.ts is None:
                base = self.catalog.config.path.parent if self.catalog.config.path else None
                card = alert_card(session, incident, names=event.names, fallback_contact=config.fallback_contact, now=now, base=base)
                if incident.ts is None:
                    incident.channel = self._channel(card)
                    incident.ts = poster.post(incident.channel, card)
                elif incident.channel:
                    poster.update(incident.channel, incident.ts, card)
                    poster.reply(incident.channel, incident.ts, card)
            session.add(incident)
            finish(session, delivery_id, now=now)

    def _channel(self, card: AlertCard) -> str:
        """The owning team's channel when it has an id and routing to it is on; else the default channel."""
        config = self.catalog.config.alerts
        assert config is not None
        owner = card.page.card.owner if card.page else None
        if config.route_to_owner_channel and owner is not None and owner.slack_channel_id:
            return owner.slack_channel_id
        return config.channel
