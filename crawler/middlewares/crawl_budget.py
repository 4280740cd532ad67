"""Page budgets: how many pages a crawl fetches from one host, and in all.

Public API:

* :class:`PageBudget` -- the counters.  A page is *reserved* when its request is queued and
  *spent* when it is downloaded; :meth:`PageBudget.reserve` and :meth:`PageBudget.spend` say
  which budget is used up instead, :meth:`PageBudget.release` gives back a reservation whose
  request was dropped.  Fetched plus queued pages never exceed a budget, so a site that
  links to millions of distinct URLs cannot grow the queue past it either.
* :class:`CrawlBudgetMiddleware` -- a downloader middleware that also listens to
  ``request_scheduled`` and ``request_dropped``.  A request over a budget is dropped before it
  is queued; a queued request spends its page when it reaches the downloader.  Retries do not
  spend again; a redirect does (it is another page).

Scrapy settings read: ``CRAWL_MAX_PAGES_PER_HOST`` and ``CRAWL_MAX_PAGES`` (both set from
``crawl_max_pages_per_host`` and ``crawl_max_pages`` in :mod:`config.settings`); with
neither set the middleware is switched off (``NotConfigured``).

Hosts are counted with :func:`crawler.urls.site_host`, so the subdomains of one onion
service share its budget.

Stats: ``budget/refused/host`` and ``budget/refused/job`` (requests not made),
``budget/hosts_exhausted`` (hosts that reached their budget; ``budget/host_exhausted/<host>``
names each) and ``budget/job_exhausted``
(1 once the job reached its budget).
"""

from __future__ import annotations

import logging
from collections import Counter
from typing import Any

from scrapy import signals
from scrapy.exceptions import IgnoreRequest, NotConfigured
from scrapy.http import Request

from crawler.middlewares.crawl_scope import REFUSED_META
from crawler.urls import site_host

logger = logging.getLogger(__name__)

HOST = "host"
JOB = "job"

# request.meta key: the request holds a reservation (set when queued, removed when it is spent or dropped).
RESERVED_META = "onionscope_budget_reserved"


class PageBudget:
    """Pages queued and fetched, per host and in all, against ``max_pages_per_host`` and ``max_pages`` (None: no cap)."""

    def __init__(self, max_pages_per_host: int | None, max_pages: int | None):
        self.max_pages_per_host = max_pages_per_host
        self.max_pages = max_pages
        self.spent_per_host: Counter[str] = Counter()
        self.reserved_per_host: Counter[str] = Counter()
        self.spent = 0
        self.reserved = 0

    def _over(self, host: str, extra_total: int, extra_host: int) -> str | None:
        if self.max_pages is not None and self.spent + extra_total >= self.max_pages:
            return JOB
        if self.max_pages_per_host is not None and self.spent_per_host[host] + extra_host >= self.max_pages_per_host:
            return HOST
        return None

    def reserve(self, host: str) -> str | None:
        """Hold one page for a queued request of ``host``; returns None when held, else the budget used up."""
        over = self._over(host, self.reserved, self.reserved_per_host[host])
        if over is None:
            self.reserved += 1
            self.reserved_per_host[host] += 1
        return over

    def release(self, host: str) -> None:
        """Give back a reservation of ``host`` (its request was dropped, or is being spent)."""
        if self.reserved_per_host[host] > 0:
            self.reserved_per_host[host] -= 1
            self.reserved -= 1
            if not self.reserved_per_host[host]:
                del self.reserved_per_host[host]

    def spend(self, host: str, reserved: bool = False) -> str | None:
        """Count one page fetched from ``host``; returns None when counted, else the budget used up.

        A ``reserved`` page was already inside the budget when it was queued, so it is always counted.
        """
        if reserved:
            self.release(host)
        else:
            over = self._over(host, self.reserved, self.reserved_per_host[host])
            if over is not None:
                return over
        self.spent += 1
        self.spent_per_host[host] += 1
        return None


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
        crawler.signals.connect(middleware.request_dropped, signal=signals.request_dropped)
        return middleware

    def request_scheduled(self, request: Request, spider: Any) -> None:
        if request.meta.get("retry_times", 0):
            return  # the first attempt already spent this page
        if request.meta.get(REFUSED_META):
            return  # the crawl scope or the trap rules refused it: it is never queued
        host = site_host(request.url) or ""
        over = self.budget.reserve(host)
        if over is not None:
            self._refuse(request, host, over)
        request.meta[RESERVED_META] = True

    def request_dropped(self, request: Request, spider: Any) -> None:
        # The scheduler refused it (a duplicate): its page goes back to the budget.
        self._release(request)

    def process_request(self, request: Request, spider: Any = None) -> None:
        if request.meta.get("retry_times", 0):
            return
        host = site_host(request.url) or ""
        over = self.budget.spend(host, reserved=bool(request.meta.pop(RESERVED_META, False)))
        if over is not None:
            self._refuse(request, host, over)

    def process_exception(self, request: Request, exception: Exception, spider: Any = None) -> None:
        # An earlier downloader middleware refused the request before process_request saw it.
        self._release(request)

    def _release(self, request: Request) -> None:
        if request.meta.pop(RESERVED_META, False):
            self.budget.release(site_host(request.url) or "")

    def _refuse(self, request: Request, host: str, over: str) -> None:
        self._count(f"budget/refused/{over}")
        if over == JOB and not self._job_reported:
            self._job_reported = True
            self._count("budget/job_exhausted")
            logger.warning("the crawl has its budget of %d pages fetched or queued (crawl_max_pages); "
                           "no further page is fetched", self.budget.max_pages)
        elif over == HOST and host not in self._hosts_reported:
            self._hosts_reported.add(host)
            self._count("budget/hosts_exhausted")
            # Which host: a host at its budget was not crawled completely (crawler.freshness.completeness).
            self._count(f"budget/host_exhausted/{host}")
            logger.info("%r has its budget of %d pages fetched or queued (crawl_max_pages_per_host); "
                        "no further page of it is fetched", host, self.budget.max_pages_per_host)
        raise IgnoreRequest(f"page budget ({over}) used up: {request.url}")

    def _count(self, key: str) -> None:
        if self.stats is not None:
            self.stats.inc_value(key)
