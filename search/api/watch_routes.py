"""Watchlists and alerts over HTTP: ``/watchlists`` and ``/alerts``, pages with JSON twins.

Who may do what (:mod:`search.auth` roles):

* ``GET /watchlists`` (viewer) -- the entries the caller sees (shared ones
  and its own; an admin sees all), with a form to add one for analysts;
* ``POST /watchlists`` (analyst) -- add an entry: JSON ``{kind, value, list,
  shared, note}`` (201 with the entry) or the page's form (303 back to the
  page).  A query the search parser refuses is the search's 400, with the
  same message;
* ``DELETE /watchlists/{entry_id}`` and, for the page's form,
  ``POST /watchlists/{entry_id}/remove`` (analyst) -- remove an entry the
  caller sees (its own or a shared one; an admin any); 404 otherwise;
* ``GET /alerts`` (viewer) -- the alerts the caller sees, newest first
  (``unread=true``: only unread), with the unread count;
* ``POST /alerts/{alert_id}/read`` (analyst) -- mark one read (team-wide).

Every call is audited (kind ``watchlists`` or ``alerts``) before it is
answered.  What pages show of crawled text (titles, URLs) is escaped by the
templates; URLs are shown as text, never as links.

Public API: :data:`router`.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response

from config.errors import UserError
from config.paths import index_templates_dir
from search.alerts import AlertNotFound, list_alerts, mark_read, unread_count_steps
from search.api.context import (
    SECURITY_HEADERS,
    JSONAnswer,
    analyst,
    audit,
    context_of,
    respond,
    viewer,
    wants_json,
)
from search.auth import TokenRecord, role_allows
from search.es_steps import run_async
from search.query import QueryError, QueryLimits
from search.watchlists import ENTRY_KINDS, EntryForbidden, EntryNotFound, add_entry, list_entries, remove_entry

router = APIRouter(tags=["watchlists"])
MAX_FIELD_CHARS = 2100


def _is_admin(who: TokenRecord) -> bool:
    return who.role == "admin"


def _problem(request: Request, status: int, message: str) -> Response:
    if wants_json(request):
        return JSONAnswer({"error": message, "status": status}, status_code=status, headers=SECURITY_HEADERS)
    return respond(request, "error.html", {"error": message, "status": status}, status)


def _back(path: str) -> Response:
    return RedirectResponse(path, status_code=303, headers=SECURITY_HEADERS)


def _is_form(request: Request) -> bool:
    return request.headers.get("content-type", "").split(";")[0].strip().lower() in (
        "application/x-www-form-urlencoded", "multipart/form-data")


async def _body(request: Request) -> dict[str, Any]:
    if _is_form(request):
        form = await request.form()
        return {key: form.get(key) for key in ("kind", "value", "list", "shared", "note")}
    try:
        body = await request.json()
    except ValueError:
        raise QueryError("the body must be JSON: {\"kind\": ..., \"value\": ...}") from None
    if not isinstance(body, dict):
        raise QueryError("the body must be a JSON object: {\"kind\": ..., \"value\": ...}")
    return body


def _text(body: dict[str, Any], key: str) -> str | None:
    value = body.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > MAX_FIELD_CHARS:
        raise QueryError(f"{key} must be text of at most {MAX_FIELD_CHARS} characters")
    return value


@router.get("/watchlists", summary="Watchlist entries the caller sees")
async def watchlists_page(request: Request, who: TokenRecord = Depends(viewer)) -> Response:
    context = context_of(request)
    entries = await run_in_threadpool(list_entries, context.client, context.index_prefix, who.token_id,
                                      _is_admin(who))
    audit(request, who, query="", kind="watchlists", result_count=len(entries))
    return respond(request, "watchlists.html", {
        "entries": [entry.to_json() for entry in entries], "kinds": list(ENTRY_KINDS),
        "can_write": role_allows(who.role, "analyst"),
    })


@router.post("/watchlists", summary="Add a watchlist entry (analyst)", status_code=201)
async def add_watch(request: Request, who: TokenRecord = Depends(analyst)) -> Response:
    context = context_of(request)
    body = await _body(request)
    kind, value = _text(body, "kind") or "", _text(body, "value") or ""
    shared = body.get("shared")
    shared = shared is True or (isinstance(shared, str) and shared.lower() in ("1", "true", "on", "yes"))
    if kind not in ENTRY_KINDS:
        raise QueryError(f"unknown watchlist entry kind '{kind[:20]}' (choose {', '.join(ENTRY_KINDS)})")
    try:
        entry = await run_in_threadpool(
            lambda: add_entry(context.client, context.index_prefix, kind, value, owner_id=who.token_id,
                              owner_name=who.name, shared=shared, list_name=_text(body, "list"),
                              note=_text(body, "note"), limits=QueryLimits.from_settings(context.settings),
                              templates_dir=index_templates_dir(context.settings.config_dir)))
    except QueryError:
        raise  # the search's 400, with the parser's message
    except UserError as exc:
        return _problem(request, 400, str(exc))
    audit(request, who, query=entry.query, kind="watchlists", result_count=1,
          detail={"action": "add", "entry_id": entry.entry_id, "shared": entry.shared})
    if not wants_json(request):
        return _back("/watchlists")
    return JSONAnswer(entry.to_json(), status_code=201, headers=SECURITY_HEADERS)


async def _remove(request: Request, entry_id: str, who: TokenRecord) -> Response:
    context = context_of(request)
    try:
        entry = await run_in_threadpool(remove_entry, context.client, context.index_prefix, entry_id,
                                        who.token_id, who.role)
    except EntryNotFound as exc:
        return _problem(request, 404, str(exc))
    except EntryForbidden as exc:
        return _problem(request, 403, str(exc))
    audit(request, who, query=entry.query, kind="watchlists", result_count=1,
          detail={"action": "remove", "entry_id": entry.entry_id})
    if not wants_json(request):
        return _back("/watchlists")
    return JSONAnswer({"removed": entry.to_json()}, headers=SECURITY_HEADERS)


@router.delete("/watchlists/{entry_id}", summary="Remove a watchlist entry (analyst)")
async def delete_watch(request: Request, entry_id: str, who: TokenRecord = Depends(analyst)) -> Response:
    return await _remove(request, entry_id, who)


@router.post("/watchlists/{entry_id}/remove", summary="Remove a watchlist entry (analyst; the page's form)")
async def remove_watch_form(request: Request, entry_id: str, who: TokenRecord = Depends(analyst)) -> Response:
    return await _remove(request, entry_id, who)


@router.get("/alerts", summary="Alerts the caller sees, newest first, with the unread count")
async def alerts_page(
    request: Request,
    unread: bool = Query(False, description="only unread alerts"),
    limit: int = Query(100, ge=1, le=500),
    who: TokenRecord = Depends(viewer),
) -> Response:
    context = context_of(request)
    alerts = await run_in_threadpool(list_alerts, context.client, context.index_prefix, who.token_id,
                                     _is_admin(who), unread, limit)
    count = await run_async(context.async_client(), unread_count_steps(context.index_prefix, who.token_id,
                                                                       _is_admin(who)))
    audit(request, who, query="unread:true" if unread else "", kind="alerts", result_count=len(alerts))
    return respond(request, "alerts.html", {"alerts": alerts, "unread": count, "only_unread": unread,
                                            "can_write": role_allows(who.role, "analyst")})


@router.post("/alerts/{alert_id}/read", summary="Mark an alert read (analyst)")
async def read_alert(request: Request, alert_id: str, who: TokenRecord = Depends(analyst)) -> Response:
    context = context_of(request)
    try:
        alert = await run_in_threadpool(mark_read, context.client, context.index_prefix, alert_id, who.token_id,
                                        who.token_id, _is_admin(who))
    except AlertNotFound as exc:
        return _problem(request, 404, str(exc))
    audit(request, who, query=f"alert:{alert_id[:64]}", kind="alerts", result_count=1, detail={"action": "read"})
    if not wants_json(request):
        return _back("/alerts")
    return JSONAnswer(alert, headers=SECURITY_HEADERS)
