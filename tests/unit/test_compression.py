"""Decompression bombs: capped at the decompressed size by Scrapy, counted by onionscope."""

from __future__ import annotations

import zlib

import brotli
import pytest
from scrapy.downloadermiddlewares.httpcompression import ACCEPTED_ENCODINGS
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Request, Response
from scrapy.utils.test import get_crawler

from crawler.middlewares.compression import CappedHttpCompressionMiddleware

try:
    from compression import zstd
except ImportError:
    from backports import zstd  # type: ignore[no-redef]

PAGE = "http://" + "z" * 56 + ".onion/bomb"
CAP = 1024 * 1024
DECOMPRESSED = 16 * CAP


def _bomb(encoding: str) -> bytes:
    data = b"<html><body>" + b" " * DECOMPRESSED
    if encoding == "gzip":
        return zlib.compress(data, 9, wbits=31)
    if encoding == "deflate":
        return zlib.compress(data, 9)
    if encoding == "br":
        return brotli.compress(data, quality=5)
    return zstd.compress(data)


def test_every_codec_is_offered() -> None:
    assert set(ACCEPTED_ENCODINGS) == {b"gzip", b"deflate", b"br", b"zstd"}


@pytest.mark.parametrize("encoding", ["gzip", "deflate", "br", "zstd"])
def test_a_bomb_is_dropped_at_the_decompressed_cap_and_counted(encoding: str) -> None:
    crawler = get_crawler(settings_dict={"DOWNLOAD_MAXSIZE": CAP})
    middleware = CappedHttpCompressionMiddleware.from_crawler(crawler)
    body = _bomb(encoding)
    assert len(body) < CAP
    response = Response(PAGE, body=body, headers={"Content-Encoding": encoding, "Content-Type": "text/html"})
    with pytest.raises(IgnoreRequest, match="during decompression"):
        middleware.process_response(Request(PAGE), response)
    assert crawler.stats.get_value("download/decompressed_maxsize_exceeded") == 1
    assert crawler.stats.get_value(f"download/decompressed_maxsize_exceeded/{encoding}") == 1


def test_a_page_under_the_cap_is_decompressed_as_before() -> None:
    crawler = get_crawler(settings_dict={"DOWNLOAD_MAXSIZE": CAP})
    middleware = CappedHttpCompressionMiddleware.from_crawler(crawler)
    response = Response(PAGE, body=zlib.compress(b"<p>fine</p>", wbits=31), headers={"Content-Encoding": "gzip"})
    assert middleware.process_response(Request(PAGE), response).body == b"<p>fine</p>"
    assert crawler.stats.get_value("download/decompressed_maxsize_exceeded") is None
