"""The HTTP API and server-rendered web UI: one FastAPI app, one router per resource.

Public API: :func:`create_app` (settings, client=None) -> ``FastAPI``.

Routes (every HTML page has a JSON twin at the same URL, answered to
``Accept: application/json`` or ``?format=json``):

* ``/search`` -- query, facets, highlights, cursors (search.api.search_routes)
* ``/listings/{id}``, ``/vendors/{id}``, ``/wallets/{address}``, ``/onions/{host}``
  -- one router for the entity pages (search.api.entities)
* ``/stats`` (with charts); ``/export`` (CSV, JSON, STIX 2.1, MISP)
* ``/evidence/{hit_id}`` -- a page's or listing's evidence package as a zip (search.api.evidence_routes)
* ``/timelines`` -- listings per market per day, a substance's price per gram (search.api.timeline_routes)
* ``/onions/{host}/graph`` and ``/graph/export`` -- the onion graph (search.api.graph_routes)
* ``/vendors/{vendor_id}/dossier`` -- a vendor identity across markets (search.api.dossier_routes)
* ``/jobs`` and ``/runs/{job_id}`` -- scheduled jobs and their runs (search.api.jobs_routes)
* ``/discovered`` -- the discovery queue: onions pages named, with where (search.api.discovered_routes)
* ``/watchlists`` and ``/alerts`` -- watchlist entries (analysts add and remove them) and the alerts
  the crawls made of them, unread counts in the navigation (search.api.watch_routes)
* ``/metrics`` -- Prometheus metrics of the jobs (search.api.metrics_routes; viewer token, text format)
* ``/login`` (rate-limited per client address: 429) and ``/logout`` (UI session), ``/auth/tokens`` (admin)
* ``/openapi.json`` and ``/docs`` (rendered here: no CDN anywhere); both need a viewer token

Errors are answered, never leaked: a malformed query is a 400 with the
parser's message (and, for a query over one of the limits, ``"limit"``
naming its setting), Elasticsearch unreachable or not set up is a 503 (its
URL shown without user name or password), any other Elasticsearch refusal a
502, a bug a bare 500 -- no stack traces.  A full audit backlog is a 503:
nothing is served that cannot be audited.

A browser's state-changing request (a POST from a form: login, logout)
must carry the CSRF token of one of the app's pages (:mod:`search.api.csrf`),
else it is a 403.  Every answer carries the security headers of
:mod:`search.api.security_headers` (a middleware adds them, so a new route,
the static files and Starlette's own 404s cannot miss them).

Behind a TLS proxy: the setting ``trusted_proxies`` lists the proxy
addresses whose ``X-Forwarded-Proto`` (and ``X-Forwarded-For``) are believed
(uvicorn's ProxyHeadersMiddleware), so the session cookie is ``Secure`` when
the browser spoke https to the proxy.  Nobody is trusted by default.
"""

from __future__ import annotations

import logging
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from config import ONIONSCOPE_VERSION as __version__
from search.api.context import (
    SECURITY_HEADERS,
    AppContext,
    Forbidden,
    JSONAnswer,
    Unauthorized,
    build_template_environments,
    render_html,
    wants_json,
)
from search.api.csrf import CsrfRefused, csrf_protect
from search.api.login_limit import limiter_from_settings
from search.api.security_headers import SecurityHeadersMiddleware
from search.audit import AuditBacklogFull, AuditWriter
from search.auth import TokenCache, load_session_secret
from search.query import QueryError, QueryLimitError

log = logging.getLogger(__name__)
STATIC_DIR = Path(__file__).resolve().parent.parent / "static"


def _error(request: Request, status: int, message: str, extra: dict[str, Any] | None = None) -> Response:
    payload = {"error": message, "status": status, **(extra or {})}
    if wants_json(request):
        headers = dict(SECURITY_HEADERS)
        if status == 401:
            headers["WWW-Authenticate"] = "Bearer"
        return JSONAnswer(payload, status_code=status, headers=headers)
    template = "login.html" if status == 401 else "error.html"
    next_path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return render_html(request, template, {"error": message, "status": status, "next": next_path}, status)


