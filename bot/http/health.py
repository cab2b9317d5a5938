"""Health for load balancers and orchestrators: `/livez`, `/readyz` and the older `/healthz`.

Live means the process answers. Ready means it can do its job: the database answers, its schema
is the one this code needs (a replica started before `wayfinder db upgrade` must not take
traffic), and Slack accepts the bot token when Slack is configured. Each check reports a short
reason, never a URL, token or exception text that might carry one.
"""

from __future__ import annotations

import logging

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

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
