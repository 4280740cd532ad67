"""Scrapy settings for onionscope, derived from :mod:`config.settings` by functions only.

Importing this module loads no settings and reads no file.

Public API:

* :func:`scrapy_settings` ``(settings, socks_endpoints) -> dict`` -- every Scrapy
  setting of one crawl; ``onionscope crawl`` starts from it.  Defaults live in
  config/settings.py; this only maps them onto Scrapy's names and fixes the
  safety-critical ones (Tor transport for http and https, no local DNS, the
  process-wide network guard, cookies without a public-suffix download, no
  telnet console and no remote-control server, media never fetched, the crawl
  scope checked on every request and redirect, per-host concurrency enforced,
  redirects to a login page counted and not followed), every fetched response kept as a
  WARC evidence record (``evidence_capture``), the blocklist, the page
  budgets, the crawler-trap rules, retry timing, the redirect guard, the counted
  decompression cap and the breadth-first order, and the session file
  (``sessions_file``, loaded and validated here: raises
  :class:`crawler.sessions.SessionFileError`);
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

from crawler.downloader import PATH as DOWNLOADER_PATH
from crawler.middlewares.blocklist import PATH as BLOCKLIST_PATH
from crawler.middlewares.compression import PATH as COMPRESSION_PATH
from crawler.middlewares.compression import STOCK_PATH as COMPRESSION_STOCK_PATH
from crawler.middlewares.evidence import PATH as EVIDENCE_PATH
from crawler.middlewares.evidence import PRIORITY as EVIDENCE_PRIORITY
from crawler.middlewares.redirect_guard import PATH as REDIRECT_GUARD_PATH
from crawler.middlewares.retry_backoff import PATH as RETRY_BACKOFF_PATH
from crawler.middlewares.redirect_guard import PRIORITY as REDIRECT_GUARD_PRIORITY
from crawler.sessions import load_sessions
from crawler.tor.download_handler import transport_settings
from crawler.tor.network_guard import EXTENSION_PATH as NETWORK_GUARD_PATH
from crawler.tor.control_stats import EXTENSION_PATH as TOR_CONTROL_STATS_PATH
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


# Items of one response processed at once (Scrapy's CONCURRENT_ITEMS); see scrapy_settings.
SPIDER_OUTPUT_CONCURRENCY = 1


def scrapy_settings(settings: Settings, socks_endpoints: list[str],
                    pool: list[tuple[str, str]] | None = None) -> dict[str, Any]:
    """Scrapy setting names and values for one crawl through tor at ``socks_endpoints``.

    ``pool``: the tor client pool's ``(socks, control)`` ``"ip:port"`` pairs
    (:meth:`crawler.tor.endpoints.TorEndpoints.pool_strings`); None reads ``tor_pool`` from
    ``settings`` without looking names up.

    With no endpoint the crawl still gets the Tor handler, whose guard stops it
    at start-up with a clear error: nothing ever falls back to a direct connection.
    """
    values = {
        **PROCESS_SETTINGS,
        "ONIONSCOPE_SETTINGS": settings,
        "TELNETCONSOLE_ENABLED": False,
        # Scrapy 2.19's remote control: an HTTP server in the crawl process that runs any Python
        # code sent with the token it writes under ~/.local/state/scrapy.  Not in a crawler of hostile sites.
        "REMOTE_CONTROL_ENABLED": False,
        "ROBOTSTXT_OBEY": False,
        "COOKIES_ENABLED": True,
        # Would log every Cookie header, session values included.
        "COOKIES_DEBUG": False,
        # The investigator's login sessions (crawler.sessions); the cookie middleware sends them.
        "ONIONSCOPE_SESSIONS": load_sessions(settings.sessions_file) if settings.sessions_file else None,
        # No cross-site Referer, as Tor Browser does.
        "REFERRER_POLICY": "same-origin",
        "USER_AGENT": settings.user_agent,
        "CONCURRENT_REQUESTS": settings.crawl_concurrency,
        "CONCURRENT_REQUESTS_PER_DOMAIN": settings.crawl_concurrency_per_host,
        "DOWNLOAD_DELAY": 0,
        # Scrapy's downloader with CONCURRENT_REQUESTS_PER_DOMAIN enforced (2.19 let a host have its whole queue).
        "DOWNLOADER": DOWNLOADER_PATH,
        "DOWNLOAD_TIMEOUT": settings.download_timeout,
        "DOWNLOAD_MAXSIZE": settings.download_maxsize,
        "DOWNLOAD_WARNSIZE": min(settings.download_maxsize, 1024 * 1024),
        "RETRY_TIMES": settings.retry_times,
        "RETRY_BACKOFF_SECONDS": settings.retry_backoff_seconds,
        # Scrapy reads DEPTH_LIMIT 0 as "no limit"; onionscope's crawl_depth 0 means "seeds only",
        # which the onion spider enforces by following no link (it reads crawl_depth itself).
        "DEPTH_LIMIT": settings.crawl_depth,
        # Breadth-first: shallower requests first (priority -depth), first-in first-out within a depth.
        "DEPTH_PRIORITY": 1,
        # Scrapy starts this many asyncio tasks (and queues twice as many slots) for the output of
        # every response, whatever its size; its default of 100 was the reactor thread's largest
        # cost in a profiled crawl (bench.crawl --profile).  One: a page's items go through the
        # pipelines one after another (they only buffer them; the bulk write runs in a thread)
        # while other pages' items are processed meanwhile; 8 tasks cost about twice as much
        # per response as 1 (0.17-0.20 against 0.09 ms in a loop of 2000 three-item responses).
        "CONCURRENT_ITEMS": SPIDER_OUTPUT_CONCURRENCY,
        "SCHEDULER_DISK_QUEUE": "scrapy.squeues.PickleFifoDiskQueue",
        "SCHEDULER_MEMORY_QUEUE": "scrapy.squeues.FifoMemoryQueue",
        "CRAWL_MAX_PAGES_PER_HOST": settings.crawl_max_pages_per_host,
        "CRAWL_MAX_PAGES": settings.crawl_max_pages,
        "CRAWL_MAX_PAGES_PER_PATTERN": settings.crawl_max_pages_per_pattern,
        "CRAWL_MAX_URL_LENGTH": settings.crawl_max_url_length,
        "CRAWL_MAX_QUERY_PARAMS": settings.crawl_max_query_params,
        "CRAWL_MAX_QUERY_LENGTH": settings.crawl_max_query_length,
        "CRAWL_MAX_PATH_REPEATS": settings.crawl_max_path_repeats,
        "ALLOWED_CONTENT_TYPES": list(settings.allowed_content_types),
        "PAGE_TEXT_MAX_CHARS": settings.page_text_max_chars,
        "EXTRACTION_BUDGET_SECONDS": settings.extraction_budget_seconds,
        "EXTRACTION_WORKERS": settings.extraction_workers,
        "DOWNLOADER_MIDDLEWARES": {
            # First of all, before Scrapy's OffsiteMiddleware (50): out-of-scope requests and
            # redirects never reach tor.  Media is refused before a budget is spent on it.
            "crawler.middlewares.crawl_scope.CrawlScopeMiddleware": 40,
            # Blocklisted hosts and URLs are never queued nor fetched; blocklisted bodies never read.
            BLOCKLIST_PATH: 45,
            "crawler.middlewares.media_guard.MediaGuardMiddleware": 60,
            # Trap rules before the page budget, so a trap's URLs never hold budget.
            "crawler.middlewares.crawl_traps.CrawlTrapMiddleware": 65,
            # A host backing off is left alone before it spends a page; a page not due still spends one.
            "crawler.middlewares.liveness.BackoffGateMiddleware": 67,
            "crawler.middlewares.crawl_budget.CrawlBudgetMiddleware": 70,
            "crawler.middlewares.conditional_requests.ConditionalRequestMiddleware": 72,
            # A retry waits retry_backoff_seconds, doubling, before it is sent again.
            RETRY_BACKOFF_PATH: 75,
            # Reads redirects before Scrapy's RedirectMiddleware (600) and MetaRefreshMiddleware (580) do.
            REDIRECT_GUARD_PATH: REDIRECT_GUARD_PRIORITY,
            # Scrapy's decompression, with bombs (decompressed past DOWNLOAD_MAXSIZE) counted.
            COMPRESSION_STOCK_PATH: None,
            COMPRESSION_PATH: 590,
            # Next to the download, after RetryMiddleware (550): it sees every attempt.
            "crawler.middlewares.liveness.LivenessMiddleware": 880,
            # Nearest the download: every response tor delivered, raw, kept as a WARC record (evidence_dir).
            EVIDENCE_PATH: EVIDENCE_PRIORITY,
            # Above RedirectMiddleware (600): a redirect to a login page is counted, never followed.
            "crawler.middlewares.login_wall.LoginRedirectMiddleware": 650,
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
    values.update(transport_settings(socks_endpoints, headers_maxsize=settings.download_headers_maxsize,
                                     reconnect_seconds=settings.tor_reconnect_seconds,
                                     pool=_pool_or_none(settings) if pool is None else pool,
                                     pool_check_seconds=settings.tor_pool_check_seconds,
                                     pool_circuit_failures=settings.tor_pool_circuit_failures,
                                     pool_socks_failures=settings.tor_pool_socks_failures))
    values["DOWNLOAD_HANDLERS"].update({"file": None, "data": None})
    # No lookup and no connection in this process except to tor and Elasticsearch.
    values["EXTENSIONS"][NETWORK_GUARD_PATH] = 0
    # Tor's bootstrap, circuit failures and NEWNYM signals in the stats (off without a ControlPort).
    values["EXTENSIONS"][TOR_CONTROL_STATS_PATH] = 10
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


def _pool_or_none(settings: Settings) -> list[tuple[str, str]]:
    from crawler.tor.endpoints import resolve_tor_endpoints

    try:
        return resolve_tor_endpoints(settings, resolve_host=None).pool_strings()
    except UserError:
        return []  # TorTransportGuard stops the crawl and says why


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
