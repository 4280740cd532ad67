"""Tor download handler: the Scrapy internals it leans on, and the fail-closed configuration checks."""

from __future__ import annotations

import inspect

import pytest
import scrapy
from scrapy.core.downloader.handlers.http11 import (
    HTTP11DownloadHandler,
    _LenientHTTP11ClientFactory,
    _LenientHTTP11ClientProtocol,
    _LenientHTTPClientParser,
    _ScrapyAgent,
)
from scrapy.downloadermiddlewares.retry import RetryMiddleware
from scrapy.settings import Settings
from scrapy.utils.reactor import install_reactor, is_reactor_installed
from scrapy.utils.test import get_crawler
from twisted.web.client import URI

from crawler.tor import errors
from crawler.tor.download_handler import (
    HANDLER_PATH,
    TorConnectionPool,
    TorDownloadHandler,
    TorEndpointFactory,
    TorTransportGuard,
    check_transport_settings,
    transport_settings,
)
from crawler.tor.socks5 import SocksAddress, SocksClientEndpoint, SocksCredentials

def reactor_crawler(settings_dict):
    """A test crawler whose settings allow the reactor-based handler (Scrapy's default asyncio reactor)."""
    if not is_reactor_installed():
        install_reactor("twisted.internet.asyncioreactor.AsyncioSelectorReactor")
    crawler = get_crawler(settings_dict=settings_dict)
    settings = crawler.settings.copy()
    settings.frozen = False
    settings.set("TWISTED_REACTOR_ENABLED", True)
    crawler.settings = settings
    return crawler


# --- the Scrapy 2.19 surface this module depends on.  If one of these fails after an
# upgrade, re-read scrapy/core/downloader/handlers/http11.py and adapt download_handler.py.


def test_scrapy_agent_keeps_the_get_agent_hook():
    assert list(inspect.signature(_ScrapyAgent._get_agent).parameters) == ["self", "request", "timeout"]


def test_scrapy_agent_still_takes_the_keywords_we_pass():
    parameters = inspect.signature(_ScrapyAgent.__init__).parameters
    for keyword in ("contextFactory", "pool", "maxsize", "warnsize", "fail_on_dataloss", "crawler", "tls_verbose_logging"):
        assert keyword in parameters, keyword
        assert parameters[keyword].kind is inspect.Parameter.KEYWORD_ONLY


def test_http11_handler_still_sets_the_attributes_we_read():
    crawler = reactor_crawler({"TOR_SOCKS_ENDPOINTS": ["127.0.0.1:9"]})
    handler = HTTP11DownloadHandler(crawler)
    for attribute in ("_pool", "_contextFactory", "_default_maxsize", "_default_warnsize", "_fail_on_dataloss",
                      "_tls_verbose_logging", "_fail_on_dataloss_warned", "_crawler"):
        assert hasattr(handler, attribute), attribute
    assert hasattr(handler._pool, "_factory")


def test_download_request_is_still_the_coroutine_scrapy_awaits():
    assert inspect.iscoroutinefunction(HTTP11DownloadHandler.download_request)
    assert inspect.iscoroutinefunction(TorDownloadHandler.download_request)


def test_lenient_protocol_still_swaps_in_its_parser_class():
    # _HeaderCappedProtocol swaps its own parser class in after Scrapy's, in request().
    source = inspect.getsource(_LenientHTTP11ClientProtocol.request)
    assert "self._parser.__class__ = _LenientHTTPClientParser" in source
    assert inspect.signature(_LenientHTTP11ClientFactory.__init__).parameters.keys() >= {"quiescentCallback", "metadata"}
    assert "lineReceived" in vars(_LenientHTTPClientParser)


def test_tested_scrapy_version():
    # Bump only after the tests above pass on the new version and test_transport.py passes.
    assert scrapy.__version__.startswith("2.19."), scrapy.__version__


# --- configuration


def test_handler_refuses_to_start_without_an_endpoint():
    crawler = reactor_crawler({"TOR_SOCKS_ENDPOINTS": []})
    with pytest.raises(errors.TorTransportNotConfigured, match="TOR_SOCKS_ENDPOINTS"):
        TorDownloadHandler(crawler)


