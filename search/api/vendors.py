"""``GET /vendors/{vendor_id}``: a vendor, its listings, and the same vendor on other markets.

Every lookup is audited (kind ``vendor``, query ``vendor-id:<id>``), found or not.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import Response

from search.api.context import audit, context_of, respond, viewer
from search.auth import TokenRecord
from search.es_steps import run_async
from search.pivots import vendor_detail_steps

router = APIRouter(tags=["entities"])


@router.get("/vendors/{vendor_id}", summary="A vendor, its listings and its links by PGP key or wallet")
async def vendor_page(
    request: Request,
    vendor_id: str = Path(..., max_length=128),
    who: TokenRecord = Depends(viewer),
) -> Response:
    context = context_of(request)
    detail = await run_async(context.async_client(), vendor_detail_steps(context.index_prefix, vendor_id))
    audit(request, who, query=f"vendor-id:{vendor_id}", kind="vendor", result_count=0 if detail is None else 1)
    if detail is None:
        return respond(request, "error.html", {"error": "no vendor with this id", "status": 404}, 404)
    return respond(request, "vendor.html", detail)
