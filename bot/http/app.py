"""The HTTP server behind `wayfinder serve`: one router per surface, registered by `create_http_app`:
Slack on `POST /slack/events` (`slack_endpoint`), webhooks (`webhooks`), health and Prometheus
metrics (`health`), and the pages and JSON API (`web`).

It runs without Slack credentials too (health, metrics and webhooks); `/slack/events` then
answers 503 saying which variables are missing. Every route's body is size-limited before it is
read (`bot.http.body_limit`), and Slack requests are verified before Bolt sees them (`bot.http.slack_endpoint`).
"""

from __future__ import annotations

import asyncio
import errno
import gc
import logging
import socket
import sys
from collections.abc import AsyncIterator, Callable, Sequence
from concurrent.futures import Executor
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import uvicorn
from fastapi import FastAPI

from bot.compose import Services
from bot.http.actions import actions_router
from bot.http.alerts import register as register_alerts
from bot.http.body_limit import BodySizeLimit
from bot.http.health import health_router
from bot.http.slack_endpoint import slack_router
from bot.http.web import register as register_web
from bot.http.webhooks import QueuedPushSweep, webhooks_router
from bot.logs import RequestIds
from catalog.errors import WayfinderError

log = logging.getLogger(__name__)

# The Bolt app, its listeners and views are imported when Slack is configured: a server without
# Slack credentials (health, pages, webhooks) starts without them (README "Start-up").
if TYPE_CHECKING:
    from slack_bolt import App
    from slack_bolt.adapter.socket_mode import SocketModeHandler


@dataclass(frozen=True)
class SlackCredentials:
    """What `build_slack` needs from the environment; secrets stay out of the repr."""

    bot_token: str | None = field(default=None, repr=False)
    signing_secret: str | None = field(default=None, repr=False)
    app_token: str | None = field(default=None, repr=False)
    api_url: str = "https://slack.com/api/"

    def missing(self, *, socket_mode: bool) -> list[str]:
        """Names of the environment variables this mode still needs."""
        needed = {"SLACK_BOT_TOKEN": self.bot_token}
        needed |= {"SLACK_APP_TOKEN": self.app_token} if socket_mode else {"SLACK_SIGNING_SECRET": self.signing_secret}
        return [name for name, value in needed.items() if not value]


class SlackSetupError(WayfinderError):
    """Slack rejected the bot token at startup (`auth.test`), or SLACK_API_URL cannot be reached."""


def build_slack(services: Services, credentials: SlackCredentials, *, socket_mode: bool = False) -> App | None:
    """The Bolt app talking to `api_url`, or None when this mode lacks credentials."""
    if credentials.missing(socket_mode=socket_mode):
        return None
    from slack_bolt.error import BoltError
    from slack_sdk.errors import SlackClientError

    from bot.slack.app import build_app
    from bot.slack.client import metered_client

    client = metered_client(services.catalog.metrics, token=credentials.bot_token, base_url=credentials.api_url)
    try:
        return build_app(services, client=client)
    except (BoltError, SlackClientError, OSError) as exc:  # from auth.test; messages carry no token
        if not _slack_unavailable(exc):
            raise SlackSetupError(f"cannot start the Slack app: check SLACK_BOT_TOKEN and SLACK_API_URL ({exc})") from exc
        log.warning(
            "Slack's auth.test failed (%s): serving anyway; /readyz says so until Slack answers, and the token is checked "
            "by the first Slack request", exc,
        )  # fmt: skip
        return build_app(services, client=client, token_verification_enabled=False)


# Slack's answers to auth.test that say Slack, not the token, is in trouble (an outage, a rate limit).
_SLACK_TROUBLE = {"ratelimited", "fatal_error", "internal_error", "service_unavailable", "request_timeout"}


