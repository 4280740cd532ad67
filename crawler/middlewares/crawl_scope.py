"""The crawl scope: which URLs a crawl may request, decided once for seeds, links and redirects.

Public API:

* :class:`CrawlScope` -- the rule.  :meth:`CrawlScope.for_seeds` builds it from the seed
  URLs (raises :class:`OutOfScopeSeed` for a seed the crawl may not fetch) and
  :meth:`CrawlScope.refusal` says why a URL is out of scope, or None when it may be fetched;
* :class:`OutOfScopeSeed` -- a ``ValueError`` naming the seed and the reason;
* :class:`CrawlScopeMiddleware` -- a downloader middleware that also listens to
  ``request_scheduled``: every request, whatever made it (a link, a seed, Scrapy's
  RedirectMiddleware or MetaRefreshMiddleware, a retry), is checked against the spider's
  ``crawl_scope`` before it is queued and again before it reaches tor.  It honours neither
  ``dont_filter`` nor ``meta["allow_offsite"]``.

The rule, in order:

1. only ``http`` and ``https``;
2. never an IP-literal host (v4 in every spelling a resolver accepts, v6), never
   ``localhost``, a single-label name or a special-use/LAN suffix, never a malformed host:
   through a tor exit these reach the exit's own network;
3. onion services: the seeds' own (subdomains included); any other onion with ``follow_offsite``;
4. clearnet names: only with ``allow_clearnet`` (``onionscope crawl --dangerously-allow-clearnet``),
   then the seeds' hosts and their subdomains, or any with ``follow_offsite``.  They still go
   through tor (the transport has no other path).

A spider without a ``crawl_scope`` attribute gets :meth:`CrawlScope.onions_only`: any onion,
nothing else.

Stats: ``scope/refused/<reason>`` for every refused URL (the onion spider counts the links it
does not follow under the same keys) and ``scope/refused_redirects`` for the refused requests
that came from a redirect.  Reasons: ``scheme``, ``invalid_host``, ``ip_literal``,
``local_name``, ``clearnet``, ``offsite``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Iterable
from urllib.parse import urlsplit

from scrapy import signals
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Request

from config.i18n import N_, _
from crawler.urls import HOST_CLEARNET, HOST_INVALID, HOST_IP_LITERAL, HOST_LOCAL_NAME, HOST_ONION, host_kind, site_host

logger = logging.getLogger(__name__)

REFUSED_STAT_PREFIX = "scope/refused/"
REFUSED_REDIRECTS_STAT = "scope/refused_redirects"
# request.meta key set on a request refused while it was being scheduled (the reason), so the
# page budget and the trap rules, which listen to the same signal later, neither count nor hold it.
REFUSED_META = "onionscope_refused"

# Why a URL is out of scope, in words for logs (English) and errors (the command's language).
REASONS = {
    "scheme": N_("not an http or https URL"),
    HOST_INVALID: N_("not a usable host name"),
    HOST_IP_LITERAL: N_("an IP-literal host; onionscope never fetches IP addresses"),
    HOST_LOCAL_NAME: N_("a local host name; onionscope never fetches those"),
    HOST_CLEARNET: N_("a clearnet host; clearnet sites are fetched only with --dangerously-allow-clearnet"),
    "offsite": N_("another site than the seeds'; pass --follow-offsite to crawl other onion services"),
}


class OutOfScopeSeed(ValueError):
    """A seed URL that the crawl's scope refuses; the message names the seed and the reason."""


@dataclass(frozen=True)
class CrawlScope:
    """Which URLs a crawl may request (see the module docstring for the rule)."""

    seed_hosts: frozenset[str] = frozenset()
    follow_offsite: bool = False
    allow_clearnet: bool = False

    @classmethod
    def for_seeds(cls, seeds: Iterable[str], *, follow_offsite: bool = False,
                  allow_clearnet: bool = False) -> "CrawlScope":
        """The scope of a crawl of ``seeds``.

        :returns: a :class:`CrawlScope` whose on-site hosts are the seeds' (onion services
            folded to ``<label>.onion``).
        :raises OutOfScopeSeed: for a seed the rule refuses (an IP literal, a local name, a
            clearnet host without ``allow_clearnet``, a non-http scheme).
        """
        seeds = list(seeds)
        hosts = frozenset(host for host in map(site_host, seeds) if host)
        scope = cls(hosts, follow_offsite=follow_offsite, allow_clearnet=allow_clearnet)
        for seed in seeds:
            reason = scope.refusal(seed)
            if reason is not None:
                raise OutOfScopeSeed(_("seed {seed} is {reason}", seed=repr(seed), reason=_(REASONS[reason])))
        return scope

    @classmethod
    def onions_only(cls) -> "CrawlScope":
        """Any onion service, nothing else: the scope of a spider that declares none."""
        return cls(frozenset(), follow_offsite=True, allow_clearnet=False)

    def refusal(self, url: str) -> str | None:
        """None when ``url`` is in scope, else the reason (a key of :data:`REASONS`).  Never raises."""
        try:
            scheme = urlsplit(url.strip()).scheme.lower()
        except ValueError:
            return HOST_INVALID
        if scheme not in ("http", "https"):
            return "scheme"
        kind = host_kind(url)
        if kind == HOST_ONION or (kind == HOST_CLEARNET and self.allow_clearnet):
            if self.follow_offsite or self._on_site(url):
                return None
            return "offsite"
        return kind

    def _on_site(self, url: str) -> bool:
        host = site_host(url)
        if not host:
            return False
        return host in self.seed_hosts or any(host.endswith("." + seed) for seed in self.seed_hosts)


class CrawlScopeMiddleware:
    """Downloader middleware: drops every request outside the spider's ``crawl_scope``."""

    def __init__(self, stats: Any = None):
        self.stats = stats
        self.crawler: Any = None
        self._default_scope = CrawlScope.onions_only()
        self._warned: set[str] = set()

    @classmethod
    def from_crawler(cls, crawler: Any) -> "CrawlScopeMiddleware":
        middleware = cls(crawler.stats)
        middleware.crawler = crawler
        # Checked when a request is scheduled, so an out-of-scope one is never queued...
        crawler.signals.connect(middleware.request_scheduled, signal=signals.request_scheduled)
        return middleware

    def request_scheduled(self, request: Request, spider: Any) -> None:
        self.check(request, spider)

    def process_request(self, request: Request, spider: Any = None) -> None:
        # ...and again before it is downloaded, for requests that skip the scheduler.
        self.check(request, spider if spider is not None else getattr(self.crawler, "spider", None))

    def check(self, request: Request, spider: Any) -> None:
        """Return when ``request`` is in scope; raises IgnoreRequest (and counts it) when not."""
        scope = getattr(spider, "crawl_scope", None) or self._default_scope
        reason = scope.refusal(request.url)
        if reason is None:
            return
        redirected_from = request.meta.get("redirect_urls") or []
        request.meta[REFUSED_META] = reason
        self._count(REFUSED_STAT_PREFIX + reason)
        if redirected_from:
            self._count(REFUSED_REDIRECTS_STAT)
        if reason not in self._warned:  # once per reason: a hostile site can send thousands
            self._warned.add(reason)
            origin = f" (redirected from {redirected_from[-1]!r})" if redirected_from else ""
            logger.warning("not fetching %r%s: %s; further refusals of this kind are only counted (%s%s)",
                           request.url, origin, REASONS[reason], REFUSED_STAT_PREFIX, reason)
        raise IgnoreRequest(f"out of the crawl scope ({reason}): {request.url}")

    def _count(self, key: str) -> None:
        if self.stats is not None:
            self.stats.inc_value(key)
