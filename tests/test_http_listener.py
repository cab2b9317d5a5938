"""The server's listening socket gives each connection TCP_NODELAY (issue 12: webhook reply p99).

Why: asyncio (and so uvicorn) sets TCP_NODELAY only when the socket's `proto` is IPPROTO_TCP, and
`socket.create_server` leaves it 0. Every keep-alive response then waited for the client's
delayed ACK: /livez took 44 ms instead of under 1 ms, and each alert webhook reply with it.
"""

from __future__ import annotations

import asyncio
import socket

from bot.http.app import listen


def test_connections_accepted_by_asyncio_have_tcp_nodelay() -> None:
    listener = listen("127.0.0.1", 0)
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
