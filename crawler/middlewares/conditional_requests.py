"""Incremental recrawl in the downloader: conditional requests, and stable pages that are not due left alone.

:class:`ConditionalRequestMiddleware` reads the stored pages the crawl was
given when it opened (``spider.freshness``,
:class:`~crawler.freshness.context.FreshnessContext`; the validators and
change dates of the seed hosts' pages, bounded when they are loaded) and,
for each GET request of a stored page:

* when the page is not due under the recrawl policy
  (:func:`crawler.freshness.recrawl.is_due`; seeds are always due), answers
  it here with a body-less ``304`` response flagged :data:`NOT_DUE_FLAG`:
  nothing goes to tor, and the spider handles it as "unchanged, seen" (it
  follows the page's stored links);
* otherwise sends the stored validators, ``If-None-Match`` (ETag) and
  ``If-Modified-Since`` (Last-Modified), so a site that supports them answers
  ``304 Not Modified`` with no body.

Any ``If-None-Match`` / ``If-Modified-Since`` a request carries is replaced
(a redirect must not carry one page's validators to another).  It sits after
the page budget, so a page not due still counts as a page of the crawl.  It
is Scrapy's ``HttpCacheMiddleware`` minus the cache: bodies are never kept.

Stats: ``freshness/not_due`` (pages answered here), ``freshness/conditional_requests``.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Callable

from scrapy.exceptions import NotConfigured
from scrapy.http import Request, Response

from crawler.freshness.context import FreshnessContext
from crawler.freshness.recrawl import conditional_headers, is_due

NOT_DUE_FLAG = "onionscope-not-due"
# request.meta key: the request went out with validators (a 304 answers them).
CONDITIONAL_META = "onionscope_conditional"
_VALIDATOR_HEADERS = ("If-None-Match", "If-Modified-Since")


class ConditionalRequestMiddleware:
    """See the module docstring."""

    def __init__(self, context: FreshnessContext, stats: Any = None,
                 now: Callable[[], datetime] = lambda: datetime.now(timezone.utc)):
        self.context = context
        self.stats = stats
        self.now = now

    @classmethod
    def from_crawler(cls, crawler: Any) -> "ConditionalRequestMiddleware":
        context = getattr(getattr(crawler, "spider", None), "freshness", None)
        if not isinstance(context, FreshnessContext):
            raise NotConfigured("the spider carries no freshness context (spider.freshness)")
        return cls(context, crawler.stats)

    def process_request(self, request: Request, spider: Any = None) -> Response | None:
        for name in _VALIDATOR_HEADERS:
            request.headers.pop(name, None)
        request.meta.pop(CONDITIONAL_META, None)
        if request.method != "GET":
            return None
        stored = self.context.stored_page(request.url)
        if stored is None:
            return None
        if not self.context.is_seed(request.url) and not is_due(stored, self.now(), self.context.recrawl):
            self._count("freshness/not_due")
            return Response(request.url, status=304, request=request, flags=[NOT_DUE_FLAG])
        headers = conditional_headers(stored)
        if headers:
            for name, value in headers.items():
                request.headers[name] = value
            request.meta[CONDITIONAL_META] = True
            self._count("freshness/conditional_requests")
        return None

    def _count(self, key: str) -> None:
        if self.stats is not None:
            self.stats.inc_value(key)
