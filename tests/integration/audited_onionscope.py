"""Run ``onionscope`` with a Python audit hook that records every connect and name lookup.

Usage: ``python -m tests.integration.audited_onionscope AUDIT_LOG onionscope-args...``

Each ``socket.connect`` (address) and ``socket.getaddrinfo`` /
``socket.gethostbyname`` (host) the process makes is appended to AUDIT_LOG as
one JSON line.  The leak test reads it: a crawl may connect only to the tor
SOCKS port and to Elasticsearch, and may look up no target host at all.
Audit hooks see every socket the interpreter opens (Twisted, urllib3, stem).
"""

from __future__ import annotations

import json
import sys
from typing import Any


def main() -> int:
    audit_path, arguments = sys.argv[1], sys.argv[2:]
    log = open(audit_path, "a", encoding="utf-8", buffering=1)

    def hook(event: str, args: tuple[Any, ...]) -> None:
        if event == "socket.connect":
            address = args[1]
            entry = {"event": "connect", "address": list(address) if isinstance(address, tuple) else str(address)}
        elif event in ("socket.getaddrinfo", "socket.gethostbyname", "socket.gethostbyaddr"):
            entry = {"event": event.split(".", 1)[1], "host": str(args[0])}
        else:
            return
        log.write(json.dumps(entry) + "\n")

    sys.addaudithook(hook)
    from onionscope.cli import main as onionscope_main

    return onionscope_main(arguments)


if __name__ == "__main__":
    sys.exit(main())
