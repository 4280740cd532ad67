from __future__ import annotations

from scrapy.settings import Settings as ScrapySettings

from crawler.settings import scrapy_settings
from crawler.tor.download_handler import check_transport_settings
from config.settings import load_settings


def _values(**env: str) -> dict:
    settings = load_settings(None, environ={f"ONIONSCOPE_{k.upper()}": v for k, v in env.items()})
    return scrapy_settings(settings, ["127.0.0.1:9050"])


def test_every_network_scheme_goes_through_tor() -> None:
    values = _values()
    handlers = values["DOWNLOAD_HANDLERS"]
    assert handlers["http"] == handlers["https"] == "crawler.tor.download_handler.TorDownloadHandler"
    assert handlers["ftp"] is handlers["s3"] is None
    assert [(a.host, a.port) for a in check_transport_settings(ScrapySettings(values))] == [("127.0.0.1", 9050)]


def test_safety_switches() -> None:
    values = _values()
    assert values["TWISTED_DNS_RESOLVER"] == "crawler.tor.refusing_resolver.RefusingResolver"
    assert values["TELNETCONSOLE_ENABLED"] is False
    assert values["REMOTE_CONTROL_ENABLED"] is False
    assert values["HTTPPROXY_ENABLED"] is False
    assert "crawler.middlewares.media_guard.MediaGuardMiddleware" in values["DOWNLOADER_MIDDLEWARES"]
    assert "image/jpeg" not in values["ALLOWED_CONTENT_TYPES"]


def test_onionscope_settings_map_onto_scrapy_names() -> None:
    values = _values(crawl_concurrency="80", crawl_depth="3", download_maxsize="2048")
    assert values["CONCURRENT_REQUESTS"] == 80
    assert values["DEPTH_LIMIT"] == 3
    assert values["DOWNLOAD_MAXSIZE"] == 2048
    assert values["DOWNLOAD_WARNSIZE"] <= values["DOWNLOAD_MAXSIZE"]


def test_the_output_of_a_response_starts_few_tasks() -> None:
    """Scrapy starts CONCURRENT_ITEMS asyncio tasks for every response's output (its default: 100).

    In a profiled crawl those tasks were the reactor thread's largest cost
    (bench.crawl --profile); a page's items are a few dozen at most.
    """
    values = _values()
    assert 1 <= ScrapySettings(values).getint("CONCURRENT_ITEMS") <= 16
