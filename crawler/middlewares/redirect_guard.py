"""Redirects read before Scrapy follows them: other schemes refused and counted, endless chains counted.

Public API:

* :class:`RedirectGuardMiddleware` -- a downloader middleware whose ``process_response`` runs
  before Scrapy's ``RedirectMiddleware`` (600) and ``MetaRefreshMiddleware`` (580) read the
  response (it sits at 650; responses pass the middlewares from the highest number down).

  - A 3xx ``Location`` or a ``<meta http-equiv=refresh>`` pointing to a scheme other than
    http or https (``javascript:``, ``data:``, ``file:``, ``mailto:``...) is not followed:
    counted as ``scope/refused/scheme`` and ``scope/refused_redirects`` (the crawl scope's
    keys), logged once per scheme, and the response goes on as it came (a 3xx is then
    dropped by Scrapy's HttpErrorMiddleware; a page with a refresh tag is indexed as a page).
    Scrapy itself would raise ``ValueError: Missing scheme`` for ``javascript:`` and lose the
    page with an error, and quietly skip ``data:`` and ``file:``.
  - A redirect that Scrapy will discard because the chain reached ``REDIRECT_MAX_TIMES`` is
    counted as ``redirect/max_reached`` and logged (Scrapy only says so at DEBUG level).

Redirects to http(s) URLs are left to Scrapy and checked by
:class:`~crawler.middlewares.crawl_scope.CrawlScopeMiddleware` when they are scheduled.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urljoin, urlsplit

from scrapy.http import HtmlResponse, Request, Response
from scrapy.utils.response import get_meta_refresh
from w3lib.url import safe_url_string

from crawler.middlewares.crawl_scope import REFUSED_REDIRECTS_STAT, REFUSED_STAT_PREFIX
from crawler.urls import site_host

logger = logging.getLogger(__name__)

PATH = "crawler.middlewares.redirect_guard.RedirectGuardMiddleware"
PRIORITY = 650
MAX_REACHED_STAT = "redirect/max_reached"
_REDIRECT_STATUSES = {301, 302, 303, 307, 308}


class RedirectGuardMiddleware:
    """See the module docstring."""

    def __init__(self, max_redirect_times: int, meta_refresh: bool = True, meta_refresh_max_delay: float = 100,
                 meta_refresh_ignore_tags: list[str] | None = None, stats: Any = None):
        self.max_redirect_times = max_redirect_times
        self.meta_refresh = meta_refresh
        self.meta_refresh_max_delay = meta_refresh_max_delay
        self.meta_refresh_ignore_tags = list(meta_refresh_ignore_tags or [])
        self.stats = stats
        self._warned_schemes: set[str] = set()
        self._warned_hosts: set[str] = set()

    @classmethod
    def from_crawler(cls, crawler: Any) -> "RedirectGuardMiddleware":
        settings = crawler.settings
        return cls(
            settings.getint("REDIRECT_MAX_TIMES"),
            meta_refresh=settings.getbool("METAREFRESH_ENABLED"),
            meta_refresh_max_delay=settings.getfloat("METAREFRESH_MAXDELAY"),
            meta_refresh_ignore_tags=settings.getlist("METAREFRESH_IGNORE_TAGS"),
            stats=crawler.stats,
        )

    def process_response(self, request: Request, response: Response, spider: Any = None) -> Response:
        if request.meta.get("dont_redirect"):
            return response
        target, http_redirect = self._target(request, response)
        if target is None:
            return response
        try:
            scheme = urlsplit(target).scheme.lower()
        except ValueError:
            scheme = ""
        if scheme not in ("http", "https"):
            self._refuse_scheme(request, target, scheme)
            return response
        if http_redirect:
            ttl = request.meta.get("redirect_ttl", self.max_redirect_times)
            if not (ttl and request.meta.get("redirect_times", 0) + 1 <= self.max_redirect_times):
                self._count(MAX_REACHED_STAT)
                host = site_host(request.url) or ""
                if host not in self._warned_hosts:  # a hostile site can start many chains
                    self._warned_hosts.add(host)
                    logger.warning("not following %s: its redirect chain reached REDIRECT_MAX_TIMES (%d); "
                                   "further chains of %s are only counted (%s)",
                                   request.url, self.max_redirect_times, host, MAX_REACHED_STAT)
        return response

    def _target(self, request: Request, response: Response) -> tuple[str | None, bool]:
        """Where the response redirects to, and whether by a 3xx (else a meta refresh); (None, False) if nowhere."""
        location = response.headers.get(b"Location")
        if response.status in _REDIRECT_STATUSES and location:
            url = safe_url_string(location)
            if location.startswith(b"//"):
                url = urlsplit(request.url).scheme + "://" + url.lstrip("/")
            try:
                return urljoin(request.url, url), True
            except ValueError:
                return url, True
        if self.meta_refresh and isinstance(response, HtmlResponse):
            try:
                interval, url = get_meta_refresh(response, ignore_tags=self.meta_refresh_ignore_tags)
            except (ValueError, UnicodeError):
                return None, False
            if url and interval is not None and interval < self.meta_refresh_max_delay:
                return url, False
        return None, False

    def _refuse_scheme(self, request: Request, target: str, scheme: str) -> None:
        # Scrapy's redirect middlewares skip a request marked so; the response goes on as it came.
        request.meta["dont_redirect"] = True
        self._count(REFUSED_STAT_PREFIX + "scheme")
        self._count(REFUSED_REDIRECTS_STAT)
        if scheme not in self._warned_schemes:
            self._warned_schemes.add(scheme)
            logger.warning("not following the redirect from %s to a %r URI (%.80r): only http and https are "
                           "fetched; further ones are only counted (%sscheme)",
                           request.url, scheme or "schemeless", target, REFUSED_STAT_PREFIX)

    def _count(self, key: str) -> None:
        if self.stats is not None:
            self.stats.inc_value(key)
