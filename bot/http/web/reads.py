"""Where page and API handlers run: on the event loop on SQLite, on two threads of their own on PostgreSQL.

A page is a few milliseconds of Python under one GIL. Handed to threads, it fought the event loop
for the GIL: at 10k entities with 20 connections on SQLite (`benchmarks/bench_pages.py`, three
interleaved rounds) a page cost 4.6 ms of server CPU on two threads against 3.0 ms on the loop,
p50 83 → 56 ms and p99 119 → 99 ms. On SQLite a read never waits (a local file, whose readers never
wait for a writer; bookkeeping writes are batched off the request), so routes run on the loop
itself, one at a time in arrival order: run as they came, the loop served them in bursts and the
p99 doubled. On PostgreSQL a read waits on the network, and a slow or unreachable database must
not stall health checks and Slack's acks, so routes keep two threads (one thread or four cost more).
Slack's handlers keep Starlette's default pool either way, so a burst of page views never takes
their threads.
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


class Reads:
    """Turns a blocking route into an async one that runs here (one per app: the limiter binds to its event loop)."""

    def __init__(self, *, on_loop: bool, threads: int = READ_THREADS) -> None:
        self._on_loop = on_loop
        self._limiter = anyio.CapacityLimiter(1 if on_loop else threads)  # on the loop: one at a time, first come first served

    def __call__(self, route: Callable[P, R]) -> Callable[P, Awaitable[R]]:
        @functools.wraps(route)  # FastAPI reads the parameters and return type through __wrapped__
        async def read(*args: P.args, **kwargs: P.kwargs) -> R:
            if self._on_loop:
                async with self._limiter:
                    return route(*args, **kwargs)
            return await anyio.to_thread.run_sync(functools.partial(route, *args, **kwargs), limiter=self._limiter)

        return read
