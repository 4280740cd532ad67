"""Scrapy download handler that carries every http and https request through tor's SOCKS5 port.

Public API:

* :class:`TorDownloadHandler` -- the handler for the ``http`` and ``https`` schemes.  It is
  Scrapy's ``HTTP11DownloadHandler`` with one change: the Twisted ``Agent`` it builds gets its
  connections from :class:`~crawler.tor.socks5.SocksClientEndpoint` (SOCKS5 to tor, the host
  name sent to tor, TLS inside the tunnel for https) instead of a direct TCP connection.
  Response reading, DOWNLOAD_MAXSIZE/WARNSIZE, DOWNLOAD_TIMEOUT and data-loss handling stay
  Scrapy's own.  The one addition: the bytes before the body (status line and headers, 1xx
  responses included) are capped at ``TOR_HEADERS_MAXSIZE``; past it the fetch fails with
  :class:`~crawler.tor.errors.ResponseHeadersTooLarge` and the connection is closed.
* :class:`TorTransportGuard` -- a Scrapy extension that stops the crawl at start-up (instead
  of failing request by request) when the transport is not configured or when some handler,
  feed storage or mail notification could open a direct connection.
* :func:`transport_settings` -- the Scrapy settings that switch all of this on.

Scrapy settings read:

* ``TOR_SOCKS_ENDPOINTS`` -- list of ``"ip:port"`` SocksPorts, one per tor client (required);
* ``TOR_SOCKS_TIMEOUT`` -- optional seconds for tor to answer the SOCKS CONNECT (circuit and
  onion-service set-up); unset, only ``DOWNLOAD_TIMEOUT`` applies;
* ``TOR_HEADERS_MAXSIZE`` -- bytes of status line and headers accepted per response (unset:
  ``download_headers_maxsize``'s default in :mod:`config.settings`);
* ``TOR_RECONNECT_SECONDS`` -- how long a request waits for a tor SOCKS port that answered
  earlier in the crawl and stopped (tor killed or restarting) before it fails (unset or 0:
  at once); see :mod:`crawler.tor.reattach`;
* ``TOR_POOL`` -- ``"socks=control"`` pairs (IP addresses) of the tor client pool; their
  SOCKS ports are among ``TOR_SOCKS_ENDPOINTS``.  Each pool client has a
  :class:`~crawler.tor.pool_health.ClientHealth` (``TOR_POOL_SOCKS_FAILURES``,
  ``TOR_POOL_CIRCUIT_FAILURES``), fed by this handler (requests its SOCKS port carried or
  refused) and by the pool monitor (:mod:`crawler.tor.pool`, which needs the ControlPorts);
  hosts are pinned among the healthy clients only (:class:`~crawler.tor.isolation.HostIsolation`).
  A request whose client turned unhealthy is sent again at once through the host's new client
  instead of waiting for the old one;
* Scrapy's own ``DOWNLOAD_TIMEOUT``, ``DOWNLOAD_MAXSIZE``, ``DOWNLOAD_WARNSIZE``,
  ``DOWNLOAD_FAIL_ON_DATALOSS``, ``CONCURRENT_REQUESTS_PER_DOMAIN`` (pooled connections per
  host) and ``DOWNLOAD_VERIFY_CERTIFICATES`` / ``DOWNLOADER_CLIENTCONTEXTFACTORY`` for https.

Request meta written: ``tor_client`` (:data:`TOR_CLIENT_META`), the ``ip:port`` of the tor
client's SocksPort that carried the last attempt (the evidence record names it).

Stats: ``tor/requests``, ``tor/requests_via/<socks ip:port>`` (which tor client carried them),
``tor/pool/requests_moved`` (requests re-sent through another pool client after theirs failed),
``tor/socks_error/<stats_key>`` and ``tor/headers_too_large``; ``download/maxsize_exceeded``
(a body over ``DOWNLOAD_MAXSIZE``, with or without a Content-Length) and
``download/body_timeout`` (the headers came, the body did not within ``DOWNLOAD_TIMEOUT``:
Scrapy's timeout caps the whole response, so a site that drips its body is cut off; that
fetch fails with :class:`~crawler.tor.errors.ResponseBodyTimeout` and is not retried).  ``response.ip_address`` is the
SOCKS port's address (the crawler never learns the site's), and ``meta["bindaddress"]`` is ignored.

Fails closed: with no endpoint the handler raises :class:`TorTransportNotConfigured` (never
``NotConfigured``, which would only disable the scheme quietly); a request with
``meta["proxy"]`` is refused; an unreachable tor fails the request with
:class:`TorUnreachableError`.  Every transport error is counted in the crawl stats as
``tor/socks_error/<stats_key>``.

Scrapy internals this module relies on (checked by tests/unit/test_download_handler.py so an
upgrade breaks loudly): ``HTTP11DownloadHandler.__init__`` setting ``_pool``,
``_contextFactory``, ``_default_maxsize``, ``_default_warnsize``, ``_fail_on_dataloss``,
``_tls_verbose_logging``; ``_ScrapyAgent(**keywords)`` and its ``_get_agent(request, timeout)``
hook; ``scrapy.utils._download_handlers.wrap_twisted_exceptions``; the lenient HTTP/1.1
protocol and parser (``_LenientHTTP11ClientProtocol``, ``_LenientHTTP11ClientFactory``,
``_LenientHTTPClientParser``) and, from Twisted, ``HTTP11ClientProtocol._parser`` and the
parser's ``state`` (``STATUS``/``HEADER``), ``lineReceived`` and ``lineLengthExceeded``.
"""

