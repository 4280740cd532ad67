"""``GET /stats``: document counts, listings per market, latest fetch, and charts.

The charts (:mod:`search.timelines`, drawn by :mod:`search.svg_charts`): pages
and listings in the index over time (by first seen), onion services up and
down now and the liveness checks per day, and the top substances.  The JSON
twin carries their numbers under ``charts``.

Every view is audited (kind ``stats``).
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from search import svg_charts
from search.api.chart_pages import respond_with_charts
from search.api.context import audit, context_of, language_of, viewer
from search.auth import TokenRecord
from config.i18n import translator
from search.api.translation import N_
from search.es_steps import run_async
from search.pivots import index_stats_steps
from search.timelines import index_growth_steps, onion_states_steps, top_substances_steps

router = APIRouter(tags=["stats"])
ONION_STATE_COLOURS = ("#009e73", "#d55e00", "#7f7f7f")
#: Series and row names of the stats charts that the project defines (marked for the catalogue).
STATS_SERIES_NAMES = (N_("pages"), N_("listings"), N_("up"), N_("down"), N_("unchecked"))


@router.get("/stats", summary="What the index holds")
async def stats_page(request: Request, who: TokenRecord = Depends(viewer)) -> Response:
    context = context_of(request)
    client = context.async_client()
    stats = await run_async(client, index_stats_steps(context.index_prefix))
    growth = await run_async(client, index_growth_steps(context.index_prefix))
    onions = await run_async(client, onion_states_steps(context.index_prefix))
    substances = await run_async(client, top_substances_steps(context.index_prefix))
    audit(request, who, query="", kind="stats", result_count=1)
    data = {**stats, "charts": {"growth": growth, "onions": onions,
                                "top_substances": [{"substance": name, "listings": count} for name, count in substances]}}
    t = translator(language_of(request))
    # The series and rows the project names (kinds, onion states, check outcomes) in the reader's
    # language; substances are crawled words and stay as they are.
    names = {name: t(name) for name in STATS_SERIES_NAMES}
    empty = t(svg_charts.NO_DATA)
    return respond_with_charts(request, "stats.html", data, lambda: {
        "growth": svg_charts.time_series("index-growth", growth, "lines", t("documents in the index by day"),
                                         labels=names, empty=empty),
        "onions_now": svg_charts.ranked_bars("onions-now", [(state, onions["now"][state]) for state in
                                                            ("up", "down", "unchecked")],
                                             t("onion services by state"), colours=ONION_STATE_COLOURS,
                                             labels=names, empty=empty),
        "onion_checks": svg_charts.time_series("onion-checks", onions["checks"], "bars", t("liveness checks per day"),
                                               labels=names, empty=empty),
        "top_substances": svg_charts.ranked_bars("top-substances", substances, t("listings per substance"),
                                                 empty=empty),
    })
