"""Alerts, end to end: accept a webhook (authenticate, parse, store) and, after the reply, turn the
stored deliveries into one ownership card per incident through a `CardPoster` the adapter provides.

Built from the `Catalog` (its sessions, config and resolution index); adapters reach alerts only
through this object. Each step is its own short transaction, and no transaction is open while Slack
answers: the intent to post a card is committed first, what Slack returned is recorded after.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy import select
from sqlmodel import Session, col

from catalog.alerts.auth import AlertRefused, authenticate
from catalog.alerts.card import NOT_A_CHANNEL_ID, AlertCard, alert_card
from catalog.alerts.groups import Part, split
from catalog.alerts.inbox import claim, claimable, finish, give_back, store
from catalog.alerts.links import Placed, entity_for_url
from catalog.alerts.lookup import find_entity
from catalog.alerts.models import AlertDelivery, AlertIncident
from catalog.alerts.payloads import PROVIDERS, AlertEvent, MalformedAlert, parse_alert
from catalog.alerts.vendors import vendor_lookups
from catalog.answers.card import is_channel_id
from catalog.chat import MessageGone, RateLimited, Undeliverable
from catalog.core import Catalog
from catalog.store.models import as_utc, column_length

log = logging.getLogger(__name__)

# Providers whose key names one incident for good, which they reopen themselves (PagerDuty's incident id,
# `incident.reopened`): its card follows it. Others reuse a key for the next incident: a group key, an alias, a dedup key.
REOPENED_IN_PLACE = {"pagerduty"}

__all__ = ["AlertCard", "Alerts", "CardPoster", "Placed", "Received"]


class CardPoster(Protocol):
    """How cards reach the chat (Slack's `chat.postMessage` / `chat.update` in production).

    Slack asking to wait is raised as `catalog.chat.RateLimited`, a channel that cannot take the card as `Undeliverable`.
    """

    def post(self, channel: str, card: AlertCard) -> str:
        """Post a new card; returns its message id (Slack `ts`)."""

    def update(self, channel: str, ts: str, card: AlertCard) -> None:
        """Redraw the card in place."""

    def reply(self, channel: str, ts: str, card: AlertCard, *, key: str) -> None:
        """One line in the card's thread saying what changed, carrying `key` so it can be found again."""

    def replied(self, channel: str, ts: str, key: str) -> bool:
        """Whether the card's thread already holds the line for `key` (an earlier attempt posted it)."""

    def find(self, channel: str, key: str, *, since: datetime) -> str | None:
        """The message id of the card for incident `key` posted in `channel` since `since`, if there is one."""


@dataclass(frozen=True)
class Received:
    status: int  # the HTTP status to answer with
    outcome: str  # stored, duplicate, unauthorized, not_configured, unknown_provider, malformed
    message: str  # for the sender, in plain words: what became of the alert, or why it was refused

    @property
    def stored(self) -> bool:
        return self.outcome == "stored"


@dataclass(frozen=True)
class _Plan:
    incident: AlertIncident  # as it will be stored once Slack shows it
    card: AlertCard
    resuming: bool  # an earlier attempt set out to post this card, or this delivery's thread line
    line: bool  # a posted card's state changed: its thread says so


class Alerts:
    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog

    @property
    def configured(self) -> bool:
        return self.catalog.config.alerts is not None

    def receive(self, provider: str, body: bytes, headers: Mapping[str, str], *, now: datetime) -> Received:
        """Authenticate, parse and store one webhook; nothing else happens before the reply."""
        if provider not in PROVIDERS:
            return self._refused(provider, 404, "unknown_provider", f"unknown alert provider {provider!r}; the known ones are {', '.join(PROVIDERS)}")
        config = self.catalog.config.alerts
        try:
            authenticate(config, provider, body, headers)
            assert config is not None  # authenticate refuses without it
            event = parse_alert(provider, body, labels=config.labels)
        except AlertRefused as refused:
            return self._refused(provider, refused.status, "unauthorized" if refused.status == 401 else "not_configured", str(refused))
        except MalformedAlert as exc:
            return self._refused(provider, 400, "malformed", str(exc))
        if store(self.catalog.engine, event, body, now=now):
            return self._counted(provider, Received(202, "stored", "stored"))
        self.catalog.metrics.duplicates.labels("alerts").inc()
        return self._counted(provider, Received(202, "duplicate", "already received"))

    def _refused(self, provider: str, status: int, outcome: str, reason: str) -> Received:
        log.warning("refused %s alert with %d: %s", provider if provider in PROVIDERS else "unknown", status, reason)
        return self._counted(provider, Received(status, outcome, reason))

    def _counted(self, provider: str, received: Received) -> Received:
        self.catalog.metrics.alerts_received.labels(provider if provider in PROVIDERS else "unknown", received.outcome).inc()
        return received

    def linked_entities(self, urls: Iterable[str]) -> dict[str, Placed]:
        """url -> the entity (and any vendor lookup that failed), for pasted alert links the configured patterns recognise."""
        config = self.catalog.config.alerts
        if config is None:
            return {}
        with self.catalog.session() as session:
            index = self.catalog.index(session)
            lookups = vendor_lookups(self.catalog.config)
            return {url: placed for url in urls if (placed := entity_for_url(session, index, url, config.links, lookups, config.labels))}

    def process_pending(self, poster: CardPoster, *, clock: Callable[[], datetime]) -> int:
        """Work through every claimable delivery (this replica's share); returns how many were handled."""
        handled = 0
        while True:
            with self.catalog.session() as session:
                ids = claimable(session, now=clock())
            if not ids:
                return handled
            progressed = False
            for delivery_id in ids:
                now = clock()
                with self.catalog.session() as session:
                    delivery = claim(session, delivery_id, now=now)
                if delivery is None:
                    continue  # another worker has it
                progressed = True
                handled += 1
                try:
                    self._apply(delivery_id, delivery.provider, delivery.body, poster=poster, now=now)
                except Exception as exc:  # noqa: BLE001  any failure: the delivery is retried later, then set aside
                    self._failed(delivery, exc, now=now)
                else:
                    waited = (clock() - as_utc(delivery.received_at)).total_seconds()
                    self.catalog.metrics.alert_seconds.labels(delivery.provider).observe(max(0.0, waited))
            if not progressed:
                return handled

    def _failed(self, delivery: AlertDelivery, exc: Exception, *, now: datetime) -> None:
        """Schedule the next attempt (after a backoff, or Slack's Retry-After), or set the delivery aside
        when it was the last: counted and logged as an error, since its card is then never drawn or updated."""
        assert delivery.id is not None
        wait = timedelta(seconds=exc.retry_after) if isinstance(exc, RateLimited) else timedelta(0)
        with self.catalog.session() as session:
            retry_at = give_back(session, delivery.id, attempts=delivery.attempts, error=type(exc).__name__, now=now, wait=wait)
        what = f"alert delivery {delivery.id} ({delivery.group_key}) failed on attempt {delivery.attempts}"
        if retry_at is not None:  # a 429 is Slack pacing us, not a fault: no traceback
            log.warning("%s; trying again at %s", what, retry_at.isoformat(), exc_info=None if isinstance(exc, RateLimited) else exc)
            return
        self.catalog.metrics.alert_deliveries_set_aside.labels(delivery.provider).inc()
        log.error("%s, the last: set aside, Slack will not show it", what, exc_info=exc)

    def _apply(self, delivery_id: int, provider: str, body: str, *, poster: CardPoster, now: datetime) -> None:
        """Draw the delivery's incidents, one per entity its alerts name (`groups.split`), then mark it done.

        A retry after a crash redraws nothing already drawn: a drawn part's incident holds its status and alert list.
        """
        config = self.catalog.config.alerts
        assert config is not None
        try:
            event = parse_alert(provider, body.encode("utf-8"), labels=config.labels)
        except MalformedAlert as exc:
            with self.catalog.session() as session:
                finish(session, delivery_id, now=now, error=str(exc)[:300])
            return
        with self.catalog.session() as session:
            index = self.catalog.index(session)
            parts = split(event, lambda each: find_entity(session, index, each))
        for part in parts:
            self._draw(part, key=str(delivery_id), poster=poster, now=now)
        with self.catalog.session() as session:
            finish(session, delivery_id, now=now)

    def _draw(self, part: Part, *, key: str, poster: CardPoster, now: datetime) -> None:
        """Post or edit one incident's card: decide in one transaction, call Slack outside any, record in another.

        A new card's intent (`posting_since`) is committed before Slack is called; a worker that
        finds it set without a message id looks for the card in the channel first (`CardPoster.find`),
        so a crash between posting and recording posts no second card. An edit's thread line is
        keyed by the delivery (`replying`, committed first), and a retry of that delivery looks for
        the line in the thread (`CardPoster.replied`) before posting it. No transaction is open while
        Slack answers, so webhooks storing alerts never wait for Slack.
        """
        with self.catalog.session() as session:
            plan = self._plan(session, part, key=key, now=now)
            if plan is None:
                return
            if plan.incident.ts is None:
                session.merge(plan.incident)  # the intent to post, committed before Slack is called
        incident, card, provider = plan.incident, plan.card, part.event.provider
        if incident.ts is None:
            found = self._post(incident, card, poster, resuming=plan.resuming)
            self.catalog.metrics.alert_cards.labels(provider, "recovered" if found else "posted").inc()
        elif incident.channel:
            try:
                poster.update(incident.channel, incident.ts, card)
            except MessageGone:  # deleted in Slack: edits failed until the delivery was set aside, and the incident's later ones waited
                self._post_again(incident, card, poster, now=now)
            else:
                if plan.line and not (plan.resuming and poster.replied(incident.channel, incident.ts, key)):
                    poster.reply(incident.channel, incident.ts, card, key=key)
            self.catalog.metrics.alert_cards.labels(provider, "updated").inc()
        incident.replying = None
        with self.catalog.session() as session:
            session.merge(incident)

    def _plan(self, session: Session, part: Part, *, key: str, now: datetime) -> _Plan | None:
        """What to draw for `part` (its incident as it will be stored, its card), or None: nothing changed.

        Redrawing a posted card for a change of state records in the stored incident (committed with
        this transaction, before Slack is called) that `key`'s thread line is underway.
        """
        config = self.catalog.config.alerts
        assert config is not None
        event = part.event
        stored = self._current(session, part)
        if stored is not None and _out_of_order(event, stored):
            return None  # delivered late: the card already shows what happened after it
        if stored is None:
            if event.status is None:  # a note, a priority change, a service event: no incident to show
                return None
            incident, changed = self._opened(session, part, key=key, now=now), True
        else:  # a detached copy: the new state is stored only once Slack shows it
            incident = AlertIncident(**stored.model_dump())
            changed = event.status is not None and event.status != stored.status
            if changed:
                incident.status = event.status or incident.status
        if changed and incident.status == "acknowledged" and event.actor:
            incident.acknowledged_by = event.actor
        relisted = part.listed != incident.listed
        if changed or relisted:
            incident.listed, incident.updated_at = part.listed, now
            incident.event_at = max(filter(None, (incident.event_at, event.occurred_at)), default=None)
        elif incident.ts is not None:
            return None
        base = self.catalog.config.path.parent if self.catalog.config.path else None
        card = alert_card(session, incident, names=event.names, alerts=event.alerts, fallback_contact=config.fallback_contact, now=now, base=base)
        if incident.ts is None:
            resuming = incident.posting_since is not None
            if incident.channel is None:
                incident.channel, incident.rerouted = self._channel(card)
            incident.posting_since = incident.posting_since or now
        elif changed:  # the change of state gets its line in the card's thread
            assert stored is not None  # a card was posted, so its incident is stored
            resuming, stored.replying = stored.replying == key, key
        else:  # the alert list alone changed: redrawing the card is enough, and repeating it harmless
            resuming = False
        card.rerouted = incident.rerouted
        return _Plan(incident, card, resuming=resuming, line=changed and incident.ts is not None)

    def _current(self, session: Session, part: Part) -> AlertIncident | None:
        """The incident `part` edits: its group's (on its entity, for a group's part), the open one first; None opens one.

        A resolved incident is over: its group firing again opens a new card rather than reopening the old,
        whose thread and history belong to the past incident (`REOPENED_IN_PLACE` aside).
        """
        query = select(AlertIncident).where(col(AlertIncident.group_key) == part.event.group_key)
        if part.by_entity:
            ref = part.found.ref if part.found else None
            query = query.where(col(AlertIncident.entity_ref) == ref if ref else col(AlertIncident.entity_ref).is_(None))
        latest = session.scalars(query.order_by(col(AlertIncident.status) == "resolved", col(AlertIncident.opened_at).desc()).limit(1)).first()
        firing_again = (
            latest is not None and latest.status == "resolved" and part.event.status not in (None, "resolved")
            and not _out_of_order(part.event, latest)  # a late "triggered" opens nothing
        )  # fmt: skip
        return None if firing_again and part.event.provider not in REOPENED_IN_PLACE else latest

    def _opened(self, session: Session, part: Part, *, key: str, now: datetime) -> AlertIncident:
        """A new incident for `part`, opened by delivery `key` (counted when the catalog cannot place it)."""
        event, found = part.event, part.found
        if found is None:
            self.catalog.metrics.alert_unknown_services.labels(event.provider).inc()
        assert event.status is not None  # events without a status open nothing
        return AlertIncident(
            key=_incident_key(session, event.group_key, found.ref if found else None, key), group_key=event.group_key, provider=event.provider,
            title=event.title, severity=event.severity, url=event.url, status=event.status, entity_ref=found.ref if found else None,
            matched=found.matched if found else None, opened_at=now, updated_at=now, event_at=event.occurred_at,
        )  # fmt: skip

    def _channel(self, card: AlertCard) -> tuple[str, str | None]:
        """(where a new card goes, why not its owner's channel): the owning team's channel when routing to it
        is on and it has one; else the default channel, saying so when the owner's annotation is no channel id."""
        config = self.catalog.config.alerts
        assert config is not None
        wanted = card.owner.slack_channel_id if config.route_to_owner_channel and card.owner is not None else None
        if not wanted:
            return config.channel, None
        return (wanted, None) if is_channel_id(wanted) else (config.channel, NOT_A_CHANNEL_ID)

    def _post_again(self, incident: AlertIncident, card: AlertCard, poster: CardPoster, *, now: datetime) -> None:
        """Post a card whose message someone deleted as a new one, which its incident follows from now on
        (the intent committed first, as for any new card, so a crash in between posts it once)."""
        log.warning("alert card %s: its message is gone from Slack; posting it again", incident.key)
        incident.ts, incident.posting_since = None, now
        with self.catalog.session() as session:
            session.merge(incident)
        self._post(incident, card, poster, resuming=False)

    def _post(self, incident: AlertIncident, card: AlertCard, poster: CardPoster, *, resuming: bool) -> bool:
        """Post the new card, or find and redraw the one a crashed worker posted (True); a channel Slack will
        not take it in (gone, archived, the bot not in it) gives way to the default channel, on the card's word.

        The new channel is committed before Slack is called again, so a retry looks for the card there.
        """
        try:
            return self._post_in_channel(incident, card, poster, resuming=resuming)
        except Undeliverable as exc:
            if not self._reroute(incident, card, str(exc)):
                raise  # the default channel itself: retried later, then set aside
        with self.catalog.session() as session:
            session.merge(incident)
        return self._post_in_channel(incident, card, poster, resuming=False)

    def _post_in_channel(self, incident: AlertIncident, card: AlertCard, poster: CardPoster, *, resuming: bool) -> bool:
        assert incident.channel is not None and incident.posting_since is not None
        found = poster.find(incident.channel, incident.key, since=incident.posting_since) if resuming else None
        if found is not None:  # posted by a worker that crashed before recording it
            incident.ts = found
            poster.update(incident.channel, found, card)
        else:
            incident.ts = poster.post(incident.channel, card)
        return found is not None

    def _reroute(self, incident: AlertIncident, card: AlertCard, error: str) -> bool:
        """Move the card to the default channel because Slack answered `error` for its own; False when it is there already."""
        config = self.catalog.config.alerts
        assert config is not None
        if incident.channel == config.channel:
            return False
        log.warning("alert card %s: Slack answered %s for channel %s; posting in %s instead", incident.key, error, incident.channel, config.channel)
        incident.channel, incident.rerouted = config.channel, error
        card.rerouted = error
        return True


def _incident_key(session: Session, group_key: str, ref: str | None, delivery: str) -> str:
    """A new incident's key: its group key when the group has none yet (one card per group, as before groups
    were split by entity), else with its entity and the delivery that opened it, which no other incident shares."""
    if session.get(AlertIncident, group_key) is None:
        return group_key
    key = f"{group_key}|{ref or 'unplaced'}#{delivery}"
    limit = column_length(AlertIncident, "key")
    return key if len(key) <= limit else f"{group_key}|{hashlib.sha256(key.encode()).hexdigest()[:32]}"


def _out_of_order(event: AlertEvent, incident: AlertIncident) -> bool:
    """Whether `event` happened before the latest event `incident` shows: webhooks are not delivered in order
    (a retry comes late), and a resolved incident's late "triggered" or "acknowledged" must not move it back."""
    return event.occurred_at is not None and incident.event_at is not None and event.occurred_at < incident.event_at
