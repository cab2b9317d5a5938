"""Processing after the reply: a few threads that drain the alert inbox when poked and on a timer.

The webhook pokes them after storing; the timer picks up what another replica stored, what a
crashed worker left claimed (after its lease) and, at start, whatever waited through a restart.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime

from catalog.alerts.service import Alerts, CardPoster

log = logging.getLogger(__name__)


class AlertWorker:
    def __init__(self, alerts: Alerts, poster: CardPoster, *, clock: Callable[[], datetime], threads: int = 4, poll_seconds: float = 10.0) -> None:
        self._alerts, self._poster, self._clock, self._poll = alerts, poster, clock, poll_seconds
        self._wake = threading.Condition()
        self._pokes = 0
        self._stopped = False
        self._threads = [threading.Thread(target=self._run, name=f"wayfinder-alerts-{i}", daemon=True) for i in range(threads)]

    def start(self) -> AlertWorker:
        for thread in self._threads:
            thread.start()
        return self

    def poke(self) -> None:
        """Something was stored: wake one worker now rather than at the next poll.

        One delivery needs one worker; waking them all made each poke cost four inbox queries,
        competing with the webhook replies for the GIL and the database.
        """
        with self._wake:
            self._pokes += 1
            self._wake.notify()

    def stop(self) -> None:
        with self._wake:
            self._stopped = True
            self._wake.notify_all()
        for thread in self._threads:
            thread.join(timeout=10)

    def _run(self) -> None:
        seen = -1  # differs from `_pokes`: drain once at start
        while True:
            with self._wake:
                if not self._stopped and seen == self._pokes:
                    self._wake.wait(self._poll)
                if self._stopped:
                    return
                seen = self._pokes
            try:
                self._alerts.process_pending(self._poster, clock=self._clock)
            except Exception:  # noqa: BLE001  the database may be away for a moment; the next round retries
                log.exception("processing stored alerts failed")
