"""``GET /listings/{listing_id}``: one listing, linked to its vendor, wallets and onion.

Every lookup is audited (kind ``listing``, query ``listing-id:<id>``), found or not.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import Response

from search.api.context import audit, context_of, respond, viewer
from search.auth import TokenRecord
from search.es_steps import run_async
from search.pivots import listing_detail_steps

router = APIRouter(tags=["entities"])


@router.get("/listings/{listing_id}", summary="A listing and its pivots")
async def listing_page(
    request: Request,
    listing_id: str = Path(..., max_length=128),
    who: TokenRecord = Depends(viewer),
) -> Response:
    context = context_of(request)
    detail = await run_async(context.async_client(), listing_detail_steps(context.index_prefix, listing_id))
    audit(request, who, query=f"listing-id:{listing_id}", kind="listing", result_count=0 if detail is None else 1)
    if detail is None:
        return respond(request, "error.html", {"error": "no listing with this id", "status": 404}, 404)
    return respond(request, "listing.html", detail)
