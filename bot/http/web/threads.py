"""Where page and API handlers run: on two threads of their own, not the pool Slack's requests use.

A page is about 1.5 ms of Python. With 20 requests in flight, FastAPI ran them on up to 40
threads that fought over the GIL: 12-15 ms of server CPU per page (`benchmarks/bench_pages.py`).
On two threads the same page costs about 4 ms and p99 falls by half; one thread or four cost more.
Slack's handlers keep Starlette's default pool, so a burst of page views never delays an ack.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import ParamSpec, TypeVar

import anyio
import anyio.to_thread

P = ParamSpec("P")
R = TypeVar("R")

READ_THREADS = 2


class ReadThreads:
    """Turns a blocking route into an async one that runs on this pool (one per app: the limiter binds to its event loop)."""

    def __init__(self, threads: int = READ_THREADS) -> None:
        self._limiter = anyio.CapacityLimiter(threads)

    def __call__(self, route: Callable[P, R]) -> Callable[P, Awaitable[R]]:
        @functools.wraps(route)  # FastAPI reads the parameters and return type through __wrapped__
        async def on_read_threads(*args: P.args, **kwargs: P.kwargs) -> R:
            return await anyio.to_thread.run_sync(functools.partial(route, *args, **kwargs), limiter=self._limiter)

        return on_read_threads
