"""A test site whose pace the test controls: a chain of pages served only while its gate is open.

:class:`GatedChainSite` listens on 127.0.0.1 (port 0, read back) and serves ``/chain/<n>`` for
``0 <= n < pages``: a small HTML page (title ``chain <n>``, a sentence of text) that links to
``/chain/<n+1>``, so a crawl fetches the pages one after the other.  While the gate is closed
(:meth:`hold`) a request waits until it opens again (:meth:`release`), so a test can stop the
crawl mid-way for as long as it needs -- to stop Elasticsearch, or to kill the crawler.
``served`` lists the page numbers answered, in order (a page fetched twice appears twice);
:meth:`wait_served` waits until at least ``n`` pages were.
"""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

# A request held longer than this is answered anyway (a test that forgot to release).
MAX_HOLD_SECONDS = 600.0


class _Handler(BaseHTTPRequestHandler):
    server: "_Server"
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:  # keep test output quiet
        pass

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        site = self.server.site
        number = site.page_number(self.path)
        if number is None:
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        site.gate.wait(MAX_HOLD_SECONDS)
        if site.seconds_per_page:
            time.sleep(site.seconds_per_page)
        link = f'<a href="/chain/{number + 1}">next</a>' if number + 1 < site.pages else ""
        body = (f"<html><head><title>chain {number}</title></head><body><p>Page {number} of the gated chain, "
                f"a paced test site.</p><p>{link}</p></body></html>").encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        site.record(number)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    site: "GatedChainSite"


class GatedChainSite:
    """``pages`` chained pages on 127.0.0.1, each answered after ``seconds_per_page`` while the gate is open."""

    def __init__(self, name: str, pages: int, seconds_per_page: float = 0.0) -> None:
        self.name = name
        self.pages = pages
        self.seconds_per_page = seconds_per_page
        self.gate = threading.Event()
        self.gate.set()
        self.served: list[int] = []
        self._changed = threading.Condition()
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.site = self
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, name=f"site-{name}", daemon=True)
        self._thread.start()

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def page_number(self, path: str) -> int | None:
        prefix = "/chain/"
        if not path.startswith(prefix) or not path[len(prefix):].isdigit():
            return None
        number = int(path[len(prefix):])
        return number if number < self.pages else None

    def record(self, number: int) -> None:
        with self._changed:
            self.served.append(number)
            self._changed.notify_all()

    def hold(self) -> None:
        """Close the gate: requests from now on wait (one being answered finishes)."""
        self.gate.clear()

    def release(self) -> None:
        self.gate.set()

    def wait_served(self, count: int, timeout: float) -> bool:
        """Wait until at least ``count`` pages were answered; returns whether they were."""
        with self._changed:
            return self._changed.wait_for(lambda: len(self.served) >= count, timeout)

    def close(self) -> None:
        self.gate.set()
        self._server.shutdown()
        self._server.server_close()
