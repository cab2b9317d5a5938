"""Handling again what a dead replica left: deliveries acked, claimed and never finished.

Every replica polls the database (`Catalog.take_over_deliveries`); a delivery whose lease ran out
is claimed by exactly one of them and dispatched through its Bolt app as if Slack had sent it
again, with `REPLAYED` in the context so the listener's once-per-delivery check lets it through.
"""

from __future__ import annotations

import json
import logging

from slack_bolt import App
from slack_bolt.request import BoltRequest

from bot.compose import Services
from bot.repeating import Repeating
from bot.slack.deliveries import REPLAYED

log = logging.getLogger(__name__)

POLL_SECONDS = 10.0  # with the 60 s lease: a dead replica's deliveries are handled again within 70 s


class DeliveryTakeover(Repeating):
    name = "wayfinder-slack-takeover"
    failure = "taking over abandoned Slack deliveries failed"

    def __init__(self, app: App, services: Services, *, poll_seconds: float = POLL_SECONDS) -> None:
        self._app, self._services = app, services
        super().__init__(seconds=poll_seconds)

    def work(self) -> object:
        return self.run_once()

    def run_once(self) -> int:
        """Dispatch every delivery taken over now; returns how many."""
        taken = self._services.catalog.take_over_deliveries(now=self._services.clock())
        for key, body in taken:
            log.warning("delivery %s: its replica stopped before finishing it; handling it here", key)
            self._app.dispatch(BoltRequest(body=json.loads(body), mode="socket_mode", context={REPLAYED: key}))
        return len(taken)
