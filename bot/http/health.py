"""Health for load balancers and orchestrators: `/livez`, `/readyz` and the older `/healthz`.

Live means the process answers. Ready means it can do its job: the database answers, its schema
is the one this code needs (a replica started before `wayfinder db upgrade` must not take
traffic), and Slack accepts the bot token when Slack is configured. Each check reports a short
reason, never a URL, token or exception text that might carry one. `health_router` serves them
with Prometheus' `/metrics`.
"""

from __future__ import annotations

import logging

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from bot.compose import Services
from catalog.core import Catalog

log = logging.getLogger(__name__)

OK = "ok"


def database_check(catalog: Catalog) -> str:
    """`ok`, or why the database cannot be used."""
    return OK if catalog.database_reachable() else "unreachable"


def schema_check(catalog: Catalog) -> str:
    return catalog.schema_problem() or OK


def slack_check(client: WebClient) -> str:
    """`auth.test` against SLACK_API_URL: the token is still accepted and Slack is reachable."""
    try:
        client.auth_test()
    except SlackApiError as exc:
        return f"auth.test failed: {exc.response.get('error') or exc.response.status_code}"
    except (SlackClientError, OSError) as exc:
        log.warning("health check: Slack unreachable: %s", type(exc).__name__)
        return "unreachable"
    return OK


def readiness(catalog: Catalog, slack: WebClient | None) -> dict[str, str]:
    """Each check's result; ready when all are `ok` (Slack is `not configured` when it is not checked)."""
    checks = {"database": database_check(catalog)}
    checks["schema"] = schema_check(catalog) if checks["database"] == OK else "not checked"
    checks["slack"] = slack_check(slack) if slack is not None else "not configured"
    return checks


# Uptime checkers and load balancers probe with HEAD as often as with GET: a 405 read as "down".
PROBED = ["GET", "HEAD"]


def health_router(services: Services, *, slack: WebClient | None, slack_mode: str) -> APIRouter:
    """`/healthz`, `/livez`, `/readyz` and `/metrics`; `slack` is checked by `/readyz`, `slack_mode` reported by `/healthz`."""
    router = APIRouter()

    @router.api_route("/healthz", methods=PROBED)
    def healthz() -> JSONResponse:
        """Liveness and database reachability, for load balancers and `wayfinder demo` users."""
        if database_check(services.catalog) != OK:
            return JSONResponse({"status": "error", "database": "unreachable", "slack": slack_mode}, status_code=503)
        return JSONResponse({"status": "ok", "database": "ok", "slack": slack_mode})

    @router.api_route("/livez", methods=PROBED)
    def livez() -> JSONResponse:
        """The process is up and serving; says nothing about its dependencies."""
        return JSONResponse({"status": "ok"})

    @router.api_route("/readyz", methods=PROBED)
    def readyz() -> JSONResponse:
        """Ready for traffic: database reachable, schema current, Slack token accepted (when configured)."""
        checks = readiness(services.catalog, slack)
        ready = all(result in (OK, "not configured") for result in checks.values())
        return JSONResponse({"status": "ok" if ready else "error", **checks}, status_code=200 if ready else 503)

    @router.api_route("/metrics", methods=PROBED)
    def metrics() -> Response:
        """Prometheus text format, from this app's own registry."""
        return Response(generate_latest(services.catalog.metrics.registry), media_type=CONTENT_TYPE_LATEST)

    return router
