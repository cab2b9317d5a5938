"""A small round-robin reverse proxy (asyncio + httpx) standing in for nginx in the replica drill.

Like `deploy/nginx.conf`: requests go to the replicas in turn; a replica that refuses the
connection (killed, restarting) is skipped for the next one, since the request never reached it;
a request that reached a replica which then died gets 502, as nginx answers for a POST it must
not resend. The replica that answered is named in `X-Drill-Upstream` (an index into `upstreams`),
so the drill can redeliver to a different one.
"""

from __future__ import annotations

import itertools
import socket
import threading
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import httpx
import uvicorn

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
    """An ASGI app forwarding every request to `upstreams` in turn; `serve()` runs it on loopback."""

    def __init__(self, upstreams: list[str], *, timeout: float = 30.0) -> None:
        self.upstreams = upstreams
        self._turn = itertools.count()
        self._client: httpx.AsyncClient | None = None
        self._timeout = timeout
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._server = uvicorn.Server(uvicorn.Config(self, host="127.0.0.1", port=self.port, log_level="warning", lifespan="off"))
        self._thread = threading.Thread(target=self._server.run, name="drill-proxy", daemon=True)

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
            self._client = httpx.AsyncClient(timeout=self._timeout, limits=httpx.Limits(max_connections=500))
        headers = [(k.decode(), v.decode()) for k, v in scope["headers"] if k.decode().lower() not in _HOP_BY_HOP]
        path = scope["path"] + (f"?{scope['query_string'].decode()}" if scope["query_string"] else "")
        status, out_headers, content = 502, [(UPSTREAM_HEADER, "-1")], b"no replica answered"
        start = next(self._turn)
        for attempt in range(len(self.upstreams)):
            index = (start + attempt) % len(self.upstreams)
            try:
                response = await self._client.request(scope["method"], self.upstreams[index] + path, content=body, headers=headers)
            except httpx.ConnectError:
                continue  # never reached the replica: the next one may take it
            except httpx.HTTPError:
                status, out_headers = 502, [(UPSTREAM_HEADER, str(index))]  # reached it, then it died: not resent
                break
            status, content = response.status_code, response.content
            out_headers = [(k, v) for k, v in response.headers.items() if k.lower() not in _HOP_BY_HOP] + [(UPSTREAM_HEADER, str(index))]
            break
        await send({"type": "http.response.start", "status": status, "headers": [(k.encode(), v.encode()) for k, v in out_headers]})
        await send({"type": "http.response.body", "body": content})

    def serve(self, timeout: float = 10.0) -> RoundRobinProxy:
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:  # uvicorn offers no startup event to wait on
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the drill proxy did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
