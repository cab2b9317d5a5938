"""A small round-robin reverse proxy (asyncio + httpx) standing in for nginx in the replica drill.

Like `deploy/nginx.conf`: requests go to the replicas in turn; a replica that refuses the
connection (killed, restarting) is skipped for the next one, since the request never reached it,
and is left out of the turns for `fail_timeout` (10 s, `max_fails=1`), the others sharing its
requests evenly; a request that reached a replica which then died gets 502, as nginx answers for
a POST it must not resend. The replica that answered is named in `X-Drill-Upstream` (an index into `upstreams`),
so the drill can redeliver to a different one.

`ProxyProcess` runs it in a process of its own, as nginx is: `python -m tests.drill.proxy PORT
UPSTREAM...`.
"""

from __future__ import annotations

import itertools
import os
import socket
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import httpx
import uvicorn

from tests.drill.compose import REPO

UPSTREAM_HEADER = "x-drill-upstream"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "host"}

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]


class RoundRobinProxy:
    """An ASGI app forwarding every request to `upstreams` in turn."""

    def __init__(
        self, upstreams: list[str], *, timeout: float = 30.0, fail_timeout: float = 10.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.upstreams = upstreams
        self._turn = itertools.count()
        self._client: httpx.AsyncClient | None = None
        self._timeout, self._fail_timeout, self._clock = timeout, fail_timeout, clock
        self._failed_until = [0.0] * len(upstreams)

    def refused(self, index: int) -> None:
        """Upstream `index` refused a connection: out of the turns for `fail_timeout`."""
        self._failed_until[index] = self._clock() + self._fail_timeout

    def order(self) -> list[int]:
        """The upstreams to try for the next request: those not failed within `fail_timeout` in turn, then the failed
        ones (nginx tries them when every other refused)."""
        now = self._clock()
        live = [i for i, until in enumerate(self._failed_until) if until <= now]
        failed = [i for i in range(len(self.upstreams)) if i not in live]
        if not live:
            return failed
        first = next(self._turn) % len(live)
        return live[first:] + live[:first] + failed

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        if self._client is None:
            # A new connection to the replica per request, as nginx opens one without `keepalive` in
            # its upstream (deploy/nginx.conf). Kept connections cost httpcore a scan of all of them
            # on every request: with hundreds open, that took most of the proxy's core, and a
            # queue that grew once kept growing.
            self._client = httpx.AsyncClient(timeout=self._timeout, limits=httpx.Limits(max_connections=None, max_keepalive_connections=0))
        headers = [(k.decode(), v.decode()) for k, v in scope["headers"] if k.decode().lower() not in _HOP_BY_HOP]
        path = scope["path"] + (f"?{scope['query_string'].decode()}" if scope["query_string"] else "")
        status, out_headers, content = 502, [(UPSTREAM_HEADER, "-1")], b"no replica answered"
        for index in self.order():
            try:
                response = await self._client.request(scope["method"], self.upstreams[index] + path, content=body, headers=headers)
            except httpx.ConnectError:
                self.refused(index)
                continue  # never reached the replica: the next one may take it
            except httpx.HTTPError:
                status, out_headers = 502, [(UPSTREAM_HEADER, str(index))]  # reached it, then it died: not resent
                break
            status, content = response.status_code, response.content
            out_headers = [(k, v) for k, v in response.headers.items() if k.lower() not in _HOP_BY_HOP] + [(UPSTREAM_HEADER, str(index))]
            break
        await send({"type": "http.response.start", "status": status, "headers": [(k.encode(), v.encode()) for k, v in out_headers]})
        await send({"type": "http.response.body", "body": content})


class ProxyProcess:
    """`RoundRobinProxy` on a loopback port, in a process of its own.

    In the drill's own process it shared one GIL with the load generator, the fake Slack API and
    the effect watcher, which together use up to a core: every request waited for that GIL at
    each hop through the proxy, so the acks measured the drill's own contention as well.
    """

    def __init__(self, upstreams: list[str]) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._argv = [sys.executable, "-m", "tests.drill.proxy", str(self.port), *upstreams]
        self._process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 20.0) -> ProxyProcess:
        env = os.environ | {"PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
        self._process = subprocess.Popen(self._argv, env=env, cwd=REPO, stdout=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        while True:  # uvicorn listens once it serves: the first accepted connection says it is up
            if self._process.poll() is not None:
                raise RuntimeError(f"the drill proxy exited {self._process.returncode}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return self
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError("the drill proxy did not start") from None
                time.sleep(0.05)

    def stop(self) -> None:
        if self._process is None:
            return
        self._process.terminate()
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()


def main(argv: list[str] | None = None) -> None:
    """`python -m tests.drill.proxy PORT UPSTREAM...`: serve on loopback until SIGTERM."""
    port, *upstreams = sys.argv[1:] if argv is None else argv
    uvicorn.run(RoundRobinProxy(upstreams), host="127.0.0.1", port=int(port), log_level="warning", lifespan="off")


if __name__ == "__main__":
    main()
