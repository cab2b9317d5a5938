"""A small round-robin reverse proxy (asyncio, uvicorn in front) standing in for nginx in the replica drill.

Like `deploy/nginx.conf`: requests go to the replicas in turn; a replica that refuses the
connection (killed, restarting) is skipped for the next one, since the request never reached it,
and is left out of the turns for `fail_timeout` (10 s, `max_fails=1`), the others sharing its
requests evenly; a request that reached a replica which then died gets 502, as nginx answers for
a POST it must not resend. The replica that answered is named in `X-Drill-Upstream` (an index into `upstreams`),
so the drill can redeliver to a different one.

`ProxyProcess` runs it in a process of its own, as nginx is: `python -m tests.drill.proxy PORT
UPSTREAM...`. It shares the drill's two cores with the replicas, so it forwards over plain asyncio
streams and parses the replica's answer with httptools (uvicorn's own parser): with httpx it took
1.6 ms of CPU per request on an idle machine, 3 ms in the VM's slow minutes, about 0.15 of a core
at the drill's 50 requests a second, which nginx, written in C, would not take from the replicas.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import random
import socket
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, MutableMapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httptools
import uvicorn

from tests.drill.compose import REPO

UPSTREAM_HEADER = "x-drill-upstream"


_OWN_PORTS_FROM = 20000


def free_port() -> int:
    """A port free now, below the kernel's ephemeral range when it can be: a killed replica restarts on
    its port, and while it is down a port from that range can become the local end of any new
    connection (the drill makes a hundred a second) or another test's `bind(0)`."""
    below = range(_OWN_PORTS_FROM, _ephemeral_range_start())
    for port in random.sample(below, min(100, len(below))):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:  # taken
                continue
            return port
    with socket.socket() as s:  # no free port below the range: any the kernel gives
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _ephemeral_range_start() -> int:
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768  # Linux's default; elsewhere the sample may hit an ephemeral port, which the bind checks


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
        self._addresses = [(urlsplit(url).hostname or "127.0.0.1", urlsplit(url).port or 80) for url in upstreams]
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
        target = scope["path"] + (f"?{scope['query_string'].decode()}" if scope["query_string"] else "")
        head = f"{scope['method']} {target} HTTP/1.1\r\nConnection: close\r\nContent-Length: {len(body)}\r\n".encode()
        head += b"".join(k + b": " + v + b"\r\n" for k, v in scope["headers"] if k.decode().lower() not in _HOP_BY_HOP)
        answer = _Answer(502, [(UPSTREAM_HEADER.encode(), b"-1")], b"no replica answered")
        for index in self.order():
            host, port = self._addresses[index]
            try:
                # A new connection to the replica per request, as nginx opens one without `keepalive` in its upstream.
                reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), self._timeout)
            except OSError:
                self.refused(index)
                continue  # never reached the replica: the next one may take it
            try:
                answer = await asyncio.wait_for(_exchange(reader, writer, head + b"Host: " + f"{host}:{port}".encode() + b"\r\n\r\n" + body), self._timeout)
            except (OSError, TimeoutError, httptools.HttpParserError):
                answer = _Answer(502, [], b"the replica did not answer")  # reached it, then it died or hung: not resent
            finally:
                writer.close()
            answer.headers.append((UPSTREAM_HEADER.encode(), str(index).encode()))
            break
        await send({"type": "http.response.start", "status": answer.status, "headers": answer.headers})
        await send({"type": "http.response.body", "body": answer.body})


class _Answer:
    """A replica's response as httptools parses it (the callbacks below), less its hop-by-hop headers."""

    def __init__(self, status: int = 502, headers: list[tuple[bytes, bytes]] | None = None, body: bytes = b"") -> None:
        self.status, self.headers, self.body, self.complete = status, headers if headers is not None else [], body, False

    def on_header(self, name: bytes, value: bytes) -> None:
        if name.decode().lower() not in _HOP_BY_HOP:
            self.headers.append((name, value))

    def on_body(self, body: bytes) -> None:
        self.body += body

    def on_message_complete(self) -> None:
        self.complete = True


async def _exchange(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes) -> _Answer:
    """Send `request` and read the whole response; a connection closed before it is complete is an `OSError`."""
    writer.write(request)
    answer = _Answer()
    parser = httptools.HttpResponseParser(answer)
    while not answer.complete:
        data = await reader.read(65536)
        if not data:
            raise ConnectionResetError("the replica closed the connection mid-response")
        parser.feed_data(data)
    answer.status = parser.get_status_code()
    return answer


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
