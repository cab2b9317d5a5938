"""`POST /actions/runs/{id}/status`: long-running executors report progress and their final status.

The run's token (`Authorization: Bearer <token>`, handed to the executor with the run; only its
hash is stored) is good for that run only, and only until its final status.
Body: `{"status": "progress" | "succeeded" | "failed", "message": "..."}`.
"""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Header
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from bot.compose import Services


class StatusReport(BaseModel):
    status: Literal["progress", "succeeded", "failed"]
    message: str = Field(default="", max_length=2000)


def actions_router(services: Services) -> APIRouter:
    router = APIRouter()

    @router.post("/actions/runs/{request_id}/status")
    async def run_status(request_id: int, report: StatusReport, authorization: str = Header(default="")) -> JSONResponse:
        token = authorization.removeprefix("Bearer ").strip()
        accepted = bool(token) and await run_in_threadpool(services.actions.report_status, request_id, token, report.status, report.message)
        if not accepted:  # one answer for a wrong token, an unknown run and a finished one: nothing to probe
            return JSONResponse({"ok": False, "error": "unknown run, wrong token, or the run has already finished"}, status_code=403)
        return JSONResponse({"ok": True})

    return router
