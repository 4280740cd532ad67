"""A hostile web site for the crawl-survival tests: every page is one way a site can hurt a crawler.

:class:`HostileSite` listens on 127.0.0.1 (port 0, read back) and is published as an onion
service by the tests.  It records every request path (``paths``), every connection it saw
closed mid-response (``hung_up``: path -> bytes sent) and how long the dripping page was
held and how many bytes it got out (``drips``), and the ``Accept-Encoding`` of every path.  Pages:

* ``/ok/<name>`` -- a normal page titled ``ok <name>``: the page each case checks is still indexed;
  ``/slow/<name>`` -- the same (titled ``ok slow/<name>``) after :data:`SLOW_SECONDS`, so a crawl
  of many of them lasts long enough to break something in the middle;
* ``/oversize/length`` -- :data:`OVERSIZE_BYTES` of HTML with a ``Content-Length``;
  ``/oversize/chunked`` -- the same, chunked; ``/oversize/close`` -- the same, no length at all
  (the body ends when the connection closes);
* ``/bomb/<gzip|deflate|br|zstd>`` -- a small body that decompresses to :data:`BOMB_BYTES`;
* ``/redirect/endless/<r...>`` -- a 302 to the same URL with one more ``r``, for ever;
* ``/redirect/scheme/<javascript|data|file>`` -- a 302 to a ``javascript:``, ``data:`` or ``file:`` URI;
* ``/links/schemes`` -- a page linking to ``javascript:``, ``data:`` and ``file:`` URIs and to
  ``/ok/links-schemes``;
* traps: ``/trap/calendar/<year>/<month>`` (links to the next and the previous month),
  ``/trap/session/<id>/index`` (links to two pages under a fresh session id),
  ``/trap/sid?sid=<id>`` (a fresh ``sid`` query parameter per link),
  ``/trap/grow?q=...`` (links to ever longer query strings, one more parameter per level) and
  ``/trap/repeat/`` (a relative link ``repeat/`` that nests the path for ever);
* ``/drip`` -- headers, then one body byte per second (:data:`DRIP_LENGTH` promised);
* ``/binary`` -- random bytes labelled ``text/html``;
* ``/broken-utf8`` -- a page declared UTF-8 with invalid byte sequences around :data:`BROKEN_UTF8_PHRASE`;
* ``/long-line`` -- a :data:`LONG_LINE_BYTES` single line of HTML (sent gzipped);
* ``/deep`` -- elements nested :data:`DEEP_LEVELS` levels deep around :data:`DEEP_PHRASE`;
* ``/huge-headers`` -- a header block of :data:`HUGE_HEADER_BYTES`, line by line until the client hangs up;
* ``/xss`` -- a market-listing page (JSON-LD Product) whose every extracted field carries a script
  payload (:data:`XSS_PAYLOAD`, and the terminal escape :data:`TERMINAL_PAYLOAD`; the seller's
  name starts with a spreadsheet formula, :data:`FORMULA_PAYLOAD`); ``/xss/vendor`` -- a vendor
  profile whose name and text carry them.

Payloads are built once, when the site starts (:func:`bombs` takes about a second).
"""

from __future__ import annotations

import html
import json
import random
import secrets
import socket
import threading
import time
import zlib
from functools import lru_cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlsplit

import brotli

try:
    from compression import zstd  # Python 3.14+
except ImportError:  # the backport Scrapy itself uses before 3.14
    from backports import zstd  # type: ignore[no-redef]

OVERSIZE_BYTES = 8 * 1024 * 1024
SLOW_SECONDS = 0.4
BOMB_BYTES = 64 * 1024 * 1024
LONG_LINE_BYTES = 20 * 1024 * 1024
DEEP_LEVELS = 100_000
DRIP_LENGTH = 3600
HUGE_HEADER_BYTES = 8 * 1024 * 1024
BINARY_BYTES = 256 * 1024
BROKEN_UTF8_PHRASE = "brokenutf8 survivor phrase"
DEEP_PHRASE = "deepnesting survivor phrase"
LONG_LINE_PHRASE = "longline survivor phrase"
XSS_PAYLOAD = "<script>window.__xss=1</script><img src=x onerror=alert(1)>"
# ESC ] (an OSC title change) and ESC [ 2J (clear screen): what a terminal must never receive raw.
TERMINAL_PAYLOAD = "\x1b]0;pwned\x07\x1b[2J"
XSS_WALLET = "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq"
# What a spreadsheet would run as a formula, at the start of a vendor name.
FORMULA_PAYLOAD = "=HYPERLINK(\"http://evil.example/\",\"x\")"
XSS_EMAIL = "xss-vendor@example.org"
SCHEME_LINKS = ("javascript:alert(document.domain)", "data:text/html,<script>alert(1)</script>", "file:///etc/passwd")
SCHEME_REDIRECTS = {
    "javascript": "javascript:alert(document.domain)",
    "data": "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
    "file": "file:///etc/passwd",
}
BOMB_ENCODINGS = ("gzip", "deflate", "br", "zstd")


