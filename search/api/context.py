"""What every route shares: the app context, access control, and HTML-or-JSON answers.

Public API (for the routers in this package):

* :class:`AppContext` -- client, index prefix, session secret, templates, audit writer;
  stored on ``app.state.context``.
* :func:`viewer` / :func:`admin` -- FastAPI dependencies returning the
  caller's :class:`search.auth.TokenRecord`; raise :class:`Unauthorized`
  (401) or :class:`Forbidden` (403).
* :func:`wants_json` (request) -> bool -- JSON unless the client asks for HTML.
* :func:`respond` (request, template, data, status) -- the page, or its JSON twin.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import jinja2
from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from search.audit import AuditWriter
from search.auth import TokenRecord, read_session_cookie, record_for_hash, verify_token

TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "templates"
SESSION_COOKIE = "onionscope_session"
SECURITY_HEADERS = {
    # No script runs on any page: crawled text that slipped past escaping
    # would still be inert.
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}


class Unauthorized(Exception):
    """No valid token (header or session cookie)."""


class Forbidden(Exception):
    """A valid token whose role may not do this."""


def _page_url(path: str, **params: Any) -> str:
    kept = {key: value for key, value in params.items() if value not in (None, "")}
    return path + ("?" + urlencode(kept) if kept else "")


def build_templates() -> jinja2.Environment:
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES_DIR)),
        autoescape=True,  # every template, whatever its extension
        undefined=jinja2.ChainableUndefined,  # a missing field renders empty, never a 500
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.globals["page_url"] = _page_url
    environment.filters["path_quote"] = lambda value: quote(str(value), safe="")
    environment.filters["pretty_json"] = lambda value: json.dumps(value, indent=2, ensure_ascii=False, default=str)
    return environment


@dataclass
class AppContext:
    settings: Any
    client: Any
    index_prefix: str
    secret: bytes
    templates: jinja2.Environment
    es_url: str
    audit: AuditWriter


def context_of(request: Request) -> AppContext:
    return request.app.state.context


def wants_json(request: Request) -> bool:
    """JSON for API clients; HTML only when the client asks for it (browsers do)."""
    if request.query_params.get("format") == "json":
        return True
    accept = request.headers.get("accept", "")
    if "application/json" in accept and "text/html" not in accept:
        return True
    return "text/html" not in accept


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization")
    if not header:
        return None
    scheme, _, value = header.partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else ""


def current_token(request: Request) -> TokenRecord | None:
    """The caller's active token, from the Authorization header or the session cookie."""
    cached = getattr(request.state, "token_record", None)
    if cached is not None:
        return cached
    context = context_of(request)
    record = None
    bearer = _bearer(request)
    if bearer is not None:
        record = verify_token(context.client, context.index_prefix, bearer) if bearer else None
    else:
        cookie = request.cookies.get(SESSION_COOKIE)
        token_hash = read_session_cookie(context.secret, cookie) if cookie else None
        if token_hash:
            record = record_for_hash(context.client, context.index_prefix, token_hash)
    request.state.token_record = record
    return record


def viewer(request: Request) -> TokenRecord:
    record = current_token(request)
    if record is None:
        raise Unauthorized()
    return record


def admin(record: TokenRecord = Depends(viewer)) -> TokenRecord:
    if record.role != "admin":
        raise Forbidden()
    return record


def render_html(request: Request, template: str, data: dict[str, Any], status: int = 200) -> HTMLResponse:
    context = context_of(request)
    record = getattr(request.state, "token_record", None)
    html = context.templates.get_template(template).render(
        request_path=request.url.path, who=record, **data
    )
    return HTMLResponse(html, status_code=status, headers=SECURITY_HEADERS)


def respond(request: Request, template: str, data: dict[str, Any], status: int = 200) -> Response:
    """The HTML page for browsers, or ``data`` as JSON for everything else."""
    if wants_json(request):
        return JSONResponse(data, status_code=status, headers=SECURITY_HEADERS)
    return render_html(request, template, data, status)