def _slack_unavailable(exc: BaseException) -> bool:
    """Whether auth.test failed because Slack could not answer (down, rate-limited, unreachable), not because it refused
    the token: a restart during a Slack incident stopped the pages, the API and the alert webhooks with it."""
    from slack_sdk.errors import SlackApiError

    cause = exc.__cause__ or exc.__context__  # Bolt raises its own error from slack_sdk's
    if isinstance(exc, OSError) or isinstance(cause, OSError):
        return True
    api_error = exc if isinstance(exc, SlackApiError) else cause if isinstance(cause, SlackApiError) else None
    if api_error is None:
        return False
    response = api_error.response
    return response.status_code >= 500 or response.status_code == 429 or response.get("error") in _SLACK_TROUBLE


def create_http_app(
    services: Services, *, slack: App | None, signing_secret: str | None = None, missing: Sequence[str] = (), socket_mode: bool = False
) -> FastAPI:
    """The ASGI app; `slack` handles `/slack/events` once `signing_secret` verifies them (None: answer 503 and say why)."""
    api = FastAPI(title="Wayfinder", docs_url=None, redoc_url=None, openapi_url=None, lifespan=_lifespan(services, slack))
    api.add_middleware(BodySizeLimit)
    api.add_middleware(RequestIds)
    slack_mode = "socket" if socket_mode else "http" if slack else "disabled"
    # FastAPI tries the routers in turn, each some tens of microseconds: Slack's deliveries and the pages, requested most, come first.
    api.include_router(slack_router(services, slack=slack, signing_secret=signing_secret, missing=missing, socket_mode=socket_mode))
    register_web(api, services)  # ownership, team and search pages; the JSON API under /api/v1
    api.include_router(health_router(services, slack=slack.client if slack is not None else None, slack_mode=slack_mode))
    api.include_router(webhooks_router(services))
    api.include_router(actions_router(services))  # POST /actions/runs/{id}/status
    register_alerts(api, services, slack.client if slack is not None else None)  # POST /webhooks/alerts/{provider}
    # Deliveries a dead replica acked and never finished; stopped by whoever stops the server (tests, benchmarks).
    api.state.delivery_takeover = None
    if slack is not None:
        from bot.slack.takeover import DeliveryTakeover

        api.state.delivery_takeover = DeliveryTakeover(slack, services).start()
    api.state.slack_app = slack
    return api


# How long a stopping server waits for the Slack answers it has acked (Slack sends none of them again):
# a rolling restart left them to another replica's takeover, a minute later. Kubernetes waits 30 s by default.
DRAIN_SECONDS = 20


def _lifespan(services: Services, slack: App | None) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    """A lifespan that sweeps the queued GitHub pushes while the server runs (`QueuedPushSweep`: those
    a dead replica answered and never resynced), and at its end lets the acked Slack answers finish
    (up to `DRAIN_SECONDS`) and disposes the catalog, writing its buffered question log rows and usage events.

    The end runs when the server stops, after the requests in flight: the last chance, since uvicorn then
    raises the SIGTERM it caught again, and the process dies of it before exit handlers or the caller's
    cleanup run (a worker of `serve --workers` ends with `os._exit` anyway). An app served without its
    lifespan (tests in-process) starts no sweep.
    """

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        sweep = QueuedPushSweep(services).start()
        yield
        if slack is not None:
            await _drain(slack.listener_runner.listener_executor)
        await asyncio.to_thread(sweep.stop)
        await asyncio.to_thread(services.catalog.dispose)

    return lifespan


async def _drain(listeners: Executor) -> None:
    """Wait for the listeners running and queued (answers acked already) to finish, for `DRAIN_SECONDS` at most."""
    try:
        await asyncio.wait_for(asyncio.to_thread(listeners.shutdown, wait=True), DRAIN_SECONDS)
    except TimeoutError:
        log.warning("stopping with Slack answers still running after %d s: another replica will take them over", DRAIN_SECONDS)


def start_socket_mode(slack: App, app_token: str) -> SocketModeHandler:
    """Connect to Slack over a WebSocket (`apps.connections.open` goes to the client's base_url)."""
    from slack_bolt.adapter.socket_mode import SocketModeHandler

    handler = SocketModeHandler(slack, app_token)
    handler.connect()
    return handler


class PortInUse(WayfinderError):
    """Another process listens on the port `serve` or `demo` was asked to use."""


