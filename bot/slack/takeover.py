"""Handling again what a dead replica left: deliveries acked, claimed and never finished.

Every replica polls the database (`Catalog.take_over_deliveries`); a delivery whose lease ran out
is claimed by exactly one of them and dispatched through its Bolt app as if Slack had sent it
again, with `REPLAYED` in the context so the listener's once-per-delivery check lets it through.
"""

from __future__ import annotations

import json
import logging
import threading

from slack_bolt import App
from slack_bolt.request import BoltRequest

from bot.compose import Services
from bot.slack.deliveries import REPLAYED

log = logging.getLogger(__name__)

POLL_SECONDS = 10.0  # with the 60 s lease: a dead replica's deliveries are handled again within 70 s


class DeliveryTakeover:
    def __init__(self, app: App, services: Services, *, poll_seconds: float = POLL_SECONDS) -> None:
        self._app, self._services, self._poll = app, services, poll_seconds
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="wayfinder-slack-takeover", daemon=True)

    def start(self) -> DeliveryTakeover:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def run_once(self) -> int:
        """Dispatch every delivery taken over now; returns how many."""
        taken = self._services.catalog.take_over_deliveries(now=self._services.clock())
        for key, body in taken:
            log.warning("delivery %s: its replica stopped before finishing it; handling it here", key)
            self._app.dispatch(BoltRequest(body=json.loads(body), mode="socket_mode", context={REPLAYED: key}))
        return len(taken)

    def _run(self) -> None:
        while not self._stop.wait(self._poll):
            try:
                self.run_once()
            except Exception:  # noqa: BLE001  the database may be away for a moment; the next round retries
                log.exception("taking over abandoned Slack deliveries failed")
