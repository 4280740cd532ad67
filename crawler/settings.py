"""Scrapy settings for onionscope, derived from :mod:`onionscope.settings`.

``scrapy crawl onion`` reads this module (see scrapy.cfg); ``onionscope crawl``
starts from :func:`scrapy_settings`.  Defaults live in onionscope/settings.py;
this module only maps them onto Scrapy's names and fixes the safety-critical
ones (Tor transport for http and https, no local DNS, no telnet console,
media never fetched).
"""

from __future__ import annotations

from typing import Any

from crawler.tor.download_handler import transport_settings
from onionscope.errors import UserError
from onionscope.settings import Settings, load_settings


def scrapy_settings(settings: Settings, socks_endpoints: list[str]) -> dict[str, Any]:
    """Scrapy setting names and values for one crawl through tor at ``socks_endpoints``.

    With no endpoint the crawl still gets the Tor handler, whose guard stops it
    at start-up with a clear error: nothing ever falls back to a direct connection.
    """
    values = {
        "BOT_NAME": "onionscope",
        "SPIDER_MODULES": ["crawler.spiders"],
        "NEWSPIDER_MODULE": "crawler.spiders",
        "ONIONSCOPE_SETTINGS": settings,
        # Host names go to Tor; the reactor may resolve nothing.
        "TWISTED_DNS_RESOLVER": "crawler.tor.refusing_resolver.RefusingResolver",
        "TELNETCONSOLE_ENABLED": False,
        "ROBOTSTXT_OBEY": False,
        "COOKIES_ENABLED": True,
        # No cross-site Referer, as Tor Browser does.
        "REFERRER_POLICY": "same-origin",
        "USER_AGENT": settings.user_agent,
        "CONCURRENT_REQUESTS": settings.crawl_concurrency,
        "CONCURRENT_REQUESTS_PER_DOMAIN": settings.crawl_concurrency_per_host,
        "DOWNLOAD_DELAY": 0,
        "DOWNLOAD_TIMEOUT": settings.download_timeout,
        "DOWNLOAD_MAXSIZE": settings.download_maxsize,
        "DOWNLOAD_WARNSIZE": min(settings.download_maxsize, 1024 * 1024),
        "RETRY_TIMES": settings.retry_times,
        "DEPTH_LIMIT": settings.crawl_depth,
        "ALLOWED_CONTENT_TYPES": list(settings.allowed_content_types),
        "PAGE_TEXT_MAX_CHARS": settings.page_text_max_chars,
        "EXTRACTION_BUDGET_SECONDS": settings.extraction_budget_seconds,
        "DOWNLOADER_MIDDLEWARES": {
            "crawler.middlewares.media_guard.MediaGuardMiddleware": 60,
        },
        "ITEM_PIPELINES": {
            "pipelines.validate.ValidatePipeline": 100,
            "pipelines.deduplicate.DeduplicatePipeline": 200,
            "pipelines.elasticsearch_bulk.ElasticsearchBulkPipeline": 300,
        },
        "LOG_LEVEL": "INFO",
        "TWISTED_REACTOR": "twisted.internet.asyncioreactor.AsyncioSelectorReactor",
    }
    # Every http and https request goes through Tor (handler, guard, retries, no proxy middleware).
    values.update(transport_settings(socks_endpoints))
    values["DOWNLOAD_HANDLERS"].update({"file": None, "data": None})
    return values


def _socks_endpoints_or_none(settings: Settings) -> list[str]:
    from crawler.tor.endpoints import resolve_tor_endpoints

    try:
        endpoints = resolve_tor_endpoints(settings)
    except UserError:
        return []  # TorTransportGuard stops the crawl and says why
    return endpoints.socks_strings()


# Module-level names, for `scrapy crawl` run from the project root.
_settings = load_settings()
globals().update(scrapy_settings(_settings, _socks_endpoints_or_none(_settings)))
