"""Checks that tell when a private Tor network is usable, end to end.

Public API:

* :func:`parse_consensus` -> ``{nickname: set of flags}`` from a consensus
  document (pure);
* :func:`read_consensus` -> the same from a node's ``cached-consensus`` file,
  or ``{}`` when it has none yet (or only one older than a given time);
* :func:`parse_valid_after` -> a consensus's ``valid-after`` as POSIX time;
* :func:`parse_bootstrap_phase` -> ``(percent, summary)`` from
  ``GETINFO status/bootstrap-phase`` (pure);
* :func:`bootstrap_phase` -> ``(percent, summary)`` asked of a tor's
  ControlPort with cookie authentication (stem); raises :class:`OSError`
  subclasses or stem errors when the port does not answer;
* :func:`http_status_via_socks` -> the HTTP status code of ``GET /`` fetched
  through a SOCKS5 port with the host name resolved by tor (pysocks,
  blocking); raises :class:`OSError` / :class:`socks.ProxyError` on failure.

Each call is one probe; callers loop with a deadline.
"""

from __future__ import annotations

import re
import socket
from datetime import datetime, timezone
from pathlib import Path

import socks
import stem.control

CONTROL_TIMEOUT_SECONDS = 5.0
_PROGRESS = re.compile(r"PROGRESS=(\d+)")
_SUMMARY = re.compile(r'SUMMARY="([^"]*)"')


def parse_consensus(text: str) -> dict[str, set[str]]:
    """Nicknames listed in a network-status consensus and the flags of each."""
    routers: dict[str, set[str]] = {}
    current: str | None = None
    for line in text.splitlines():
        if line.startswith("r "):
            parts = line.split()
            current = parts[1] if len(parts) > 1 else None
            if current:
                routers[current] = set()
        elif line.startswith("s ") and current is not None:
            routers[current] = set(line.split()[1:])
            current = None
    return routers


def parse_valid_after(text: str) -> float | None:
    """The ``valid-after`` time of a consensus as a POSIX timestamp, or None if absent."""
    match = re.search(r"^valid-after (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)$", text, re.MULTILINE)
    if not match:
        return None
    moment = datetime.strptime(match.group(1), "%Y-%m-%d %H:%M:%S").replace(tzinfo=timezone.utc)
    return moment.timestamp()


def read_consensus(data_dir: Path, not_before: float = 0.0) -> dict[str, set[str]]:
    """The consensus a node holds (``cached-consensus`` in its DataDirectory), or ``{}``.

    A consensus whose ``valid-after`` precedes ``not_before`` (a POSIX time)
    counts as none: it was left by an earlier run of the network.
    """
    try:
        text = (data_dir / "cached-consensus").read_text(errors="replace")
    except FileNotFoundError:
        return {}
    valid_after = parse_valid_after(text)
    if valid_after is None or valid_after < not_before:
        return {}
    return parse_consensus(text)


def parse_bootstrap_phase(text: str) -> tuple[int, str]:
    """``'NOTICE BOOTSTRAP PROGRESS=100 TAG=done SUMMARY="Done"'`` -> ``(100, "Done")``."""
    progress = _PROGRESS.search(text)
    summary = _SUMMARY.search(text)
    return (int(progress.group(1)) if progress else 0, summary.group(1) if summary else "")


def bootstrap_phase(control_port: int) -> tuple[int, str]:
    """Ask the tor at ``127.0.0.1:control_port`` for its bootstrap phase (cookie auth)."""
    with stem.control.Controller.from_port(address="127.0.0.1", port=control_port) as controller:
        controller.authenticate()
        return parse_bootstrap_phase(controller.get_info("status/bootstrap-phase"))


def http_status_via_socks(socks_port: int, host: str, port: int, timeout: float,
                          isolation: str = "onionscope-testnet") -> int:
    """``GET /`` from ``host:port`` through tor's SOCKS5 port; returns the HTTP status code.

    ``isolation`` becomes the SOCKS user name so probes do not share circuits
    with the crawler's streams.  Raises :class:`OSError` (timeouts included)
    or :class:`socks.ProxyError` (tor's SOCKS reply) when the fetch fails, and
    :class:`ValueError` when the answer is not HTTP.
    """
    connection = socks.socksocket(socket.AF_INET, socket.SOCK_STREAM)
    connection.set_proxy(socks.SOCKS5, "127.0.0.1", socks_port, rdns=True, username=isolation, password="x")
    connection.settimeout(timeout)
    try:
        connection.connect((host, port))
        connection.sendall(f"GET / HTTP/1.0\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode("ascii"))
        first_line = _read_line(connection, limit=1024)
    finally:
        connection.close()
    match = re.match(rb"HTTP/\d\.\d (\d{3})", first_line)
    if not match:
        raise ValueError(f"not an HTTP answer from {host}:{port}: {first_line[:80]!r}")
    return int(match.group(1))


def _read_line(connection: socket.socket, limit: int) -> bytes:
    data = b""
    while b"\n" not in data and len(data) < limit:
        chunk = connection.recv(limit - len(data))
        if not chunk:
            break
        data += chunk
    return data.split(b"\n", 1)[0]
