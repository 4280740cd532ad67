"""Stream isolation: which SOCKS credentials and which tor client each onion host gets.

Public API:

* :class:`HostIsolation` -- ``credentials_for(host)`` returns the per-host
  :class:`~crawler.tor.socks5.SocksCredentials` (username ``onionscope``, password an
  HMAC of the host under a per-process secret), so tor (IsolateSOCKSAuth, on by
  default for every SocksPort) never shares a circuit between two hosts;
  ``client_for(host)`` returns the :class:`~crawler.tor.socks5.SocksAddress` the host
  is pinned to: the first time a host is seen it goes to the tor client with the fewest
  hosts, and it stays there for the life of the process.

The password is keyed so that it says nothing about the host to anyone who reads
tor's logs or the process list, and it changes every run so two crawls never share
circuits.  Nothing here does I/O.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from collections import Counter
from typing import Sequence

from crawler.tor.socks5 import SocksAddress, SocksCredentials

ISOLATION_USERNAME = "onionscope"


class HostIsolation:
    """Per-host SOCKS credentials and sticky host -> tor client assignment."""

    def __init__(self, socks_addresses: Sequence[SocksAddress], secret: bytes | None = None):
        if not socks_addresses:
            raise ValueError("at least one SOCKS address is needed")
        self.socks_addresses: tuple[SocksAddress, ...] = tuple(socks_addresses)
        self._secret = secret if secret is not None else os.urandom(32)
        self._assigned: dict[str, SocksAddress] = {}
        self._load: Counter[SocksAddress] = Counter({address: 0 for address in self.socks_addresses})

    def credentials_for(self, host: str) -> SocksCredentials:
        """The SOCKS username/password for ``host`` (case-insensitive, stable within this process)."""
        digest = hmac.new(self._secret, host.lower().encode("utf-8"), hashlib.sha256).hexdigest()
        return SocksCredentials(ISOLATION_USERNAME, digest[:40])

    def client_for(self, host: str) -> SocksAddress:
        """The tor client ``host`` sticks to; new hosts go to the least loaded client (ties: config order)."""
        key = host.lower()
        address = self._assigned.get(key)
        if address is None:
            address = min(self.socks_addresses, key=lambda candidate: self._load[candidate])
            self._assigned[key] = address
            self._load[address] += 1
        return address

    def hosts_per_client(self) -> dict[str, int]:
        """How many hosts each client carries, for stats and ``onionscope tor status``."""
        return {str(address): self._load[address] for address in self.socks_addresses}
