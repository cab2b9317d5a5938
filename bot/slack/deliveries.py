"""Each Events API delivery is handled once, however often Slack retries it.

Slack retries an event it got no timely ack for, and a replica may receive a retry of an event
another replica is already answering. Its `event_id` is claimed in the database (`Catalog.claim_once`)
by the listener, after Bolt has acked: the ack never waits for a database write, which on SQLite
could queue behind a sync's write transaction past Slack's 3 s limit and cause those very retries.
Only the first claim runs the handler; a retry is acked the same way and then does nothing.
"""

from __future__ import annotations

import functools
import inspect
import logging
from collections.abc import Callable
from typing import Any

from bot.compose import Services

log = logging.getLogger(__name__)


def once_per_event(handler: Callable[..., None]) -> Callable[..., None]:
    """`handler` as a Bolt listener that runs only for the first delivery of each `event_id`.

    Bolt passes the arguments a listener names; the wrapper names the handler's own plus the
    `body` and `services` it needs itself, and hands the handler what it asked for.
    """
    own = inspect.signature(handler)
    extra = [inspect.Parameter(n, inspect.Parameter.POSITIONAL_OR_KEYWORD) for n in ("body", "services") if n not in own.parameters]

    @functools.wraps(handler)
    def first_delivery_only(**kwargs: Any) -> None:
        if first_delivery(kwargs["services"], kwargs["body"]):
            handler(**{name: value for name, value in kwargs.items() if name in own.parameters})

    first_delivery_only.__signature__ = own.replace(parameters=[*own.parameters.values(), *extra])  # type: ignore[attr-defined]
    del first_delivery_only.__wrapped__  # Bolt reads the signature above, not the handler's
    return first_delivery_only


def first_delivery(services: Services, body: dict[str, Any]) -> bool:
    """Claim the delivery's `event_id`; False for a retry or a delivery another replica claimed."""
    event_id = body.get("event_id")
    if not event_id:
        return True
    first = services.catalog.claim_once(f"slack:{event_id}", now=services.clock())
    if not first:
        services.catalog.metrics.duplicates.labels("slack").inc()
        log.info("event %s: already handled, dropping the redelivery", event_id)
    return first
