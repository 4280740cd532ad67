"""The Elasticsearch client every onionscope part uses, built from settings.

Public API:

* :func:`make_client` (settings) -> ``elasticsearch.Elasticsearch``.  Touches no
  network.  Requests and answers are encoded with orjson (the standard
  library's ``json`` takes what orjson refuses).  Basic auth from ``es_username``/``es_password``; for an https URL
  the certificate is always verified (against ``es_ca_certs`` when given,
  else the system store) -- there is no switch to turn verification off.
* :func:`make_async_client` (settings) -> ``elasticsearch.AsyncElasticsearch``,
  the same options, for the API server's event loop.
* :func:`ensure_reachable` (client, settings) -> the cluster health dict.
  Raises :class:`config.errors.UserError` saying what is wrong and what to
  do: not reachable, credentials refused, certificate not trusted.
* :func:`describe_error` (exc, settings) -> the one-line human message for a
  transport error, shared by the pipelines, the CLI and the API.  It names
  the cluster by :func:`redacted_url`, never with its credentials.
* :func:`redacted_url` (url) -> the URL without user name, password, query or
  fragment (``es_url`` may carry ``https://user:password@host``).

Note for callers: the local integ-test-zip node has no handler for ``GET /``,
so ``client.info()`` answers 405 there; ask ``cluster.health()`` instead.
"""

from __future__ import annotations

from typing import Any

from elastic_transport import ConnectionError as TransportConnectionError
from elastic_transport import ConnectionTimeout, TlsError, TransportError
from elasticsearch import ApiError, AuthenticationException, AuthorizationException, Elasticsearch

from config.errors import UserError
from config.i18n import _

USER_AGENT = "onionscope"


def _client_options(settings: Any) -> dict[str, Any]:
    options: dict[str, Any] = {
        "hosts": [settings.es_url],
        "request_timeout": float(settings.es_timeout),
        # The bulk pipeline does its own retries with backoff; the client must
        # not hide failures by retrying silently underneath it.
        "max_retries": 0,
        "retry_on_timeout": False,
        "headers": {"user-agent": USER_AGENT},
    }
    if settings.es_username or settings.es_password:
        options["basic_auth"] = (settings.es_username or "", settings.es_password or "")
    if str(settings.es_url).startswith("https://"):
        options["verify_certs"] = True
        if settings.es_ca_certs is not None:
            options["ca_certs"] = str(settings.es_ca_certs)
    return options


def _fast_serializers() -> dict[str, Any]:
    """JSON and NDJSON (bulk) serializers on orjson, with the standard library's as the fallback.

    Encoding a bulk request of crawled pages with the standard ``json`` module
    cost about a fifth of the bulk path's time; orjson takes a third of that.
    Whatever orjson refuses (a lone surrogate in a string, an integer beyond
    64 bits) goes through ``json`` exactly as before, so no document that was
    accepted is refused now.  Non-string keys are written as strings, as
    ``json`` writes them.
    """
    import json

    import orjson
    from elasticsearch.serializer import JsonSerializer, NdjsonSerializer

    class FastJson:
        def json_dumps(self, data: Any) -> bytes:
            try:
                return orjson.dumps(data, default=self.default, option=orjson.OPT_NON_STR_KEYS)  # type: ignore[attr-defined]
            except (orjson.JSONEncodeError, TypeError):
                return super().json_dumps(data)  # type: ignore[misc]

        def json_loads(self, data: bytes) -> Any:
            try:
                return orjson.loads(data)
            except orjson.JSONDecodeError:
                return json.loads(data)

    class FastJsonSerializer(FastJson, JsonSerializer):
        pass

    class FastNdjsonSerializer(FastJson, NdjsonSerializer):
        pass

    return {JsonSerializer.mimetype: FastJsonSerializer(), NdjsonSerializer.mimetype: FastNdjsonSerializer()}


def make_client(settings: Any) -> Elasticsearch:
    """A client for ``settings.es_url``, encoding with orjson (:func:`_fast_serializers`); no request is made here."""
    return Elasticsearch(**_client_options(settings), serializers=_fast_serializers())


