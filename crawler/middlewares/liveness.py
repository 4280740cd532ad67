"""Onion liveness in the downloader: every fetch attempt recorded, and hosts that are backing off left alone.

Two downloader middlewares, both reading and writing the spider's
:class:`~crawler.freshness.context.FreshnessContext` (``spider.freshness``;
a spider without one switches them off with ``NotConfigured``):

* :class:`LivenessMiddleware` sits next to the download (after Scrapy's
  RetryMiddleware, so it sees every attempt, retries included).  Each attempt
  that reached the transport becomes an
  :class:`~crawler.freshness.liveness.Attempt`: up (a status below 500) or
  down with its reason (:func:`~crawler.freshness.liveness.attempt_reason`:
  the SOCKS error kind, ``timeout``, ``http_503``...) and its latency (from
  handing the request to the transport to the answer or the error).  It also
  notes which URLs were answered and which failed last, for
  :mod:`crawler.freshness.completeness`.  Requests refused before the
  download (scope, media, budget, back-off) are not attempts.
* :class:`BackoffGateMiddleware` sits before the page budget: a request to
  an onion host that is backing off
  (:func:`~crawler.freshness.liveness.backoff_state` of its stored checks) is
  dropped with ``IgnoreRequest`` before it spends a page or reaches tor.

Stats: ``liveness/attempts``, ``liveness/attempts_failed``,
``liveness/skipped_requests`` (requests not made while their host backs off)
and ``liveness/hosts_backing_off`` (such hosts, each logged once with the
time of its next check).
"""

from __future__ import annotations

import logging
import time
from typing import Any

from scrapy.exceptions import IgnoreRequest, NotConfigured, StopDownload
from scrapy.http import Request, Response

from crawler.freshness.context import FreshnessContext
from crawler.freshness.instants import utc_iso
from crawler.freshness.liveness import Attempt, attempt_reason
from crawler.urls import onion_host

logger = logging.getLogger(__name__)

# request.meta key: when this attempt was handed to the transport (time.monotonic()).
STARTED_META = "onionscope_attempt_started"


def _context(crawler: Any) -> FreshnessContext:
    context = getattr(getattr(crawler, "spider", None), "freshness", None)
    if not isinstance(context, FreshnessContext):
        raise NotConfigured("the spider carries no freshness context (spider.freshness)")
    return context


class LivenessMiddleware:
    """Records every fetch attempt (see the module docstring)."""

    def __init__(self, context: FreshnessContext, stats: Any = None, clock: Any = time.monotonic):
        self.context = context
        self.stats = stats
        self.clock = clock

    @classmethod
    def from_crawler(cls, crawler: Any) -> "LivenessMiddleware":
        return cls(_context(crawler), crawler.stats)

    def process_request(self, request: Request, spider: Any = None) -> None:
        request.meta[STARTED_META] = self.clock()

    def _latency_ms(self, started: float) -> int:
        return max(0, round((self.clock() - started) * 1000))

    def process_response(self, request: Request, response: Response, spider: Any = None) -> Response:
        started = request.meta.pop(STARTED_META, None)
        status = response.status
        if started is not None:
            self._record(request, up=status < 500, reason=f"http_{status}" if status >= 500 else None,
                         status=status, latency_ms=self._latency_ms(started))
        if status < 500:
            self.context.observations.note_answer(request.url)
        else:
            self.context.observations.note_failure(request.url)
        return response

    def process_exception(self, request: Request, exception: BaseException, spider: Any = None) -> None:
        started = request.meta.pop(STARTED_META, None)
        if started is None:  # refused before it reached the transport: not an attempt
            return None
        if isinstance(exception, StopDownload):
            # The site answered; we stopped reading (a content type never fetched).
            self._record(request, up=True, reason=None, status=None, latency_ms=self._latency_ms(started))
            self.context.observations.note_answer(request.url)
            return None
        self._record(request, up=False, reason=attempt_reason(exception), status=None,
                     latency_ms=self._latency_ms(started))
        self.context.observations.note_failure(request.url)
        return None

    def _record(self, request: Request, *, up: bool, reason: str | None, status: int | None,
                latency_ms: int) -> None:
        self._count("liveness/attempts")
        if not up:
            self._count("liveness/attempts_failed")
        host = onion_host(request.url)
        if host:
            self.context.observations.record_attempt(Attempt(
                host=host, at=utc_iso(), up=up, reason=reason, status=status, latency_ms=latency_ms, url=request.url,
            ))

    def _count(self, key: str) -> None:
        if self.stats is not None:
            self.stats.inc_value(key)


class BackoffGateMiddleware:
    """Drops requests to onion hosts that are backing off (see the module docstring)."""

    def __init__(self, context: FreshnessContext, stats: Any = None):
        self.context = context
        self.stats = stats
        self._reported: set[str] = set()

    @classmethod
    def from_crawler(cls, crawler: Any) -> "BackoffGateMiddleware":
        context = _context(crawler)
        if not context.backoff.enabled:
            raise NotConfigured("liveness back-off is off (liveness_backoff_seconds = 0)")
        return cls(context, crawler.stats)

    def process_request(self, request: Request, spider: Any = None) -> None:
        host = onion_host(request.url)
        if not host:
            return
        backoff = self.context.backoff_for(host)
        if not backoff.backing_off:
            return
        self.context.observations.note_backoff_skip(host)
        self._count("liveness/skipped_requests")
        if host not in self._reported:
            self._reported.add(host)
            self._count("liveness/hosts_backing_off")
            logger.info("%s is backing off after %d failed checks (last: %s); next check after %s, not fetched now",
                        host, backoff.consecutive_down, backoff.last_down_reason, backoff.next_check_at)
        raise IgnoreRequest(f"{host} is backing off until {backoff.next_check_at}: {request.url}")

    def _count(self, key: str) -> None:
        if self.stats is not None:
            self.stats.inc_value(key)
