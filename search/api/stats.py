"""``GET /stats``: document counts, listings per market, latest fetch.

Every view is audited (kind ``stats``).
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from search.api.context import audit, context_of, respond, viewer
from search.auth import TokenRecord
from search.es_steps import run_async
from search.pivots import index_stats_steps

router = APIRouter(tags=["stats"])


@router.get("/stats", summary="What the index holds")
async def stats_page(request: Request, who: TokenRecord = Depends(viewer)) -> Response:
    context = context_of(request)
    stats = await run_async(context.async_client(), index_stats_steps(context.index_prefix))
    audit(request, who, query="", kind="stats", result_count=1)
    return respond(request, "stats.html", stats)
