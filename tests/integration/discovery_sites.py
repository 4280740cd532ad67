"""Three small sites for the discovery test: a source page that names onions only in its text, and two targets.

Each site serves pages from a dict that the test fills in once the onion
addresses are known, and records every path it was asked for.
"""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class _Handler(BaseHTTPRequestHandler):
    server: Any

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        site = self.server.site
        with site.lock:
            site.requests.append(self.path)
            body = site.pages.get(self.path)
        status = 200 if body is not None else 404
        data = (body or "<html><body>not here</body></html>").encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: Any) -> None:
        pass


class RecordingSite:
    """An HTTP site on 127.0.0.1 (port 0) serving ``pages`` (path -> HTML) and recording requested paths."""

    def __init__(self, name: str):
        self.name = name
        self.pages: dict[str, str] = {}
        self.requests: list[str] = []
        self.lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._server.site = self  # type: ignore[attr-defined]
        self.address = f"127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, name=f"site-{name}", daemon=True).start()

    def take_requests(self) -> list[str]:
        with self.lock:
            taken, self.requests = self.requests, []
        return taken

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
