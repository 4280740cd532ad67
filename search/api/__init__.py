"""The HTTP API and server-rendered web UI: one FastAPI app, one router per resource.

Public API: :func:`create_app` (settings, client=None) -> ``FastAPI``.

Routes (every HTML page has a JSON twin at the same URL, answered to
``Accept: application/json`` or ``?format=json``):

* ``/search`` -- query, facets, highlights, cursors (search.api.search_routes)
* ``/listings/{id}``, ``/vendors/{id}``, ``/wallets/{address}``, ``/onions/{host}``
  -- one router for the entity pages (search.api.entities)
* ``/stats``; ``/export`` (CSV, JSON, STIX 2.1, MISP)
* ``/jobs`` and ``/runs/{job_id}`` -- scheduled jobs and their runs (search.api.jobs_routes)
* ``/metrics`` -- Prometheus metrics of the jobs (search.api.metrics_routes; viewer token, text format)
* ``/login`` and ``/logout`` (UI session), ``/auth/tokens`` (admin)
* ``/openapi.json`` and ``/docs`` (rendered here: no CDN anywhere); both need a viewer token

Errors are answered, never leaked: a malformed query is a 400 with the
parser's message, Elasticsearch unreachable or not set up is a 503 (its
URL shown without user name or password), any other Elasticsearch refusal a
502, a bug a bare 500 -- no stack traces.  A full audit backlog is a 503:
nothing is served that cannot be audited.

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

from fastapi import FastAPI, Request
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
    build_templates,
    render_html,
    wants_json,
)
from search.audit import AuditBacklogFull, AuditWriter
from search.auth import TokenCache, load_session_secret
from search.query import QueryError

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
        return _error(request, 400, str(exc), {"column": exc.column})

    @app.exception_handler(Unauthorized)
    async def unauthorized(request: Request, exc: Unauthorized) -> Response:
        return _error(request, 401, "a valid token is needed: send `Authorization: Bearer <token>` or log in")

    @app.exception_handler(Forbidden)
    async def forbidden(request: Request, exc: Forbidden) -> Response:
        return _error(request, 403, "this needs an admin token")

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
    from search.api import (auth_routes, docs_routes, entities, exports_routes, jobs_routes, metrics_routes,
                            search_routes, stats)
    from search.connection import connect

    client = client if client is not None else connect(settings)
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
    )
    context = AppContext(
        settings=settings,
        client=client,
        index_prefix=settings["index_prefix"],
        secret=load_session_secret(settings),
        templates=build_templates(),
        audit=audit,
        tokens=TokenCache(settings["api_token_cache_seconds"]),
    )
    app.state.context = context
    _install_error_handlers(app, context)
    app.mount("/static", StaticFiles(directory=str(STATIC_DIR)), name="static")

    @app.get("/", include_in_schema=False)
    async def home() -> Response:
        return RedirectResponse("/search", status_code=303)

    for module in (search_routes, entities, stats, jobs_routes, metrics_routes, exports_routes, auth_routes, docs_routes):
        app.include_router(module.router)
    if settings["trusted_proxies"]:
        from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=list(settings["trusted_proxies"]))
    return app
