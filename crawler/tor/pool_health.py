"""The health of the tor clients of a pool: one small state machine per client, and the pool's healthy set.

A client is *healthy* (hosts are pinned to it), *unhealthy* (its hosts have moved to other
clients; the monitor of :mod:`crawler.tor.pool` restarts or reattaches it) or *recovering*
(that restart or reattach is under way).  It becomes healthy again only through
:meth:`ClientHealth.recovered`, which the monitor calls once the client answers on its
ControlPort with bootstrap at 100 %: a client that merely stops failing for a moment does not
flap back.

What makes a healthy client unhealthy:

* its ControlPort connection is lost or cannot be opened (:meth:`ClientHealth.control_lost`);
* ``GETINFO status/bootstrap-phase`` reports less than 100 % (:meth:`ClientHealth.bootstrap`);
* ``circuit_failures`` CIRC FAILED events in a row, without a CIRC BUILT in between
  (:meth:`ClientHealth.circuit`).  Which events count is :func:`circuit_outcome`'s call: not the
  circuits to an onion service's introduction and rendezvous points (a dead or overloaded onion
  fails them, whatever the client), and not ``NOPATH`` (tor found no path satisfying its
  restrictions for that one circuit: it built nothing and says nothing about the network);
* ``socks_failures`` requests in a row whose SOCKS port refused or dropped the connection
  (:class:`~crawler.tor.errors.TorUnreachableError`), without a request carried in between
  (:meth:`ClientHealth.socks`).  Errors that are a site's (descriptor not found, host
  unreachable) say nothing about the client and are not counted.

Public API: :func:`circuit_outcome` (status, purpose, reason) -> True (a failure that counts),
False (built), None (not counted); :class:`ClientHealth`; :class:`PoolHealth` (address -> ClientHealth, the healthy
set, an ``on_change`` callback); :class:`Transition` (what an event changed);
:data:`HEALTHY`, :data:`UNHEALTHY`, :data:`RECOVERING`.  Pure: no I/O, no clock; thread-safe
(:class:`PoolHealth` serialises every event under one lock, since stem's event threads and the
reactor both feed it).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Callable, Generic, Hashable, Iterable, TypeVar

HEALTHY = "healthy"
UNHEALTHY = "unhealthy"
RECOVERING = "recovering"
STATES = (HEALTHY, UNHEALTHY, RECOVERING)

DEFAULT_CIRCUIT_FAILURES = 10
DEFAULT_SOCKS_FAILURES = 3


# Circuits whose failure is usually the onion service's doing (its intro points, its rendezvous).
SERVICE_DEPENDENT_PURPOSES = frozenset({"HS_CLIENT_INTRO", "HS_CLIENT_REND", "HS_SERVICE_INTRO", "HS_SERVICE_REND"})
# Failure reasons that say nothing about the client's network.
NOT_COUNTED_REASONS = frozenset({"NOPATH"})


def circuit_outcome(status: str, purpose: str | None, reason: str | None) -> bool | None:
    """How a CIRC event counts for the client's health: True a failure, False a built circuit, None not at all."""
    status = (status or "").upper()
    if status == "BUILT":
        return False
    if status != "FAILED":
        return None
    if (purpose or "").upper() in SERVICE_DEPENDENT_PURPOSES or (reason or "").upper() in NOT_COUNTED_REASONS:
        return None
    return True


@dataclass(frozen=True)
class Transition:
    """A client went from ``before`` to ``after`` because of ``reason``."""

    client: str
    before: str
    after: str
    reason: str