def _chunks(total: int, chunk: bytes) -> "list[bytes]":
    count, rest = divmod(total, len(chunk))
    return [chunk] * count + ([chunk[:rest]] if rest else [])


@lru_cache(maxsize=1)
def bombs() -> dict[str, bytes]:
    """Encoding -> a body that decompresses to :data:`BOMB_BYTES` (an HTML prefix, then spaces)."""
    prefix = b"<html><head><title>bomb</title></head><body>"
    block = b" " * (1024 * 1024)
    parts = [prefix, *_chunks(BOMB_BYTES - len(prefix), block)]
    made: dict[str, bytes] = {}
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)  # gzip framing
    made["gzip"] = b"".join(compressor.compress(part) for part in parts) + compressor.flush()
    compressor = zlib.compressobj(9, zlib.DEFLATED, 15)  # zlib framing, as HTTP "deflate" means
    made["deflate"] = b"".join(compressor.compress(part) for part in parts) + compressor.flush()
    brotli_compressor = brotli.Compressor(quality=5)
    made["br"] = b"".join(brotli_compressor.process(part) for part in parts) + brotli_compressor.finish()
    zstd_compressor = zstd.ZstdCompressor(level=3)
    made["zstd"] = b"".join(zstd_compressor.compress(part) for part in parts) + zstd_compressor.flush()
    return made


