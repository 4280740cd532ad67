"""What every route shares: the app context, access control, and HTML-or-JSON answers.

Public API (for the routers in this package):

* :class:`AppContext` -- client, index prefix, session secret, templates, audit writer,
  token cache, login limiter; stored on ``app.state.context``.
* :func:`viewer` / :func:`analyst` / :func:`admin` -- FastAPI dependencies returning the
  caller's :class:`search.auth.TokenRecord`; raise :class:`Unauthorized`
  (401) or :class:`Forbidden` (403, naming the role needed).  For HTML pages
  :func:`viewer` also counts the caller's unread alerts (``request.state.unread_alerts``,
  shown in the navigation).
* :func:`wants_json` (request) -> bool -- JSON unless the client asks for HTML.
* :func:`audit` (request, who, ...) -- puts one entry on the audit trail (channel
  ``api`` or ``ui`` from the request); raises
  :class:`search.audit.AuditBacklogFull`, which the app answers with a 503.
* :func:`respond` (request, template, data, status) -- the page, or its JSON twin; the page
  in the request's language (:func:`language_of`).
* :func:`language_of` (request) -> ``?lang=``, else the ``language`` setting, else Accept-Language.
* :func:`build_templates` (language) / :func:`build_template_environments` -- the UI's
  template environments.
* :class:`JSONAnswer` -- the JSON response class every route uses.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping
from urllib.parse import quote, urlencode

import jinja2
import markupsafe
import orjson
from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from config.i18n import LANGUAGES, SOURCE_LANGUAGE
from search.api.csrf import csrf_form_token, set_csrf_cookie
from search.api.login_limit import LoginLimiter
from search.api.security_headers import SECURITY_HEADERS
from search.api.translation import install as install_language
from search.api.translation import request_language
from search.audit import AuditWriter
from search.auth import TokenCache, TokenRecord, read_session_cookie, role_allows, token_digest, token_record_steps
from search.cli_output import escape_invisible
from search.es_steps import run_async
from search.evidence import evidence_link

TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "templates"
SESSION_COOKIE = "onionscope_session"


class JSONAnswer(JSONResponse):
    """A JSON response encoded by orjson (about four times faster than ``json`` here).

    Same output as Starlette's JSONResponse for what the routes return (dicts
    with string keys, lists, strings, numbers, None), UTF-8 without ``\\u``
    escapes; a NaN or infinity becomes null instead of an error; an unknown
    type raises TypeError.
    """

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


class Unauthorized(Exception):
    """No valid token (header or session cookie)."""


class Forbidden(Exception):
    """A valid token whose role may not do this; ``role`` is the least role that may."""

    def __init__(self, role: str = "admin"):
        super().__init__(role)
        self.role = role


def _page_url(path: str, **params: Any) -> str:
    kept = {key: value for key, value in params.items() if value not in (None, "")}
    return path + ("?" + urlencode(kept) if kept else "")


def _visible(value: Any) -> Any:
    """Every value a template renders: control, bidi and other invisible characters of crawled text
    shown as visible escapes (the terminal's rule), before autoescaping; markup stays markup."""
    if isinstance(value, str):
        shown = escape_invisible(value)
        if shown is not value:
            return markupsafe.Markup(shown) if isinstance(value, markupsafe.Markup) else shown
    return value


def build_templates(language: str = SOURCE_LANGUAGE) -> jinja2.Environment:
    """The UI's template environment in ``language`` (see :mod:`search.api.translation`)."""
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES_DIR)),
        autoescape=True,  # every template, whatever its extension
        # An ESC, a right-to-left override or a zero-width character in a crawled title could hide
        # or reorder what an analyst reads; the page shows them as \x1b, \u202e...
        finalize=_visible,
        undefined=jinja2.ChainableUndefined,  # a missing field renders empty, never a 500
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.globals["page_url"] = _page_url
    # The "Evidence" link of a page or listing (None without a WARC record).
    environment.globals["evidence_link"] = evidence_link
    environment.filters["path_quote"] = lambda value: quote(str(value), safe="")
    environment.filters["pretty_json"] = lambda value: json.dumps(value, indent=2, ensure_ascii=False, default=str)
    install_language(environment, language)
    return environment


def build_template_environments() -> dict[str, jinja2.Environment]:
    """``{language: environment}`` for every language of :data:`config.i18n.LANGUAGES`."""
    return {language: build_templates(language) for language in LANGUAGES}


