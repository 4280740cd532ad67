"""Stream isolation and the host -> tor client pinning: which SOCKS credentials and which client each onion host gets.

Public API:

* :func:`rendezvous_client(host, clients)` -> the client ``host`` is pinned to among
  ``clients``: rendezvous (highest-random-weight) hashing, a pure function of the host and
  the *set* of clients.  Every crawl worker, in any process or on any machine, that sees the
  same set of healthy clients pins every host to the same client without talking to the
  others; when a client leaves the set only the hosts it carried move (each to the client
  with its next-highest weight), and when it comes back exactly those hosts return.
  The weight of (client, host) is the first 8 bytes of ``sha256(client + "\\n" + host)``
  read big-endian, with ``client`` the SOCKS address as ``ip:port`` (``[v6]:port``) and
  ``host`` lower-cased; the highest weight wins (ties: the smaller address string).
  So every worker must reach a client at the same address (true for loopback and for a
  docker network).  Raises ValueError for an empty set.
* :class:`HostIsolation` -- ``credentials_for(host)`` returns the per-host
  :class:`~crawler.tor.socks5.SocksCredentials` (username ``onionscope``, password an
  HMAC of the host under a per-process secret), so tor (IsolateSOCKSAuth, on by
  default for every SocksPort) never shares a circuit between two hosts;
  ``client_for(host)`` returns the :class:`~crawler.tor.socks5.SocksAddress` the host is
  pinned to by :func:`rendezvous_client` over the clients currently healthy
  (:meth:`HostIsolation.set_healthy`; all of them until told otherwise, and all of them
  again if none is healthy, so requests then fail or wait on their own client instead of
  having nowhere to go).

The password is keyed so that it says nothing about the host to anyone who reads
tor's logs or the process list, and it changes every run so two crawls never share
circuits.  Nothing here does I/O.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from typing import Iterable, Sequence

from crawler.tor.socks5 import SocksAddress, SocksCredentials

ISOLATION_USERNAME = "onionscope"
# Hosts whose credentials and pinning are remembered before the memory starts over.
MAX_REMEMBERED_HOSTS = 65_536


def rendezvous_weight(client: SocksAddress | str, host: str) -> int:
    """The weight of ``client`` for ``host`` (module docstring): 64 bits of sha256 over both."""
    digest = hashlib.sha256(f"{client}\n{host.lower()}".encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big")


def rendezvous_client(host: str, clients: Iterable[SocksAddress]) -> SocksAddress:
    """The client among ``clients`` with the highest weight for ``host``; raises ValueError when there is none."""
    candidates = list(clients)
    if not candidates:
        raise ValueError("no tor client to pin a host to")
    # max() keeps the first of equal keys; sorting by address first makes ties independent of order.
    return max(sorted(candidates, key=str), key=lambda client: rendezvous_weight(client, host))


class HostIsolation:
    """Per-host SOCKS credentials and the host -> tor client pinning over the healthy clients."""

    def __init__(self, socks_addresses: Sequence[SocksAddress], secret: bytes | None = None):
        if not socks_addresses:
            raise ValueError("at least one SOCKS address is needed")
        self.socks_addresses: tuple[SocksAddress, ...] = tuple(dict.fromkeys(socks_addresses))
        self._secret = secret if secret is not None else os.urandom(32)
        # Replaced as a whole (never mutated), so a reader in another thread sees one set or the other.
        self._healthy: frozenset[SocksAddress] = frozenset(self.socks_addresses)
        self._hosts: set[str] = set()
        # Per host, computed once (an HMAC per request cost more than the rest of this class); bounded.
        self._credentials: dict[str, SocksCredentials] = {}
        # Per host: the healthy set it was pinned over and its client; stale once set_healthy replaces the set.
        self._pinned: dict[str, tuple[frozenset[SocksAddress], SocksAddress]] = {}

    def credentials_for(self, host: str) -> SocksCredentials:
        """The SOCKS username/password for ``host`` (case-insensitive, stable within this process)."""
        key = host.lower()
        credentials = self._credentials.get(key)
        if credentials is None:
            digest = hmac.new(self._secret, key.encode("utf-8"), hashlib.sha256).hexdigest()
            credentials = SocksCredentials(ISOLATION_USERNAME, digest[:40])
            if len(self._credentials) >= MAX_REMEMBERED_HOSTS:
                self._credentials.clear()
            self._credentials[key] = credentials
        return credentials

    @property
    def healthy(self) -> frozenset[SocksAddress]:
        """The clients hosts are pinned among now."""
        return self._healthy

    def set_healthy(self, addresses: Iterable[SocksAddress]) -> None:
        """Pin hosts among ``addresses`` from now on (unknown addresses are ignored)."""
        self._healthy = frozenset(address for address in addresses if address in self.socks_addresses)

    def client_for(self, host: str) -> SocksAddress:
        """The tor client ``host`` is pinned to now (:func:`rendezvous_client` over the healthy clients)."""
        key = host.lower()
        self._hosts.add(key)
        healthy = self._healthy  # read once: another thread may replace it
        pinned = self._pinned.get(key)
        if pinned is not None and pinned[0] is healthy:
            return pinned[1]
        client = rendezvous_client(key, healthy or self.socks_addresses)
        if len(self._pinned) >= MAX_REMEMBERED_HOSTS:
            self._pinned.clear()
        self._pinned[key] = (healthy, client)
        return client

    def hosts_per_client(self) -> dict[str, int]:
        """How many of the hosts seen so far each client carries now, for stats and ``onionscope tor status``."""
        counts = {str(address): 0 for address in self.socks_addresses}
        clients = self._healthy or self.socks_addresses
        for host in self._hosts:
            counts[str(rendezvous_client(host, clients))] += 1
        return counts
