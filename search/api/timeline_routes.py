"""``GET /timelines``: listings on sale per market per day, and a substance's median price per gram.

Query parameters: ``days`` (1-366, default 90), ``market`` (one market's line
only), ``substance`` (the price chart's substance; without it only the chooser).
A viewer token is needed; each view is audited (kind ``timeline``).  The JSON
twin holds the numbers the charts draw (:mod:`search.timelines`).  Prices are
drawn as one chart per currency (``data-unit`` on each ``<svg>``), never
converted.

Public API: :data:`router`.
"""

from __future__ import annotations

from typing import Optional

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from search import svg_charts
from search.api.chart_pages import respond_with_charts
from search.api.context import audit, context_of, viewer
from search.auth import TokenRecord
from search.es_steps import run_async
from search.timelines import MAX_DAYS, listings_per_market_steps, substance_prices_steps

router = APIRouter(tags=["timelines"])


@router.get("/timelines", summary="Listings per market per day; a substance's median price per gram per market")
async def timelines_page(
    request: Request,
    days: int = Query(90, ge=1, le=MAX_DAYS),
    market: Optional[str] = Query(None, max_length=128),
    substance: Optional[str] = Query(None, max_length=128),
    who: TokenRecord = Depends(viewer),
) -> Response:
    context = context_of(request)
    client = context.async_client()
    listings = await run_async(client, listings_per_market_steps(context.index_prefix, days, market or None))
    prices = await run_async(client, substance_prices_steps(context.index_prefix, substance or None, days))
    query = " ".join(part for part in (f"market:{market}" if market else "",
                                       f"substance:{substance}" if substance else "") if part)
    audit(request, who, query=query, kind="timeline", result_count=len(listings["series"]) + len(prices["series"]))
    data = {"days": days, "market": market, "listings_per_market": listings, "prices": prices}
    return respond_with_charts(request, "timelines.html", data, lambda: {
        "listings": svg_charts.time_series("listings-per-market", listings["series"], "bars",
                                           "listings on sale per market per day"),
        # One chart per currency: a USD and a BTC price never share an axis, and nothing is converted.
        "prices": [(currency, svg_charts.time_series("price-per-gram", per_market, "lines",
                                                     "median price per gram per market", unit=currency))
                   for currency, per_market in prices["currencies"].items()],
    })
