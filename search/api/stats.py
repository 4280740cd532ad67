"""``GET /stats``: document counts, listings per market, latest fetch."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from search.api.context import context_of, respond, viewer
from search.auth import TokenRecord
from search.pivots import index_stats

router = APIRouter(tags=["stats"])


@router.get("/stats", summary="What the index holds")
def stats_page(request: Request, who: TokenRecord = Depends(viewer)) -> Response:
    context = context_of(request)
    return respond(request, "stats.html", index_stats(context.client, context.index_prefix))