from __future__ import annotations

import logging
import time
import weakref
from functools import partial
from typing import TYPE_CHECKING, Any, Sequence
from urllib.parse import urlsplit

from scrapy.core.downloader.handlers.http11 import (
    HTTP11DownloadHandler,
    _LenientHTTP11ClientFactory,
    _LenientHTTP11ClientProtocol,
    _LenientHTTPClientParser,
    _ScrapyAgent,
)
from scrapy.exceptions import DownloadCancelledError, DownloadTimeoutError, NotConfigured, ResponseDataLossError
from scrapy.utils._download_handlers import get_dataloss_msg, wrap_twisted_exceptions
from scrapy.utils.defer import maybe_deferred_to_future
from scrapy.utils.httpobj import urlparse_cached
from scrapy.utils.misc import load_object
from twisted.web._newclient import HEADER, STATUS
from twisted.web.client import Agent, HTTPConnectionPool, ResponseFailed
from twisted.web.error import SchemeNotSupported
from twisted.web.iweb import IAgentEndpointFactory
from zope.interface import implementer

from crawler.tor.errors import (
    RETRY_EXCEPTION_PATHS,
    ResponseBodyTimeout,
    ResponseHeadersTooLarge,
    TorTransportError,
    TorTransportNotConfigured,
    TorUnreachableError,
)
from crawler.tor.isolation import HostIsolation
from crawler.tor.pool_health import DEFAULT_CIRCUIT_FAILURES, DEFAULT_SOCKS_FAILURES, HEALTHY, PoolHealth, Transition
from crawler.tor.reattach import SocksPortWatch
from crawler.tor.socks5 import SocksAddress, SocksClientEndpoint, SocksCredentials

if TYPE_CHECKING:
    from scrapy import Request
    from scrapy.crawler import Crawler
    from scrapy.http import Response
    from scrapy.settings import BaseSettings
    from twisted.web.client import URI

logger = logging.getLogger(__name__)

HANDLER_PATH = "crawler.tor.download_handler.TorDownloadHandler"
# request.meta key naming the tor client (its SocksPort ip:port) that carried the request.
TOR_CLIENT_META = "tor_client"
GUARD_PATH = "crawler.tor.download_handler.TorTransportGuard"