@lru_cache(maxsize=1)
def long_line() -> bytes:
    head = f"<html><head><title>long line</title></head><body><p>{LONG_LINE_PHRASE} ".encode()
    tail = b"</p></body></html>"
    words = b"lorem ipsum dolor sit amet " * ((LONG_LINE_BYTES - len(head) - len(tail)) // 27 + 1)
    return head + words[: LONG_LINE_BYTES - len(head) - len(tail)] + tail


@lru_cache(maxsize=1)
def long_line_gzip() -> bytes:
    return zlib.compress(long_line(), 6, wbits=31)


@lru_cache(maxsize=1)
def deep_page() -> bytes:
    return (
        b"<html><head><title>deep</title></head><body>" + b"<div>" * DEEP_LEVELS
        + DEEP_PHRASE.encode() + b"</div>" * DEEP_LEVELS + b"</body></html>"
    )


@lru_cache(maxsize=1)
def binary_body() -> bytes:
    return random.Random(12).randbytes(BINARY_BYTES)


def ok_page(site_name: str, name: str) -> bytes:
    """The body of ``/ok/<name>`` on the site ``site_name`` (byte for byte)."""
    return (f"<html><head><title>{html.escape(f'ok {name}')}</title></head><body><p>"
            f"{html.escape(f'a normal page of {site_name}: {name} survived')}</p><p></p></body></html>").encode()


def broken_utf8_page() -> bytes:
    return (
        b"<html><head><meta charset='utf-8'><title>broken \xff\xfe utf8 \xc3\x28</title></head><body><p>"
        + b"\xe2\x82 \xf0\x28\x8c\xbc \xed\xa0\x80 " + BROKEN_UTF8_PHRASE.encode() + b" \x80\x81\xc0\xaf"
        + b"</p></body></html>"
    )


def xss_page(url: str) -> bytes:
    """A listing page whose title, text, JSON-LD product fields and links all carry :data:`XSS_PAYLOAD`."""
    payload = XSS_PAYLOAD + TERMINAL_PAYLOAD
    product = {
        "@context": "https://schema.org", "@type": "Product",
        "name": f"xss listing {payload}", "sku": "xss-1",
        "description": f"description {payload}",
        "category": f"category {payload}",
        "offers": {"@type": "Offer", "price": "12.50", "priceCurrency": "USD",
                   "seller": {"@type": "Organization", "name": f"{FORMULA_PAYLOAD} {payload}"}},
    }
    # </script> inside the JSON-LD would close the script element: escape it as a JSON string may be.
    ld = json.dumps(product).replace("</", "<\\/")
    escaped = html.escape(payload, quote=True)
    return (
        f"<html><head><title>xss title {escaped}</title>"
        f"<script type='application/ld+json'>{ld}</script></head><body>"
        f"<h1>xss listing {escaped}</h1><p>xss body text {escaped}</p>"
        f"<p>pay to {XSS_WALLET} or mail {XSS_EMAIL}</p>"
        f"<a href='/ok/xss?next=%22%3E%3Cscript%3Ealert(1)%3C/script%3E'>{escaped}</a>"
        "</body></html>"
    ).encode()


def xss_vendor_page() -> bytes:
    """A vendor profile (join date, sales) whose name and text carry the payloads."""
    payload = html.escape(XSS_PAYLOAD + TERMINAL_PAYLOAD, quote=True)
    return (
        f"<html><head><title>xss vendor {payload}</title></head><body><h1>xss vendor {payload}</h1>"
        f"<p>Joined: 2021-01-02</p><p>40 sales</p><p>about me: {payload}</p></body></html>"
    ).encode()


class _Handler(BaseHTTPRequestHandler):
    server: "_Server"
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:
        pass

    def setup(self) -> None:
        self.server.site.track(self.request, open_=True)
        super().setup()

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.site.track(self.request, open_=False)

    def _send(self, status: int, body: bytes, content_type: str = "text/html; charset=utf-8",
              headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self._write(body)

    def _write(self, body: bytes) -> None:
        try:
            view = memoryview(body)
            for start in range(0, len(body), 256 * 1024):
                self.wfile.write(view[start:start + 256 * 1024])
        except OSError:
            self.server.site.record_hang_up(self.path, -1)
            self.close_connection = True

    def _page(self, title: str, body: str, links: list[str] = ()) -> bytes:  # type: ignore[assignment]
        anchors = "".join(f'<a href="{html.escape(link)}">{html.escape(link)}</a> ' for link in links)
        return (f"<html><head><title>{html.escape(title)}</title></head>"
                f"<body><p>{html.escape(body)}</p><p>{anchors}</p></body></html>").encode()

    def do_GET(self) -> None:  # noqa: C901 -- one branch per hostile page
        site = self.server.site
        site.record_path(self.path, self.headers.get("Accept-Encoding", ""))
        parts = urlsplit(self.path)
        path, query = parts.path, parse_qs(parts.query)
        if path.startswith("/ok/"):
            self._send(200, ok_page(site.name, path[len("/ok/"):]))
        elif path.startswith("/slow/"):
            time.sleep(SLOW_SECONDS)
            self._send(200, ok_page(site.name, path[1:]))
        elif path in ("/oversize/length", "/oversize/chunked", "/oversize/close"):
            self._oversize(path.rsplit("/", 1)[1])
        elif path.startswith("/bomb/"):
            encoding = path.rsplit("/", 1)[1]
            self._send(200, bombs()[encoding], headers={"Content-Encoding": encoding})
        elif path.startswith("/redirect/endless/"):
            # Letters only, one more each time: every URL of the chain is new and none looks like an id.
            self._send(302, b"", headers={"Location": path + "r"})
        elif path.startswith("/redirect/scheme/"):
            self._send(302, b"", headers={"Location": SCHEME_REDIRECTS[path.rsplit("/", 1)[1]]})
        elif path == "/links/schemes":
            self._send(200, self._page("scheme links", "links to other schemes", [*SCHEME_LINKS, "/ok/links-schemes"]))
        elif path.startswith("/trap/"):
            self._trap(path, query)
        elif path == "/drip":
            self._drip()
        elif path == "/binary":
            self._send(200, binary_body())
        elif path == "/broken-utf8":
            self._send(200, broken_utf8_page())
        elif path == "/long-line":
            # gzip: 20 MB through the test network takes ~20 s; the crawler decompresses it to the full line.
            self._send(200, long_line_gzip(), headers={"Content-Encoding": "gzip"})
        elif path == "/deep":
            self._send(200, deep_page())
        elif path == "/huge-headers":
            self._huge_headers()
        elif path == "/xss":
            self._send(200, xss_page(self.path))
        elif path == "/xss/vendor":
            self._send(200, xss_vendor_page())
        else:
            self._send(404, self._page("not found", self.path))

    def _oversize(self, framing: str) -> None:
        block = b"<p>" + b"x" * 1020 + b"</p>"
        body = _chunks(OVERSIZE_BYTES, block)
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        if framing == "length":
            self.send_header("Content-Length", str(OVERSIZE_BYTES))
        elif framing == "chunked":
            self.send_header("Transfer-Encoding", "chunked")
        else:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        sent = 0
        try:
            for piece in body:
                self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece) if framing == "chunked" else piece)
                sent += len(piece)
            if framing == "chunked":
                self.wfile.write(b"0\r\n\r\n")
        except OSError:
            self.server.site.record_hang_up(self.path, sent)
            self.close_connection = True

    def _trap(self, path: str, query: dict[str, list[str]]) -> None:
        if path.startswith("/trap/calendar/"):
            year, month = (int(part) for part in path.split("/")[3:5])
            later = (year + month // 12, month % 12 + 1)
            earlier = (year - (month == 1), (month - 2) % 12 + 1)
            links = [f"/trap/calendar/{y}/{m:02d}" for y, m in (later, earlier)]
        elif path.startswith("/trap/session/"):
            links = [f"/trap/session/{secrets.token_hex(8)}/{page}" for page in ("index", "other")]
        elif path == "/trap/sid":
            links = [f"/trap/sid?sid={secrets.token_hex(8)}" for _ in range(2)]
        elif path == "/trap/grow":
            grown = {key: values[0] for key, values in query.items()}
            grown[f"p{len(grown)}"] = "v" * (8 * (len(grown) + 1))
            links = [f"/trap/grow?{urlencode(grown)}"]
        elif path.startswith("/trap/repeat/"):
            links = ["repeat/"]
        else:
            links = []
        self._send(200, self._page(f"trap {path}", f"trap page {self.path}", links))

    def _drip(self) -> None:
        started = time.monotonic()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(DRIP_LENGTH))
        self.end_headers()
        sent = 0
        try:
            self.wfile.flush()
            for _ in range(DRIP_LENGTH):
                self.wfile.write(b" ")
                self.wfile.flush()
                sent += 1
                time.sleep(1.0)
        except OSError:
            pass
        finally:
            self.close_connection = True
            self.server.site.record_drip(time.monotonic() - started, sent)

    def _huge_headers(self) -> None:
        line = b"X-Filler: " + b"f" * 1000 + b"\r\n"
        sent = 0
        try:
            self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n")
            while sent < HUGE_HEADER_BYTES:
                self.wfile.write(line)
                sent += len(line)
            self.wfile.write(b"Content-Length: 2\r\n\r\nok")
        except OSError:
            self.server.site.record_hang_up(self.path, sent)
        finally:
            self.close_connection = True


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256
    site: "HostileSite"


