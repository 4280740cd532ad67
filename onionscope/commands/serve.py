"""``onionscope serve [--host H] [--port P]``: the HTTP API and web UI under uvicorn.

Binds the socket itself so ``--port 0`` works: the line
``onionscope: serving on http://HOST:PORT`` on stdout gives the real port.
"""

from __future__ import annotations

import argparse
import gc
import ipaddress
import socket
import sys
from typing import Any
from config.i18n import _
from config.os_reasons import os_reason


GC_THRESHOLD = 50_000


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", help=_("address to listen on (default: serve_host, 127.0.0.1)"))
    parser.add_argument("--port", type=int, help=_("port (default: serve_port, 8088; 0 picks a free one)"))
    parser.add_argument("--log-level", default="warning", choices=("critical", "error", "warning", "info", "debug"))


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def run(args: argparse.Namespace, settings: Any) -> int:
    import uvicorn

    from config.errors import UserError
    from search.api import create_app

    host = args.host or settings.serve_host
    port = settings.serve_port if args.port is None else args.port
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP explicitly: asyncio only sets TCP_NODELAY on sockets whose
    # proto says TCP, and without it every answer waits for a delayed ACK.
    listener = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listener.bind((host, port))
    except OSError as exc:
        listener.close()
        raise UserError(_("cannot listen on {host}:{port} ({error}); choose another --port", host=host, port=port,
                          error=os_reason(exc))) from None
    listener.listen(512)
    actual_port = listener.getsockname()[1]
    if not _is_loopback(host):
        print(_("onionscope: warning: listening on {host}, reachable from other machines; tokens travel in clear text "
                "without a TLS proxy in front", host=host), file=sys.stderr)
    app = create_app(settings)
    # A search decodes and re-encodes tens of thousands of short-lived objects,
    # freed by reference counting.  With the collector's default threshold
    # (700 allocations) it ran a dozen times per request, walking the
    # decoded answer each time; measured, about 0.3 ms of the API's own work.
    # What exists now lives as long as the server, so it leaves the
    # collector's passes altogether.
    gc.collect()
    gc.freeze()
    gc.set_threshold(GC_THRESHOLD, *gc.get_threshold()[1:])
    # Hand uvicorn the socket object, not its fd: uvicorn rebuilds an fd as
    # AF_UNIX, and asyncio then leaves Nagle on, which stalls every answer
    # by a delayed-ACK round (about 40 ms).
    config = uvicorn.Config(app, log_level=args.log_level, access_log=False, proxy_headers=False,
                            server_header=False)
    server = uvicorn.Server(config)
    shown_host = f"[{host}]" if family == socket.AF_INET6 else host
    print(f"onionscope: serving on http://{shown_host}:{actual_port}", flush=True)
    try:
        server.run(sockets=[listener])
    finally:
        listener.close()
    return 0
