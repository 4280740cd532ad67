"""``GET /stats``: document counts, listings per market, latest fetch."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from search.api.context import context_of, respond, viewer
from search.auth import TokenRecord
from search.es_steps import run_async
from search.pivots import index_stats_steps

router = APIRouter(tags=["stats"])


@router.get("/stats", summary="What the index holds")
async def stats_page(request: Request, who: TokenRecord = Depends(viewer)) -> Response:
    context = context_of(request)
    stats = await run_async(context.async_client(), index_stats_steps(context.index_prefix))
    return respond(request, "stats.html", stats)
