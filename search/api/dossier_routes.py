"""``GET /vendors/{vendor_id}/dossier``: one vendor identity across markets, with the evidence of each link.

The dossier (:func:`search.dossier.dossier_steps`) starts from one vendor
document; strong links (same PGP key, same wallet) make the identity, weak
ones (same name only) are shown apart.  The page prints cleanly (the
stylesheet's print rules); its JSON twin is the dossier itself.  A viewer
token is needed; each view is audited (kind ``dossier``); an unknown vendor
is a 404.

Public API: :data:`router`.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import Response

from search import svg_charts
from search.api.chart_pages import respond_with_charts
from search.api.context import audit, context_of, respond, viewer
from search.auth import TokenRecord
from search.dossier import dossier_steps
from search.es_steps import run_async
from search.timelines import MAX_DAYS

router = APIRouter(tags=["entities"])


@router.get("/vendors/{vendor_id}/dossier", summary="A vendor identity across markets, with the evidence")
async def dossier_page(
    request: Request,
    vendor_id: str = Path(..., max_length=128),
    days: int = Query(365, ge=1, le=MAX_DAYS),
    who: TokenRecord = Depends(viewer),
) -> Response:
    context = context_of(request)
    dossier = await run_async(context.async_client(), dossier_steps(context.index_prefix, vendor_id, days))
    audit(request, who, query=f"vendor-id:{vendor_id}", kind="dossier", result_count=0 if dossier is None else 1)
    if dossier is None:
        return respond(request, "error.html", {"error": "no vendor with this id", "status": 404}, 404)
    return respond_with_charts(request, "dossier.html", dossier, lambda: {
        "activity": svg_charts.activity_ranges("vendor-activity", [
            {"label": market["market"], "first": market["first_seen"], "last": market["last_seen"],
             "count": market["listing_count"]} for market in dossier["markets"]]),
        "listings": svg_charts.time_series("vendor-listings", dossier["listings_over_time"]["series"], "bars",
                                           "the identity's listings on sale per market per day"),
    })
