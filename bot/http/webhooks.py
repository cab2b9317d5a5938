"""Webhooks that start work in the catalog: `POST /webhooks/github` (a push resyncs its repository).

The handlers run the core's checks over the raw body (signature, event, delivery id) in a worker
thread; the answer is the core's `WebhookResult`, its status the HTTP status. After answering, the
pushes queued while the source was busy are resynced (GitHub would not wait for them).
"""

from __future__ import annotations

from fastapi import APIRouter, BackgroundTasks, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from bot.compose import Services
from catalog.sync.webhooks import handle_github_push, resync_queued


def webhooks_router(services: Services) -> APIRouter:
    router = APIRouter()

    @router.post("/webhooks/github")
    async def github_webhook(request: Request) -> JSONResponse:
        """A push resyncs the repository it names; the signature is checked over the raw body."""
        body, headers = await request.body(), request.headers
        result = await run_in_threadpool(
            handle_github_push, services.catalog, body, headers.get("x-hub-signature-256"), headers.get("x-github-event", ""),
            delivery=headers.get("x-github-delivery"),
        )  # fmt: skip
        after = BackgroundTasks()
        if result.source:  # this push's resync has ended, or it was queued behind another run
            after.add_task(resync_queued, services.catalog, result.source)
        return JSONResponse(result.model_dump(mode="json"), status_code=result.status, background=after)

    return router
