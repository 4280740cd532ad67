"""Page budgets: how many pages a crawl fetches from one host, and in all.

Public API:

* :class:`PageBudget` -- the counters: :meth:`PageBudget.spend` takes one page from a
  host's budget and the job's, or says which budget is spent;
  :meth:`PageBudget.exhausted` says the same without taking anything;
* :class:`CrawlBudgetMiddleware` -- a downloader middleware that also listens to
  ``request_scheduled``.  A request for a host whose budget is spent is dropped before it is
  queued; a request that reaches the downloader spends one page (retries of a request do
  not spend again; a redirect does, it is another page).

Scrapy settings read: ``CRAWL_MAX_PAGES_PER_HOST`` and ``CRAWL_MAX_PAGES`` (both set from
``crawl_max_pages_per_host`` and ``crawl_max_pages`` in :mod:`onionscope.settings`); with neither set
the middleware is switched off (``NotConfigured``).

Hosts are counted with :func:`crawler.urls.site_host`, so the subdomains of one onion
service share its budget.

Stats: ``budget/refused/host`` and ``budget/refused/job`` (requests not made),
``budget/hosts_exhausted`` (hosts that reached their budget) and ``budget/job_exhausted``
(1 once the job reached its budget).
"""

from __future__ import annotations

import logging
from collections import Counter
from typing import Any

from scrapy import signals
from scrapy.exceptions import IgnoreRequest, NotConfigured
from scrapy.http import Request

from crawler.urls import site_host

logger = logging.getLogger(__name__)

HOST = "host"
JOB = "job"


class PageBudget:
    """Pages fetched per host and in all, against ``crawl_max_pages_per_host`` and ``crawl_max_pages`` (None: no cap)."""

    def __init__(self, max_pages_per_host: int | None, max_pages: int | None):
        self.max_pages_per_host = max_pages_per_host
        self.max_pages = max_pages
        self.pages_per_host: Counter[str] = Counter()
        self.pages = 0

    def exhausted(self, host: str) -> str | None:
        """:data:`JOB` or :data:`HOST` when that budget is spent for ``host``, else None."""
        if self.max_pages is not None and self.pages >= self.max_pages:
            return JOB
        if self.max_pages_per_host is not None and self.pages_per_host[host] >= self.max_pages_per_host:
            return HOST
        return None

    def spend(self, host: str) -> str | None:
        """Take one page for ``host``; returns None when taken, else the budget that is spent."""
        spent = self.exhausted(host)
        if spent is None:
            self.pages += 1
            self.pages_per_host[host] += 1
        return spent


class CrawlBudgetMiddleware:
    """Downloader middleware enforcing a :class:`PageBudget`."""

    def __init__(self, budget: PageBudget, stats: Any = None):
        self.budget = budget
        self.stats = stats
        self._hosts_reported: set[str] = set()
        self._job_reported = False

    @classmethod
    def from_crawler(cls, crawler: Any) -> "CrawlBudgetMiddleware":
        per_host = crawler.settings.getint("CRAWL_MAX_PAGES_PER_HOST") or None
        per_job = crawler.settings.getint("CRAWL_MAX_PAGES") or None
        if per_host is None and per_job is None:
            raise NotConfigured("no page budget (CRAWL_MAX_PAGES_PER_HOST, CRAWL_MAX_PAGES)")
        middleware = cls(PageBudget(per_host, per_job), crawler.stats)
        crawler.signals.connect(middleware.request_scheduled, signal=signals.request_scheduled)
        return middleware

    def request_scheduled(self, request: Request, spider: Any) -> None:
        host = site_host(request.url) or ""
        spent = self.budget.exhausted(host)
        if spent is not None:
            self._refuse(request, host, spent)

    def process_request(self, request: Request, spider: Any = None) -> None:
        if request.meta.get("retry_times", 0):
            return  # the first attempt already spent this page
        host = site_host(request.url) or ""
        spent = self.budget.spend(host)
        if spent is not None:
            self._refuse(request, host, spent)

    def _refuse(self, request: Request, host: str, spent: str) -> None:
        self._count(f"budget/refused/{spent}")
        if spent == JOB and not self._job_reported:
            self._job_reported = True
            self._count("budget/job_exhausted")
            logger.warning("the crawl fetched its budget of %d pages (crawl_max_pages); no further page is fetched",
                           self.budget.max_pages)
        elif spent == HOST and host not in self._hosts_reported:
            self._hosts_reported.add(host)
            self._count("budget/hosts_exhausted")
            logger.info("%r reached its budget of %d pages (crawl_max_pages_per_host); no further page of it is fetched",
                        host, self.budget.max_pages_per_host)
        raise IgnoreRequest(f"page budget ({spent}) spent: {request.url}")

    def _count(self, key: str) -> None:
        if self.stats is not None:
            self.stats.inc_value(key)
