"""Tor's side of a crawl, in the crawl's stats: bootstrap, circuit failures and NEWNYM, from tor's ControlPort.

The SOCKS transport sees only its own requests failing
(``tor/socks_error/<kind>``).  What tor itself goes through meanwhile -- a
client that has not finished bootstrapping, bootstrap problems, circuits that
fail to build, NEWNYM signals (whoever sent them: ``onionscope tor newnym``,
an operator, a controller) -- is only visible on its ControlPort.  When the
crawl's tor has a ControlPort configured (``tor_control`` with ``tor_cookie``
or ``tor_password``), the :class:`TorControlStats` extension attaches to it
when the spider opens, listens for tor's events for the whole crawl, and
counts them in Scrapy's stats as they come:

* ``tor/control/bootstrap_progress`` -- tor's bootstrap percentage when the crawl started;
* ``tor/control/bootstrap_incomplete`` -- 1 when that was below 100 %;
* ``tor/control/bootstrap_problems`` -- ``STATUS_CLIENT ... BOOTSTRAP ... WARNING=`` events;
* ``tor/control/circuit_failed`` -- ``CIRC ... FAILED`` events (any purpose: general, onion service);
* ``tor/control/newnym`` -- ``SIGNAL NEWNYM`` events (the signal tor acted on);
* ``tor/control/unavailable`` -- 1 when the ControlPort was configured but could not be used
  (the crawl goes on; the counts above are then missing).

:mod:`pipelines.job_runs` turns them into the crawl-run record's
``tor_bootstrap_failures``, ``tor_circuit_failures`` and ``tor_newnym``.
Without a ControlPort the extension is off (``NotConfigured``) and the record
says 0.  Connecting to the ControlPort is allowed by the network guard (it is
the crawl's own tor, :func:`crawler.tor.network_guard.crawl_endpoints`).

Public API: :class:`TorEventTally` (thread-safe counts of stem events;
:func:`event_stat` (event) -> the stat it counts under, or None);
:class:`TorControlStats` (the Scrapy extension); :data:`EXTENSION_PATH`, :data:`STAT_PREFIX`.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from typing import TYPE_CHECKING, Any, Callable

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

logger = logging.getLogger(__name__)

EXTENSION_PATH = "crawler.tor.control_stats.TorControlStats"
STAT_PREFIX = "tor/control/"
# How long the spider's opening waits for tor's ControlPort before the crawl goes on without it.
ATTACH_TIMEOUT_SECONDS = 10.0
# The event types the extension listens for (stem.control.EventType names).
EVENT_TYPES = ("CIRC", "SIGNAL", "STATUS_CLIENT")


def event_stat(event: Any) -> str | None:
    """The stat name (after :data:`STAT_PREFIX`) a stem event counts under, or None for events not counted."""
    from stem import CircStatus, Signal
    from stem.response.events import CircuitEvent, SignalEvent, StatusEvent

    if isinstance(event, CircuitEvent):
        return "circuit_failed" if event.status == CircStatus.FAILED else None
    if isinstance(event, SignalEvent):
        return "newnym" if event.signal == Signal.NEWNYM else None
    if isinstance(event, StatusEvent):
        if event.action == "BOOTSTRAP" and "WARNING" in (event.keyword_args or {}):
            return "bootstrap_problems"
    return None


class TorEventTally:
    """Counts tor's events by :func:`event_stat`; ``on_count(name)`` is called for each one counted.

    :meth:`handle` runs in stem's event thread; the counts are guarded by a lock.
    """

    def __init__(self, on_count: Callable[[str], None] | None = None):
        self._lock = threading.Lock()
        self._counts: Counter = Counter()
        self.on_count = on_count

    def handle(self, event: Any) -> None:
        """Count ``event`` if it is one of ours.  Never raises (stem would drop its listener thread's work)."""
        try:
            name = event_stat(event)
        except Exception:  # a malformed event must not stop the listener
            logger.debug("unreadable tor event", exc_info=True)
            return
        if name is None:
            return
        with self._lock:
            self._counts[name] += 1
        if self.on_count is not None:
            self.on_count(name)

    def counts(self) -> dict[str, int]:
        """The counts so far (a copy)."""
        with self._lock:
            return dict(self._counts)


class TorControlStats:
    """Scrapy extension: tor's bootstrap, circuit failures and NEWNYM signals in the crawl's stats (module docstring)."""

    def __init__(self, crawler: "Crawler", control: tuple[str, int], cookie_path: Any, password: str | None):
        self.crawler = crawler
        self.stats = crawler.stats
        self.control, self.cookie_path, self.password = control, cookie_path, password
        self.tally = TorEventTally(on_count=self._counted_in_any_thread)
        self.controller: Any = None
        self._closed = False
        self._lock = threading.Lock()

    @classmethod
    def from_crawler(cls, crawler: "Crawler") -> "TorControlStats":
        from scrapy import signals
        from scrapy.exceptions import NotConfigured

        from config.errors import UserError
        from config.settings import load_settings
        from crawler.tor.endpoints import resolve_tor_endpoints

        onionscope_settings = crawler.settings.get("ONIONSCOPE_SETTINGS") or load_settings()
        try:
            endpoints = resolve_tor_endpoints(onionscope_settings, resolve_host=None)
        except UserError:
            raise NotConfigured("no tor configured") from None
        if endpoints.control is None:
            raise NotConfigured("no tor ControlPort configured (tor_control)")
        extension = cls(crawler, endpoints.control, endpoints.cookie_path, endpoints.password)
        crawler.signals.connect(extension.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(extension.spider_closed, signal=signals.spider_closed)
        return extension

    # ------------------------------------------------------------------ stats

    def _counted_in_any_thread(self, name: str) -> None:
        from twisted.internet import reactor

        reactor.callFromThread(self.stats.inc_value, STAT_PREFIX + name)  # type: ignore[attr-defined]

    # ------------------------------------------------------------------ life cycle

    def spider_opened(self, spider: Any) -> Any:
        from twisted.internet import reactor
        from twisted.internet.threads import deferToThread

        for name in ("bootstrap_problems", "circuit_failed", "newnym"):
            self.stats.set_value(STAT_PREFIX + name, 0)
        deferred = deferToThread(self._attach)
        # A ControlPort that accepts and never answers must not hold the crawl up.
        deferred.addTimeout(ATTACH_TIMEOUT_SECONDS, reactor)
        deferred.addCallbacks(self._attached, self._unavailable)
        return deferred

    def _attach(self) -> int:
        """In a thread: attach, read the bootstrap state, listen for events; returns tor's bootstrap percentage."""
        from stem.control import EventType

        from crawler.tor.control import attach, bootstrap_status

        controller = attach(self.control, cookie_path=self.cookie_path, password=self.password)
        with self._lock:
            if self._closed:  # the crawl ended (or gave up waiting) first
                controller.close()
                raise RuntimeError("the crawl closed before tor's ControlPort answered")
            self.controller = controller  # spider_closed closes it, whatever happens next
        percent = bootstrap_status(controller).percent
        controller.add_event_listener(self.tally.handle, *(getattr(EventType, name) for name in EVENT_TYPES))
        return percent

    def _attached(self, percent: int) -> None:
        self.stats.set_value(STAT_PREFIX + "bootstrap_progress", percent)
        self.stats.set_value(STAT_PREFIX + "bootstrap_incomplete", 0 if percent >= 100 else 1)
        if percent < 100:
            logger.warning("tor at %s:%d has bootstrapped %d %% only; fetches may fail", *self.control, percent)

    def _unavailable(self, failure: Any) -> None:
        self.stats.set_value(STAT_PREFIX + "unavailable", 1)
        logger.warning("tor's ControlPort %s:%d could not be used (%s); the crawl goes on without tor's bootstrap, "
                       "circuit and NEWNYM counts", *self.control, failure.getErrorMessage())

    def spider_closed(self, spider: Any) -> None:
        with self._lock:
            self._closed = True
            controller, self.controller = self.controller, None
        if controller is not None:
            try:
                controller.remove_event_listener(self.tally.handle)
            finally:
                controller.close()