def make_async_client(settings: Any) -> Any:
    """An ``AsyncElasticsearch`` (aiohttp) with the same options as :func:`make_client`.

    No request is made here; the client belongs to the event loop that first
    uses it, and its owner must ``await client.close()``.
    """
    from elasticsearch import AsyncElasticsearch
    from elasticsearch.serializer import OrjsonSerializer

    # orjson decodes a search answer about four times faster than json; on
    # the API's hot path that is most of the server's own work per request.
    return AsyncElasticsearch(**_client_options(settings), serializer=OrjsonSerializer())


def _start_hint(settings: Any) -> str:
    port = int(getattr(settings, "es_port", 9200))
    if str(settings.es_url).rstrip("/") in (f"http://127.0.0.1:{port}", f"http://localhost:{port}"):
        return _("start it with `make services`")
    return _("check ONIONSCOPE_ES_URL (es_url) and that the cluster is up")


def redacted_url(url: str) -> str:
    """``url`` as it may be shown or logged: scheme, host, port and path only.

    A user name or password in the URL (``https://user:password@host``) is
    replaced by ``***``; a query or fragment is dropped.  A URL that cannot be
    parsed comes back as ``<es_url>``.
    """
    from urllib.parse import urlsplit, urlunsplit

    try:
        parts = urlsplit(str(url))
        host = parts.hostname or ""
        port = parts.port
    except ValueError:
        return "<es_url>"
    if ":" in host:  # an IPv6 literal keeps its brackets
        host = f"[{host}]"
    netloc = ("***@" if "@" in parts.netloc else "") + host + (f":{port}" if port is not None else "")
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def describe_error(exc: BaseException, settings: Any) -> str:
    """One line for a person: what failed at which URL (credentials never shown), and what to do."""
    message = _describe(exc, settings, redacted_url(settings.es_url))
    # The transport's own text (kept in some messages) must not bring them back.
    userinfo = str(settings.es_url).partition("://")[2].partition("/")[0].rpartition("@")[0]
    return message.replace(userinfo, "***") if userinfo else message


def _describe(exc: BaseException, settings: Any, url: str) -> str:
    if isinstance(exc, TlsError):
        return _("Elasticsearch at {url}: TLS certificate verification failed ({problem}); "
                 "set es_ca_certs (ONIONSCOPE_ES_CA_CERTS) to the CA bundle that signed it", url=url,
                 problem=_first_line(exc))
    if isinstance(exc, ConnectionTimeout):
        return _("Elasticsearch at {url} is not reachable (timed out after {seconds}s); {hint}", url=url,
                 seconds=f"{settings.es_timeout:.0f}", hint=_start_hint(settings))
    if isinstance(exc, TransportConnectionError):
        detail = str(getattr(exc, "message", "") or exc)
        if "refused" in detail.lower():
            reason = _("connection refused")
        elif "connect call failed" in detail.lower():  # the async client's (aiohttp) wording
            reason = _("could not connect")
        else:
            reason = _first_line(exc)
        return _("Elasticsearch at {url} is not reachable ({reason}); {hint}", url=url, reason=reason,
                 hint=_start_hint(settings))
    if isinstance(exc, AuthenticationException):
        return _("Elasticsearch at {url} refused the credentials; "
                 "set es_username and es_password (ONIONSCOPE_ES_USERNAME / ONIONSCOPE_ES_PASSWORD)", url=url)
    if isinstance(exc, AuthorizationException):
        return _("Elasticsearch at {url}: the user {user} lacks a privilege ({problem})", url=url,
                 user=repr(settings.es_username), problem=_first_line(exc))
    if isinstance(exc, ApiError):
        return _("Elasticsearch at {url} answered {status}: {problem}", url=url, status=exc.status_code,
                 problem=_first_line(exc))
    return f"Elasticsearch at {url}: {_first_line(exc)}"


def _first_line(exc: BaseException) -> str:
    # Transport errors keep the useful part in .message; str() is just "Connection error".
    text = str(getattr(exc, "message", "") or exc).strip().splitlines()
    return text[0][:300] if text else type(exc).__name__


def ensure_reachable(client: Elasticsearch, settings: Any) -> dict[str, Any]:
    """Ask for cluster health; returns it, or raises UserError with the reason and the fix."""
    try:
        response = client.cluster.health()
    except (TransportError, ApiError) as exc:
        raise UserError(describe_error(exc, settings)) from None
    return dict(response.body if hasattr(response, "body") else response)