def test_handler_uses_an_isolating_pool_with_scrapys_protocol_factory():
    crawler = reactor_crawler({"TOR_SOCKS_ENDPOINTS": ["127.0.0.1:9050", "127.0.0.1:9052"],
                                         "CONCURRENT_REQUESTS_PER_DOMAIN": 5, "TOR_HEADERS_MAXSIZE": 4096})
    handler = TorDownloadHandler(crawler)
    assert isinstance(handler._pool, TorConnectionPool)
    assert handler._pool.maxPersistentPerHost == 5
    # The pool builds Scrapy's lenient protocol (a subclass of it), with the header cap.
    factory = handler._pool._factory(lambda protocol: None, "metadata")
    assert isinstance(factory, HTTP11DownloadHandler(crawler)._pool._factory)
    protocol = factory.buildProtocol(None)
    assert isinstance(protocol, _LenientHTTP11ClientProtocol)
    assert protocol.headers_maxsize == 4096
    assert handler.isolation.socks_addresses == (SocksAddress("127.0.0.1", 9050), SocksAddress("127.0.0.1", 9052))


def test_guard_passes_with_transport_settings():
    settings = Settings(transport_settings(["127.0.0.1:9050"]))
    assert check_transport_settings(settings) == [SocksAddress("127.0.0.1", 9050)]


def test_guard_stops_a_crawl_without_endpoints():
    settings = Settings(transport_settings([]))
    with pytest.raises(errors.TorTransportNotConfigured):
        check_transport_settings(settings)


@pytest.mark.parametrize(
    "override",
    [
        {"http": "scrapy.core.downloader.handlers.http11.HTTP11DownloadHandler"},
        {"https": None},
        {"ftp": "scrapy.core.downloader.handlers.ftp.FTPDownloadHandler"},
    ],
)
def test_guard_stops_a_crawl_where_a_scheme_would_go_direct(override):
    values = transport_settings(["127.0.0.1:9050"])
    values["DOWNLOAD_HANDLERS"] = {**values["DOWNLOAD_HANDLERS"], **override}
    with pytest.raises(errors.TorTransportNotConfigured, match="DOWNLOAD_HANDLERS"):
        check_transport_settings(Settings(values))


def test_guard_raises_from_from_crawler_so_scrapy_does_not_swallow_it():
    with pytest.raises(errors.TorTransportNotConfigured):
        get_crawler(settings_dict=transport_settings([]))  # loading the extensions already stops it
    assert isinstance(TorTransportGuard.from_crawler(get_crawler(settings_dict=transport_settings(["127.0.0.1:1"]))),
                      TorTransportGuard)
    # NotConfigured would make Scrapy skip the extension silently.
    assert not issubclass(errors.TorTransportNotConfigured, scrapy.exceptions.NotConfigured)


def test_transport_settings_select_the_handler_and_disable_direct_schemes():
    values = transport_settings(["127.0.0.1:9050"], socks_timeout=20)
    assert values["DOWNLOAD_HANDLERS"] == {"http": HANDLER_PATH, "https": HANDLER_PATH, "ftp": None, "s3": None}
    assert values["HTTPPROXY_ENABLED"] is False
    assert values["TOR_SOCKS_TIMEOUT"] == 20


def test_retry_middleware_retries_exactly_the_retryable_tor_errors():
    crawler = get_crawler(settings_dict=transport_settings(["127.0.0.1:9050"]))
    crawler.spider = scrapy.Spider.from_crawler(crawler, name="retry-test")
    middleware = RetryMiddleware.from_crawler(crawler)
    request = scrapy.Request("http://" + "a" * 56 + ".onion/")
    for code, error_class in errors.REPLY_ERRORS.items():
        error = errors.reply_error(code, target="x.onion:80", socks_endpoint="127.0.0.1:9050")
        retried = middleware.process_exception(request, error)
        assert (retried is not None) == errors.is_retryable(error), error_class.__name__
    assert middleware.process_exception(request, errors.TorUnreachableError("down")) is not None
    assert middleware.process_exception(request, errors.SocksAuthenticationError("no")) is None


def test_reply_errors_have_distinct_stats_keys():
    keys = [cls.stats_key for cls in errors.REPLY_ERRORS.values()]
    assert len(keys) == len(set(keys)) == 16
    assert errors.REPLY_ERRORS[0x04].stats_key == "host_unreachable"