def tcp_listener(address: tuple[str, int], family: socket.AddressFamily = socket.AF_INET) -> socket.socket:
    """A TCP socket bound to `address`, whose connections will get TCP_NODELAY; it listens once
    the server starts serving (asyncio calls `listen`, or `start_listening` first).

    Bound, the port is taken (a server already listening there is an error now), yet a connection
    is refused until the server can answer it. A socket that listened from the start queued every
    connection made during start-up: in the replica drill, a restarted replica took its share of
    the load a second before it served, and those acks took 0.3-1.2 s where a refused connection
    sends the request on to another replica (as nginx does).

    asyncio sets TCP_NODELAY only on sockets whose `proto` is `IPPROTO_TCP`, and accepted sockets
    inherit it from the listener; `socket.create_server` leaves it 0. Without it every keep-alive
    response (headers and body written separately) waited for the client's delayed ACK: 40 ms each.
    """
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
    except OSError:
        sock.close()
        raise
    return sock


def bind_port(host: str, port: int) -> socket.socket:
    """Take the HTTP port before any other startup work, so a busy port is one clear error."""
    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
        return tcp_listener((host, port), family)
    except OSError as exc:
        raise _port_error(exc, host, port) from None


def start_listening(sock: socket.socket) -> None:
    """Accept connections on `sock` from now on. Another process may have bound the port too and
    listened first (two servers started at once): that is the busy port's error, here."""
    try:
        sock.listen()
    except OSError as exc:
        host, port = sock.getsockname()[:2]
        raise _port_error(exc, host, port) from None


def _port_error(exc: OSError, host: str, port: int) -> WayfinderError:
    if exc.errno == errno.EADDRINUSE:
        return PortInUse(f"port {port} on {host} is already in use by another process; stop it or choose another port with --port {port + 1}")
    return WayfinderError(f"cannot listen on {host}:{port}: {exc.strerror or exc}")


# How long a thread waiting for the GIL lets the running one go on before asking it to switch
# (Python's default is 5 ms). A request's thread gives the GIL up at every socket read and
# database round trip, and waited up to that long to get it back each time whenever an index
# rebuild or another CPU-bound thread ran: a Slack ack of a dozen such hand-offs took 100 ms
# and more. In the replica drill's worst seconds (a 50k-entity sync committing, every replica
# rebuilding its index) ack p99 halved in each of three side-by-side pairs.
GIL_SWITCH_SECONDS = 0.0005


def freeze_heap() -> None:
    """Move every object alive now out of the cyclic garbage collector's sight (`gc.freeze`).

    What a server keeps for its lifetime (modules, the app, its templates, the resolution index)
    was walked by every full collection: about 120 ms with the GIL held at 10k entities, every
    few seconds under load, which every request in flight waited out (`benchmarks/bench_pages.py`:
    the page p99). Frozen objects are still freed when their last reference goes (an index
    replaced by a newer one); only cycles among them would never be collected, so this runs at
    startup and after an index rebuild (`Catalog.after_index_rebuild`), not per request.
    """
    gc.collect()  # what is garbage already is freed, not frozen
    gc.freeze()


def end_startup() -> None:
    """Freeze the start-up heap as `freeze_heap` does, less its full collection, and turn collection back on.

    `wayfinder serve` starts with the collector off: start-up leaves about 150 objects of cyclic
    garbage (measured), not worth a collection walking the ~140k objects alive (0.1-0.2 s of CPU);
    they stay frozen with the rest.
    """
    gc.freeze()
    gc.enable()


def serve_http(api: FastAPI, sock: socket.socket) -> None:
    """Serve on `sock` until interrupted (uvicorn handles SIGINT/SIGTERM for a clean shutdown)."""
    host, port = sock.getsockname()[:2]
    start_listening(sock)
    end_startup()
    sys.setswitchinterval(GIL_SWITCH_SECONDS)
    # log_config=None: uvicorn's loggers propagate to the root handler (`bot.logs`), text or JSON alike
    uvicorn.Server(uvicorn.Config(api, host=host, port=port, log_level="info", log_config=None)).run(sockets=[sock])
