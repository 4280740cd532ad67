"""Crawler traps: URLs a site can make up for ever, refused before they are queued.

A calendar links to the next month, a shop puts a fresh session id in every link, a search
page links to ever longer query strings, a relative link nests the path one level deeper per
page.  The per-host page budget (:mod:`crawler.middlewares.crawl_budget`) ends each of them
eventually, but only after the trap has eaten the host's budget.  These rules stop a trap
early, whatever the crawl depth, and leave the budget to the site's real pages.

Public API:

* :class:`TrapRules` -- the shape rules; :meth:`TrapRules.refusal` returns why a URL looks
  like a trap (``url_length``, ``query_params``, ``query_length``, ``repeated_segment``), or
  None.  A limit of 0 is off.
* :func:`url_pattern` -- the pattern a URL counts against: its site, its path with every
  segment that looks like an id (a digit in it, 16+ hex characters, or over 40 characters)
  replaced by ``*``, and the sorted names of its query parameters.  ``/cal/2024/01``,
  ``/cal/2031/07`` and ``/s/9f3a77c0e1d2b4a6/index`` give ``/cal/*/*`` and ``/s/*/index``.
* :class:`CrawlTrapMiddleware` -- a downloader middleware listening to ``request_scheduled``
  and ``request_dropped``: a request that breaks a rule, or whose pattern already had
  ``CRAWL_MAX_PAGES_PER_PATTERN`` requests queued, is dropped before it is queued (retries are
  not counted again; a redirect is a new request and is).

Scrapy settings read (from :mod:`config.settings`): ``CRAWL_MAX_URL_LENGTH``,
``CRAWL_MAX_QUERY_PARAMS``, ``CRAWL_MAX_QUERY_LENGTH``, ``CRAWL_MAX_PATH_REPEATS`` and
``CRAWL_MAX_PAGES_PER_PATTERN``; all 0 switches the middleware off (``NotConfigured``).

Stats: ``trap/refused/<reason>`` (``pattern_budget`` for the pattern budget) and
``trap/patterns_exhausted``; one WARNING per host and reason, then only the counts.
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from scrapy import signals
from scrapy.exceptions import IgnoreRequest, NotConfigured
from scrapy.http import Request

from crawler.middlewares.crawl_scope import REFUSED_META
from crawler.urls import site_host

logger = logging.getLogger(__name__)

REFUSED_STAT_PREFIX = "trap/refused/"
PATTERN_BUDGET = "pattern_budget"
PATTERNS_EXHAUSTED_STAT = "trap/patterns_exhausted"
# request.meta key: the pattern this queued request counts against (removed if it is dropped).
PATTERN_META = "onionscope_trap_pattern"

REASONS = {
    "url_length": "the URL is longer than crawl_max_url_length",
    "query_params": "the query has more parameters than crawl_max_query_params",
    "query_length": "the query string is longer than crawl_max_query_length",
    "repeated_segment": "a path segment repeats more often than crawl_max_path_repeats",
    PATTERN_BUDGET: "its URL pattern had crawl_max_pages_per_pattern pages queued already",
}

_HEX_ID = re.compile(r"[0-9a-f]{16,}", re.IGNORECASE)


@dataclass(frozen=True)
class TrapRules:
    """Shape limits of a URL the crawl follows (0: no limit)."""

    max_url_length: int = 0
    max_query_params: int = 0
    max_query_length: int = 0
    max_path_repeats: int = 0

    def refusal(self, url: str) -> str | None:
        """None when ``url`` passes every rule, else the first rule it breaks (a key of :data:`REASONS`)."""
        if self.max_url_length and len(url) > self.max_url_length:
            return "url_length"
        try:
            parts = urlsplit(url)
        except ValueError:
            return None  # the crawl scope refuses what it cannot split
        if self.max_query_length and len(parts.query) > self.max_query_length:
            return "query_length"
        if self.max_query_params and parts.query.count("&") + parts.query.count(";") + 1 > self.max_query_params:
            return "query_params"
        if self.max_path_repeats:
            segments = Counter(segment for segment in parts.path.split("/") if segment)
            if segments and max(segments.values()) > self.max_path_repeats:
                return "repeated_segment"
        return None


def _id_like(segment: str) -> bool:
    return any(character.isdigit() for character in segment) or len(segment) > 40 or bool(_HEX_ID.fullmatch(segment))


def url_pattern(url: str) -> str:
    """The pattern ``url`` counts against (see the module docstring).  Never raises."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    path = "/".join("*" if _id_like(segment) else segment for segment in parts.path.split("/"))
    names = sorted({name for name, _ in parse_qsl(parts.query, keep_blank_values=True)})
    return f"{site_host(url) or ''}{path or '/'}" + ("?" + "&".join(names) if names else "")


