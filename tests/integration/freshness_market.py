"""A market site the freshness tests change between crawls: its listings, whether it answers, its validators.

:class:`ChangingMarket` serves, on 127.0.0.1 (a port picked once and kept
across restarts, so the onion service in front of it stays valid), a small
shop in the markup of the ``tundra-shop`` profile: ``/`` links to the
section ``/section/all/``, which links to each listing's page
``/item/<ID>.html`` (price, stock, merchant), which links to the vendor's page
``/shop/<slug>/``.  The test changes ``listings`` between crawls, stops the
server (the onion service then finds nothing behind it) and starts it again.
Every 200 carries a strong ``ETag`` (sha256 of the body); a request whose
``If-None-Match`` names it gets ``304 Not Modified``.  ``requests`` records
``(path, If-None-Match sent, status)`` of every request.

Text in the pages is escaped with :func:`html.escape` (its own encoder, not
the crawler's).
"""

from __future__ import annotations

import hashlib
import html
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class ShopListing:
    title: str
    price: str  # as shown: "1.5000 XMR"
    stock: int
    vendor: str


def _frame(title: str, main: str) -> str:
    return (f"<html><head><meta charset='utf-8'><title>{html.escape(title)} — Тундра</title></head><body>"
            f'<div id="top"><a href="/">ТУНДРА</a> <span>— магазин / shop</span></div>'
            f'<div class="content">{main}</div></body></html>')


def _slug(vendor: str) -> str:
    return hashlib.sha256(vendor.encode()).hexdigest()[:10]


class _Handler(BaseHTTPRequestHandler):
    server: "_Server"
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:  # noqa: N802
        market = self.server.market
        body = market.page(self.path)
        sent_tag = self.headers.get("If-None-Match")
        if body is None:
            status, payload, tag = 404, b"not found", None
        else:
            payload = body.encode("utf-8")
            tag = '"' + hashlib.sha256(payload).hexdigest()[:24] + '"'
            status = 304 if sent_tag is not None and sent_tag == tag else 200
        market.record(self.path, sent_tag, status)
        self.send_response(status)
        if tag is not None:
            self.send_header("ETag", tag)
        if status == 304:
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    market: "ChangingMarket"


class ChangingMarket:
    """See the module docstring.  ``start()`` / ``stop()`` may be called again and again."""

    def __init__(self, listings: dict[str, ShopListing]):
        self.listings = dict(listings)
        self.requests: list[tuple[str, str | None, int]] = []
        self.port = 0
        self._lock = threading.Lock()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> None:
        server = _Server(("127.0.0.1", self.port), _Handler)
        server.market = self
        self.port = server.server_address[1]
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, name="changing-market", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def record(self, path: str, sent_tag: str | None, status: int) -> None:
        with self._lock:
            self.requests.append((path, sent_tag, status))

    def take_requests(self) -> list[tuple[str, str | None, int]]:
        with self._lock:
            taken, self.requests = self.requests, []
        return taken

    def page(self, path: str) -> str | None:
        listings = dict(self.listings)
        if path == "/":
            return _frame("Витрина", '<h1>Витрина / Showcase</h1><ul class="sections">'
                                     '<li><a href="section/all/">Всё / All</a></li></ul>')
        if path == "/section/all/":
            items = "".join(
                f'<li><a href="../../item/{html.escape(listing_id)}.html">{html.escape(listing.title)}</a></li>'
                for listing_id, listing in sorted(listings.items()))
            return _frame("Всё", f'<h1>Всё / All</h1><ul class="items">{items}</ul>')
        if path.startswith("/item/") and path.endswith(".html"):
            listing_id = path[len("/item/"):-len(".html")]
            listing = listings.get(listing_id)
            if listing is None:
                return None
            rows = [
                ("Товар / Item", html.escape(listing.title)),
                ("Продавец / Merchant",
                 f'<a href="../shop/{_slug(listing.vendor)}/">{html.escape(listing.vendor)}</a>'),
                ("Цена / Cost", html.escape(listing.price)),
                ("Раздел / Section", '<a href="../section/all/">All</a>'),
                ("Остаток / Left", str(listing.stock)),
            ]
            spec = "".join(f"<dt>{label}</dt><dd>{value}</dd>" for label, value in rows)
            return _frame(listing.title, f'<h1 class="item">{html.escape(listing.title)}</h1>'
                                         f'<dl class="spec">{spec}</dl><div class="opis"><p>Описание.</p></div>')
        if path.startswith("/shop/"):
            vendors = {_slug(listing.vendor): listing.vendor for listing in listings.values()}
            vendor = vendors.get(path[len("/shop/"):].strip("/"))
            if vendor is None:
                return None
            return _frame(f"Магазин {vendor}", f'<h1 class="shop">Магазин {html.escape(vendor)}</h1>'
                                                '<dl class="shop-info"><dt>С нами с / Since</dt><dd>2024</dd></dl>')
        return None
