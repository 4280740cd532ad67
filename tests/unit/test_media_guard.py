from __future__ import annotations

import pytest
from scrapy.exceptions import IgnoreRequest, StopDownload
from scrapy.http import Headers, Request
from scrapy.statscollectors import MemoryStatsCollector
from scrapy.utils.test import get_crawler

from crawler.middlewares.media_guard import MediaGuardMiddleware

HOST = "http://" + "d" * 56 + ".onion"


def _guard() -> MediaGuardMiddleware:
    stats = MemoryStatsCollector(get_crawler())
    return MediaGuardMiddleware(("text/html", "text/plain"), stats=stats)


@pytest.mark.parametrize("path", ["/img/a.png", "/v/clip.MP4", "/files/pack.zip", "/x.jpeg?size=2"])
def test_media_urls_never_leave(path: str) -> None:
    guard = _guard()
    with pytest.raises(IgnoreRequest):
        guard.process_request(Request(HOST + path))
    assert guard.stats.get_value("media_guard/blocked_url") == 1


def test_pages_pass() -> None:
    guard = _guard()
    assert guard.process_request(Request(HOST + "/listing/7")) is None
    assert guard.stats.get_value("media_guard/blocked_url") is None


@pytest.mark.parametrize("content_type", [b"image/jpeg", b"video/mp4", b"application/zip", b"application/octet-stream"])
def test_media_content_type_stops_the_body(content_type: bytes) -> None:
    guard = _guard()
    with pytest.raises(StopDownload) as excinfo:
        guard.headers_received(Headers({b"Content-Type": content_type}), 0, Request(HOST + "/innocent"), None)
    assert excinfo.value.fail is True
    assert guard.stats.get_value("media_guard/blocked_content_type") == 1


def test_html_content_type_with_charset_passes() -> None:
    guard = _guard()
    guard.headers_received(Headers({b"Content-Type": b"text/html; charset=utf-8"}), 0, Request(HOST + "/"), None)
    assert guard.stats.get_value("media_guard/blocked_content_type") is None
