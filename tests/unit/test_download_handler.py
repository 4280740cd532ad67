"""Tor download handler: the Scrapy internals it leans on, and the fail-closed configuration checks."""

from __future__ import annotations

import inspect

import pytest
import scrapy
from scrapy.core.downloader.handlers.http11 import HTTP11DownloadHandler, _ScrapyAgent
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
                                         "CONCURRENT_REQUESTS_PER_DOMAIN": 5})
    handler = TorDownloadHandler(crawler)
    assert isinstance(handler._pool, TorConnectionPool)
    assert handler._pool.maxPersistentPerHost == 5
    assert handler._pool._factory is HTTP11DownloadHandler(crawler)._pool._factory
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
