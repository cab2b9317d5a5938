"""Where page and API handlers run: on two threads of their own, not the pool Slack's requests use.

A page is about 1.5 ms of Python. With 20 requests in flight, FastAPI ran them on up to 40
threads that fought over the GIL: 12-15 ms of server CPU per page (`benchmarks/bench_pages.py`).
On two threads the same page costs about 4 ms and p99 falls by half; one thread or four cost more.
Slack's handlers keep Starlette's default pool, so a burst of page views never delays an ack.

The hop is asyncio's own `run_in_executor`: with 20 requests in flight it costs about 30 µs of CPU,
anyio's `to_thread.run_sync` (a capacity limiter, a cancel scope and a worker queue) about 100 µs.
The route runs in a copy of the request's context, as anyio ran it (the request id in the logs).
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
R = TypeVar("R")

READ_THREADS = 2


class ReadThreads:
    """Turns a blocking route into an async one that runs on this pool (one per app; threads start with the first request)."""

    def __init__(self, threads: int = READ_THREADS) -> None:
        self._pool = ThreadPoolExecutor(threads, thread_name_prefix="wayfinder-read")

    def __call__(self, route: Callable[P, R]) -> Callable[P, Awaitable[R]]:
        @functools.wraps(route)  # FastAPI reads the parameters and return type through __wrapped__
        async def on_read_threads(*args: P.args, **kwargs: P.kwargs) -> R:
            call = functools.partial(route, *args, **kwargs)
            return await asyncio.get_running_loop().run_in_executor(self._pool, contextvars.copy_context().run, call)

        return on_read_threads