def _install_error_handlers(app: FastAPI, context: AppContext) -> None:
    from elastic_transport import TransportError
    from elasticsearch import ApiError, NotFoundError

    from pipelines.es_client import describe_error

    @app.exception_handler(QueryError)
    async def query_error(request: Request, exc: QueryError) -> Response:
        # A limit that was hit is named, so a client can tell which (and an operator which setting).
        limit = {"limit": exc.setting} if isinstance(exc, QueryLimitError) else {}
        return _error(request, 400, str(exc), {"column": exc.column, **limit})

    @app.exception_handler(Unauthorized)
    async def unauthorized(request: Request, exc: Unauthorized) -> Response:
        return _error(request, 401, "a valid token is needed: send `Authorization: Bearer <token>` or log in")

    @app.exception_handler(CsrfRefused)
    async def cross_site(request: Request, exc: CsrfRefused) -> Response:
        return _error(request, 403, "this form is out of date or was sent from another site (its CSRF token is "
                                    "missing or wrong); reload the page and try again")

    @app.exception_handler(Forbidden)
    async def forbidden(request: Request, exc: Forbidden) -> Response:
        extra = " (or an admin token)" if exc.role != "admin" else ""
        return _error(request, 403, f"this needs an {exc.role} token{extra}")

    @app.exception_handler(AuditBacklogFull)
    async def audit_backlog_full(request: Request, exc: AuditBacklogFull) -> Response:
        # AuditWriter.submit has logged and counted it.
        return _error(request, 503, "the audit trail cannot keep up (Elasticsearch is slow or down), so this "
                                    "request was not served; try again shortly")

    @app.exception_handler(TransportError)
    async def es_down(request: Request, exc: TransportError) -> Response:
        # Connection refused, timed out, TLS: the cluster cannot be used now.
        message = describe_error(exc, context.settings)
        log.warning("%s", message)
        return _error(request, 503, message)

    @app.exception_handler(ApiError)
    async def es_refused(request: Request, exc: ApiError) -> Response:
        error_type = ""
        try:
            error_type = exc.body["error"]["type"]  # type: ignore[index]
        except (TypeError, KeyError):
            error_type = str(getattr(exc, "error", ""))
        log.warning("Elasticsearch refused a request: %s %s", exc.meta.status if exc.meta else "?", error_type)
        if isinstance(exc, NotFoundError) and "index_not_found" in error_type:
            return _error(request, 503, "the search indices are not set up yet; run `onionscope index setup` or crawl first")
        status = exc.meta.status if exc.meta else 0
        if status in (429, 503):
            return _error(request, 503, "Elasticsearch is overloaded or not ready; try again shortly")
        return _error(request, 502, f"Elasticsearch could not answer this request ({error_type or status})")

    @app.exception_handler(RequestValidationError)
    async def bad_parameters(request: Request, exc: RequestValidationError) -> Response:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in error.get('loc', ())[1:]) or 'request'}: {error.get('msg')}"
            for error in exc.errors()
        )
        return _error(request, 400, f"bad parameters: {problems}")

    @app.exception_handler(Exception)
    async def bug(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error on %s", request.url.path)
        return _error(request, 500, "internal error; the server log has the details")


def create_app(settings: Any, client: Any = None) -> FastAPI:
    """Build the app over ``settings`` (and ``client``, or one built from settings).

    Touches no network until a request arrives; reads or creates the session
    secret file (see :func:`search.auth.load_session_secret`).
    """
    from search.api import (auth_routes, discovered_routes, docs_routes, entities, evidence_routes, exports_routes,
                            jobs_routes, metrics_routes, search_routes, stats, watch_routes)
    from search.api import dossier_routes, graph_routes, timeline_routes
    from config.blocklist import BlocklistFile
    from search.blocklist import attach as attach_blocklist
    from search.connection import connect

    client = client if client is not None else connect(settings)
    # The blocklist hides what it names from every answer (search.blocklist); re-read when it changes.
    blocklist = BlocklistFile.for_settings(settings)
    attach_blocklist(client, blocklist)
    audit = AuditWriter(client, settings["index_prefix"])

    @asynccontextmanager
    async def lifespan(app: FastAPI):  # type: ignore[no-untyped-def]
        yield
        # Pending audit entries are written before the server exits.
        audit.close()
        await context.close_async_client()

    app = FastAPI(
        lifespan=lifespan,
        title="onionscope",
        version=__version__,
        description="Search and pivot over crawled onion services.",
        # The stock docs pages load their scripts from a CDN; /docs is ours,
        # and /openapi.json is served by docs_routes behind a viewer token.
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        default_response_class=JSONAnswer,
        # A browser's state-changing request needs the CSRF token of one of our pages.
        dependencies=[Depends(csrf_protect)],
    )
    context = AppContext(
        settings=settings,
        client=client,
        index_prefix=settings["index_prefix"],
        secret=load_session_secret(settings),
        templates=build_template_environments(),
        audit=audit,
        tokens=TokenCache(settings["api_token_cache_seconds"]),
        login_limiter=limiter_from_settings(settings),
        blocklist=blocklist,
    )
    app.state.context = context
    _install_error_handlers(app, context)
    app.mount("/static", StaticFiles(directory=str(STATIC_DIR)), name="static")
    # Every answer, whoever made it (a route, a mount, Starlette's 404/405), carries them.
    app.add_middleware(SecurityHeadersMiddleware)

    @app.get("/", include_in_schema=False)
    async def home() -> Response:
        return RedirectResponse("/search", status_code=303)

    for module in (search_routes, entities, stats, jobs_routes, discovered_routes, watch_routes, metrics_routes,
                   exports_routes, evidence_routes, auth_routes, docs_routes, timeline_routes, graph_routes, dossier_routes):
        app.include_router(module.router)
    if settings["trusted_proxies"]:
        from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=list(settings["trusted_proxies"]))
    return app