class HostileSite:
    """The hostile site on 127.0.0.1 (see the module docstring); :meth:`stop` and :meth:`start`
    take it down and bring it back on the same port."""

    def __init__(self, name: str = "hostile", port: int = 0):
        self.name = name
        self.paths: list[str] = []
        self.hung_up: dict[str, int] = {}
        self.drips: list[tuple[float, int]] = []
        self.accept_encodings: dict[str, str] = {}
        self._connections: set[socket.socket] = set()
        self._lock = threading.Lock()
        self.port = port
        self._server: _Server | None = None
        self.start()

    def start(self) -> None:
        self._server = _Server(("127.0.0.1", self.port), _Handler)
        self._server.site = self
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, name=f"site-{self.name}", daemon=True).start()

    def stop(self) -> None:
        """Go down: the listening socket is closed (new connections are refused) and every open
        connection is cut, kept-alive ones included, as when the server process dies."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        with self._lock:
            connections = list(self._connections)
        for connection in connections:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def track(self, connection: socket.socket, open_: bool) -> None:
        with self._lock:
            (self._connections.add if open_ else self._connections.discard)(connection)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def record_path(self, path: str, accept_encoding: str = "") -> None:
        with self._lock:
            self.paths.append(path)
            self.accept_encodings[path] = accept_encoding

    def record_hang_up(self, path: str, sent: int) -> None:
        with self._lock:
            self.hung_up[path] = sent

    def record_drip(self, seconds: float, sent: int) -> None:
        with self._lock:
            self.drips.append((seconds, sent))

    def requests_for(self, prefix: str) -> list[str]:
        with self._lock:
            return [path for path in self.paths if path.startswith(prefix)]

    def close(self) -> None:
        self.stop()


def port_is_free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True
