"""`GET /adoption`: the adoption report as a page (HTML with its trend chart inlined) or JSON on request.

Behind the same bearer tokens as the other pages; `?days=N` sets the period (default 30).
"""

from __future__ import annotations

import base64
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from bot.charts import trend_png
from bot.compose import Services
from bot.http.web.auth import BearerAuth
from bot.http.web.render import page_route, render, wants_json
from catalog.adoption.report import headlines
from catalog.adoption.service import Adoption


def adoption_router(services: Services, auth: BearerAuth) -> APIRouter:
    router = APIRouter(dependencies=auth.dependencies)
    adoption = Adoption(services.catalog)

    @page_route(router, "/adoption")
    async def adoption_report(request: Request, days: Annotated[int, Query(ge=1, le=800)] = 30) -> Response:
        now = services.clock()
        report = await run_in_threadpool(adoption.report, since=now - timedelta(days=days), until=now)
        if wants_json(request):
            return JSONResponse(report.to_json())
        chart = base64.b64encode(await run_in_threadpool(trend_png, report)).decode()
        learned = await run_in_threadpool(adoption.aliases)
        return render("adoption.html", now=now, data=report, headlines=headlines(report), chart=chart, aliases=learned, q="")

    return router
