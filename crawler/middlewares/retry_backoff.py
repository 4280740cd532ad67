"""The retry policy's timing: a retried request waits before it is sent again, longer each time.

Scrapy's RetryMiddleware re-queues a failed request at once, so an onion service that is
down for a few seconds fails all ``retry_times`` attempts within a second and its pages are
lost.  With this middleware the n-th retry of a request is sent ``retry_backoff_seconds *
2 ** (n - 1)`` seconds after it was scheduled (at most :data:`MAX_DELAY_SECONDS`): with the
defaults (2 retries, 5 s) a service may be away for about 15 s without a page lost.  Which
failures are retried, and how often, stays Scrapy's (``RETRY_TIMES``, ``RETRY_EXCEPTIONS``
with tor's retryable errors, ``RETRY_HTTP_CODES``).

Public API: :class:`RetryBackoffMiddleware` (a downloader middleware; Scrapy setting
``RETRY_BACKOFF_SECONDS``, 0 switches it off with ``NotConfigured``) and :func:`backoff_delay`.

A waiting retry holds one of ``CONCURRENT_REQUESTS`` while it waits, not its host's slot.

Stats: ``retry/backoff_waits`` and ``retry/backoff_seconds``; an INFO line per wait.
"""

from __future__ import annotations

import logging
from typing import Any

from scrapy.exceptions import NotConfigured
from scrapy.http import Request
from scrapy.utils.defer import maybe_deferred_to_future
from twisted.internet.task import deferLater

logger = logging.getLogger(__name__)

PATH = "crawler.middlewares.retry_backoff.RetryBackoffMiddleware"
MAX_DELAY_SECONDS = 300.0
# request.meta key: the retry number whose wait is done (each attempt waits once).
WAITED_META = "onionscope_backoff_waited"


def backoff_delay(backoff_seconds: float, retry_number: int) -> float:
    """Seconds before the ``retry_number``-th retry (1, 2, ...): doubling from ``backoff_seconds``, capped."""
    return min(backoff_seconds * 2 ** max(0, retry_number - 1), MAX_DELAY_SECONDS)


class RetryBackoffMiddleware:
    """See the module docstring."""

    def __init__(self, backoff_seconds: float, stats: Any = None):
        self.backoff_seconds = backoff_seconds
        self.stats = stats

    @classmethod
    def from_crawler(cls, crawler: Any) -> "RetryBackoffMiddleware":
        backoff = crawler.settings.getfloat("RETRY_BACKOFF_SECONDS")
        if backoff <= 0:
            raise NotConfigured("RETRY_BACKOFF_SECONDS is 0: retries are sent at once")
        return cls(backoff, crawler.stats)

    async def process_request(self, request: Request, spider: Any = None) -> None:
        retry_number = int(request.meta.get("retry_times", 0))
        if retry_number <= 0 or request.meta.get(WAITED_META) == retry_number:
            return None
        request.meta[WAITED_META] = retry_number
        delay = backoff_delay(self.backoff_seconds, retry_number)
        if self.stats is not None:
            self.stats.inc_value("retry/backoff_waits")
            self.stats.inc_value("retry/backoff_seconds", delay)
        logger.info("retry %d of %.200s in %.1f s (retry_backoff_seconds)", retry_number, request.url, delay)
        from twisted.internet import reactor

        await maybe_deferred_to_future(deferLater(reactor, delay, lambda: None))
        return None