class ClientHealth:
    """The state of one tor client (module docstring); every event returns a :class:`Transition` or None."""

    def __init__(self, name: str, *, circuit_failures: int = DEFAULT_CIRCUIT_FAILURES,
                 socks_failures: int = DEFAULT_SOCKS_FAILURES):
        if circuit_failures < 1 or socks_failures < 1:
            raise ValueError("failure thresholds must be at least 1")
        self.name = name
        self.circuit_failures_allowed = circuit_failures
        self.socks_failures_allowed = socks_failures
        self.state = HEALTHY
        self.reason = ""
        self.circuit_failures = 0  # in a row
        self.socks_failures = 0  # in a row
        self.times_unhealthy = 0

    @property
    def healthy(self) -> bool:
        return self.state == HEALTHY

    def _fail(self, reason: str) -> Transition | None:
        if self.state != HEALTHY:
            return None  # already out of the pool; the first reason stays
        self.state, self.reason = UNHEALTHY, reason
        self.times_unhealthy += 1
        return Transition(self.name, HEALTHY, UNHEALTHY, reason)

    def control_lost(self, detail: str = "") -> Transition | None:
        """Its ControlPort connection closed or cannot be opened."""
        return self._fail("ControlPort lost" + (f" ({detail})" if detail else ""))

    def bootstrap(self, percent: int) -> Transition | None:
        """tor reports bootstrap ``percent``; below 100 a healthy client turns unhealthy."""
        if percent >= 100:
            return None
        return self._fail(f"bootstrap at {percent}%")

    def circuit(self, failed: bool) -> Transition | None:
        """A CIRC event: ``failed`` for FAILED, False for BUILT (other statuses are not reported)."""
        if not failed:
            self.circuit_failures = 0
            return None
        self.circuit_failures += 1
        if self.circuit_failures >= self.circuit_failures_allowed:
            return self._fail(f"{self.circuit_failures} circuits failed in a row")
        return None

    def socks(self, ok: bool) -> Transition | None:
        """A request through its SOCKS port: ``ok`` when carried, False when the port refused or dropped it."""
        if ok:
            self.socks_failures = 0
            return None
        self.socks_failures += 1
        if self.socks_failures >= self.socks_failures_allowed:
            return self._fail(f"{self.socks_failures} requests in a row could not reach its SOCKS port")
        return None

    def recovering(self, how: str) -> Transition | None:
        """The monitor starts restarting or reattaching an unhealthy client (``how`` says which)."""
        if self.state != UNHEALTHY:
            return None
        self.state = RECOVERING
        return Transition(self.name, UNHEALTHY, RECOVERING, how)

    def recovered(self, how: str = "bootstrapped again") -> Transition | None:
        """The client answers with bootstrap at 100 %: healthy again, counters reset."""
        self.circuit_failures = self.socks_failures = 0
        if self.state == HEALTHY:
            return None
        before, self.state, self.reason = self.state, HEALTHY, ""
        return Transition(self.name, before, HEALTHY, how)


Client = TypeVar("Client", bound=Hashable)


class PoolHealth(Generic[Client]):
    """Every client's :class:`ClientHealth`; ``on_change(transition, healthy)`` runs after each transition.

    ``healthy`` passed to ``on_change`` is the tuple of clients healthy after it, in the
    configured order.  Methods take the client key and return the transition or None;
    unknown clients raise KeyError.
    """

    def __init__(self, clients: Iterable[Client], *, circuit_failures: int = DEFAULT_CIRCUIT_FAILURES,
                 socks_failures: int = DEFAULT_SOCKS_FAILURES,
                 on_change: Callable[[Transition, tuple[Client, ...]], None] | None = None):
        self.clients: tuple[Client, ...] = tuple(dict.fromkeys(clients))
        self._health = {client: ClientHealth(str(client), circuit_failures=circuit_failures,
                                             socks_failures=socks_failures) for client in self.clients}
        self._lock = threading.Lock()
        self.on_change = on_change

    def __contains__(self, client: object) -> bool:
        return client in self._health

    def state(self, client: Client) -> ClientHealth:
        return self._health[client]

    def healthy(self) -> tuple[Client, ...]:
        with self._lock:
            return self._healthy_locked()

    def _healthy_locked(self) -> tuple[Client, ...]:
        return tuple(client for client in self.clients if self._health[client].healthy)

    def _apply(self, client: Client, event: Callable[[ClientHealth], Transition | None]) -> Transition | None:
        with self._lock:
            transition = event(self._health[client])
            healthy = self._healthy_locked()
        if transition is not None and self.on_change is not None:
            self.on_change(transition, healthy)
        return transition

    def control_lost(self, client: Client, detail: str = "") -> Transition | None:
        return self._apply(client, lambda health: health.control_lost(detail))

    def bootstrap(self, client: Client, percent: int) -> Transition | None:
        return self._apply(client, lambda health: health.bootstrap(percent))

    def circuit(self, client: Client, failed: bool) -> Transition | None:
        return self._apply(client, lambda health: health.circuit(failed))

    def socks(self, client: Client, ok: bool) -> Transition | None:
        return self._apply(client, lambda health: health.socks(ok))

    def recovering(self, client: Client, how: str) -> Transition | None:
        return self._apply(client, lambda health: health.recovering(how))

    def recovered(self, client: Client, how: str = "bootstrapped again") -> Transition | None:
        return self._apply(client, lambda health: health.recovered(how))

    def snapshot(self) -> list[dict[str, object]]:
        """Each client's ``{"client", "state", "reason", "times_unhealthy"}``, in configured order."""
        with self._lock:
            return [{"client": str(client), "state": health.state, "reason": health.reason,
                     "times_unhealthy": health.times_unhealthy}
                    for client, health in self._health.items()]
