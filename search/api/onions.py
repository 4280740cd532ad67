"""``GET /onions/{host}``: an onion service's liveness and its pages.

Every lookup is audited (kind ``onion``, query ``onion:<host>``), found or not.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import Response

from search.api.context import audit, context_of, respond, viewer
from search.auth import TokenRecord
from search.es_steps import run_async
from search.pivots import onion_detail_steps

router = APIRouter(tags=["entities"])


@router.get("/onions/{host}", summary="An onion host: last status, last seen, pages")
async def onion_page(
    request: Request,
    host: str = Path(..., max_length=256),
    who: TokenRecord = Depends(viewer),
) -> Response:
    context = context_of(request)
    detail = await run_async(context.async_client(), onion_detail_steps(context.index_prefix, host))
    audit(request, who, query=f"onion:{host}", kind="onion", result_count=0 if detail is None else 1)
    if detail is None:
        return respond(request, "error.html", {"error": "this onion host was not crawled", "status": 404}, 404)
    return respond(request, "onion.html", detail)
