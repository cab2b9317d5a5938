"""The HTTP server behind `wayfinder serve`: Slack on `POST /slack/events`, the GitHub webhook,
health (`/healthz`, `/livez`, `/readyz`) and Prometheus metrics (`/metrics`).

It runs without Slack credentials too (health, metrics and webhooks); `/slack/events` then
answers 503 saying which variables are missing. Every route's body is size-limited before it is
read (`bot.http.body_limit`), and Slack requests are verified before Bolt sees them (`bot.http.slack_endpoint`).
"""

from __future__ import annotations

import errno
import logging
import socket
from collections.abc import Sequence
from dataclasses import dataclass, field

import uvicorn
from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from slack_bolt import App
from slack_bolt.adapter.socket_mode import SocketModeHandler
from slack_bolt.adapter.starlette.handler import to_starlette_response
from slack_bolt.error import BoltError
from slack_sdk.errors import SlackClientError
from starlette.concurrency import run_in_threadpool

from bot.slack.app import build_app
from bot.http.body_limit import BodySizeLimit
from bot.http.health import OK, database_check, readiness
from bot.logs import RequestIds
from bot.compose import Services
from bot.slack.client import metered_client
from bot.http.slack_endpoint import Refused, SlackGate
from bot.http.web import register as register_web
from bot.http.alerts import register as register_alerts
from catalog.errors import WayfinderError
from catalog.sync.webhooks import handle_github_push

log = logging.getLogger(__name__)


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
    client = metered_client(services.catalog.metrics, token=credentials.bot_token, base_url=credentials.api_url)
    try:
        return build_app(services, client=client)
    except (BoltError, SlackClientError, OSError) as exc:  # from auth.test; messages carry no token
        raise SlackSetupError(f"cannot start the Slack app: check SLACK_BOT_TOKEN and SLACK_API_URL ({exc})") from exc


def create_http_app(
    services: Services, *, slack: App | None, signing_secret: str | None = None, missing: Sequence[str] = (), socket_mode: bool = False
) -> FastAPI:
    """The ASGI app; `slack` handles `/slack/events` once `signing_secret` verifies them (None: answer 503 and say why)."""
    api = FastAPI(title="Wayfinder", docs_url=None, redoc_url=None, openapi_url=None)
    api.add_middleware(BodySizeLimit)
    api.add_middleware(RequestIds)
    mode = "socket" if socket_mode else "http" if slack else "disabled"
    if socket_mode:
        unavailable = "This server receives Slack events over Socket Mode; /slack/events is not used."
    else:
        unavailable = f"Slack is not configured: set {' and '.join(missing) or 'the Slack credentials'} and restart."
    if slack is not None and not socket_mode and not signing_secret:
        raise ValueError("Slack over HTTP needs the signing secret: requests must be verified before Bolt sees them")
    gate = SlackGate(signing_secret, clock=services.clock) if signing_secret else None

    @api.post("/slack/events")
    async def slack_events(request: Request) -> Response:
        """Events, slash commands, interactivity and options: verified here, then Bolt tells them apart."""
        if slack is None or gate is None or socket_mode:
            return JSONResponse({"ok": False, "error": "slack_unavailable", "message": unavailable}, status_code=503)
        try:
            bolt_request = gate.admit(await request.body(), request.headers, request.url.query)
        except Refused as refused:
            log.warning("refused POST /slack/events with %d: %s", refused.status, refused)
            return JSONResponse({"ok": False, "error": "invalid_request" if refused.status == 401 else "malformed_body"}, status_code=refused.status)
        # dispatch blocks until ack(); a worker thread keeps the event loop free for other requests
        return to_starlette_response(await run_in_threadpool(slack.dispatch, bolt_request))

    @api.get("/healthz")
    def healthz() -> JSONResponse:
        """Liveness and database reachability, for load balancers and `wayfinder demo` users."""
        if database_check(services.catalog) != OK:
            return JSONResponse({"status": "error", "database": "unreachable", "slack": mode}, status_code=503)
        return JSONResponse({"status": "ok", "database": "ok", "slack": mode})

    @api.get("/livez")
    def livez() -> JSONResponse:
        """The process is up and serving; says nothing about its dependencies."""
        return JSONResponse({"status": "ok"})

    @api.get("/readyz")
    def readyz() -> JSONResponse:
        """Ready for traffic: database reachable, schema current, Slack token accepted (when configured)."""
        checks = readiness(services.catalog, slack.client if slack is not None else None)
        ready = all(result in (OK, "not configured") for result in checks.values())
        return JSONResponse({"status": "ok" if ready else "error", **checks}, status_code=200 if ready else 503)

    @api.get("/metrics")
    def metrics() -> Response:
        """Prometheus text format, from this app's own registry."""
        return Response(generate_latest(services.catalog.metrics.registry), media_type=CONTENT_TYPE_LATEST)

    @api.post("/webhooks/github")
    async def github_webhook(request: Request) -> JSONResponse:
        """A push resyncs the repository it names; the signature is checked over the raw body."""
        body, headers = await request.body(), request.headers
        result = await run_in_threadpool(
            handle_github_push, services.catalog, body, headers.get("x-hub-signature-256"), headers.get("x-github-event", ""),
            delivery=headers.get("x-github-delivery"),
        )  # fmt: skip
        return JSONResponse(result.model_dump(mode="json"), status_code=result.status)

    register_web(api, services)  # ownership, team and search pages; the JSON API under /api/v1
    register_alerts(api, services, slack.client if slack is not None else None)  # POST /webhooks/alerts/{provider}
    return api


def start_socket_mode(slack: App, app_token: str) -> SocketModeHandler:
    """Connect to Slack over a WebSocket (`apps.connections.open` goes to the client's base_url)."""
    handler = SocketModeHandler(slack, app_token)
    handler.connect()  # type: ignore[no-untyped-call]
    return handler


class PortInUse(WayfinderError):
    """Another process listens on the port `serve` or `demo` was asked to use."""


def listen(host: str, port: int) -> socket.socket:
    """Bind the HTTP port before any other startup work, so a busy port is one clear error."""
    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
        return socket.create_server((host, port), family=family)
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise PortInUse(f"port {port} on {host} is already in use by another process; stop it or choose another port with --port {port + 1}") from None
        raise WayfinderError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None


def serve_http(api: FastAPI, sock: socket.socket) -> None:
    """Serve on `sock` until interrupted (uvicorn handles SIGINT/SIGTERM for a clean shutdown)."""
    host, port = sock.getsockname()[:2]
    # log_config=None: uvicorn's loggers propagate to the root handler (`bot.logs`), text or JSON alike
    uvicorn.Server(uvicorn.Config(api, host=host, port=port, log_level="info", log_config=None)).run(sockets=[sock])