# Schemes whose stock handlers never open a network connection.
_OFFLINE_SCHEMES = {"data", "file"}
_LOCAL_FEED_SCHEMES = {"", "file", "stdout"}


def parse_socks_endpoints(values: Sequence[str]) -> list[SocksAddress]:
    """The SocksPorts in ``TOR_SOCKS_ENDPOINTS``; raises TorTransportNotConfigured when empty or bad."""
    addresses = [SocksAddress.parse(value) for value in values if str(value).strip()]
    if not addresses:
        raise TorTransportNotConfigured(
            "no tor SOCKS endpoint is configured (Scrapy setting TOR_SOCKS_ENDPOINTS is empty); "
            "set ONIONSCOPE_TOR_SOCKS or run `onionscope testnet up`. "
            "onionscope never connects to a site without tor."
        )
    return list(dict.fromkeys(addresses))


def transport_settings(
    socks_endpoints: Sequence[str],
    *,
    socks_timeout: float | None = None,
    verify_certificates: bool = False,
    headers_maxsize: int | None = None,
    reconnect_seconds: float = 0.0,
    pool: Sequence[tuple[str, str]] = (),
    pool_check_seconds: float | None = None,
    pool_circuit_failures: int | None = None,
    pool_socks_failures: int | None = None,
) -> dict[str, Any]:
    """Scrapy settings that route every request through tor at ``socks_endpoints``.

    Merge the result into the crawler's settings.  It selects :class:`TorDownloadHandler`
    for http and https, disables the ftp and s3 handlers (they would connect directly),
    enables :class:`TorTransportGuard`, adds the retryable tor errors to
    ``RETRY_EXCEPTIONS`` and turns off ``HttpProxyMiddleware`` (an ``http_proxy`` variable
    must not redirect requests).

    ``verify_certificates`` is False by default because an onion address is the service's
    public key: tor already authenticates the far end, and onion https sites almost always
    use self-signed certificates that CA verification would reject.  Set it when crawling
    clearnet sites through tor.

    ``headers_maxsize`` caps each response's status line and headers (None: the default of
    ``download_headers_maxsize``).  ``reconnect_seconds`` is how long a request waits for a
    tor that answered earlier in the crawl and then stopped (0: it fails at once).

    ``pool`` lists ``(socks, control)`` ``"ip:port"`` pairs of the tor client pool (setting
    ``tor_pool``); their SOCKS ports join ``socks_endpoints`` and the pool monitor
    (:class:`crawler.tor.pool.TorPoolMonitor`) is enabled.  The ``pool_*`` thresholds default
    to the settings' defaults in :mod:`config.settings`.
    """
    from scrapy.settings.default_settings import RETRY_EXCEPTIONS

    from config.settings import DEFAULTS
    from crawler.tor.pool import EXTENSION_PATH as POOL_MONITOR_PATH

    pool = [(str(socks), str(control)) for socks, control in pool]
    extensions = {GUARD_PATH: 0}
    if pool:
        extensions[POOL_MONITOR_PATH] = 5
    return {
        "TOR_SOCKS_ENDPOINTS": list(dict.fromkeys([*socks_endpoints, *(socks for socks, _control in pool)])),
        "TOR_POOL": [f"{socks}={control}" for socks, control in pool],
        "TOR_POOL_CHECK_SECONDS": pool_check_seconds or DEFAULTS["tor_pool_check_seconds"].default,
        "TOR_POOL_CIRCUIT_FAILURES": pool_circuit_failures or DEFAULTS["tor_pool_circuit_failures"].default,
        "TOR_POOL_SOCKS_FAILURES": pool_socks_failures or DEFAULTS["tor_pool_socks_failures"].default,
        "TOR_SOCKS_TIMEOUT": socks_timeout,
        "TOR_HEADERS_MAXSIZE": headers_maxsize or _default_headers_maxsize(),
        "TOR_RECONNECT_SECONDS": reconnect_seconds,
        "DOWNLOAD_HANDLERS": {"http": HANDLER_PATH, "https": HANDLER_PATH, "ftp": None, "s3": None},
        "DOWNLOAD_VERIFY_CERTIFICATES": verify_certificates,
        "RETRY_EXCEPTIONS": [*RETRY_EXCEPTIONS, *RETRY_EXCEPTION_PATHS],
        "EXTENSIONS": extensions,
        "HTTPPROXY_ENABLED": False,
    }


