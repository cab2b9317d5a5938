"""Several worker processes serving one listening socket (`wayfinder serve --workers N`).

One server process renders about one page per 3 ms of CPU under one GIL, so with 20 requests in
flight the page p99 waits for the queue in front of it; N workers accepting on the same socket use
N cores. Each worker is a replica in all but name: it is forked after the socket is bound and
before any database connection, thread or app exists, and builds its own. Everything that must
happen once is already a claim in the database (README "Several replicas"), so N workers need no
coordination of their own. The supervisor only forks, restarts a worker that dies (after a pause
when it died young, so a crashing worker does not spin) and stops them all on SIGTERM or SIGINT.
A worker that reports it cannot start (`CANNOT_START`: the database refused it, Slack rejected
the token) stops them all too, as `serve` without workers would stop, rather than retrying forever.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import multiprocessing
import os
import signal
import sys
import time
import traceback
from collections.abc import Callable
from multiprocessing.connection import wait
from multiprocessing.process import BaseProcess

from catalog.errors import WayfinderError

log = logging.getLogger(__name__)

STOP_GRACE = 30.0  # seconds workers get to finish the requests in flight after SIGTERM
YOUNG = 10.0  # a worker that died within this many seconds of starting is restarted after RESTART_PAUSE
RESTART_PAUSE = 1.0
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)
PR_SET_PDEATHSIG = 1  # linux/prctl.h
CANNOT_START = 3  # a worker's exit code for a startup error it has already reported


class WorkerCannotStart(WayfinderError):
    """A worker exited with `CANNOT_START`; every worker has been stopped."""


def supervise(count: int, work: Callable[[int], object]) -> None:
    """Run `work(slot)` for slots 0..count-1, each in a forked process, until SIGTERM or SIGINT.

    Returns once every worker has stopped (the command then exits 0); a worker still busy after
    `STOP_GRACE` is killed. Raises `WorkerCannotStart` when a worker exits with `CANNOT_START`.
    """
    stopping: list[int] = []
    wake_read, wake_write = os.pipe()
    os.set_blocking(wake_read, False)
    os.set_blocking(wake_write, False)
    previous = {sig: signal.signal(sig, lambda signum, _frame: stopping.append(signum)) for sig in STOP_SIGNALS}
    previous_wakeup = signal.set_wakeup_fd(wake_write)  # a signal wakes the wait below
    running: dict[int, tuple[BaseProcess, float]] = {}
    due = dict.fromkeys(range(count), 0.0)  # slot → monotonic time it may (re)start
    try:
        while not stopping:
            now = time.monotonic()
            for slot in [s for s, at in due.items() if at <= now]:
                del due[slot]
                running[slot] = (_fork(slot, work, (wake_read, wake_write)), now)
            timeout = max(0.0, min(due.values()) - now) if due else None
            wait([process.sentinel for process, _ in running.values()] + [wake_read], timeout)
            with contextlib.suppress(BlockingIOError):
                os.read(wake_read, 512)
            for slot, (process, started) in list(running.items()):
                code = process.exitcode  # read once: each read polls the process, which may exit between two reads
                if code == CANNOT_START:
                    raise WorkerCannotStart(f"worker {slot} could not start (its error is above); stopped every worker")
                if code is not None and not stopping:
                    del running[slot]
                    young = time.monotonic() - started < YOUNG
                    log.warning("worker %d (pid %s) exited with code %s; restarting it%s", slot, process.pid, code,
                                f" in {RESTART_PAUSE:.0f} s" if young else "")  # fmt: skip
                    due[slot] = time.monotonic() + (RESTART_PAUSE if young else 0.0)
    finally:
        _stop([process for process, _ in running.values()])
        signal.set_wakeup_fd(previous_wakeup)
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        os.close(wake_read)
        os.close(wake_write)


def _fork(slot: int, work: Callable[[int], object], supervisor_fds: tuple[int, int]) -> BaseProcess:
    process = multiprocessing.get_context("fork").Process(target=_worker, args=(slot, work, supervisor_fds), name=f"wayfinder-worker-{slot}")
    process.start()
    log.info("worker %d started (pid %s)", slot, process.pid)
    return process


def _worker(slot: int, work: Callable[[int], object], supervisor_fds: tuple[int, int]) -> None:
    """The child: the default signal handling (uvicorn installs its own) and none of the supervisor's plumbing.

    It ends with `os._exit`: multiprocessing would first join every thread the server started (a
    thread pool, a writer behind the question log), and a worker that failed to start half-way
    would then never exit, leaving the supervisor waiting for it.
    """
    _stop_with_parent()
    signal.set_wakeup_fd(-1)
    for fd in supervisor_fds:
        os.close(fd)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    code = 1
    try:
        work(slot)
        code = 0
    except SystemExit as stopped:
        code = stopped.code if isinstance(stopped.code, int) else 1
    except BaseException:
        traceback.print_exc()
    finally:
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()
        os._exit(code)


def _stop_with_parent() -> None:
    """A supervisor killed with -9 cannot stop its workers: Linux sends them SIGTERM when it dies (prctl PR_SET_PDEATHSIG)."""
    parent = os.getppid()
    if sys.platform == "linux":
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    if os.getppid() != parent:  # it died before the request took effect
        os.kill(os.getpid(), signal.SIGTERM)


def _stop(processes: list[BaseProcess]) -> None:
    """SIGTERM each worker (uvicorn's graceful shutdown), then SIGKILL whoever outlives the grace period."""
    for process in processes:
        if process.exitcode is None:
            process.terminate()
    deadline = time.monotonic() + STOP_GRACE
    for process in processes:
        process.join(max(0.0, deadline - time.monotonic()))
        if process.exitcode is None:
            log.warning("worker pid %s did not stop within %.0f s; killing it", process.pid, STOP_GRACE)
            process.kill()
            process.join()
