"""The alert tables: every accepted delivery (stored before the reply) and one row per incident's card.

`AlertDelivery` is the inbox: the raw body is kept so processing after the reply, or after a
restart, reads only the database. `AlertIncident` is one card per incident: per alert group and
entity (a group naming two teams' services is two cards), and a new one each time its group fires
again after it was resolved; its conditional updates decide which replica posts or edits it, and
the intent to post is recorded before Slack is called, so a crash between posting and recording
the message does not post twice.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index
from sqlmodel import Field

from catalog.store.models import TableModel


class AlertDelivery(TableModel, table=True):
    __tablename__ = "alert_delivery"
    __table_args__ = (Index("ix_alert_delivery_pending", "processed_at", "group_key"),)

    id: int | None = Field(default=None, primary_key=True)
    provider: str = Field(max_length=20)
    fingerprint: str = Field(max_length=300, unique=True)  # provider + delivery id: a redelivery conflicts here
    group_key: str = Field(max_length=300)  # the incident or alert group this delivery belongs to
    body: str  # the raw payload as received (UTF-8)
    received_at: datetime
    claimed_until: datetime | None = None  # a worker is processing it until then
    attempts: int = 0
    next_attempt_at: datetime | None = None  # a failed delivery is retried no sooner (its backoff, or Slack's Retry-After)
    processed_at: datetime | None = None
    error: str | None = Field(default=None, max_length=300)


class AlertIncident(TableModel, table=True):
    __tablename__ = "alert_incident"
    __table_args__ = (Index("ix_alert_incident_entity", "entity_ref", "status"), Index("ix_alert_incident_group", "group_key", "entity_ref"))

    # The group key for a group's first incident (so the keys of cards posted before groups were split by
    # entity still hold), else the group key with the entity and the delivery that opened it (`service._incident_key`).
    key: str = Field(primary_key=True, max_length=300)
    group_key: str = Field(max_length=300)  # the incident or alert group its deliveries belong to
    provider: str = Field(max_length=20)
    title: str
    severity: str | None = Field(default=None, max_length=50)
    url: str | None = Field(default=None, max_length=2000)
    status: str = Field(max_length=20)  # triggered, acknowledged, resolved
    entity_ref: str | None = Field(default=None, max_length=400)
    acknowledged_by: str | None = Field(default=None, max_length=200)
    matched: str | None = Field(default=None, max_length=300)  # the alert's name when the entity was a fuzzy match
    channel: str | None = Field(default=None, max_length=50)
    # Why the card is in the default channel rather than its owner's: `not_a_channel_id`, or Slack's error for the owner's.
    rerouted: str | None = Field(default=None, max_length=50)
    ts: str | None = Field(default=None, max_length=50)  # the card's message; None until posted
    # Set (and committed) before the card is posted: a worker that finds it set with no `ts` looks
    # for the message in the channel before posting, since the last one may have posted and crashed.
    posting_since: datetime | None = None
    # The delivery whose one-line thread reply is underway, committed before Slack is called: a
    # worker retrying that delivery looks for the reply in the thread before posting it again.
    replying: str | None = Field(default=None, max_length=50)
    # A digest of the alerts the card lists (a group's, on this entity): the group gaining or losing one redraws the card.
    listed: str | None = Field(default=None, max_length=64)
    opened_at: datetime
    updated_at: datetime
    # When the latest event it shows happened, by the sender's clock (None: the sender gives no time). An older
    # event arriving later (webhooks are not delivered in order) changes nothing (`service._out_of_order`).
    event_at: datetime | None = None