def check_transport_settings(settings: "BaseSettings") -> list[SocksAddress]:
    """Verify that every scheme either goes through tor or never touches the network.

    Also refuses remote feed storage (``FEEDS`` with s3://, ftp://, gs://...) and the
    mail notifications (``MEMUSAGE_NOTIFY_MAIL``, ``STATSMAILER_RCPTS``), which Scrapy
    sends on connections of their own.

    Returns the SOCKS endpoints.  Raises :class:`TorTransportNotConfigured` naming the
    setting to fix.
    """
    addresses = parse_socks_endpoints(settings.getlist("TOR_SOCKS_ENDPOINTS"))
    handlers = settings.getwithbase("DOWNLOAD_HANDLERS")
    for scheme in ("http", "https"):
        path = handlers.get(scheme)
        handler_class = load_object(path) if path else None
        if not (isinstance(handler_class, type) and issubclass(handler_class, TorDownloadHandler)):
            raise TorTransportNotConfigured(
                f"DOWNLOAD_HANDLERS[{scheme!r}] is {path!r}, not {HANDLER_PATH}: requests would not go through tor"
            )
    for scheme, path in handlers.items():
        if not path or scheme in ("http", "https"):
            continue
        handler_class = load_object(path)
        if isinstance(handler_class, type) and issubclass(handler_class, TorDownloadHandler):
            continue
        if scheme not in _OFFLINE_SCHEMES:
            raise TorTransportNotConfigured(
                f"DOWNLOAD_HANDLERS[{scheme!r}] is {path!r}, which would connect without tor; set it to None"
            )
    # Other Scrapy components that open their own connections, outside any download handler.
    for uri in settings.getdict("FEEDS"):
        feed_scheme = urlsplit(str(uri)).scheme.lower()
        if feed_scheme not in _LOCAL_FEED_SCHEMES and len(feed_scheme) != 1:  # one letter: a Windows drive
            raise TorTransportNotConfigured(
                f"FEEDS has {uri!r}, which Scrapy would upload without tor; write feeds to a local file"
            )
    for mail_setting in ("MEMUSAGE_NOTIFY_MAIL", "STATSMAILER_RCPTS"):
        if settings.getlist(mail_setting):
            raise TorTransportNotConfigured(f"{mail_setting} would send mail without tor; leave it empty")
    return addresses


@implementer(IAgentEndpointFactory)
class TorEndpointFactory:
    """Builds the SOCKS endpoint for one request's URI (isolation chosen by the handler)."""

    def __init__(
        self,
        reactor: Any,
        socks_address: SocksAddress,
        credentials: SocksCredentials,
        tls_policy: Any,
        *,
        connect_timeout: float,
        handshake_timeout: float | None,
    ):
        self._reactor = reactor
        self._socks_address = socks_address
        self._credentials = credentials
        self._tls_policy = tls_policy
        self._connect_timeout = connect_timeout
        self._handshake_timeout = handshake_timeout

    def endpointForURI(self, uri: "URI") -> SocksClientEndpoint:
        if uri.scheme == b"https":
            tls_creator = self._tls_policy.creatorForNetloc(uri.host, uri.port)
        elif uri.scheme == b"http":
            tls_creator = None
        else:
            raise SchemeNotSupported(f"the tor transport handles http and https, not {uri.scheme!r}")
        return SocksClientEndpoint(
            self._reactor,
            self._socks_address,
            uri.host.decode("ascii"),
            uri.port,
            self._credentials,
            tls_creator=tls_creator,
            connect_timeout=self._connect_timeout,
            handshake_timeout=self._handshake_timeout,
        )


