"""`Repeating`: work a server does every few seconds on a thread of its own, such as picking up
what a dead replica left behind, until it is stopped."""

from __future__ import annotations

import logging
import threading
from typing import Self

log = logging.getLogger(__name__)


class Repeating:
    """Calls `work` every `seconds` (first after one wait) on a daemon thread named `name`, until `stop`.

    A round that raises is logged as `failure` and the next round tries again: the database may be
    away for a moment, and the server must not lose the thread for it.
    """

    name = "wayfinder-repeating"
    failure = "a repeated task failed"

    def __init__(self, *, seconds: float) -> None:
        self._seconds = seconds
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)

    def work(self) -> object:
        raise NotImplementedError

    def start(self) -> Self:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        while not self._stop.wait(self._seconds):
            try:
                self.work()
            except Exception:  # noqa: BLE001  see the class docstring
                log.exception(self.failure)
