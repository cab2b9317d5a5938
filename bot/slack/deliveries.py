"""Each Slack delivery is handled once, however often it is retried or redelivered, on any replica.

Slack retries an event it got no timely ack for, and a replica may receive a retry of an event
another replica is already answering; a load balancer may also resend a slash command or a button
click to another replica after a connection broke. The delivery's id (an event's `event_id`, a
command's or interaction's `trigger_id`, unique per invocation; for a "Share in channel" click the
message it sits on, so a double click shares once) is claimed in the database
(`Catalog.start_delivery`) before the ack, by a listener middleware (`claim_before_ack`) running on
the request's thread: Bolt acks an event before its listener leaves the thread pool's queue, and a
replica killed between an ack and a claim would lose the delivery (Slack never retries what it got an
ack for). The claim never queues behind a sync: on SQLite it is written to the claims ledger, a
database file of its own. Only the first claim runs the handler; a redelivery is acked and does nothing.

The claim keeps the delivery until its handler returns. Slack does not retry what it got an ack
for, so if this replica dies meanwhile (kill -9), another takes the delivery over once its lease
runs out and runs the handler again (`bot.slack.takeover`), marked by `REPLAYED` in the context.
The dead replica may have posted its answer just before dying: every answer to an event carries
message metadata naming its delivery (`answer_metadata`), and a replayed event whose answer is
found in its thread or channel is marked done without answering again. Replies to commands and
clicks go to a `response_url`, which Slack lets nobody read back: those may still come twice if
the replica died between the reply and marking the delivery done.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

from slack_bolt import Ack, BoltContext, BoltResponse
from slack_sdk import WebClient
from slack_sdk.models.metadata import Metadata

from bot.compose import Services
from bot.slack.errors import reported
from bot.slack.ids import ActionId
from bot.slack.posted import find_posted
from bot.slack.wrappers import Handler, as_listener, call

log = logging.getLogger(__name__)

REPLAYED = "wayfinder_replayed_delivery"  # context key: the delivery key a takeover replays
CLAIMED = "wayfinder_claimed_delivery"  # context key: the delivery key `claim_before_ack` claimed
DELIVERY = "wayfinder_delivery"  # context key: the key of the delivery being handled, for `answer_metadata`
ANSWER_EVENT = "wayfinder_answer"  # metadata event type of an answer posted for a delivery
ANSWER_PAGES = 5  # of 200 messages: a thread, or a channel since the question, searched for the answer


def claim_before_ack(body: dict[str, Any], context: BoltContext, ack: Ack, next: Callable[[], None]) -> BoltResponse | None:
    """Listener middleware for `once_per_delivery` listeners: claim the delivery, then ack it, on the request's thread.

    A redelivery gets its 200 here, and its listener never runs; a takeover's replay passes through.
    The ack is sent here for commands and clicks as well, not by the listener (their acks carry
    nothing): Bolt answers those once their listener has called `ack()` on the listener pool, so in
    a burst that kept every pool thread busy each ack waited for one, and the replica drill's
    command and click acks took about twice as long as its events'.
    """
    key = delivery_key(body)
    if key is not None and context.get(REPLAYED) != key:
        if not first_delivery(context["services"], key, body):
            return BoltResponse(status=200, body="")
        context[CLAIMED] = key
    ack()
    next()
    return None


ONCE = [claim_before_ack]  # `middleware=` of every route whose listener is `once_per_delivery`
# Buttons whose effect belongs to the message they sit on, not to the click: each click has its own
# trigger_id, and a double click on "Share in channel" posted the answer twice.
ONCE_PER_MESSAGE = frozenset({ActionId.SHARE})


def once_per_delivery(handler: Handler) -> Handler:
    """`handler` as a Bolt listener that runs only for the first delivery of each event or invocation.

    Only for handlers whose ack carries nothing: the route's `middleware=ONCE` has claimed the
    delivery and acked it by then, and the handler's own `ack()` call changes nothing. A listener
    that takes `ack` is acked here as well, for a route without `ONCE`. Errors are `reported`: they come after the ack.
    """

    def first_delivery_only(**kwargs: Any) -> None:
        if "ack" in kwargs:
            kwargs["ack"]()
        services, body, context = kwargs["services"], kwargs["body"], kwargs["context"]
        key = delivery_key(body)
        replayed = key is not None and context.get(REPLAYED) == key
        if key is not None and not replayed and context.get(CLAIMED) != key and not first_delivery(services, key, body):
            return  # a route registered without `ONCE`: claimed after the ack, as a last resort
        if key is not None and replayed and answered_before(kwargs["client"], body, key):
            log.warning("delivery %s: its dead replica had answered it already; marking it done", key)
            services.catalog.finish_delivery(key, now=services.clock())
            return
        context[DELIVERY] = key
        try:
            call(handler, kwargs)
        finally:
            if key is not None:
                services.catalog.finish_delivery(key, now=services.clock())

    return reported(as_listener(first_delivery_only, handler, needs=("body", "services", "context", "client")))


def delivery_key(body: dict[str, Any]) -> str | None:
    """What identifies the delivery: an event's `event_id`, a click on a `ONCE_PER_MESSAGE` button its
    message, else a command's or interaction's `trigger_id`."""
    if body.get("event_id"):
        return f"slack:{body['event_id']}"
    if message := _clicked_once_per_message(body):
        return f"slack-message:{message}"
    return f"slack-trigger:{body['trigger_id']}" if body.get("trigger_id") else None


def _clicked_once_per_message(body: dict[str, Any]) -> str | None:
    """`action:channel:message_ts` of a click on a `ONCE_PER_MESSAGE` button in a message; None for anything else."""
    action, container = (body.get("actions") or [{}])[0], body.get("container") or {}
    if body.get("type") != "block_actions" or action.get("action_id") not in ONCE_PER_MESSAGE:
        return None
    channel, ts = container.get("channel_id"), container.get("message_ts")
    return f"{action['action_id']}:{channel}:{ts}" if channel and ts else None


def answer_metadata(key: str | None) -> Metadata | None:
    """What an answer to delivery `key` carries, so a takeover can find it (`answered_before`)."""
    return Metadata(event_type=ANSWER_EVENT, event_payload={"delivery": key}) if key else None


def answered_before(client: WebClient, body: dict[str, Any], key: str) -> bool:
    """Whether an answer to event delivery `key` is in Slack: in the question's thread, or its channel since the question."""
    event = body.get("event") or {}
    channel, ts = event.get("channel"), event.get("ts")
    if not channel or not ts:
        return False  # commands and clicks: their replies went to a response_url, which cannot be read back
    fetches = (
        lambda cursor: client.conversations_replies(channel=channel, ts=event.get("thread_ts") or ts, include_all_metadata=True, limit=200, cursor=cursor),
        lambda cursor: client.conversations_history(channel=channel, oldest=ts, include_all_metadata=True, limit=200, cursor=cursor),
    )
    return any(find_posted(fetch, event_type=ANSWER_EVENT, field="delivery", value=key, pages=ANSWER_PAGES) for fetch in fetches)


def first_delivery(services: Services, key: str, body: dict[str, Any]) -> bool:
    """Claim the delivery; False for a retry or a delivery another replica claimed."""
    first = services.catalog.start_delivery(key, json.dumps(body), now=services.clock())
    if not first:
        services.catalog.metrics.duplicates.labels("slack").inc()
        log.info("delivery %s: already handled, dropping the redelivery", key)
    return first
