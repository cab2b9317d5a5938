"""Webhooks that start work in the catalog: `POST /webhooks/github` (a push resyncs its repository).

The handler runs the core's checks over the raw body (signature, event, delivery id) in a worker
thread and queues the push; the answer is the core's `WebhookResult`, its status the HTTP status.
The resync runs after answering (GitHub would not wait for it). `QueuedPushSweep` resyncs, on
every replica, what a replica killed between its answer and its resync left queued.
"""

from __future__ import annotations

from fastapi import APIRouter, BackgroundTasks, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from bot.compose import Services
from bot.repeating import Repeating
from catalog.sync.webhooks import handle_github_push, resync_every_queued, resync_queued

# With the source lease's 60 s: a push left queued by a replica killed mid-resync is resynced within 90 s.
SWEEP_SECONDS = 30.0


def webhooks_router(services: Services) -> APIRouter:
    router = APIRouter()

    @router.post("/webhooks/github")
    async def github_webhook(request: Request) -> JSONResponse:
        """A push is queued, answered, then resynced; the signature is checked over the raw body."""
        body, headers = await request.body(), request.headers
        result = await run_in_threadpool(
            handle_github_push, services.catalog, body, headers.get("x-hub-signature-256"), headers.get("x-github-event", ""),
            delivery=headers.get("x-github-delivery"),
        )  # fmt: skip
        after = BackgroundTasks()
        if result.source:  # this push, and whatever else waits for its source
            after.add_task(resync_queued, services.catalog, result.source)
        return JSONResponse(result.model_dump(mode="json"), status_code=result.status, background=after)

    return router


class QueuedPushSweep(Repeating):
    """Every `SWEEP_SECONDS`, resync the pushes that wait: those of a replica killed after answering,
    and those whose resync failed. A push being resynced elsewhere holds its source's lease, and is left to it."""

    name = "wayfinder-push-sweep"
    failure = "resyncing queued GitHub pushes failed"

    def __init__(self, services: Services, *, seconds: float = SWEEP_SECONDS) -> None:
        self._services = services
        super().__init__(seconds=seconds)

    def work(self) -> object:
        return resync_every_queued(self._services.catalog)
