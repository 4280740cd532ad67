"""The tor client pool's monitor: each client's health through stem, and its restart or reattach.

M tor clients serve N crawl workers (setting ``tor_pool``: ``SOCKS=CONTROL`` pairs).  Every
worker pins each onion host to one healthy client by rendezvous hashing
(:func:`crawler.tor.isolation.rendezvous_client`), a pure function of the host and the set of
healthy clients, so workers in other processes or on other machines agree without talking to
each other, and a client that leaves moves only its own hosts.

:class:`TorPoolMonitor` is the Scrapy extension that keeps each worker's view of the healthy
set: one thread per pool client attaches to its ControlPort and

* polls ``GETINFO status/bootstrap-phase`` every ``TOR_POOL_CHECK_SECONDS``;
* listens for ``CIRC`` events (FAILED and BUILT, as
  :func:`~crawler.tor.pool_health.circuit_outcome` counts them) and for the control connection
  closing (a killed tor is noticed at once);
* feeds them into the client's :class:`~crawler.tor.pool_health.ClientHealth`, which the download
  handler feeds as well (requests its SOCKS port refused or carried) and which pins hosts among
  the healthy clients (:func:`crawler.tor.download_handler.pool_health_of`).

When a client turns unhealthy its hosts move at once, and the monitor brings the client back:

* a tor that onionscope launched (:func:`crawler.tor.control.launch_tor`, private networks
  only, recorded next to its torrc: :func:`crawler.tor.control.launched_torrc`) is *restarted*:
  stopped if it still runs, then launched again from the same torrc.  One worker restarts it
  (an exclusive lock next to the torrc); the others see it come back;
* any other tor (the user's, a docker service, a systemd unit) is *reattached*: its own
  supervisor restarts it, and the monitor keeps trying its ControlPort.

Either way the client is healthy again once it answers with bootstrap at 100 %, and its hosts
return to it.  Stats: ``tor/pool/unhealthy[/<client>]``, ``tor/pool/recovering[/<client>]``,
``tor/pool/healthy[/<client>]`` (transitions), ``tor/pool/restarted`` and
``tor/pool/restart_failed``, ``tor/pool/healthy_clients`` (now).

:func:`pool_status` (endpoints) reads every pool client's state once, for
``onionscope tor status`` and the ``/metrics`` endpoint.

Public API: :class:`TorPoolMonitor`, :data:`EXTENSION_PATH`, :func:`pool_status`,
:class:`PoolClientStatus`.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from crawler.tor.pool_health import HEALTHY, RECOVERING, UNHEALTHY, PoolHealth, circuit_outcome
from crawler.tor.socks5 import SocksAddress

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

    from crawler.tor.endpoints import TorEndpoints

logger = logging.getLogger(__name__)

EXTENSION_PATH = "crawler.tor.pool.TorPoolMonitor"
# How long one attach attempt may take (a ControlPort that accepts and never answers).
ATTACH_TIMEOUT_SECONDS = 10.0
# How long a restarted tor may take to open its ControlPort.
LAUNCH_TIMEOUT_SECONDS = 60.0

HostPort = tuple[str, int]


class _ClientWatch:
    """One pool client's monitor thread (see the module docstring)."""

    def __init__(self, monitor: "TorPoolMonitor", socks: SocksAddress, control: HostPort):
        self.monitor = monitor
        self.socks = socks
        self.control = control
        self.controller: Any = None
        self.torrc: Path | None = None  # set once we learn onionscope launched this tor
        self.pid: int | None = None  # the tor process last attached to
        self.attached_once = False
        self.wake = threading.Event()
        self.thread = threading.Thread(target=self._run, name=f"tor-pool-{socks}", daemon=True)

    @property
    def health(self) -> PoolHealth[SocksAddress]:
        return self.monitor.health

    def _run(self) -> None:
        stopping = self.monitor.stopping
        while not stopping.is_set():
            try:
                self._check()
            except Exception:  # the monitor must outlive any surprise; the next round tries again
                logger.exception("tor pool: checking %s failed", self.socks)
            self.wake.wait(self.monitor.check_seconds)
            self.wake.clear()
        self._close()

    def _check(self) -> None:
        from crawler.tor.control import TorControlError, bootstrap_status

        from crawler.tor.control import launched_tor_pid

        state = self.health.state(self.socks).state
        if state == UNHEALTHY:
            self._recover()
            state = self.health.state(self.socks).state
        elif (state == RECOVERING and self.controller is None and self.torrc is not None
              and launched_tor_pid(self.torrc) is None):
            self._restart(self.torrc)  # the last restart failed, or the restarted tor died as well
        if self.controller is None and not self._attach():
            return
        try:
            percent = bootstrap_status(self.controller).percent
        except TorControlError as exc:
            self._lost(str(exc))
            return
        if state == HEALTHY:
            if self.health.bootstrap(self.socks, percent) is not None:
                self.wake.set()  # recover at once
        elif state == RECOVERING and percent >= 100:
            self.health.recovered(self.socks, "answers on its ControlPort, bootstrapped 100%")

    def _attach(self) -> bool:
        """Attach to the ControlPort and listen; False (and the client unhealthy) when it does not answer."""
        from stem.control import EventType

        from crawler.tor.control import TorControlError, attach, launched_torrc

        try:
            controller = attach(self.control, password=self.monitor.password)
        except TorControlError as exc:
            self._lost(str(exc))
            return False
        torrc = launched_torrc(controller)
        if torrc is not None:
            self.torrc = torrc
        try:
            self.pid = int(controller.get_info("process/pid"))
        except Exception:  # an old tor, or one going away: then no restart decision rests on it
            self.pid = None
        controller.add_status_listener(self._status_changed, spawn=False)
        try:
            controller.add_event_listener(self._circuit_event, EventType.CIRC)
        except Exception as exc:  # stem raises ProtocolError/SocketError when tor goes away meanwhile
            controller.close()
            self._lost(f"SETEVENTS CIRC failed: {exc}")
            return False
        self.controller = controller
        if not self.attached_once:
            self.attached_once = True
            how = (f"launched by onionscope from {self.torrc}: restarted when it fails" if self.torrc is not None
                   else "not launched by onionscope: reattached when it fails")
            logger.info("tor pool: watching %s (ControlPort %s:%d; %s)", self.socks, *self.control, how)
        return True

    def _lost(self, detail: str) -> None:
        self._close()
        if self.health.control_lost(self.socks, detail) is not None:
            self.wake.set()

    def _close(self) -> None:
        controller, self.controller = self.controller, None
        if controller is not None:
            try:
                controller.close()
            except Exception:  # already closed by tor's side
                pass

    # ------------------------------------------------------------------ stem threads

    def _status_changed(self, controller: Any, state: Any, timestamp: float) -> None:
        from stem.control import State

        if state == State.CLOSED and controller is self.controller and not self.monitor.stopping.is_set():
            self.health.control_lost(self.socks, "the control connection closed")
            self.wake.set()

    def _circuit_event(self, event: Any) -> None:
        try:
            outcome = circuit_outcome(str(event.status), event.purpose, event.reason)
            if outcome:
                logger.debug("tor pool: %s circuit %s (%s) failed: %s (remote: %s)", self.socks, event.id,
                             event.purpose, event.reason, event.remote_reason)
            if outcome is not None and self.health.circuit(self.socks, outcome) is not None:
                self.wake.set()
        except Exception:  # never let one event kill stem's listener thread
            logger.debug("tor pool: unreadable CIRC event from %s", self.socks, exc_info=True)

    # ------------------------------------------------------------------ recovery

    def _recover(self) -> None:
        """Restart the tor if onionscope launched it, else reattach (the client is UNHEALTHY)."""
        self._close()
        if self.torrc is None:
            self.health.recovering(self.socks, "reattaching: waiting for its ControlPort to answer again")
            return
        self.health.recovering(self.socks, f"restarting tor from {self.torrc}")
        self._restart(self.torrc)

    def _restart(self, torrc: Path) -> None:
        from config.processes import LockHeld, exclusive_lock
        from crawler.tor.control import TorControlError, launch_tor, launched_tor_pid, stop_launched_tor

        try:
            # One worker restarts it; the others find it running and reattach.
            with exclusive_lock(torrc.with_name(torrc.name + ".restart.lock"), wait=False):
                running = launched_tor_pid(torrc)
                if running is not None:
                    if running != self.pid:
                        return  # another worker has restarted it already: reattach to the new one
                    # The very tor we judged unhealthy, still running (bootstrap, circuits): replace it.
                    stop_launched_tor(torrc)
                launched = launch_tor(torrc, timeout=LAUNCH_TIMEOUT_SECONDS)
        except LockHeld:
            logger.info("tor pool: another worker is restarting %s; reattaching", self.socks)
            return
        except (TorControlError, OSError) as exc:
            self.monitor.count("tor/pool/restart_failed")
            logger.error("tor pool: restarting %s from %s failed (%s); trying again in %.0f s", self.socks, torrc,
                         exc, self.monitor.check_seconds)
            return
        self.monitor.count("tor/pool/restarted")
        logger.warning("tor pool: restarted %s (tor pid %d, from %s)", self.socks, launched.pid, torrc)


