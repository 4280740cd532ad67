"""Which local process opened a TCP connection that a server accepted (Linux /proc).

tor binds no outbound address for loopback destinations, so every connection
from the private network to a server on 127.0.0.1 comes *from* 127.0.0.1, the
same address a direct (leaking) connection would use.  The leak test tells
them apart by owner instead: the other end of an accepted connection must
belong to a tor PID of the manifest, never to the crawler.

Public API:

* :func:`parse_proc_net_tcp` -> ``[(local, remote, inode)]`` from the text of
  ``/proc/net/tcp`` (pure);
* :func:`tcp_socket_inode` -> the inode of the socket whose local end is
  ``local`` and remote end ``remote``, or ``None``;
* :func:`tcp_peer_owner` -> the PID owning the client end of a connection
  (given ``peer`` = the address the server saw, ``server`` = the server's
  own address), searching ``candidate_pids`` or every process; ``None`` when
  the connection is already gone or the owner cannot be read.

Call it while the connection is open (at accept time or while serving the
request).  Reads only /proc; raises nothing for vanished processes.
"""

from __future__ import annotations

import os
import socket
import struct
from pathlib import Path
from typing import Iterable

Address = tuple[str, int]

PROC_NET_TCP = Path("/proc/net/tcp")


def _decode_address(text: str) -> Address:
    # "0100007F:1F90": the IPv4 address in host byte order (little-endian on
    # the machines we run on), then the port in hex.
    host_hex, port_hex = text.split(":")
    host = socket.inet_ntoa(struct.pack("<I", int(host_hex, 16)))
    return host, int(port_hex, 16)


def parse_proc_net_tcp(text: str) -> list[tuple[Address, Address, int]]:
    """``(local, remote, inode)`` of every IPv4 TCP socket listed in ``/proc/net/tcp`` text."""
    sockets = []
    for line in text.splitlines()[1:]:
        fields = line.split()
        if len(fields) < 10:
            continue
        sockets.append((_decode_address(fields[1]), _decode_address(fields[2]), int(fields[9])))
    return sockets


def tcp_socket_inode(local: Address, remote: Address, table: Path = PROC_NET_TCP) -> int | None:
    """Inode of the IPv4 TCP socket ``local`` -> ``remote``, or ``None`` if none is listed."""
    for socket_local, socket_remote, inode in parse_proc_net_tcp(table.read_text()):
        if socket_local == (local[0], int(local[1])) and socket_remote == (remote[0], int(remote[1])):
            return inode or None
    return None


def tcp_peer_owner(peer: Address, server: Address, candidate_pids: Iterable[int] | None = None) -> int | None:
    """PID of the process holding the client end (``peer`` -> ``server``) of a TCP connection."""
    inode = tcp_socket_inode(peer, server)
    if inode is None:
        return None
    wanted = f"socket:[{inode}]"
    if candidate_pids is None:
        candidate_pids = [int(entry) for entry in os.listdir("/proc") if entry.isdigit()]
    for pid in candidate_pids:
        try:
            descriptors = os.listdir(f"/proc/{pid}/fd")
        except (FileNotFoundError, PermissionError, ProcessLookupError):
            continue
        for descriptor in descriptors:
            try:
                if os.readlink(f"/proc/{pid}/fd/{descriptor}") == wanted:
                    return int(pid)
            except (FileNotFoundError, PermissionError, ProcessLookupError):
                continue
    return None
