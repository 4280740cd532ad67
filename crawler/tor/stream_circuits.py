"""Which tor circuit carried a host's streams, from tor's ``STREAM`` events (best effort).

:class:`StreamCircuits` attaches to the crawl's tor ControlPort (``tor_control``, with
``tor_cookie`` or ``tor_password``) when the spider opens and listens for ``STREAM`` events.
Each stream that tor reports ``SUCCEEDED`` records ``target host -> circuit id``; the evidence
middleware asks :meth:`StreamCircuits.circuit_for` (tor client, url) when it writes a record
and gets the circuit of the latest stream that tor opened to that host.

Limits, said plainly: only the tor client whose ControlPort is configured is watched (the
first SOCKS endpoint, ``tor_socks``; ``tor_extra_socks`` clients get no circuit id); a record
names the circuit of the host's latest stream, which is the circuit of the response when the
host's streams share one circuit (onionscope isolates per host, and tor keeps one circuit per
isolation class until it is dirty), and may name a newer one when tor changed circuits while a
kept-alive connection still ran on the old.  Without a ControlPort, or when it does not answer
within :data:`ATTACH_TIMEOUT_SECONDS`, records have no circuit id (stat
``evidence/circuits_unavailable``); the crawl goes on.

Public API: :class:`StreamCircuits` (``for_crawler(crawler, settings)`` raises NotConfigured
without a ControlPort; ``circuit_for(tor_client, url) -> str | None``; ``note(event)``).
"""

from __future__ import annotations

import logging
import threading
from typing import Any
from urllib.parse import urlsplit

logger = logging.getLogger(__name__)

ATTACH_TIMEOUT_SECONDS = 10.0
# Hosts remembered at most (a crawl of many hosts keeps the latest ones).
MAX_HOSTS = 100_000


class StreamCircuits:
    """See the module docstring.  ``note`` runs in stem's event thread; reads are guarded by a lock."""

    def __init__(self, watched_client: str | None, control: Any = None, cookie_path: Any = None,
                 password: str | None = None, stats: Any = None):
        self.watched_client = watched_client
        self.control, self.cookie_path, self.password = control, cookie_path, password
        self.stats = stats
        self.controller: Any = None
        self._lock = threading.Lock()
        self._circuits: dict[str, str] = {}
        self._closed = False

    @classmethod
    def for_crawler(cls, crawler: Any, settings: Any) -> "StreamCircuits":
        """The tracker of the crawl's first tor client; raises NotConfigured without its ControlPort."""
        from scrapy import signals
        from scrapy.exceptions import NotConfigured

        from config.errors import UserError
        from crawler.tor.endpoints import resolve_tor_endpoints

        try:
            endpoints = resolve_tor_endpoints(settings, resolve_host=None)
        except UserError:
            raise NotConfigured("no tor configured") from None
        if endpoints.control is None or not endpoints.socks:
            raise NotConfigured("no tor ControlPort configured (tor_control)")
        tracker = cls(endpoints.socks_strings()[0], endpoints.control, endpoints.cookie_path, endpoints.password,
                      crawler.stats)
        crawler.signals.connect(tracker.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(tracker.spider_closed, signal=signals.spider_closed)
        return tracker

    # ------------------------------------------------------------------ events
    def note(self, event: Any) -> None:
        """Record a ``STREAM ... SUCCEEDED`` event's host and circuit.  Never raises (stem's thread)."""
        try:
            from stem import StreamStatus

            if getattr(event, "status", None) != StreamStatus.SUCCEEDED or not getattr(event, "circ_id", None):
                return
            host = str(getattr(event, "target_address", "") or "").lower().rstrip(".")
            if not host:
                return
            with self._lock:
                self._circuits.pop(host, None)
                self._circuits[host] = str(event.circ_id)
                if len(self._circuits) > MAX_HOSTS:
                    self._circuits.pop(next(iter(self._circuits)))
        except Exception:
            logger.debug("unreadable STREAM event", exc_info=True)

    def circuit_for(self, tor_client: str | None, url: str) -> str | None:
        """The circuit id of the latest stream to ``url``'s host through the watched client, or None."""
        if not tor_client or tor_client != self.watched_client:
            return None
        host = (urlsplit(url).hostname or "").lower()
        with self._lock:
            return self._circuits.get(host)

    # ------------------------------------------------------------------ life cycle
    def spider_opened(self, spider: Any) -> Any:
        from twisted.internet import reactor
        from twisted.internet.threads import deferToThread

        deferred = deferToThread(self._attach)
        deferred.addTimeout(ATTACH_TIMEOUT_SECONDS, reactor)
        deferred.addErrback(self._unavailable)
        return deferred

    def _attach(self) -> None:
        from stem.control import EventType

        from crawler.tor.control import attach

        controller = attach(self.control, cookie_path=self.cookie_path, password=self.password)
        with self._lock:
            if self._closed:
                controller.close()
                raise RuntimeError("the crawl closed before tor's ControlPort answered")
            self.controller = controller
        controller.add_event_listener(self.note, EventType.STREAM)
        # Streams tor opened before the listener was there (the first fetches race the attach).
        for stream in controller.get_streams(default=[]):
            self.note(stream)

    def _unavailable(self, failure: Any) -> None:
        if self.stats is not None:
            self.stats.set_value("evidence/circuits_unavailable", 1)
        logger.warning("evidence: tor's ControlPort could not be used for circuit ids (%s); records name the tor "
                       "client only", failure.getErrorMessage())

    def spider_closed(self, spider: Any) -> None:
        with self._lock:
            self._closed = True
            controller, self.controller = self.controller, None
        if controller is not None:
            try:
                controller.remove_event_listener(self.note)
            finally:
                controller.close()
