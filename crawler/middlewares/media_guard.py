"""The rule "media is never fetched", enforced twice.

1. Before a request leaves: a URL whose path names an image, video, audio,
   archive or document file (:func:`crawler.urls.is_media_url`) is dropped with
   :class:`scrapy.exceptions.IgnoreRequest` -- it never reaches Tor.
2. When response headers arrive: a Content-Type outside
   ``ALLOWED_CONTENT_TYPES`` (HTML and plain text by default) stops the
   download before the body is read (``StopDownload``), so a media file behind
   an innocent-looking URL is not downloaded either.

Stats: ``media_guard/blocked_url`` and ``media_guard/blocked_content_type``.
"""

from __future__ import annotations

import logging
from typing import Any

from scrapy import signals
from scrapy.exceptions import IgnoreRequest, StopDownload
from scrapy.http import Request

from crawler.urls import is_media_url

logger = logging.getLogger(__name__)


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

    def content_type_allowed(self, content_type: str) -> bool:
        return content_type in self.allowed_content_types

    def _count(self, key: str) -> None:
        if self.stats is not None:
            self.stats.inc_value(key)
