"""``GET /wallets/{address}``: the listings, vendors, pages and markets that use an address.

Every lookup is audited (kind ``wallet``, query ``wallet:<address>``), found or not.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import Response

from search.api.context import audit, context_of, respond, viewer
from search.auth import TokenRecord
from search.es_steps import run_async
from search.pivots import wallet_detail_steps

router = APIRouter(tags=["entities"])


@router.get("/wallets/{address}", summary="A wallet address and everything that uses it")
async def wallet_page(
    request: Request,
    address: str = Path(..., max_length=256),
    who: TokenRecord = Depends(viewer),
) -> Response:
    context = context_of(request)
    detail = await run_async(context.async_client(), wallet_detail_steps(context.index_prefix, address))
    audit(request, who, query=f"wallet:{address}", kind="wallet", result_count=0 if detail is None else 1)
    if detail is None:
        return respond(request, "error.html", {"error": "this address was not seen", "status": 404}, 404)
    return respond(request, "wallet.html", detail)
