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


def test_a_binary_body_labelled_html_is_dropped_and_counted(caplog) -> None:
    import logging
    import random

    caplog.set_level(logging.INFO, logger="crawler.middlewares.media_guard")
    from scrapy.http import HtmlResponse

    guard = _guard()
    body = random.Random(12).randbytes(64 * 1024)
    response = HtmlResponse(HOST + "/binary", body=body, headers={b"Content-Type": b"text/html"})
    with pytest.raises(IgnoreRequest):
        guard.process_response(Request(HOST + "/binary"), response)
    assert guard.stats.get_value("media_guard/binary_body") == 1
    assert any("its body is binary" in record.getMessage() for record in caplog.records)


@pytest.mark.parametrize("body", [
    b"<html><body>plain text</body></html>",
    "<html><body>\u00e9t\u00e9 \u043f\u0440\u0438\u0432\u0435\u0442</body></html>".encode("utf-16"),  # BOM, NULs
    b"<p>\x1b$B iso-2022-jp escape\x1b(B and a stray \x07 bell</p>" * 50,
    b"",
])
def test_text_bodies_pass_the_binary_check(body: bytes) -> None:
    from scrapy.http import HtmlResponse

    guard = _guard()
    response = HtmlResponse(HOST + "/p", body=body, headers={b"Content-Type": b"text/html"})
    assert guard.process_response(Request(HOST + "/p"), response) is response
    assert guard.stats.get_value("media_guard/binary_body") is None