@pytest.mark.parametrize(
    "code,retryable",
    [(0x01, True), (0x02, False), (0x04, True), (0x06, True), (0x07, False), (0xF0, True), (0xF4, False), (0xF6, False)],
)
def test_retryable_table(code, retryable):
    assert errors.is_retryable(errors.reply_error(code, target="t", socks_endpoint="s")) is retryable


# --- endpoint factory and pool keys


class _RecordingTlsPolicy:
    def __init__(self):
        self.asked = []

    def creatorForNetloc(self, hostname, port):
        self.asked.append((hostname, port))
        return object()


def test_endpoint_factory_sends_the_name_and_wraps_https():
    policy = _RecordingTlsPolicy()
    factory = TorEndpointFactory(None, SocksAddress("127.0.0.1", 9050), SocksCredentials("u", "p"), policy,
                                 connect_timeout=10, handshake_timeout=None)
    plain = factory.endpointForURI(URI.fromBytes(b"http://abc.onion/x"))
    secure = factory.endpointForURI(URI.fromBytes(b"https://abc.onion:8443/x"))
    assert (plain.target_host, plain.target_port, plain.tls_creator) == ("abc.onion", 80, None)
    assert (secure.target_host, secure.target_port) == ("abc.onion", 8443)
    assert secure.tls_creator is not None and policy.asked == [(b"abc.onion", 8443)]


def test_pool_key_includes_tor_client_and_credentials():
    keys = []

    class Pool(TorConnectionPool):
        def _newConnection(self, key, endpoint):
            keys.append(key)
            from twisted.internet import defer

            return defer.Deferred()

    pool = Pool(reactor=None, persistent=True)
    for password in ("a", "b"):
        endpoint = SocksClientEndpoint(None, SocksAddress("127.0.0.1", 9050), "x.onion", 80, SocksCredentials("u", password))
        pool.getConnection((b"http", b"x.onion", 80), endpoint)
    assert keys[0] != keys[1]
    assert keys[0][:3] == (b"http", b"x.onion", 80)


def test_http_and_https_handlers_of_one_crawler_share_isolation_and_pool():
    crawler = reactor_crawler({"TOR_SOCKS_ENDPOINTS": ["127.0.0.1:9050", "127.0.0.1:9052"]})
    http_handler, https_handler = TorDownloadHandler(crawler), TorDownloadHandler(crawler)
    assert http_handler.isolation is https_handler.isolation
    assert http_handler._pool is https_handler._pool
    other = TorDownloadHandler(reactor_crawler({"TOR_SOCKS_ENDPOINTS": ["127.0.0.1:9050"]}))
    assert other.isolation.credentials_for("x.onion") != http_handler.isolation.credentials_for("x.onion")


@pytest.mark.parametrize(
    "extra,problem",
    [
        ({"FEEDS": {"s3://bucket/items.json": {"format": "json"}}}, "FEEDS"),
        ({"FEEDS": {"ftp://user:pw@127.0.0.1/items.json": {"format": "json"}}}, "FEEDS"),
        ({"MEMUSAGE_NOTIFY_MAIL": ["analyst@example.org"]}, "MEMUSAGE_NOTIFY_MAIL"),
        ({"STATSMAILER_RCPTS": ["analyst@example.org"]}, "STATSMAILER_RCPTS"),
    ],
)
def test_guard_refuses_components_that_connect_on_their_own(extra, problem):
    with pytest.raises(errors.TorTransportNotConfigured, match=problem):
        check_transport_settings(Settings({**transport_settings(["127.0.0.1:9050"]), **extra}))


def test_guard_accepts_local_feeds(tmp_path):
    feeds = {str(tmp_path / "items.jsonl"): {"format": "jsonlines"}, "file:///tmp/x.json": {"format": "json"},
             "stdout:": {"format": "json"}}
    assert check_transport_settings(Settings({**transport_settings(["127.0.0.1:9050"]), "FEEDS": feeds}))


def test_a_request_with_meta_proxy_is_refused_before_any_connection():
    handler = TorDownloadHandler(reactor_crawler({"TOR_SOCKS_ENDPOINTS": ["127.0.0.1:9050"]}))
    request = scrapy.Request("http://" + "a" * 56 + ".onion/", meta={"proxy": "http://127.0.0.1:8118"})
    pending = handler.download_request(request)
    with pytest.raises(errors.TorTransportNotConfigured, match="meta\\['proxy'\\]"):
        pending.send(None)  # fails on the first step, before anything is awaited