class CrawlTrapMiddleware:
    """Downloader middleware enforcing :class:`TrapRules` and the per-pattern page budget."""

    def __init__(self, rules: TrapRules, max_pages_per_pattern: int = 0, stats: Any = None):
        self.rules = rules
        self.max_pages_per_pattern = max_pages_per_pattern
        self.stats = stats
        self.queued_per_pattern: Counter[str] = Counter()
        self._warned: set[tuple[str, str]] = set()
        self._exhausted: set[str] = set()

    @classmethod
    def from_crawler(cls, crawler: Any) -> "CrawlTrapMiddleware":
        settings = crawler.settings
        rules = TrapRules(
            max_url_length=settings.getint("CRAWL_MAX_URL_LENGTH"),
            max_query_params=settings.getint("CRAWL_MAX_QUERY_PARAMS"),
            max_query_length=settings.getint("CRAWL_MAX_QUERY_LENGTH"),
            max_path_repeats=settings.getint("CRAWL_MAX_PATH_REPEATS"),
        )
        per_pattern = settings.getint("CRAWL_MAX_PAGES_PER_PATTERN")
        if rules == TrapRules() and not per_pattern:
            raise NotConfigured("no crawler-trap limits (CRAWL_MAX_URL_LENGTH ... CRAWL_MAX_PAGES_PER_PATTERN)")
        middleware = cls(rules, per_pattern, crawler.stats)
        crawler.signals.connect(middleware.request_scheduled, signal=signals.request_scheduled)
        crawler.signals.connect(middleware.request_dropped, signal=signals.request_dropped)
        return middleware

    def request_scheduled(self, request: Request, spider: Any) -> None:
        if request.meta.get("retry_times", 0) or request.meta.get(REFUSED_META):
            return  # counted on its first attempt, or already refused by the crawl scope
        reason = self.rules.refusal(request.url)
        pattern = url_pattern(request.url)
        if reason is None and self.max_pages_per_pattern:
            if self.queued_per_pattern[pattern] >= self.max_pages_per_pattern:
                reason = PATTERN_BUDGET
                if pattern not in self._exhausted:
                    self._exhausted.add(pattern)
                    self._count(PATTERNS_EXHAUSTED_STAT)
            else:
                self.queued_per_pattern[pattern] += 1
                request.meta[PATTERN_META] = pattern
        if reason is not None:
            self._refuse(request, reason, pattern)

    def request_dropped(self, request: Request, spider: Any) -> None:
        # The scheduler refused it (a duplicate): it never counted against its pattern.
        pattern = request.meta.pop(PATTERN_META, None)
        if pattern is not None and self.queued_per_pattern[pattern] > 0:
            self.queued_per_pattern[pattern] -= 1

    def _refuse(self, request: Request, reason: str, pattern: str) -> None:
        request.meta[REFUSED_META] = f"trap:{reason}"
        self._count(REFUSED_STAT_PREFIX + reason)
        host = site_host(request.url) or ""
        if (host, reason) not in self._warned:
            self._warned.add((host, reason))
            logger.warning("not fetching %.200r: %s (a crawler trap?; pattern %.200r); further ones of %s are only "
                           "counted (%s%s)", request.url, REASONS[reason], pattern, host, REFUSED_STAT_PREFIX, reason)
        raise IgnoreRequest(f"crawler trap ({reason}): {request.url[:200]}")

    def _count(self, key: str) -> None:
        if self.stats is not None:
            self.stats.inc_value(key)
