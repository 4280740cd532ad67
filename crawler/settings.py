"""Scrapy settings for onionscope, derived from :mod:`config.settings` by functions only.

Importing this module loads no settings and reads no file.

Public API:

* :func:`scrapy_settings` ``(settings, socks_endpoints) -> dict`` -- every Scrapy
  setting of one crawl; ``onionscope crawl`` starts from it.  Defaults live in
  config/settings.py; this only maps them onto Scrapy's names and fixes the
  safety-critical ones (Tor transport for http and https, no local DNS, the
  process-wide network guard, cookies without a public-suffix download, no
  telnet console, media never fetched, the crawl scope checked on every request
  and redirect), the page budgets and the breadth-first order;
* :data:`PROCESS_SETTINGS` -- the part Scrapy reads before any crawl exists
  (command discovery, logging, reactor, DNS resolver), so
  :mod:`crawler.scrapy_project` (scrapy.cfg) sets it statically;
* :class:`OnionscopeAddon` -- the Scrapy add-on that :mod:`crawler.scrapy_project`
  enables: for ``scrapy crawl`` run from the project root, it loads the
  settings and resolves tor when the crawl starts, and applies
  :func:`scrapy_settings` at priority ``project`` (what a settings module would
  have), unless the crawl already has them (``ONIONSCOPE_SETTINGS``).
"""

from __future__ import annotations

from typing import Any

from crawler.tor.download_handler import transport_settings
from crawler.tor.network_guard import EXTENSION_PATH as NETWORK_GUARD_PATH
from config.errors import UserError
from config.settings import Settings, load_settings

# Read from the project settings before a crawler exists; constants, so the static module can set them.
PROCESS_SETTINGS: dict[str, Any] = {
    "BOT_NAME": "onionscope",
    "SPIDER_MODULES": ["crawler.spiders"],
    "NEWSPIDER_MODULE": "crawler.spiders",
    # `scrapy crawl` with onionscope's exit status (1 when the network guard refused anything).
    "COMMANDS_MODULE": "crawler.commands",
    # Host names go to Tor; the reactor may resolve nothing (installed by the process, not a crawler).
    "TWISTED_DNS_RESOLVER": "crawler.tor.refusing_resolver.RefusingResolver",
    "LOG_LEVEL": "INFO",
    "TWISTED_REACTOR": "twisted.internet.asyncioreactor.AsyncioSelectorReactor",
}


def scrapy_settings(settings: Settings, socks_endpoints: list[str]) -> dict[str, Any]:
    """Scrapy setting names and values for one crawl through tor at ``socks_endpoints``.

    With no endpoint the crawl still gets the Tor handler, whose guard stops it
    at start-up with a clear error: nothing ever falls back to a direct connection.
    """
    values = {
        **PROCESS_SETTINGS,
        "ONIONSCOPE_SETTINGS": settings,
        "TELNETCONSOLE_ENABLED": False,
        # Scrapy 2.19 starts a code-running HTTP server in every crawl unless told not to.
        "REMOTE_CONTROL_ENABLED": False,
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
        # Scrapy reads DEPTH_LIMIT 0 as "no limit"; onionscope's crawl_depth 0 means "seeds only",
        # which the onion spider enforces by following no link (it reads crawl_depth itself).
        "DEPTH_LIMIT": settings.crawl_depth,
        # Breadth-first: shallower requests first (priority -depth), first-in first-out within a depth.
        "DEPTH_PRIORITY": 1,
        "SCHEDULER_DISK_QUEUE": "scrapy.squeues.PickleFifoDiskQueue",
        "SCHEDULER_MEMORY_QUEUE": "scrapy.squeues.FifoMemoryQueue",
        "CRAWL_MAX_PAGES_PER_HOST": settings.crawl_max_pages_per_host,
        "CRAWL_MAX_PAGES": settings.crawl_max_pages,
        "ALLOWED_CONTENT_TYPES": list(settings.allowed_content_types),
        "PAGE_TEXT_MAX_CHARS": settings.page_text_max_chars,
        "EXTRACTION_BUDGET_SECONDS": settings.extraction_budget_seconds,
        "DOWNLOADER_MIDDLEWARES": {
            # First of all, before Scrapy's OffsiteMiddleware (50): out-of-scope requests and
            # redirects never reach tor.  Media is refused before a budget is spent on it.
            "crawler.middlewares.crawl_scope.CrawlScopeMiddleware": 40,
            "crawler.middlewares.media_guard.MediaGuardMiddleware": 60,
            "crawler.middlewares.crawl_budget.CrawlBudgetMiddleware": 70,
            # Scrapy's would download the public suffix list outside Tor on the first Set-Cookie.
            "scrapy.downloadermiddlewares.cookies.CookiesMiddleware": None,
            "crawler.middlewares.cookies.OfflineCookiesMiddleware": 700,
        },
        "ITEM_PIPELINES": {
            "pipelines.validate.ValidatePipeline": 100,
            "pipelines.deduplicate.DeduplicatePipeline": 200,
            "pipelines.elasticsearch_bulk.ElasticsearchBulkPipeline": 300,
        },
    }
    # Every http and https request goes through Tor (handler, guard, retries, no proxy middleware).
    values.update(transport_settings(socks_endpoints, headers_maxsize=settings.download_headers_maxsize))
    values["DOWNLOAD_HANDLERS"].update({"file": None, "data": None})
    # No lookup and no connection in this process except to tor and Elasticsearch.
    values["EXTENSIONS"][NETWORK_GUARD_PATH] = 0
    return values


def _socks_endpoints_or_none(settings: Settings) -> list[str]:
    from crawler.tor.endpoints import resolve_tor_endpoints

    try:
        # No name lookups, as before a settings module could do them (`onionscope crawl` resolves
        # tor's name at start-up).
        endpoints = resolve_tor_endpoints(settings, resolve_host=None)
    except UserError:
        return []  # TorTransportGuard stops the crawl and says why
    return endpoints.socks_strings()


class OnionscopeAddon:
    """Scrapy add-on: onionscope's settings for a crawl that does not have them yet (``scrapy crawl``)."""

    def update_settings(self, scrapy_values: Any) -> None:
        """Apply :func:`scrapy_settings` at priority ``project``; raises ConfigError for bad settings.

        Spider settings and ``-s`` options keep their higher priority.
        """
        if scrapy_values.get("ONIONSCOPE_SETTINGS") is not None:
            return  # `onionscope crawl`, or a caller that built them itself
        settings = load_settings()
        scrapy_values.setdict(scrapy_settings(settings, _socks_endpoints_or_none(settings)), priority="project")
