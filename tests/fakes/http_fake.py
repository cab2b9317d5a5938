"""Shared base for the local HTTP fakes of third-party APIs (GitHub, PagerDuty, Slack).

Why a real socket instead of ``httpx.MockTransport``: sync sources must be tested with their real
client stack (timeouts, retries, keep-alive, header handling), and benchmarks need a server that
behaves like the vendor's, including the ways it fails.

A subclass implements :meth:`FakeHTTPServer.handle` (routing) and may override
:meth:`FakeHTTPServer.finalize` (headers every response carries) and
:meth:`FakeHTTPServer.error_body` (the vendor's error envelope). Both hooks run under
``self._lock``, which also guards the subclass's state, so the mutators must take it too.

A bug in a fake (say, a missing template file) must not pass for the vendor failing: the request
gets a 500 whose body names the error, and :meth:`FakeHTTPServer.stop` raises
:class:`FakeServerError` with the original exception, so the test reports the real cause instead
of the client's "HTTP 500 after 3 tries".
"""

from __future__ import annotations

import contextlib
import json
import selectors
import socket
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self
from urllib.parse import parse_qs, unquote, urlsplit

__all__ = ["Body", "FakeHTTPServer", "FakeServerError", "Matcher", "RecordedRequest", "Response", "rebase"]

Body = str | bytes | dict[str, Any] | list[Any]


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the fake saw it; ``path`` is percent-decoded, header names lower-case."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes = b""

    def param(self, name: str) -> str | None:
        """First value of a query parameter, as most endpoints read it."""
        values = self.query.get(name)
        return values[0] if values else None


Matcher = str | Callable[[RecordedRequest], bool]
"""A path substring, or a predicate over the whole request."""


@dataclass
class Response:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def of(cls, status: int, body: Body, headers: Mapping[str, str] | None = None) -> Response:
        """JSON-encode dicts and lists; send str/bytes as-is (so malformed JSON is possible)."""
        if isinstance(body, dict | list):
            raw = json.dumps(body).encode()
        else:
            raw = body.encode() if isinstance(body, str) else body
        return cls(
            status,
            raw,
            {"content-type": "application/json; charset=utf-8", **(headers or {})},
        )


def rebase(value: Any, replacements: Mapping[str, str]) -> Any:
    """Deep-copy a fixture value, substituting substrings in every string (ids, base URLs).

    This is how the fakes vary the recorded payloads without inventing fields of their own.
    """
    if isinstance(value, str):
        for old, new in replacements.items():
            value = value.replace(old, new)
        return value
    if isinstance(value, dict):
        return {key: rebase(item, replacements) for key, item in value.items()}
    if isinstance(value, list):
        return [rebase(item, replacements) for item in value]
    return value


@dataclass
class _Rule:
    """Which requests an injected fault or delay applies to, and how many more times."""

    match: Matcher
    query: Mapping[str, str]
    times: int | None  # None: every matching request

    def take(self, request: RecordedRequest) -> bool:
        """Consume one use and return True when the rule applies to ``request``."""
        if self.times == 0:
            return False
        if isinstance(self.match, str):
            if self.match not in request.path:
                return False
        elif not self.match(request):
            return False
        if any(request.param(name) != value for name, value in self.query.items()):
            return False
        if self.times is not None:
            self.times -= 1
        return True


@dataclass
class _Fault:
    rule: _Rule
    status: int
    headers: dict[str, str]
    body: Body | None


@dataclass
class _Delay:
    rule: _Rule
    seconds: float


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def __init__(self, fake: FakeHTTPServer) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.fake = fake
        self._stop_requested = threading.Event()
        self._wake, self._waker = socket.socketpair()

    def serve_until_stopped(self) -> None:
        """Accept connections until `stop_serving`, which wakes the loop at once.

        `serve_forever` notices a shutdown only at its next poll, so every stop waited half a poll
        interval on average: a few hundred fakes a run made that seconds of the suite's time.
        """
        with selectors.DefaultSelector() as selector:
            selector.register(self, selectors.EVENT_READ)
            selector.register(self._wake, selectors.EVENT_READ)
            while not self._stop_requested.is_set():
                if any(key.fileobj is self for key, _ in selector.select()):
                    self.handle_request()

    def stop_serving(self) -> None:
        self._stop_requested.set()
        self._waker.send(b"x")

    def server_close(self) -> None:
        super().server_close()
        self._wake.close()
        self._waker.close()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as httpx clients pool connections
    server: _Server

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in two writes; without this, Nagle plus delayed ACK adds ~40 ms.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.server.fake._track(self.connection, add=True)

    def finish(self) -> None:
        self.server.fake._track(self.connection, add=False)
        with contextlib.suppress(OSError):  # the client left, e.g. it timed out during a delay
            super().finish()

    def log_message(self, format: str, *args: Any) -> None:
        """Keep test output quiet; the fake's own request log is the record."""

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        split = urlsplit(self.path)
        request = RecordedRequest(
            method=self.command,
            path=unquote(split.path),
            query=parse_qs(split.query, keep_blank_values=True),
            headers={name.lower(): value for name, value in self.headers.items()},
            body=self.rfile.read(length) if length else b"",
        )
        response = self.server.fake._respond(request)
        if response is None:  # the fake stopped during an injected delay
            self.close_connection = True
            return
        try:
            self.send_response(response.status)
            for name, value in response.headers.items():
                self.send_header(name, value)
            if response.status != HTTPStatus.NOT_MODIFIED:
                self.send_header("Content-Length", str(len(response.body)))
            self.end_headers()
            if response.status != HTTPStatus.NOT_MODIFIED:
                self.wfile.write(response.body)
        except OSError:
            self.close_connection = True

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve


