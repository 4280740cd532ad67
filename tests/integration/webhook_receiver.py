"""A webhook receiver on 127.0.0.1 for the alert tests (not a test).

:class:`WebhookReceiver` records every POST (headers and raw body) and checks
its signature on its own, with :mod:`hmac` over ``<timestamp>.<body>`` as
the README documents it (not with onionscope's signer).  ``fail_first``
answers that many requests 503 before it answers 200; :meth:`stop` and
:meth:`start` take it down and bring it back on the same port.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import socket
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Delivery:
    path: str
    headers: dict[str, str]
    body: bytes
    status: int

    @property
    def json(self) -> Any:
        return json.loads(self.body)


def signature_is_valid(secret: bytes, headers: dict[str, str], body: bytes) -> bool:
    """The README's check: sha256=HMAC-SHA256(secret, timestamp + "." + body), compared in constant time."""
    timestamp = headers.get("x-onionscope-timestamp", "")
    presented = headers.get("x-onionscope-signature", "")
    expected = "sha256=" + hmac.new(secret, timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return bool(timestamp) and hmac.compare_digest(presented, expected)


def free_port() -> int:
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    return port


class _Handler(BaseHTTPRequestHandler):
    server: "_Server"

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_POST(self) -> None:  # noqa: N802
        receiver = self.server.receiver
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        status = receiver.next_status()
        receiver.record(Delivery(self.path, {k.lower(): v for k, v in self.headers.items()}, body, status))
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    receiver: "WebhookReceiver"


class WebhookReceiver:
    def __init__(self, port: int | None = None, fail_first: int = 0):
        self.port = port or free_port()
        self.fail_first = fail_first
        self.deliveries: list[Delivery] = []
        self._lock = threading.Lock()
        self._server: _Server | None = None
        self.received = threading.Event()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def next_status(self) -> int:
        with self._lock:
            if self.fail_first > 0:
                self.fail_first -= 1
                return 503
            return 200

    def record(self, delivery: Delivery) -> None:
        with self._lock:
            self.deliveries.append(delivery)
        if delivery.status == 200:
            self.received.set()

    def start(self) -> "WebhookReceiver":
        server = _Server(("127.0.0.1", self.port), _Handler)
        server.receiver = self
        self._server = server
        threading.Thread(target=server.serve_forever, name="webhook-receiver", daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
