"""``GET /discovered``: onions that crawled pages named, newest first, with where they were seen.

A viewer token is needed and each view is audited before anything is
answered (kind ``discovered``, query ``status:<status>`` or empty, the number
of onions shown).  The HTML page has a JSON twin at the same URL; everything
shown is crawled text and is escaped (Jinja2 autoescape).  ``status`` filters
(new, probed, crawled, blocked); another value is a 400 (the app answers bad parameters so).

Public API: :data:`router`.
"""

from __future__ import annotations

from typing import Literal, Optional

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from search.api.context import audit, context_of, respond, viewer
from search.auth import TokenRecord
from search.discovered import MAX_LIMIT, STATUSES, discovered_steps
from search.es_steps import run_async

router = APIRouter(tags=["discovery"])


@router.get("/discovered", summary="Newly discovered onions, newest first, with where they were seen")
async def discovered_page(
    request: Request,
    status: Optional[Literal["new", "probed", "crawled", "blocked"]] = Query(None),
    limit: int = Query(100, ge=1, le=MAX_LIMIT),
    who: TokenRecord = Depends(viewer),
) -> Response:
    context = context_of(request)
    onions = await run_async(context.async_client(), discovered_steps(context.index_prefix, status, limit))
    audit(request, who, query=f"status:{status}" if status else "", kind="discovered", result_count=len(onions))
    return respond(request, "discovered.html", {"status": status, "statuses": list(STATUSES), "onions": onions})
