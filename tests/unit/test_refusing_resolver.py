from __future__ import annotations

from typing import Any

import pytest
from twisted.internet.interfaces import IHostnameResolver, IResolverSimple

from crawler.tor.refusing_resolver import DnsLookupRefused, RefusingResolver


class _Receiver:
    def __init__(self) -> None:
        self.began = False
        self.addresses: list[Any] = []
        self.complete = False

    def resolutionBegan(self, resolution: Any) -> None:
        self.began = True

    def addressResolved(self, address: Any) -> None:
        self.addresses.append(address)

    def resolutionComplete(self) -> None:
        self.complete = True


def test_implements_both_reactor_interfaces() -> None:
    resolver = RefusingResolver(reactor=None)
    assert IResolverSimple.providedBy(resolver) and IHostnameResolver.providedBy(resolver)


def test_ip_literals_pass_through() -> None:
    resolver = RefusingResolver(reactor=None)
    results: list[str] = []
    resolver.getHostByName("127.0.0.1").addCallback(results.append)
    assert results == ["127.0.0.1"]
    receiver = _Receiver()
    resolver.resolveHostName(receiver, "::1", 9050)
    assert receiver.complete and [a.host for a in receiver.addresses] == ["::1"]
    assert resolver.refused == 0


@pytest.mark.parametrize("name", ["localhost", "example.com", "a" * 56 + ".onion"])
def test_names_are_refused(name: str) -> None:
    resolver = RefusingResolver(reactor=None)
    failures: list[Any] = []
    resolver.getHostByName(name).addErrback(failures.append)
    assert failures and failures[0].check(DnsLookupRefused)
    receiver = _Receiver()
    resolver.resolveHostName(receiver, name, 80)
    assert receiver.began and receiver.complete and receiver.addresses == []
    assert resolver.refused == 2
