"""The replica drill's proxy over real sockets: what it forwards, and which replica a request is resent to (as nginx)."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from tests.drill.proxy import UPSTREAM_HEADER, ProxyProcess, free_port

EPHEMERAL_RANGE = Path("/proc/sys/net/ipv4/ip_local_port_range")


class _Echo(BaseHTTPRequestHandler):
    """Answers with what it received, chunked (as a streaming replica would), and counts the requests."""

    protocol_version = "HTTP/1.1"
    received: list[str] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        _Echo.received.append(self.path)
        answer = json.dumps({"path": self.path, "body": body.decode(), "signature": self.headers["X-Slack-Signature"]}).encode()
        self.send_response(201)
        self.send_header("X-Replica", "echo")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        for part in (answer[:5], answer[5:]):
            self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
        self.wfile.write(b"0\r\n\r\n")

    def log_message(self, *args: object) -> None:
        pass


@contextmanager
def _echo() -> Iterator[str]:
    _Echo.received = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Echo)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def _dies_mid_request() -> Iterator[str]:
    """A replica killed while it handles the request: it reads it, then its connection closes with no answer."""
    listener = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            conn.recv(65536)
            conn.close()

    threading.Thread(target=serve, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        listener.close()


def test_a_request_refused_by_one_replica_reaches_the_next_whole_and_its_answer_comes_back_whole() -> None:
    refusing = f"http://127.0.0.1:{free_port()}"  # nothing listens: a killed replica
    with _echo() as echo:
        proxy = ProxyProcess([refusing, echo]).start()
        try:
            response = httpx.post(proxy.url + "/slack/events?x=1", content=b'{"type":"event_callback"}', headers={"X-Slack-Signature": "v0=abc"})
        finally:
            proxy.stop()
    assert response.status_code == 201
    assert response.json() == {"path": "/slack/events?x=1", "body": '{"type":"event_callback"}', "signature": "v0=abc"}
    assert response.headers["X-Replica"] == "echo"
    assert response.headers[UPSTREAM_HEADER] == "1"


def test_a_replica_that_dies_with_the_request_makes_a_502_naming_it_and_the_request_is_not_resent() -> None:
    with _dies_mid_request() as dying, _echo() as echo:
        proxy = ProxyProcess([dying, echo]).start()
        try:
            first, second = (httpx.post(proxy.url + "/webhooks/alerts/generic", content=b"{}", headers={"X-Slack-Signature": "-"}) for _ in range(2))
        finally:
            proxy.stop()
    assert (first.status_code, first.headers[UPSTREAM_HEADER]) == (502, "0")  # the turns start at the first replica
    assert (second.status_code, second.headers[UPSTREAM_HEADER]) == (201, "1")
    assert _Echo.received == ["/webhooks/alerts/generic"]  # the second request only: a POST that reached a replica is not resent


@pytest.mark.skipif(not EPHEMERAL_RANGE.exists(), reason="reads Linux's ephemeral port range")
def test_drill_ports_are_free_and_outside_the_ephemeral_range_a_restarting_replica_could_lose_its_port_to() -> None:
    low = int(EPHEMERAL_RANGE.read_text().split()[0])
    ports = [free_port() for _ in range(20)]
    assert all(port < low for port in ports), ports
    for port in ports:
        with socket.create_server(("127.0.0.1", port)):  # free: a replica can listen there
            pass