# --- the header cap (the bytes before the body)


def _connected_protocol(headers_maxsize):
    """The pool's protocol on an in-memory transport, with one GET in flight."""
    from twisted.internet.testing import StringTransport
    from twisted.web._newclient import Request as TxRequest
    from twisted.web.http_headers import Headers

    handler = TorDownloadHandler(reactor_crawler({"TOR_SOCKS_ENDPOINTS": ["127.0.0.1:9050"],
                                                  "TOR_HEADERS_MAXSIZE": headers_maxsize}))
    protocol = handler._pool._factory(lambda protocol: None, "test").buildProtocol(None)
    transport = StringTransport()
    protocol.makeConnection(transport)
    outcome = []
    protocol.request(TxRequest(b"GET", b"/", Headers({b"host": [b"x.onion"]}), None, persistent=True)).addBoth(outcome.append)
    return protocol, transport, outcome


def _reason(outcome):
    from twisted.web.client import ResponseFailed

    [failure] = outcome
    assert isinstance(failure.value, ResponseFailed), failure
    [reason] = failure.value.reasons
    return reason.value


def test_headers_within_the_cap_are_read_as_usual():
    protocol, transport, outcome = _connected_protocol(4096)
    head = b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\nX-Filler: " + b"f" * 3900 + b"\r\n\r\n"
    protocol.dataReceived(head + b"body")
    [response] = outcome
    assert response.code == 200 and response.headers.getRawHeaders(b"x-filler") == [b"f" * 3900]
    assert not transport.disconnecting


@pytest.mark.parametrize(
    "stream",
    [
        # many short header lines, in small reads
        [b"HTTP/1.1 200 OK\r\n"] + [b"X-A: b\r\n"] * 2000,
        # one header line that never ends
        [b"HTTP/1.1 200 OK\r\nX-Long: "] + [b"x" * 1000] * 10,
        # informational responses forever: each one is small, together they are not
        [b"HTTP/1.1 100 Continue\r\nX-Pad: " + b"p" * 200 + b"\r\n\r\n"] * 100,
    ],
    ids=["many-lines", "endless-line", "endless-1xx"],
)
def test_a_header_block_over_the_cap_fails_the_response_and_closes_the_connection(stream):
    protocol, transport, outcome = _connected_protocol(4096)
    fed = 0
    for chunk in stream:
        if transport.disconnecting:
            break
        protocol.dataReceived(chunk)
        fed += len(chunk)
    assert sum(map(len, stream)) > 8192  # the stream really was over the cap
    error = _reason(outcome)
    assert isinstance(error, errors.ResponseHeadersTooLarge)
    assert "4096" in str(error) and "TOR_HEADERS_MAXSIZE" in str(error)
    assert transport.disconnecting
    assert fed <= 4096 + 1000  # stopped reading at the cap plus the read that crossed it
    assert not errors.is_retryable(error)


