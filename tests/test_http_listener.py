"""The server's socket: each connection gets TCP_NODELAY (issue 12: webhook reply p99), and none
is accepted before the server can answer it (issue 16: a restarted replica's acks).

Why: asyncio (and so uvicorn) sets TCP_NODELAY only when the socket's `proto` is IPPROTO_TCP, and
`socket.create_server` leaves it 0. Every keep-alive response then waited for the client's
delayed ACK: /livez took 44 ms instead of under 1 ms, and each alert webhook reply with it.
"""

from __future__ import annotations

import asyncio
import socket

import pytest

from bot.http.app import PortInUse, bind_port, start_listening


def test_connections_accepted_by_asyncio_have_tcp_nodelay() -> None:
    listener = bind_port("127.0.0.1", 0)
    seen: list[int] = []

    async def main() -> None:
        accepted = asyncio.Event()

        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            seen.append(writer.get_extra_info("socket").getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
            accepted.set()
            writer.close()

        server = await asyncio.start_server(handle, sock=listener)
        async with server:
            _, writer = await asyncio.open_connection(*listener.getsockname()[:2])
            await asyncio.wait_for(accepted.wait(), timeout=10)
            writer.close()

    asyncio.run(main())
    assert seen == [1]


def test_a_bound_port_refuses_connections_until_the_server_listens() -> None:
    """A replica restarting behind a balancer: until it can answer, a connection is refused (the
    balancer sends the request to another replica) rather than queued for the whole start-up."""
    sock = bind_port("127.0.0.1", 0)
    address = sock.getsockname()[:2]
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(address, timeout=5).close()
    start_listening(sock)
    socket.create_connection(address, timeout=5).close()
    sock.close()


def test_a_port_another_server_listened_on_first_is_the_busy_port_error() -> None:
    """Two servers started at once on one port: both bind, the second to listen gets the clear message."""
    first = bind_port("127.0.0.1", 0)
    port = first.getsockname()[1]
    second = bind_port("127.0.0.1", port)
    start_listening(first)
    with pytest.raises(PortInUse, match=f"port {port} on 127.0.0.1 is already in use by another process; stop it or choose another port with --port {port + 1}"):
        start_listening(second)
    first.close()
    second.close()
