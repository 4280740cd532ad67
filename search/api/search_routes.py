"""``GET /search``: the search page and its JSON twin; every search is audited.

The audit document is written right after the answer is sent (a background
task of the same request), so its cost is not on the analyst's wait.  If
that write fails -- Elasticsearch went away between the search and the audit
-- the server logs ``AUDIT WRITE FAILED`` with who and what.
"""

from __future__ import annotations

from typing import Any

import logging

from fastapi import APIRouter, BackgroundTasks, Depends, Query, Request
from fastapi.responses import Response

from search.api.context import context_of, respond, viewer, wants_json
from search.audit import record_search
from search.auth import TokenRecord
from search.query import FACETS, KINDS, QueryError, field_values, parse, quote_value
from search.results import MAX_LIMIT, SORTS, search

router = APIRouter(tags=["search"])
log = logging.getLogger(__name__)

FACET_QUERY_FIELD = {"market": "market", "vendor": "vendor", "coin": "coin", "substance": "substance",
                     "country": "country", "language": "lang"}


def facet_links(query_text: str, facets: dict[str, list[dict[str, Any]]]) -> dict[str, list[dict[str, Any]]]:
    """Each facet value with the query that narrows to it (or widens back, if already chosen)."""
    try:
        node = parse(query_text)
    except QueryError:
        return {}
    linked: dict[str, list[dict[str, Any]]] = {}
    for name, buckets in facets.items():
        field = FACET_QUERY_FIELD[name]
        chosen = {value.lower() for value in field_values(node, field)}
        entries = []
        for bucket in buckets:
            clause = f"{field}:{quote_value(bucket['value'])}"
            selected = bucket["value"].lower() in chosen
            narrowed = query_text if selected else (f"{query_text} {clause}".strip())
            entries.append({**bucket, "query": narrowed, "selected": selected})
        linked[name] = entries
    return linked


def _audit(client: Any, prefix: str, **entry: Any) -> None:
    try:
        record_search(client, prefix, **entry)
    except Exception:  # noqa: BLE001 -- the answer is already sent; say loudly that the trail has a gap
        log.exception("AUDIT WRITE FAILED for a search by token %s: %r", entry.get("actor_id"), entry.get("query"))


@router.get("/search", summary="Search pages, listings, vendors or wallets")
def search_page(
    request: Request,
    background: BackgroundTasks,
    q: str = Query("", max_length=2000, description="query in the onionscope query language"),
    kind: str = Query("listings", description="pages, listings, vendors or wallets"),
    sort: str = Query("relevance", description="relevance or date"),
    limit: int = Query(20, ge=1, le=MAX_LIMIT),
    cursor: str | None = Query(None, max_length=4000, description="next_cursor of the previous page"),
    who: TokenRecord = Depends(viewer),
) -> Response:
    context = context_of(request)
    channel = "api" if wants_json(request) else "ui"
    if kind not in KINDS:
        raise QueryError(f"unknown kind '{kind}' (choose {', '.join(KINDS)})")
    if sort not in SORTS:
        raise QueryError(f"unknown sort '{sort}' (choose {' or '.join(SORTS)})")
    result = search(
        context.client,
        context.index_prefix,
        q,
        kind=kind,
        sort=sort,
        limit=limit,
        cursor=cursor,
        cursor_secret=context.secret,
    )
    # Written once the answer is sent, so the analyst does not wait for it.
    background.add_task(
        _audit,
        context.client,
        context.index_prefix,
        actor_id=who.token_id,
        actor_name=who.name,
        role=who.role,
        query=q,
        kind=kind,
        result_count=result.total,
        channel=channel,
    )
    data = result.to_json()
    if wants_json(request):
        return respond(request, "search.html", data)
    return respond(
        request,
        "search.html",
        {
            **data,
            "facet_links": facet_links(q, result.facets),
            "kinds": list(KINDS),
            "sorts": list(SORTS),
            "limit": limit,
            "facet_names": list(FACETS),
        },
    )
