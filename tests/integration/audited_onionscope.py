"""Run ``onionscope`` with a Python audit hook that records every connect and name lookup.

Usage: ``python -m tests.integration.audited_onionscope AUDIT_LOG onionscope-args...``

Each ``socket.connect`` (address) and ``socket.getaddrinfo`` /
``socket.gethostbyname`` (host) the process makes is appended to AUDIT_LOG as
one JSON line.  The leak test reads it: a crawl may connect only to the tor
SOCKS port and to Elasticsearch, and may look up no target host at all.
Audit hooks see every socket the interpreter opens (Twisted, urllib3, stem).

So that the test itself never leaks, even against broken code, the hook also
refuses (after recording it, and before onionscope's own network guard sees
it) every lookup of a name and every connection to a non-loopback address.
"""

from __future__ import annotations

import ipaddress
import json
import sys
from typing import Any


def _ip(host: Any) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(str(host).strip("[]").split("%", 1)[0])
    except ValueError:
        return None


def main() -> int:
    audit_path, arguments = sys.argv[1], sys.argv[2:]
    log = open(audit_path, "a", encoding="utf-8", buffering=1)

    def hook(event: str, args: tuple[Any, ...]) -> None:
        if event == "socket.connect":
            address = args[1]
            entry = {"event": "connect", "address": list(address) if isinstance(address, tuple) else str(address)}
            ip = _ip(address[0]) if isinstance(address, tuple) else None
            leaves = isinstance(address, tuple) and (ip is None or not ip.is_loopback)
        elif event in ("socket.getaddrinfo", "socket.gethostbyname", "socket.gethostbyaddr"):
            entry = {"event": event.split(".", 1)[1], "host": str(args[0])}
            leaves = args[0] is not None and (event == "socket.gethostbyaddr" or _ip(args[0]) is None)
        else:
            return
        log.write(json.dumps(entry) + "\n")
        if leaves:
            raise OSError(f"test harness: refused {entry}, which could leave this machine")

    sys.addaudithook(hook)
    from onionscope.cli import main as onionscope_main

    return onionscope_main(arguments)


if __name__ == "__main__":
    sys.exit(main())