def test_the_body_does_not_count_against_the_header_cap():
    protocol, transport, outcome = _connected_protocol(4096)
    body = b"b" * 100_000
    protocol.dataReceived(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
    [response] = outcome
    assert response.code == 200 and response.length == len(body)


def test_the_header_cap_applies_to_each_response_on_a_kept_alive_connection():
    from twisted.web._newclient import Request as TxRequest
    from twisted.web.http_headers import Headers

    protocol, transport, outcome = _connected_protocol(4096)
    head = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nX-Filler: " + b"f" * 3000 + b"\r\n\r\n"
    protocol.dataReceived(head)
    assert outcome[0].code == 200
    # Deliver the body so the connection becomes quiescent, then send a second request.
    outcome[0].deliverBody(_Discard())
    second = []
    protocol.request(TxRequest(b"GET", b"/2", Headers({b"host": [b"x.onion"]}), None, persistent=True)).addBoth(second.append)
    protocol.dataReceived(head)  # 3 KB again: each response has its own budget
    assert second and second[0].code == 200
    third = []
    second[0].deliverBody(_Discard())
    protocol.request(TxRequest(b"GET", b"/3", Headers({b"host": [b"x.onion"]}), None, persistent=True)).addBoth(third.append)
    protocol.dataReceived(b"HTTP/1.1 200 OK\r\n" + b"X-B: c\r\n" * 1000)
    assert isinstance(_reason(third), errors.ResponseHeadersTooLarge)


class _Discard:
    def makeConnection(self, transport):
        pass

    def dataReceived(self, data):
        pass

    def connectionLost(self, reason):
        pass


def test_download_request_raises_the_cap_error_and_counts_it():
    """The handler unwraps the cap error from Twisted's ResponseFailed (Scrapy would hide it)."""
    from twisted.internet import defer
    from twisted.python.failure import Failure
    from twisted.web.client import ResponseFailed

    crawler = reactor_crawler({"TOR_SOCKS_ENDPOINTS": ["127.0.0.1:9050"]})
    handler = TorDownloadHandler(crawler)
    too_large = errors.ResponseHeadersTooLarge("the response headers exceed 65536 bytes (TOR_HEADERS_MAXSIZE)")

    class FailingAgent:
        def __init__(self, **keywords):
            pass

        def download_request(self, request):
            return defer.fail(ResponseFailed([Failure(too_large)]))

    import crawler.tor.download_handler as module

    original, module._TorScrapyAgent = module._TorScrapyAgent, FailingAgent
    try:
        url = "http://" + "a" * 56 + ".onion/"
        with pytest.raises(errors.ResponseHeadersTooLarge, match=url):
            handler.download_request(scrapy.Request(url)).send(None)
    finally:
        module._TorScrapyAgent = original
    assert crawler.stats.get_value("tor/headers_too_large") == 1
    assert crawler.stats.get_value("tor/socks_error/headers_too_large") is None


# --- the tor client pool (TOR_POOL)


def test_transport_settings_with_a_pool_add_its_socks_ports_and_the_pool_monitor():
    from crawler.tor.pool import EXTENSION_PATH

    values = transport_settings(["127.0.0.1:9050"], pool=[("127.0.0.1:9060", "127.0.0.1:9061"),
                                                          ("127.0.0.1:9050", "127.0.0.1:9051")],
                                pool_socks_failures=4)
    assert values["TOR_SOCKS_ENDPOINTS"] == ["127.0.0.1:9050", "127.0.0.1:9060"]
    assert values["TOR_POOL"] == ["127.0.0.1:9060=127.0.0.1:9061", "127.0.0.1:9050=127.0.0.1:9051"]
    assert values["TOR_POOL_SOCKS_FAILURES"] == 4 and values["TOR_POOL_CIRCUIT_FAILURES"] == 10
    assert EXTENSION_PATH in values["EXTENSIONS"]
    assert EXTENSION_PATH not in transport_settings(["127.0.0.1:9050"])["EXTENSIONS"]


def test_a_failing_pool_client_loses_its_hosts_and_clients_outside_the_pool_never_do():
    from crawler.tor.download_handler import pool_health_of

    plain, first, second = (SocksAddress("127.0.0.1", port) for port in (9050, 9060, 9070))
    crawler = reactor_crawler({"TOR_SOCKS_ENDPOINTS": [str(plain)],
                               "TOR_POOL": [f"{first}=127.0.0.1:9061", f"{second}=127.0.0.1:9071"],
                               "TOR_POOL_SOCKS_FAILURES": 2})
    handler = TorDownloadHandler(crawler)
    health = pool_health_of(crawler)
    assert health is handler.pool_health and health.clients == (first, second)
    hosts = [f"host{index}.onion" for index in range(200)]
    before = {host: handler.isolation.client_for(host) for host in hosts}
    assert set(before.values()) == {plain, first, second}
    handler._pool_socks(first, ok=False)
    handler._pool_socks(first, ok=False)
    assert handler.isolation.healthy == {plain, second}
    after = {host: handler.isolation.client_for(host) for host in hosts}
    assert {host for host in hosts if after[host] != before[host]} == {h for h in hosts if before[h] == first}
    handler._pool_socks(plain, ok=False)  # not a pool client: no health, never left out
    health.recovered(first)
    assert handler.isolation.healthy == {plain, first, second}
    assert {host: handler.isolation.client_for(host) for host in hosts} == before


def test_a_bad_pool_entry_stops_the_handler():
    with pytest.raises(errors.TorTransportNotConfigured, match="TOR_POOL"):
        TorDownloadHandler(reactor_crawler({"TOR_SOCKS_ENDPOINTS": ["127.0.0.1:9050"], "TOR_POOL": ["127.0.0.1:9060"]}))