def _default_headers_maxsize() -> int:
    from config.settings import DEFAULTS

    return int(DEFAULTS["download_headers_maxsize"].default)


class _HeaderCappedParser(_LenientHTTPClientParser):
    """Scrapy's lenient response parser, counting the bytes before the body.

    ``head_bytes`` and ``headers_maxsize`` are set by :class:`_HeaderCappedProtocol` when it
    swaps this class in.  Lines arrive only before the body (the parser reads the body in raw
    mode), and a 1xx response resets the parser but not the count, so a stream of informational
    responses is capped too.  ``MAX_LENGTH`` (the longest unfinished line Twisted buffers) is
    the same cap, so what is held stays within the cap plus one network read.
    """

    head_bytes: int
    headers_maxsize: int

    def lineReceived(self, line: bytes) -> None:
        if self.state in (STATUS, HEADER):
            self.head_bytes += len(line) + len(self.delimiter)
            if self.head_bytes > self.headers_maxsize:
                # Raised inside dataReceived: HTTP11ClientProtocol closes the connection
                # and fails the response with ResponseFailed([this]).
                raise ResponseHeadersTooLarge(
                    f"the response headers exceed {self.headers_maxsize} bytes (TOR_HEADERS_MAXSIZE)"
                )
        super().lineReceived(line)

    def lineLengthExceeded(self, line: bytes) -> None:
        raise ResponseHeadersTooLarge(
            f"a response header line exceeds {self.headers_maxsize} bytes (TOR_HEADERS_MAXSIZE)"
        )


class _HeaderCappedProtocol(_LenientHTTP11ClientProtocol):
    """Scrapy's HTTP/1.1 client protocol whose response parser caps the bytes before the body."""

    def __init__(self, quiescentCallback: Any, headers_maxsize: int):
        super().__init__(quiescentCallback)
        self.headers_maxsize = headers_maxsize

    def request(self, request: Any) -> Any:
        sent = super().request(request)
        parser = self._parser
        if parser is not None:
            # The same class swap Scrapy's protocol does for its lenient parser.
            parser.__class__ = _HeaderCappedParser
            parser.head_bytes = 0
            parser.headers_maxsize = parser.MAX_LENGTH = self.headers_maxsize
        return sent


class _HeaderCappedClientFactory(_LenientHTTP11ClientFactory):
    """Builds :class:`_HeaderCappedProtocol`; the pool calls it as ``factory(quiescentCallback, metadata)``."""

    def __init__(self, quiescentCallback: Any, metadata: Any, *, headers_maxsize: int):
        super().__init__(quiescentCallback, metadata)
        self.headers_maxsize = headers_maxsize

    def buildProtocol(self, addr: Any) -> _HeaderCappedProtocol:
        return _HeaderCappedProtocol(self._quiescentCallback, self.headers_maxsize)


def _headers_too_large(failed: ResponseFailed) -> ResponseHeadersTooLarge | None:
    """The cap error inside a Twisted ResponseFailed, if that is why the response failed."""
    for reason in getattr(failed, "reasons", None) or []:
        if isinstance(getattr(reason, "value", None), ResponseHeadersTooLarge):
            return reason.value
    return None


class TorConnectionPool(HTTPConnectionPool):
    """An HTTP connection pool that reuses a connection only for the same tor client and credentials.

    Twisted keys connections by (scheme, host, port); the SOCKS address and the isolation
    credentials are added so a kept-alive connection can never carry a request of another
    isolation class.
    """

    def getConnection(self, key: Any, endpoint: Any) -> Any:
        if isinstance(endpoint, SocksClientEndpoint):
            key = (*key, str(endpoint.socks_address), endpoint.credentials)
        return super().getConnection(key, endpoint)


