"""``GET /search``: the search page and its JSON twin; every search is audited.

The default (``kind=all``) searches every kind at once and shows each kind's count
and top hits, linking to that kind's own search with its facets; the search is
:func:`search.unified.find_steps`, the same one the CLI runs.

The audit entry goes to the app's :class:`search.audit.AuditWriter`, which
writes entries in bulk within a quarter second, so its cost is not on the
analyst's wait.  If a write keeps failing the server logs ``AUDIT WRITE
FAILED`` with who and what; if the writer's backlog is full the search is
answered 503 instead of served unaudited.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from search.api.context import audit, context_of, respond, viewer, wants_json
from search.auth import TokenRecord
from config.schema import FACETS
from search.query import QueryError, QueryLimits, field_values, parse, quote_value
from search.es_steps import run_async
from search.results import MAX_LIMIT, SORTS
from search.unified import DEFAULT_KIND, SCOPES, UNIFIED_KINDS, UnifiedResult, find_steps

router = APIRouter(tags=["search"])

def facet_links(query_text: str, facets: dict[str, list[dict[str, Any]]],
                limits: QueryLimits | None = None) -> dict[str, list[dict[str, Any]]]:
    """Each facet value with the query that narrows to it (or widens back, if already chosen)."""
    try:
        node = parse(query_text, limits)
    except QueryError:
        return {}
    linked: dict[str, list[dict[str, Any]]] = {}
    for name, buckets in facets.items():
        field = FACETS[name].query_field
        chosen = {value.lower() for value in field_values(node, field)}
        entries = []
        for bucket in buckets:
            clause = f"{field}:{quote_value(bucket['value'])}"
            selected = bucket["value"].lower() in chosen
            narrowed = query_text if selected else (f"{query_text} {clause}".strip())
            entries.append({**bucket, "query": narrowed, "selected": selected})
        linked[name] = entries
    return linked


@router.get("/search", summary="Search everything (pages, listings, vendors, wallets, onions) or one kind")
async def search_page(
    request: Request,
    q: str = Query("", max_length=2000, description="query in the onionscope query language"),
    kind: str = Query(DEFAULT_KIND, description="all (counts and top hits of every kind), pages, listings, "
                                                "vendors, wallets or onions"),
    sort: str = Query("relevance", description="relevance or date (one kind only)"),
    limit: int = Query(20, ge=1, le=MAX_LIMIT),
    cursor: str | None = Query(None, max_length=4000, description="next_cursor of the previous page"),
    who: TokenRecord = Depends(viewer),
) -> Response:
    context = context_of(request)
    if kind not in SCOPES:
        raise QueryError(f"unknown kind '{kind}' (choose {', '.join(SCOPES)})")
    if sort not in SORTS:
        raise QueryError(f"unknown sort '{sort}' (choose {' or '.join(SORTS)})")
    limits = QueryLimits.from_settings(context.settings)
    # The one search of the CLI, the API and the UI (search.unified.find_steps).
    result = await run_async(context.async_client(), find_steps(
        context.index_prefix, q, kind=kind, limit=limit, limits=limits, sort=sort, cursor=cursor,
        cursor_secret=context.secret, result_window=context.settings["search_max_window"]))
    # Batched by the app's audit writer, so the analyst does not wait for it;
    # when its backlog is full this raises and the result is not served.
    audit(request, who, query=q, kind=kind, result_count=result.total)
    data = result.to_json()
    if wants_json(request):
        return respond(request, "search.html", data)
    page = {**data, "kinds": list(SCOPES), "sorts": list(SORTS), "limit": limit, "facet_names": list(FACETS)}
    if isinstance(result, UnifiedResult):
        page["unified_kinds"] = list(UNIFIED_KINDS)
        page["sort"] = "relevance"
        page["facet_links"] = {}
    else:
        page["facet_links"] = facet_links(q, result.facets, limits)
    return respond(request, "search.html", page)
