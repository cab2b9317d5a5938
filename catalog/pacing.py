"""Background work that holds itself to a share of one core, so the requests beside it keep theirs."""

from __future__ import annotations

import time
from collections.abc import Callable


class Pacer:
    """`tick()` once per unit of work; every `every` ticks it sleeps long enough that the thread's
    CPU since the last pause is at most `share` of the time that passed.

    Sleeping gives up the CPU and the GIL alike. A replica rebuilding its index after a big sync
    took a whole core for a second, on every replica at once: on a busy machine every Slack ack
    meanwhile waited for a core (`catalog.store.reads.IndexCache`).
    """

    def __init__(
        self,
        share: float,
        *,
        every: int = 500,
        cpu: Callable[[], float] = time.thread_time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not 0 < share <= 1:
            raise ValueError(f"share must be in (0, 1], not {share}")
        self.share, self.every, self.cpu, self.sleep = share, every, cpu, sleep
        self._ticks = 0
        self._since = cpu()

    def tick(self) -> None:
        self._ticks += 1
        if self._ticks % self.every:
            return
        used = self.cpu() - self._since
        self.sleep(used * (1 - self.share) / self.share)
        self._since = self.cpu()
