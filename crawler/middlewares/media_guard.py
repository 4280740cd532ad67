"""The rule "media is never fetched", enforced twice.

1. Before a request leaves: a URL whose path names an image, video, audio,
   archive or document file (:func:`crawler.urls.is_media_url`) is dropped with
   :class:`scrapy.exceptions.IgnoreRequest` -- it never reaches Tor.
2. When response headers arrive: a Content-Type outside
   ``ALLOWED_CONTENT_TYPES`` (HTML and plain text by default) stops the
   download before the body is read (``StopDownload``), so a media file behind
   an innocent-looking URL is not downloaded either.
3. When the body is in (decompressed): a body labelled as text that is binary
   (:func:`looks_binary`: a NUL byte or more than 10 % control bytes in its
   first 8 KiB, unless it starts with a UTF-16/32 byte-order mark) is dropped
   with ``IgnoreRequest`` and logged, so bytes of an image or an archive served
   as ``text/html`` are never indexed as the page's text.

Stats: ``media_guard/blocked_url``, ``media_guard/blocked_content_type`` and
``media_guard/binary_body``.
"""

from __future__ import annotations

import logging
from typing import Any

from scrapy import signals
from scrapy.exceptions import IgnoreRequest, StopDownload
from scrapy.http import Request, Response

from crawler.urls import is_media_url

logger = logging.getLogger(__name__)

SNIFF_BYTES = 8192
# C0 controls other than tab, line feed, form feed and carriage return (and ESC, which old
# pages use for ISO-2022 encodings), plus DEL.
_CONTROL_BYTES = bytes([*range(0x00, 0x09), 0x0B, *range(0x0E, 0x1B), *range(0x1C, 0x20), 0x7F])
_UNICODE_BOMS = (b"\xff\xfe", b"\xfe\xff", b"\x00\x00\xfe\xff")


def looks_binary(body: bytes) -> bool:
    """True when ``body`` is not text whatever its label says: a NUL byte, or more than 10 % control
    bytes, in its first 8 KiB.  A body starting with a UTF-16 or UTF-32 byte-order mark is text."""
    head = bytes(body[:SNIFF_BYTES])
    if not head or head.startswith(_UNICODE_BOMS):
        return False
    if b"\x00" in head:
        return True
    controls = len(head) - len(head.translate(None, _CONTROL_BYTES))
    return controls * 10 > len(head)


class MediaGuardMiddleware:
    """Downloader middleware; also listens to ``headers_received``."""

    def __init__(self, allowed_content_types: tuple[str, ...], stats: Any = None):
        self.allowed_content_types = tuple(t.lower() for t in allowed_content_types)
        self.stats = stats

    @classmethod
    def from_crawler(cls, crawler: Any) -> "MediaGuardMiddleware":
        middleware = cls(tuple(crawler.settings.getlist("ALLOWED_CONTENT_TYPES")), crawler.stats)
        crawler.signals.connect(middleware.headers_received, signal=signals.headers_received)
        return middleware

    def process_request(self, request: Request, spider: Any = None) -> None:
        if is_media_url(request.url):
            self._count("media_guard/blocked_url")
            raise IgnoreRequest(f"media URL never fetched: {request.url}")

    def headers_received(self, headers: Any, body_length: int, request: Request, spider: Any) -> None:
        raw = headers.get(b"Content-Type") or b""
        content_type = raw.decode("latin-1").split(";", 1)[0].strip().lower()
        if content_type and not self.content_type_allowed(content_type):
            self._count("media_guard/blocked_content_type")
            logger.info("not downloading %s: content type %r is not allowed", request.url, content_type)
            raise StopDownload(fail=True)

    def process_response(self, request: Request, response: Response, spider: Any = None) -> Response:
        if response.status < 300 and looks_binary(response.body):
            self._count("media_guard/binary_body")
            logger.info("not indexing %s: its body is binary, not the text its content type %r says",
                        request.url, (response.headers.get(b"Content-Type") or b"").decode("latin-1")[:80])
            raise IgnoreRequest(f"binary body labelled as text: {request.url}")
        return response

    def content_type_allowed(self, content_type: str) -> bool:
        return content_type in self.allowed_content_types

    def _count(self, key: str) -> None:
        if self.stats is not None:
            self.stats.inc_value(key)
