"""A sync from the command line yields the CPU to the servers beside it.

`wayfinder sync` from cron or a Kubernetes job is batch work; on a machine it shares with `wayfinder
serve`, a 50k-entity sync took the CPU Slack's acknowledgements needed. Side by side in the replica
drill (`benchmarks/bench_replicas.py`: three replicas and the sync on two cores, 50 requests a second),
the sync at normal priority left ack p50/p99 at 217 ms / 21.0 s; lowered by 10, 33–37 ms / 6.0–17.6 s
(two runs), and the sync itself took no longer (224 s against 230 and 204 s): it mostly waits on the database.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager

log = logging.getLogger(__name__)

BATCH_NICENESS = 10  # added to the current niceness (at most 19, the lowest priority)


@contextmanager
def batch_priority() -> Iterator[None]:
    """Run the block at a lower CPU priority, in this thread (and the threads it starts) only.

    Linux gives each thread its own niceness, so an in-process caller (a test, a server running a
    sync) keeps its other threads' priority. Raising it back afterwards needs a privilege an ordinary
    user lacks: then the thread stays lower, which a command about to exit does not mind. Where the
    platform has no per-thread niceness the block runs as it is.
    """
    if sys.platform != "linux":  # elsewhere a thread id is no process id: it could name another process
        yield
        return
    thread = threading.get_native_id()
    try:
        before = os.getpriority(os.PRIO_PROCESS, thread)
        os.setpriority(os.PRIO_PROCESS, thread, min(before + BATCH_NICENESS, 19))
    except OSError as exc:  # a container that forbids it
        log.debug("sync priority unchanged: %s", exc)
        yield
        return
    try:
        yield
    finally:
        try:
            os.setpriority(os.PRIO_PROCESS, thread, before)
        except OSError:
            pass  # no privilege to raise it again: see above
