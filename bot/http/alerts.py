"""`POST /webhooks/alerts/{provider}`: store the alert and answer at once; cards follow from the database.

The worker that turns stored alerts into cards starts with the router when Slack is configured
(without Slack, alerts are stored and wait for a server that has it).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from bot.compose import Services
from catalog.alerts.service import Alerts

if TYPE_CHECKING:
    from slack_sdk import WebClient


def register(api: FastAPI, services: Services, client: WebClient | None) -> None:
    alerts = Alerts(services.catalog)
    worker = None
    if client is not None and alerts.configured:  # the cards' views are imported only by a server that posts them
        from bot.slack.alerts import SlackCardPoster
        from catalog.alerts.worker import AlertWorker

        poster = SlackCardPoster(client, public_url=services.public_url, clock=services.clock)
        worker = AlertWorker(alerts, poster, clock=services.clock).start()
    api.state.alert_worker = worker  # stopped by whoever stops the server (tests, benchmarks)

    @api.post("/webhooks/alerts/{provider}")
    async def alert_webhook(provider: str, request: Request) -> JSONResponse:
        """Authenticated, parsed and stored before the reply; a redelivery is accepted and changes nothing."""
        body, headers = await request.body(), request.headers
        received = await run_in_threadpool(alerts.receive, provider, body, headers, now=services.clock())
        if received.stored and worker is not None:
            worker.poke()
        return JSONResponse({"ok": received.status < 300, "result": received.outcome, "message": received.message}, status_code=received.status)
