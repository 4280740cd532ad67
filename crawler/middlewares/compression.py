"""Decompression with the cap counted: Scrapy's HttpCompressionMiddleware, plus a stat for every bomb.

Public API:

* :class:`CappedHttpCompressionMiddleware` -- Scrapy's ``HttpCompressionMiddleware``
  (gzip, deflate, br and zstd; it advertises only what it can decode) unchanged, except that a
  response whose *decompressed* body passes ``DOWNLOAD_MAXSIZE`` is also counted as
  ``download/decompressed_maxsize_exceeded`` and ``.../<encoding>``.  Scrapy already stops
  decompressing at the cap (in 64 KiB steps), logs a WARNING naming the compressed and
  decompressed sizes and drops the response with ``IgnoreRequest``; before this class
  nothing counted it, so a crawl summary could not say how many bombs it met.

Enabled in place of Scrapy's (same priority, 590) by :func:`crawler.settings.scrapy_settings`.
"""

from __future__ import annotations

from typing import Any

from scrapy.downloadermiddlewares.httpcompression import HttpCompressionMiddleware
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Request, Response
from scrapy.utils._compression import _DecompressionMaxSizeExceeded

STOCK_PATH = "scrapy.downloadermiddlewares.httpcompression.HttpCompressionMiddleware"
PATH = "crawler.middlewares.compression.CappedHttpCompressionMiddleware"
STAT = "download/decompressed_maxsize_exceeded"


class CappedHttpCompressionMiddleware(HttpCompressionMiddleware):
    """Scrapy's decompression, counting responses dropped for decompressing past the cap."""

    def process_response(self, request: Request, response: Response, spider: Any = None) -> Request | Response:
        try:
            return super().process_response(request, response)
        except IgnoreRequest as dropped:
            # Scrapy raises IgnoreRequest from its own "exceeded DOWNLOAD_MAXSIZE during decompression".
            if self.stats is not None and isinstance(dropped.__cause__, _DecompressionMaxSizeExceeded):
                encoding = b",".join(response.headers.getlist("Content-Encoding")).decode("latin-1").lower()
                self.stats.inc_value(STAT)
                self.stats.inc_value(f"{STAT}/{encoding[:32] or 'unknown'}")
            raise