def _describe(exc: Exception) -> str:
    """`FileNotFoundError: [Errno 2] No such file or directory: '.../repository.json'`."""
    return f"{type(exc).__name__}: {exc}"


class FakeServerError(RuntimeError):
    """The fake itself failed while answering (not an injected fault): a bug in the test setup."""


class FakeHTTPServer:
    """A ThreadingHTTPServer on 127.0.0.1, port 0, in a daemon thread, with a request log and
    fault injection. Use as a context manager, or call :meth:`start` and :meth:`stop`."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._log: list[RecordedRequest] = []
        self._faults: list[_Fault] = []
        self._delays: list[_Delay] = []
        self._connections: set[socket.socket] = set()
        self._errors: list[Exception] = []
        self._stopping = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> Self:
        if self._server is not None:
            raise RuntimeError(f"{type(self).__name__} is already running")
        self._stopping.clear()
        self._server = _Server(self)
        self._thread = threading.Thread(
            target=self._server.serve_until_stopped,
            name=type(self).__name__,
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and drop idle keep-alive connections, so no handler thread lingers.

        Raises :class:`FakeServerError` if the fake failed while answering any request.
        """
        server, self._server = self._server, None
        if server is None:
            return
        self._stopping.set()
        server.stop_serving()
        if self._thread is not None:
            self._thread.join(timeout=5)
        server.server_close()
        with self._lock:
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(OSError):  # already closed by the client
                connection.shutdown(socket.SHUT_RDWR)
        with self._lock:
            errors, self._errors = self._errors, []
        if errors:
            name = type(self).__name__
            raise FakeServerError(f"{name} failed answering {len(errors)} request(s): {_describe(errors[0])}") from errors[0]

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """Base URL without a trailing slash, e.g. ``http://127.0.0.1:54321``."""
        if self._server is None:
            raise RuntimeError(f"{type(self).__name__} is not running; call start()")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    # -- request log -----------------------------------------------------------------------

    @property
    def log(self) -> list[RecordedRequest]:
        """A snapshot of every request received, in arrival order."""
        with self._lock:
            return list(self._log)

    def log_since(self, start: int) -> list[RecordedRequest]:
        """The requests received after the first `start`: a poller reads only what is new."""
        with self._lock:
            return self._log[start:]

    @property
    def requests(self) -> int:
        """How many requests arrived (including failed, delayed and 304 ones)."""
        with self._lock:
            return len(self._log)

    def count(self, match: Matcher) -> int:
        """How many logged requests match a path substring or predicate."""
        rule = _Rule(match, {}, None)
        return sum(rule.take(request) for request in self.log)

    # -- fault injection -------------------------------------------------------------------

    def fail(
        self,
        match: Matcher,
        *,
        status: int = 500,
        times: int | None = 1,
        headers: Mapping[str, str] | None = None,
        body: Body | None = None,
        query: Mapping[str, str] | None = None,
    ) -> None:
        """Answer the next ``times`` matching requests (None: all) with ``status``.

        ``query`` narrows the match to exact parameter values, e.g. ``{"page": "3"}`` (a plain
        substring would also hit ``per_page=30``). ``body=None`` uses the vendor's error envelope;
        a str is sent verbatim, so ``status=200, body="{not json"`` gives a malformed payload.
        """
        rule = _Rule(match, dict(query or {}), times)
        with self._lock:
            self._faults.append(_Fault(rule, status, dict(headers or {}), body))

    def delay(
        self,
        match: Matcher,
        seconds: float,
        *,
        times: int | None = None,
        query: Mapping[str, str] | None = None,
    ) -> None:
        """Hold matching responses for ``seconds`` to provoke client timeouts (None: always)."""
        with self._lock:
            self._delays.append(_Delay(_Rule(match, dict(query or {}), times), seconds))

    def clear_faults(self) -> None:
        """Drop every pending fault and delay."""
        with self._lock:
            self._faults.clear()
            self._delays.clear()

    # -- subclass hooks --------------------------------------------------------------------

    def handle(self, request: RecordedRequest) -> Response:
        """Route one request (called under ``self._lock``)."""
        raise NotImplementedError

    def finalize(self, request: RecordedRequest, response: Response) -> Response:
        """Decorate every response, injected faults included (called under ``self._lock``)."""
        return response

    def error_body(self, status: int) -> Body:
        """The vendor's error envelope for ``status``, used by faults without a body."""
        return {"message": HTTPStatus(status).phrase}

    # -- internals -------------------------------------------------------------------------

    def _track(self, connection: socket.socket, *, add: bool) -> None:
        with self._lock:
            if add:
                self._connections.add(connection)
            else:
                self._connections.discard(connection)

    def _respond(self, request: RecordedRequest) -> Response | None:
        with self._lock:
            self._log.append(request)
            delay = next((d for d in self._delays if d.rule.take(request)), None)
        if delay is not None and self._stopping.wait(delay.seconds):
            return None
        with self._lock:
            fault = next((f for f in self._faults if f.rule.take(request)), None)
            if fault is not None:
                body = self.error_body(fault.status) if fault.body is None else fault.body
                response = Response.of(fault.status, body, fault.headers)
            else:
                try:
                    response = self.handle(request)
                except Exception as exc:  # a bug in the fake, not the vendor failing: see stop()
                    self._errors.append(exc)
                    response = Response.of(500, {"message": f"{type(self).__name__} failed: {_describe(exc)}"})
            return self.finalize(request, response)
