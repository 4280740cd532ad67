"""Which nodes a private Tor network has, and which ports each one uses.

Public API:

* :class:`Node` -- one tor process: name, role, ports, its folder;
* :class:`OnionServiceSpec` -- an onion service the caller wants (name, target
  ``127.x.y.z:port`` or ``unix:/path``, virtual port); raises
  :class:`ValueError` when invalid;
* :func:`plan_nodes` -> ``list[Node]`` for a base port and node counts;
* :func:`port_block_size` -> how many ports from the base port a network uses.

Port layout: node *i* in :func:`plan_nodes` order (authorities, relays, the
onion-service host, clients) owns ``base_port + 10*i + 1 .. + 10*i + 9``:
``+1`` ORPort, ``+2`` DirPort, ``+3`` ControlPort, ``+4`` SocksPort.  Ports a
role does not need stay unused, so the layout never shifts when a network is
restarted with onion services added.

Pure functions only; nothing here starts a process or opens a socket.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from pathlib import Path

AUTHORITY_COUNT = 3
PORTS_PER_NODE = 10

ROLE_AUTHORITY = "authority"
ROLE_RELAY = "relay"
ROLE_ONION_HOST = "onion_host"
ROLE_CLIENT = "client"

_SERVICE_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")


@dataclass(frozen=True)
class Node:
    """One tor process of the private network."""

    name: str
    role: str
    slot: int
    base_port: int

    def _port(self, offset: int) -> int:
        return self.base_port + PORTS_PER_NODE * self.slot + offset

    @property
    def or_port(self) -> int | None:
        return self._port(1) if self.role in (ROLE_AUTHORITY, ROLE_RELAY) else None

    @property
    def dir_port(self) -> int | None:
        return self._port(2) if self.role == ROLE_AUTHORITY else None

    @property
    def control_port(self) -> int:
        return self._port(3)

    @property
    def socks_port(self) -> int | None:
        return self._port(4) if self.role == ROLE_CLIENT else None

    def data_dir(self, network_dir: Path) -> Path:
        return network_dir / "nodes" / self.name

    def torrc_path(self, network_dir: Path) -> Path:
        return network_dir / "torrc" / f"{self.name}.torrc"


@dataclass(frozen=True)
class OnionServiceSpec:
    """An onion service to publish: ``name`` -> ``virtual_port`` forwarded to ``target``.

    ``target`` is ``host:port`` on a loopback address (the private network
    never forwards anywhere else) or ``unix:/absolute/path`` of a Unix socket
    (a server there can read the connecting PID with SO_PEERCRED).  ``name``
    is lower-case letters, digits, ``-`` and ``_`` (it names the service's
    key folder).  Raises
    :class:`ValueError` with a readable message when a field is invalid.
    """

    name: str
    target: str
    virtual_port: int = 80

    def __post_init__(self) -> None:
        if not _SERVICE_NAME.match(self.name):
            raise ValueError(
                f"onion service name {self.name!r}: use 1-63 lower-case letters, digits, '-' or '_'"
            )
        if not 0 < int(self.virtual_port) < 65536:
            raise ValueError(f"onion service {self.name!r}: virtual port {self.virtual_port} is outside 1..65535")
        if self.is_unix_socket:
            path = self.target[len("unix:"):]
            if not path.startswith("/") or any(c.isspace() or c in '"\\' for c in path):
                raise ValueError(
                    f"onion service {self.name!r}: unix target {self.target!r} needs an absolute path "
                    "without spaces, quotes or backslashes"
                )
            return
        host, port = split_host_port(self.target)
        if not ipaddress.ip_address(host).is_loopback:
            raise ValueError(f"onion service {self.name!r}: target {self.target!r} must be on 127.0.0.0/8")
        if not 0 < port < 65536:
            raise ValueError(f"onion service {self.name!r}: target port {port} is outside 1..65535")

    @property
    def is_unix_socket(self) -> bool:
        return self.target.startswith("unix:")


def split_host_port(text: str) -> tuple[str, int]:
    """``"127.0.0.1:80"`` -> ``("127.0.0.1", 80)``; raises :class:`ValueError` otherwise."""
    host, sep, port = str(text).rpartition(":")
    if not sep or not port.isdigit():
        raise ValueError(f"expected IPv4 host:port, got {text!r}")
    try:
        ipaddress.IPv4Address(host)
    except ValueError:
        raise ValueError(f"expected an IPv4 address in {text!r}") from None
    return host, int(port)


def plan_nodes(base_port: int, relays: int, clients: int) -> list[Node]:
    """The nodes of a network, in start order: authorities, relays, onion host, clients.

    Raises :class:`ValueError` if ``relays`` < 2, ``clients`` < 1, or the port
    block would pass 65535.
    """
    if relays < 2:
        raise ValueError(f"a private network needs at least 2 relays besides the authorities, got {relays}")
    if clients < 1:
        raise ValueError(f"a private network needs at least 1 client, got {clients}")
    roles = (
        [(f"auth{i}", ROLE_AUTHORITY) for i in range(AUTHORITY_COUNT)]
        + [(f"relay{i}", ROLE_RELAY) for i in range(relays)]
        + [("onionhost0", ROLE_ONION_HOST)]
        + [(f"client{i}", ROLE_CLIENT) for i in range(clients)]
    )
    if base_port < 1024 or base_port + port_block_size(relays, clients) > 65535:
        raise ValueError(
            f"base port {base_port}: the network needs ports {base_port}.."
            f"{base_port + port_block_size(relays, clients)}, which must lie within 1024..65535"
        )
    return [Node(name, role, slot, base_port) for slot, (name, role) in enumerate(roles)]


def port_block_size(relays: int, clients: int) -> int:
    """Ports from the base port (inclusive) that a network with these counts may bind."""
    return PORTS_PER_NODE * (AUTHORITY_COUNT + relays + 1 + clients)
