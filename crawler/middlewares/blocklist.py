"""The blocklist in the crawl: blocked hosts and URLs never fetched, blocked bodies never read.

Public API:

* :class:`BlocklistMiddleware` -- a downloader middleware that also listens to
  ``request_scheduled``.  A request whose URL the blocklist refuses (an onion host or a URL
  pattern of :mod:`config.blocklist`) is dropped before it is queued and again before it
  reaches tor, whatever made it (a seed, a link, a redirect, a retry); a response whose body
  hashes (sha256, as a page's ``content_hash``) to a blocked hash is dropped before the
  spider reads it.  Nothing of either is indexed.

Scrapy setting read: ``ONIONSCOPE_SETTINGS`` (its ``blocklist_file``); with an empty
blocklist the middleware is off (``NotConfigured``).

Stats: ``blocklist/refused/onion_host``, ``blocklist/refused/url_pattern`` and
``blocklist/refused/content_hash``; one WARNING per host and reason, then only the counts.
"""

from __future__ import annotations

import hashlib
import logging
from typing import Any

from scrapy import signals
from scrapy.exceptions import IgnoreRequest, NotConfigured
from scrapy.http import Request, Response

from config.blocklist import Blocklist, blocklist_for
from crawler.extractors.document import MAX_HTML_BYTES
from crawler.middlewares.crawl_scope import REFUSED_META
from crawler.urls import site_host

logger = logging.getLogger(__name__)

PATH = "crawler.middlewares.blocklist.BlocklistMiddleware"
REFUSED_STAT_PREFIX = "blocklist/refused/"


def body_hash(body: bytes) -> str:
    """The ``content_hash`` a page with this body is indexed with (sha256 of its first 10 MiB)."""
    return hashlib.sha256(bytes(body[:MAX_HTML_BYTES])).hexdigest()


class BlocklistMiddleware:
    """See the module docstring."""

    def __init__(self, blocklist: Blocklist, stats: Any = None):
        self.blocklist = blocklist
        self.stats = stats
        self._warned: set[tuple[str, str]] = set()

    @classmethod
    def from_crawler(cls, crawler: Any) -> "BlocklistMiddleware":
        settings = crawler.settings.get("ONIONSCOPE_SETTINGS")
        blocklist = blocklist_for(settings) if settings is not None else Blocklist()
        if not blocklist:
            raise NotConfigured(f"the blocklist is empty ({blocklist.source})")
        logger.info("blocklist %s: %d onion hosts, %d URL patterns, %d content hashes", blocklist.source,
                    len(blocklist.onion_hosts), len(blocklist.url_patterns), len(blocklist.content_hashes))
        middleware = cls(blocklist, crawler.stats)
        crawler.signals.connect(middleware.request_scheduled, signal=signals.request_scheduled)
        return middleware

    def request_scheduled(self, request: Request, spider: Any) -> None:
        if not request.meta.get(REFUSED_META):
            self._check(request)

    def process_request(self, request: Request, spider: Any = None) -> None:
        self._check(request)

    def process_response(self, request: Request, response: Response, spider: Any = None) -> Response:
        if self.blocklist.content_hashes and response.body and self.blocklist.blocks_hash(body_hash(response.body)):
            self._refuse(request, "content_hash")
        return response

    def _check(self, request: Request) -> None:
        reason = self.blocklist.refusal(request.url)
        if reason is not None:
            request.meta[REFUSED_META] = f"blocklist:{reason}"
            self._refuse(request, reason)

    def _refuse(self, request: Request, reason: str) -> None:
        if self.stats is not None:
            self.stats.inc_value(REFUSED_STAT_PREFIX + reason)
        host = site_host(request.url) or ""
        if (host, reason) not in self._warned:
            self._warned.add((host, reason))
            what = "its body is on the blocklist" if reason == "content_hash" else f"its {reason.replace('_', ' ')} is on the blocklist"
            logger.warning("not %s %.200r: %s (%s); further ones of %s are only counted (%s%s)",
                           "indexing" if reason == "content_hash" else "fetching", request.url, what,
                           self.blocklist.source, host, REFUSED_STAT_PREFIX, reason)
        raise IgnoreRequest(f"blocklisted ({reason}): {request.url[:200]}")