@dataclass
class AppContext:
    """What the routes share.

    ``client`` is the blocking client (exports and token management run in
    the thread pool with it); :meth:`async_client` gives the
    ``AsyncElasticsearch`` that searches, entity pages and token checks use
    on the event loop.
    """

    settings: Any
    client: Any
    index_prefix: str
    secret: bytes
    templates: Mapping[str, jinja2.Environment]  # per language, from build_template_environments()
    audit: AuditWriter
    tokens: TokenCache
    login_limiter: LoginLimiter | None = None
    blocklist: Any = None  # a config.blocklist.BlocklistFile, attached to every client of the app
    _async_client: Any = field(default=None, init=False, repr=False)
    _async_loop: Any = field(default=None, init=False, repr=False)

    def async_client(self) -> Any:
        """The async client of the running event loop (made on first use; no request here)."""
        loop = asyncio.get_running_loop()
        if self._async_client is None or self._async_loop is not loop:
            # A new loop (a test client without its context manager runs one
            # per request) needs its own client: aiohttp sessions are per loop.
            from pipelines.es_client import make_async_client

            self._async_client, self._async_loop = make_async_client(self.settings), loop
            if self.blocklist is not None:
                from search.blocklist import attach

                attach(self._async_client, self.blocklist)
        return self._async_client

    async def close_async_client(self) -> None:
        if self._async_client is not None and self._async_loop is asyncio.get_running_loop():
            await self._async_client.close()
        self._async_client = self._async_loop = None


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


async def current_token(request: Request) -> TokenRecord | None:
    """The caller's active token, from the Authorization header or the session cookie.

    A token verified within the last ``api_token_cache_seconds`` is answered
    from the app's :class:`search.auth.TokenCache`; otherwise the tokens
    index is read with the async client.
    """
    if hasattr(request.state, "token_record"):
        return request.state.token_record
    context = context_of(request)
    digest = None
    bearer = _bearer(request)
    if bearer is not None:
        digest = token_digest(bearer) if bearer else None
    else:
        cookie = request.cookies.get(SESSION_COOKIE)
        digest = read_session_cookie(context.secret, cookie) if cookie else None
    record = None
    if digest:
        record = context.tokens.get(digest)
        if record is None:
            record = await run_async(context.async_client(), token_record_steps(context.index_prefix, digest))
            if record is not None:
                context.tokens.put(digest, record)
    request.state.token_record = record
    return record


async def viewer(request: Request) -> TokenRecord:
    record = await current_token(request)
    if record is None:
        raise Unauthorized()
    if not wants_json(request):
        # The navigation shows the unread alerts; JSON answers do without the count.
        from search.alerts import unread_count_steps

        context = context_of(request)
        request.state.unread_alerts = await run_async(context.async_client(), unread_count_steps(
            context.index_prefix, record.token_id, record.role == "admin"))
    return record


async def analyst(record: TokenRecord = Depends(viewer)) -> TokenRecord:
    if not role_allows(record.role, "analyst"):
        raise Forbidden("analyst")
    return record


async def admin(record: TokenRecord = Depends(viewer)) -> TokenRecord:
    if not role_allows(record.role, "admin"):
        raise Forbidden("admin")
    return record


def language_of(request: Request) -> str:
    """The language a page or export of ``request`` speaks (see :func:`search.api.translation.request_language`)."""
    return request_language(request.query_params.get("lang"), request.headers.get("accept-language"),
                            context_of(request).settings.language)


def render_html(request: Request, template: str, data: dict[str, Any], status: int = 200) -> HTMLResponse:
    """The page; its forms carry the CSRF token of :mod:`search.api.csrf` (and its cookie is set when new)."""
    context = context_of(request)
    record = getattr(request.state, "token_record", None)
    html = context.templates[language_of(request)].get_template(template).render(
        request_path=request.url.path, who=record, csrf_token=csrf_form_token(request, context.secret), 
        unread_alerts=getattr(request.state, "unread_alerts", None), **data
    )
    response = HTMLResponse(html, status_code=status, headers=SECURITY_HEADERS)
    set_csrf_cookie(request, response)
    return response


def audit(
    request: Request,
    who: TokenRecord,
    *,
    query: str,
    kind: str,
    result_count: int,
    channel: str | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    """Hand one audit entry for ``who`` to the app's writer; returns at once.

    ``channel`` defaults to ``api`` for JSON answers and ``ui`` for pages.
    Call it before answering: when it raises, the answer is not sent.

    :raises search.audit.AuditBacklogFull: the writer's backlog is full; the
        app's handler answers 503 and the caller sees nothing of the result.
    """
    context_of(request).audit.submit(
        actor_id=who.token_id,
        actor_name=who.name,
        role=who.role,
        query=query,
        kind=kind,
        result_count=result_count,
        channel=channel or ("api" if wants_json(request) else "ui"),
        detail=detail,
    )


def respond(request: Request, template: str, data: dict[str, Any], status: int = 200) -> Response:
    """The HTML page for browsers, or ``data`` as JSON for everything else."""
    if wants_json(request):
        return JSONAnswer(data, status_code=status, headers=SECURITY_HEADERS)
    return render_html(request, template, data, status)
