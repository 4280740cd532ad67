"""Reattaching to a tor that went away mid-crawl: wait for its SOCKS port to answer again.

When the tor client is killed or restarted (by its supervisor: systemd, docker, the testnet's
controller), every request through it fails with
:class:`~crawler.tor.errors.TorUnreachableError` until it is back.  Scrapy's retries are
immediate, so without a wait every page queued during the outage would be lost.

Public API:

* :class:`SocksPortWatch` -- one per crawl, shared by the http and https handlers.
  :meth:`SocksPortWatch.answered` records that a SOCKS port carried a request;
  :meth:`SocksPortWatch.wait_until_back` (address, deadline) -> bool polls that port with plain
  TCP connects (to tor's own port, nothing else) until it accepts one again or the deadline
  passes, or until ``abandoned(address)`` says the port's hosts moved to other clients of the
  tor pool (:mod:`crawler.tor.pool`; False: the request then goes to the host's new client).
  All requests of one port share one poll.  A port that never answered in this crawl
  is not waited for: a crawl started without tor fails at once, as before.

Stats: ``tor/reconnect_waits`` (requests that waited), ``tor/reconnected`` (outages that
ended), ``tor/reconnect_gave_up`` (outages longer than the wait) and
``tor/reconnect_abandoned`` (waits ended because the pool left that client).  Logs one WARNING when
an outage starts and one when it ends or the wait is given up.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any, Callable

from scrapy.utils.defer import maybe_deferred_to_future
from twisted.internet.endpoints import TCP4ClientEndpoint, TCP6ClientEndpoint
from twisted.internet.protocol import Factory, Protocol
from twisted.internet.task import deferLater

from crawler.tor.socks5 import SocksAddress

logger = logging.getLogger(__name__)

POLL_SECONDS = 0.5
CONNECT_TIMEOUT_SECONDS = 2


class SocksPortWatch:
    """See the module docstring; ``reconnect_seconds`` 0 never waits."""

    def __init__(self, reactor: Any, reconnect_seconds: float, stats: Any = None,
                 abandoned: Callable[[SocksAddress], bool] | None = None):
        self.reactor = reactor
        self.reconnect_seconds = reconnect_seconds
        self.stats = stats
        # True for a port whose requests should stop waiting (a pool client its hosts left).
        self.abandoned = abandoned or (lambda address: False)
        self._answered: set[SocksAddress] = set()
        self._polls: dict[SocksAddress, asyncio.Future[bool]] = {}

    def answered(self, address: SocksAddress) -> None:
        """``address`` carried a request: it is a tor worth waiting for if it goes away."""
        self._answered.add(address)

    def may_wait(self, address: SocksAddress) -> bool:
        return self.reconnect_seconds > 0 and address in self._answered

    async def wait_until_back(self, address: SocksAddress, deadline: float) -> bool:
        """True once ``address`` accepts a TCP connection again, False at ``deadline`` (monotonic)."""
        self._count("tor/reconnect_waits")
        poll = self._polls.get(address)
        if poll is None or poll.done():
            poll = self._polls[address] = asyncio.ensure_future(self._poll(address, deadline))
        return await asyncio.shield(poll)

    async def _poll(self, address: SocksAddress, deadline: float) -> bool:
        started = time.monotonic()
        logger.warning("tor's SOCKS port %s stopped answering (tor stopped or restarting?); holding its requests "
                       "for up to %.0f s until it is back (tor_reconnect_seconds)", address, deadline - started)
        while time.monotonic() < deadline:
            if self.abandoned(address):
                self._count("tor/reconnect_abandoned")
                logger.warning("tor's SOCKS port %s left the tor pool; its requests go to other clients", address)
                return False
            if await self._accepts(address):
                self._count("tor/reconnected")
                logger.warning("tor's SOCKS port %s answers again after %.1f s; its requests go on",
                               address, time.monotonic() - started)
                return True
            await maybe_deferred_to_future(deferLater(self.reactor, POLL_SECONDS, lambda: None))
        self._count("tor/reconnect_gave_up")
        logger.error("tor's SOCKS port %s did not come back within %.0f s; its requests fail", address,
                     deadline - started)
        return False

    async def _accepts(self, address: SocksAddress) -> bool:
        endpoint_class = TCP6ClientEndpoint if ":" in address.host else TCP4ClientEndpoint
        endpoint = endpoint_class(self.reactor, address.host, address.port, timeout=CONNECT_TIMEOUT_SECONDS)
        try:
            protocol = await maybe_deferred_to_future(endpoint.connect(Factory.forProtocol(Protocol)))
        except Exception:  # refused, timed out, unreachable: not back yet
            return False
        protocol.transport.loseConnection()
        return True

    def _count(self, key: str) -> None:
        if self.stats is not None:
            self.stats.inc_value(key)
