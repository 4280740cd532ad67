"""A reactor name resolver that refuses every DNS lookup: the crawl's last line of defence.

onionscope hands host names to Tor inside the SOCKS5 request; nothing in the
crawl process may resolve a target host locally (that would leak the
investigation to the local resolver, and onion names to the network).  Scrapy
installs this class as ``TWISTED_DNS_RESOLVER``: IP literals (such as the SOCKS
port's ``127.0.0.1``) pass through, every name fails at once with
:class:`DnsLookupRefused` (legacy interface) or with no addresses (hostname
interface), and the refusal is logged and counted.

Public API: :class:`RefusingResolver`, :class:`DnsLookupRefused`.
"""

from __future__ import annotations

import ipaddress
import logging
from typing import Any, Sequence

from twisted.internet import defer
from twisted.internet.address import IPv4Address, IPv6Address
from twisted.internet.interfaces import IHostnameResolver, IHostResolution, IResolverSimple
from zope.interface import implementer

logger = logging.getLogger(__name__)


class DnsLookupRefused(Exception):
    """A component asked the reactor to resolve a host name; onionscope never does."""


@implementer(IHostResolution)
class _Resolution:
    def __init__(self, name: str):
        self.name = name

    def cancel(self) -> None:  # nothing to cancel: the answer is immediate
        pass


@implementer(IResolverSimple, IHostnameResolver)
class RefusingResolver:
    """Resolves IP literals only.  ``refused`` counts the names it turned away."""

    def __init__(self, reactor: Any, stats: Any = None):
        self.reactor = reactor
        self.stats = stats
        self.refused = 0

    @classmethod
    def from_crawler(cls, crawler: Any, reactor: Any) -> "RefusingResolver":
        # Scrapy builds the resolver from the CrawlerProcess, which has no stats;
        # a single Crawler does.
        return cls(reactor, getattr(crawler, "stats", None))

    def install_on_reactor(self) -> None:
        self.reactor.installResolver(self)
        self.reactor.installNameResolver(self)

    def _refuse(self, name: str) -> None:
        self.refused += 1
        if self.stats is not None:
            self.stats.inc_value("tor/dns_lookups_refused")
        logger.error("refused a local DNS lookup of %r: host names go to Tor, never to a resolver", name)

    # IResolverSimple (reactor.resolve, connectTCP with a host name)
    def getHostByName(self, name: str, timeout: Sequence[int] = ()) -> defer.Deferred[str]:
        if _ip_literal(name) is not None:
            return defer.succeed(name)
        self._refuse(name)
        return defer.fail(DnsLookupRefused(f"local DNS lookup of {name!r} refused; onionscope sends host names to Tor"))

    # IHostnameResolver (HostnameEndpoint and friends)
    def resolveHostName(
        self,
        resolutionReceiver: Any,
        hostName: str,
        portNumber: int = 0,
        addressTypes: Sequence[type] | None = None,
        transportSemantics: str = "TCP",
    ) -> Any:
        resolution = _Resolution(hostName)
        resolutionReceiver.resolutionBegan(resolution)
        literal = _ip_literal(hostName)
        if literal is None:
            self._refuse(hostName)
        else:
            address_cls = IPv4Address if literal.version == 4 else IPv6Address
            resolutionReceiver.addressResolved(address_cls(transportSemantics, str(literal), portNumber))
        resolutionReceiver.resolutionComplete()
        return resolution


def _ip_literal(name: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(name.strip("[]"))
    except ValueError:
        return None