class _TorScrapyAgent(_ScrapyAgent):
    """Scrapy's agent wrapper, building a SOCKS-backed Twisted Agent for every request."""

    def __init__(self, *, isolation: HostIsolation, socks_address: SocksAddress | None, socks_timeout: float | None,
                 **keywords: Any):
        super().__init__(**keywords)
        self._isolation = isolation
        self._socks_address = socks_address
        self._socks_timeout = socks_timeout

    def _get_agent(self, request: "Request", timeout: float) -> Agent:
        from twisted.internet import reactor

        host = urlparse_cached(request).hostname
        if not host:
            raise TorTransportError(f"{request.url} has no host name")
        endpoint_factory = TorEndpointFactory(
            reactor,
            self._socks_address or self._isolation.client_for(host),
            self._isolation.credentials_for(host),
            self._contextFactory,
            connect_timeout=timeout,
            handshake_timeout=self._socks_timeout,
        )
        return Agent.usingEndpointFactory(reactor, endpoint_factory, pool=self._pool)


# crawler -> (HostIsolation, TorConnectionPool, SocksPortWatch, PoolHealth), shared by the http and
# https handler instances (and the pool monitor: pool_health_of).
_SHARED_STATE: ("weakref.WeakKeyDictionary[Crawler, tuple[HostIsolation, TorConnectionPool, SocksPortWatch, "
                "PoolHealth[SocksAddress]]]") = weakref.WeakKeyDictionary()


def parse_pool(values: Sequence[str]) -> list[tuple[SocksAddress, tuple[str, int]]]:
    """``TOR_POOL``'s ``"socks=control"`` strings -> (SOCKS address, ControlPort); raises TorTransportNotConfigured."""
    members = []
    for value in values:
        socks, sep, control = str(value).partition("=")
        control_address = SocksAddress.parse(control) if sep else None
        if control_address is None:
            raise TorTransportNotConfigured(f"TOR_POOL entry {value!r} is not socks=control (ip:port=ip:port)")
        members.append((SocksAddress.parse(socks), (control_address.host, control_address.port)))
    return members


def pool_health_of(crawler: "Crawler") -> "PoolHealth[SocksAddress] | None":
    """The pool health the crawl's tor handlers pin hosts by (None before they are built)."""
    shared = _SHARED_STATE.get(crawler)
    return shared[3] if shared is not None else None


def _pool_changed(isolation: HostIsolation, pool_members: Sequence[SocksAddress], stats: Any,
                  transition: Transition, healthy: tuple[SocksAddress, ...]) -> None:
    """A pool client changed state: pin hosts among the healthy clients from now on; log and count it.

    Runs in whichever thread reported the event (the reactor's, or the pool monitor's); the
    healthy set is swapped as a whole, and Scrapy's stats are counted on the reactor thread.
    Clients outside the pool (``tor_socks``, ``tor_extra_socks``) have no health and always stay in.
    """
    from twisted.internet import reactor

    isolation.set_healthy(address for address in isolation.socks_addresses
                          if address not in pool_members or address in healthy)
    level = logging.INFO if transition.after == HEALTHY else logging.WARNING
    logger.log(level, "tor pool: client %s is %s (%s); hosts are pinned among %s", transition.client,
               transition.after, transition.reason, ", ".join(sorted(map(str, isolation.healthy))) or "(none: all)")
    if stats is not None:
        for key in (f"tor/pool/{transition.after}", f"tor/pool/{transition.after}/{transition.client}"):
            reactor.callFromThread(stats.inc_value, key)  # type: ignore[attr-defined]


