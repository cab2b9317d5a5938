"""The HTTP server behind `wayfinder serve`: Slack on `POST /slack/events`, plus `GET /healthz`.

It runs without Slack credentials too (health, and later the ownership pages and webhooks);
`/slack/events` then answers 503 saying which variables are missing.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

import uvicorn
from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse
from slack_bolt import App
from slack_bolt.adapter.socket_mode import SocketModeHandler
from slack_bolt.adapter.starlette.handler import to_bolt_request, to_starlette_response
from slack_bolt.error import BoltError
from slack_sdk import WebClient
from slack_sdk.errors import SlackClientError
from starlette.concurrency import run_in_threadpool

from bot.compose import Services
from bot.slack.app import build_app
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
    client = WebClient(token=credentials.bot_token, base_url=credentials.api_url)
    try:
        return build_app(services, client=client, signing_secret=credentials.signing_secret or "")
    except (BoltError, SlackClientError, OSError) as exc:  # from auth.test; messages carry no token
        raise SlackSetupError(f"cannot start the Slack app: check SLACK_BOT_TOKEN and SLACK_API_URL ({exc})") from exc


def create_http_app(services: Services, *, slack: App | None, missing: Sequence[str] = (), socket_mode: bool = False) -> FastAPI:
    """The ASGI app; `slack` handles `/slack/events` (None: answer 503 and say why)."""
    api = FastAPI(title="Wayfinder", docs_url=None, redoc_url=None, openapi_url=None)
    mode = "socket" if socket_mode else "http" if slack else "disabled"
    if socket_mode:
        unavailable = "This server receives Slack events over Socket Mode; /slack/events is not used."
    else:
        unavailable = f"Slack is not configured: set {' and '.join(missing) or 'the Slack credentials'} and restart."

    @api.post("/slack/events")
    async def slack_events(request: Request) -> Response:
        """Events, slash commands, interactivity and options: Bolt tells them apart."""
        if slack is None or socket_mode:
            return JSONResponse({"ok": False, "error": "slack_unavailable", "message": unavailable}, status_code=503)
        bolt_request = to_bolt_request(request, await request.body())
        # dispatch blocks until ack(); a worker thread keeps the event loop free for other requests
        return to_starlette_response(await run_in_threadpool(slack.dispatch, bolt_request))

    @api.get("/healthz")
    def healthz() -> JSONResponse:
        """Liveness and database reachability, for load balancers and `wayfinder demo` users."""
        if not services.catalog.database_reachable():
            return JSONResponse({"status": "error", "database": "unreachable", "slack": mode}, status_code=503)
        return JSONResponse({"status": "ok", "database": "ok", "slack": mode})

    @api.post("/webhooks/github")
    async def github_webhook(request: Request) -> JSONResponse:
        """A push resyncs the repository it names; the signature is checked over the raw body."""
        body, headers = await request.body(), request.headers
        result = await run_in_threadpool(
            handle_github_push, services.catalog, body, headers.get("x-hub-signature-256"), headers.get("x-github-event", "")
        )
        return JSONResponse(result.model_dump(mode="json"), status_code=result.status)

    return api


def start_socket_mode(slack: App, app_token: str) -> SocketModeHandler:
    """Connect to Slack over a WebSocket (`apps.connections.open` goes to the client's base_url)."""
    handler = SocketModeHandler(slack, app_token)
    handler.connect()  # type: ignore[no-untyped-call]
    return handler


def serve_http(api: FastAPI, *, host: str, port: int) -> None:
    """Serve until interrupted (uvicorn handles SIGINT/SIGTERM for a clean shutdown)."""
    uvicorn.Server(uvicorn.Config(api, host=host, port=port, log_level="info")).run()