class TorPoolMonitor:
    """Scrapy extension: watches every pool client (``TOR_POOL``) and restarts or reattaches failed ones."""

    def __init__(self, crawler: "Crawler", members: list[tuple[SocksAddress, HostPort]], password: str | None,
                 check_seconds: float):
        self.crawler = crawler
        self.stats = crawler.stats
        self.members = members
        self.password = password
        self.check_seconds = check_seconds
        self.stopping = threading.Event()
        self.watches: list[_ClientWatch] = []
        self.health: Any = None

    @classmethod
    def from_crawler(cls, crawler: "Crawler") -> "TorPoolMonitor":
        from scrapy import signals
        from scrapy.exceptions import NotConfigured

        from config.settings import load_settings
        from crawler.tor.download_handler import parse_pool

        members = parse_pool(crawler.settings.getlist("TOR_POOL"))
        if not members:
            raise NotConfigured("no tor pool configured (tor_pool)")
        onionscope_settings = crawler.settings.get("ONIONSCOPE_SETTINGS") or load_settings()
        monitor = cls(crawler, members, onionscope_settings["tor_password"],
                      crawler.settings.getfloat("TOR_POOL_CHECK_SECONDS"))
        crawler.signals.connect(monitor.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(monitor.spider_closed, signal=signals.spider_closed)
        return monitor

    def count(self, key: str, value: int = 1) -> None:
        """Add ``value`` to a stat, from any thread."""
        from twisted.internet import reactor

        reactor.callFromThread(self.stats.inc_value, key, value)  # type: ignore[attr-defined]

    def spider_opened(self, spider: Any) -> None:
        from twisted.internet import task

        from crawler.tor.download_handler import pool_health_of

        self.health = pool_health_of(self.crawler)
        if self.health is None:
            logger.error("tor pool: the tor download handler is not in use; the pool is not monitored")
            return
        self.watches = [_ClientWatch(self, socks, control) for socks, control in self.members]
        for watch in self.watches:
            watch.thread.start()
        self._gauge = task.LoopingCall(self._set_gauge)
        self._gauge.start(self.check_seconds, now=True)

    def _set_gauge(self) -> None:
        self.stats.set_value("tor/pool/healthy_clients", len(self.health.healthy()))

    def spider_closed(self, spider: Any) -> None:
        self.stopping.set()
        if getattr(self, "_gauge", None) is not None and self._gauge.running:
            self._gauge.stop()
            self._set_gauge()
        for watch in self.watches:
            watch.wake.set()
        for watch in self.watches:
            watch.thread.join(timeout=ATTACH_TIMEOUT_SECONDS)


# --------------------------------------------------------------------------- a one-off look


@dataclass(frozen=True)
class PoolClientStatus:
    """One pool client as seen now: ``healthy`` when it answers on its ControlPort with bootstrap at 100 %."""

    socks: str
    control: str
    healthy: bool
    bootstrap_percent: int | None
    problem: str | None
    launched_by_onionscope: bool


def pool_status(endpoints: "TorEndpoints") -> list[PoolClientStatus]:
    """Every pool client's state now (attach, read bootstrap, close), in configured order.

    A client that does not answer is reported unhealthy with the reason; raises nothing.
    """
    from crawler.tor.control import TorControlError, attach, bootstrap_status, launched_torrc

    found = []
    for socks_text, control_text in endpoints.pool_strings():
        host, _, port = control_text.rpartition(":")
        percent: int | None = None
        problem: str | None = None
        launched = False
        try:
            controller = attach((host.strip("[]"), int(port)), password=endpoints.password)
        except TorControlError as exc:
            problem = str(exc)
        else:
            try:
                percent = bootstrap_status(controller).percent
                launched = launched_torrc(controller) is not None
                if percent < 100:
                    problem = f"bootstrap at {percent}%"
            except TorControlError as exc:
                problem = str(exc)
            finally:
                controller.close()
        found.append(PoolClientStatus(socks_text, control_text, problem is None, percent, problem, launched))
    return found