class TorDownloadHandler(HTTP11DownloadHandler):
    """http/https download handler that only ever connects to tor's SocksPort."""

    # Built when the crawl starts, so a configuration error shows before the first request.
    lazy = False

    def __init__(self, crawler: "Crawler"):
        pool_members = [socks for socks, _control in parse_pool(crawler.settings.getlist("TOR_POOL"))]
        # The pool's SOCKS ports are endpoints too (transport_settings lists them; this holds without it).
        socks_addresses = list(dict.fromkeys(
            [*parse_socks_endpoints(crawler.settings.getlist("TOR_SOCKS_ENDPOINTS")), *pool_members]))
        try:
            super().__init__(crawler)
        except NotConfigured as exc:  # would only disable the scheme; say it loudly instead
            raise TorTransportNotConfigured(f"the tor transport cannot start: {exc}") from None
        from twisted.internet import reactor

        # Scrapy builds one handler per scheme; http and https of a host must share its
        # credentials, its tor client and the pool, so they live once per crawler.
        shared = _SHARED_STATE.get(crawler)
        if shared is None:
            stock_pool = self._pool
            pool = TorConnectionPool(reactor, persistent=True)
            pool.maxPersistentPerHost = stock_pool.maxPersistentPerHost
            # Scrapy's lenient HTTP/1.1 protocol, with the header cap.
            headers_maxsize = crawler.settings.getint("TOR_HEADERS_MAXSIZE") or _default_headers_maxsize()
            pool._factory = partial(_HeaderCappedClientFactory, headers_maxsize=headers_maxsize)
            isolation = HostIsolation(socks_addresses)
            health: PoolHealth[SocksAddress] = PoolHealth(
                pool_members,
                circuit_failures=crawler.settings.getint("TOR_POOL_CIRCUIT_FAILURES") or DEFAULT_CIRCUIT_FAILURES,
                socks_failures=crawler.settings.getint("TOR_POOL_SOCKS_FAILURES") or DEFAULT_SOCKS_FAILURES,
                on_change=partial(_pool_changed, isolation, tuple(pool_members), crawler.stats),
            )
            # A tor that goes away mid-crawl is waited for (TOR_RECONNECT_SECONDS), not given up at once,
            # unless it is a pool client that turned unhealthy: its hosts have moved on.
            watch = SocksPortWatch(reactor, crawler.settings.getfloat("TOR_RECONNECT_SECONDS"), crawler.stats,
                                   abandoned=lambda address: address in health and address not in isolation.healthy)
            shared = _SHARED_STATE[crawler] = (isolation, pool, watch, health)
            logger.info("tor transport: SOCKS endpoints %s", ", ".join(map(str, socks_addresses)))
        self.isolation, self._pool, self._watch, self.pool_health = shared
        socks_timeout = crawler.settings.get("TOR_SOCKS_TIMEOUT")
        self._socks_timeout: float | None = float(socks_timeout) if socks_timeout not in (None, "") else None
        self._stats = crawler.stats

    async def download_request(self, request: "Request") -> "Response":
        """The response to ``request`` through its host's tor client.

        When that tor stops answering after it answered before in this crawl (killed,
        restarting), the request waits up to ``TOR_RECONNECT_SECONDS`` for its SOCKS port to
        come back and is then sent again (:mod:`crawler.tor.reattach`); raises what a single
        attempt raises otherwise.
        """
        host = urlparse_cached(request).hostname
        address = self.isolation.client_for(host) if host else None
        deadline: float | None = None
        while True:
            try:
                response = await self._download_once(request, address)
            except TorUnreachableError:
                if address is None or host is None:
                    raise
                self._pool_socks(address, ok=False)
                if self._moved(host, address):
                    address, deadline = self.isolation.client_for(host), None
                    continue
                if not self._watch.may_wait(address):
                    raise
                if deadline is None:
                    deadline = time.monotonic() + self._watch.reconnect_seconds
                if not await self._watch.wait_until_back(address, deadline):
                    if self._moved(host, address):  # the wait ended because the client left the pool
                        address, deadline = self.isolation.client_for(host), None
                        continue
                    raise
                continue
            if address is not None:
                self._watch.answered(address)
                self._pool_socks(address, ok=True)
            return response

    def _moved(self, host: str, address: SocksAddress) -> bool:
        """True (and counted) when ``host`` is pinned to another client than ``address`` now."""
        if self.isolation.client_for(host) == address:
            return False
        self._inc_stat("tor/pool/requests_moved")
        return True

    def _pool_socks(self, address: SocksAddress, *, ok: bool) -> None:
        if address in self.pool_health:
            self.pool_health.socks(address, ok)

    async def _download_once(self, request: "Request", address: SocksAddress | None) -> "Response":
        if request.meta.get("proxy"):
            raise TorTransportNotConfigured(
                f"{request.url} has meta['proxy']={request.meta['proxy']!r}; onionscope sends every request "
                "through tor and refuses other proxies (disable HttpProxyMiddleware)"
            )
        agent = _TorScrapyAgent(
            isolation=self.isolation,
            socks_address=address,
            socks_timeout=self._socks_timeout,
            contextFactory=self._contextFactory,
            pool=self._pool,
            maxsize=self._default_maxsize,
            warnsize=self._default_warnsize,
            fail_on_dataloss=self._fail_on_dataloss,
            crawler=self._crawler,
            tls_verbose_logging=self._tls_verbose_logging,
        )
        self._inc_stat("tor/requests")
        host = urlparse_cached(request).hostname
        if host:
            client = address or self.isolation.client_for(host)
            self._inc_stat(f"tor/requests_via/{client}")
            # Which tor client carried it, for the evidence record (crawler.middlewares.evidence).
            request.meta[TOR_CLIENT_META] = str(client)
        try:
            with wrap_twisted_exceptions():
                try:
                    return await maybe_deferred_to_future(agent.download_request(request))
                except ResponseFailed as failed:
                    too_large = _headers_too_large(failed)
                    if too_large is None:
                        raise
                    raise ResponseHeadersTooLarge(f"{request.url}: {too_large}") from None
        except ResponseHeadersTooLarge:
            self._inc_stat("tor/headers_too_large")
            raise
        except DownloadTimeoutError as timed_out:
            if agent._txresponse is None:
                raise  # no answer yet: a slow circuit or onion service, which a retry may fix
            # The site answered and then sent its body too slowly (a drip): DOWNLOAD_TIMEOUT caps
            # the whole response, and a retry would take the same circuit (hosts stick to theirs).
            self._inc_stat("download/body_timeout")
            logger.warning("%s: the body did not arrive within DOWNLOAD_TIMEOUT (%s s) after the headers; "
                           "not retried (stat download/body_timeout)", request.url,
                           request.meta.get("download_timeout") or self._crawler.settings.getfloat("DOWNLOAD_TIMEOUT"))
            raise ResponseBodyTimeout(f"{request.url}: {timed_out}") from None
        except DownloadCancelledError:
            # Scrapy cancels a body over DOWNLOAD_MAXSIZE (announced or received) and logs a warning.
            self._inc_stat("download/maxsize_exceeded")
            raise
        except TorTransportError as exc:
            self._inc_stat(f"tor/socks_error/{exc.stats_key}")
            raise
        except ResponseDataLossError:
            if not self._fail_on_dataloss_warned:
                logger.warning(get_dataloss_msg(request.url))
                self._fail_on_dataloss_warned = True
            raise

    def _inc_stat(self, key: str) -> None:
        if self._stats is not None:
            self._stats.inc_value(key)


class TorTransportGuard:
    """Extension that refuses to start a crawl whose requests could bypass tor.

    Scrapy logs a download handler's start-up error and then fails each request of that
    scheme; this guard raises instead, so a misconfigured crawl stops before it begins.
    """

    def __init__(self, socks_addresses: list[SocksAddress]):
        self.socks_addresses = socks_addresses

    @classmethod
    def from_crawler(cls, crawler: "Crawler") -> "TorTransportGuard":
        return cls(check_transport_settings(crawler.settings))
