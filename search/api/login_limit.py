"""How often one client address may try to log in: a sliding window, in memory.

Public API:

* :class:`LoginLimiter` (attempts, window_seconds) -- :meth:`LoginLimiter.attempt`
  (address) -> None when the attempt may go ahead (it is counted), else the
  seconds until the address may try again.
* :func:`client_address` (request) -> the address that counts: the peer's,
  or the one a proxy in ``trusted_proxies`` forwarded (uvicorn's
  ProxyHeadersMiddleware has already put it in ``request.client``; anyone
  else's ``X-Forwarded-For`` is ignored).

Every attempt counts, right or wrong: each costs a token lookup, and a
token guessed right among wrong ones must not get through either.  Memory is
bounded: at most ``attempts`` times per address, and at most
``max_addresses`` addresses (the stalest go first).  One server's memory
only: several servers behind one proxy each allow ``attempts``.
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict, deque
from typing import Any, Callable

from fastapi import Request


def client_address(request: Request) -> str:
    """The client address a login attempt is counted against."""
    return request.client.host if request.client is not None else "unknown"


class LoginLimiter:
    """At most ``attempts`` login attempts per address in any ``window_seconds``.  Thread-safe."""

    def __init__(self, attempts: int, window_seconds: float, *, max_addresses: int = 10_000,
                 clock: Callable[[], float] = time.monotonic):
        self.attempts = attempts
        self.window_seconds = window_seconds
        self.max_addresses = max_addresses
        self._clock = clock
        self._seen: OrderedDict[str, deque[float]] = OrderedDict()
        self._lock = threading.Lock()

    def attempt(self, address: str) -> int | None:
        """Count an attempt from ``address``; returns None if it may go ahead, else whole seconds to wait.

        A refused attempt is not counted, so the window slides on and the
        address may try again once its oldest counted attempt is
        ``window_seconds`` old.
        """
        now = self._clock()
        with self._lock:
            times = self._seen.get(address)
            if times is None:
                self._make_room(now)
                times = self._seen[address] = deque()
            while times and times[0] <= now - self.window_seconds:
                times.popleft()
            if len(times) >= self.attempts:
                return max(1, math.ceil(times[0] + self.window_seconds - now))
            times.append(now)
            self._seen.move_to_end(address)
            return None

    def _make_room(self, now: float) -> None:
        if len(self._seen) < self.max_addresses:
            return
        for address in [address for address, times in self._seen.items()
                        if not times or times[-1] <= now - self.window_seconds]:
            del self._seen[address]
        while len(self._seen) >= self.max_addresses:
            self._seen.popitem(last=False)

    def tracked(self) -> int:
        """How many addresses are remembered now (for tests and figures)."""
        return len(self._seen)


def limiter_from_settings(settings: Any) -> LoginLimiter:
    """The limiter the settings ``login_attempts_per_window`` and ``login_window_seconds`` describe."""
    return LoginLimiter(settings["login_attempts_per_window"], settings["login_window_seconds"])
