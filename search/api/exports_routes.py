"""``GET /export``: a search result or one entity as CSV, JSON, STIX 2.1 or MISP.

Exactly one of ``q`` (with ``kind``), ``wallet``, ``vendor`` or ``onion``
chooses what is exported; a ``q`` export holds at most ``limit`` records, and
a ``limit`` over the setting ``export_max_records`` is a 400 naming it.  Every export is audited (channel ``export``).
"""

from __future__ import annotations

import re

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from config.errors import UserError
from search.api.context import SECURITY_HEADERS, audit, context_of, language_of, respond, viewer
from search.auth import TokenRecord
from search.exports import FORMATS, collect_onion, collect_search, collect_vendor, collect_wallet, render
from search.query import QueryError, QueryLimitError, QueryLimits

router = APIRouter(tags=["exports"])


@router.get("/export", summary="Export a search or an entity (csv, json, stix, misp)")
def export(
    request: Request,
    format: str = Query("stix", description="csv, json, stix or misp"),
    q: str | None = Query(None, max_length=2000),
    kind: str = Query("listings"),
    wallet: str | None = Query(None, max_length=256),
    vendor: str | None = Query(None, max_length=128),
    onion: str | None = Query(None, max_length=256),
    limit: int | None = Query(None, ge=1, description="most records of a q export (default and most: "
                                                     "setting export_max_records)"),
    who: TokenRecord = Depends(viewer),
) -> Response:
    context = context_of(request)
    if format not in FORMATS:
        raise QueryError(f"unknown export format '{format}' (choose {', '.join(FORMATS)})")
    max_records = context.settings["export_max_records"]
    if limit is not None and limit > max_records:
        raise QueryLimitError(f"an export holds at most {max_records} records, not {limit}", "export_max_records")
    chosen = [name for name, value in (("q", q), ("wallet", wallet), ("vendor", vendor), ("onion", onion))
              if value is not None]
    if len(chosen) != 1:
        raise QueryError("give exactly one of q, wallet, vendor or onion")
    try:
        if q is not None:
            export_set = collect_search(context.client, context.index_prefix, q, kind, limit or max_records,
                                        limits=QueryLimits.from_settings(context.settings), max_records=max_records)
            subject = q
        elif wallet is not None:
            export_set = collect_wallet(context.client, context.index_prefix, wallet)
            subject = f"wallet:{wallet}"
        elif vendor is not None:
            export_set = collect_vendor(context.client, context.index_prefix, vendor)
            subject = f"vendor-id:{vendor}"
        else:
            export_set = collect_onion(context.client, context.index_prefix, onion or "")
            subject = f"onion:{onion}"
    except QueryError:
        raise
    except UserError as exc:
        return respond(request, "error.html", {"error": str(exc), "status": 404}, 404)
    audit(request, who, query=subject, kind=kind if q is not None else chosen[0],
          result_count=len(export_set.records), channel="export", detail={"format": format})
    text, media_type, suffix = render(export_set, format, language_of(request))
    filename = "onionscope-" + (re.sub(r"[^A-Za-z0-9._-]+", "-", chosen[0] + "-" + subject)[:60].strip("-") or "export")
    headers = dict(SECURITY_HEADERS)
    headers["Content-Disposition"] = f'attachment; filename="{filename}.{suffix}"'
    return Response(text, media_type=media_type, headers=headers)
