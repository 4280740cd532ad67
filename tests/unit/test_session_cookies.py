"""The cookie middleware sends a session's cookies and headers to their own onion only, and never logs them."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import pytest
from scrapy import Spider
from scrapy.http import HtmlResponse, Request
from scrapy.utils.test import get_crawler

from config.errors import UserError
from crawler.middlewares.cookies import OfflineCookiesMiddleware
from crawler.middlewares.login_wall import LoginRedirectMiddleware, needs_login_sites
from crawler.sessions import load_sessions

HOST = "a" * 52 + "bcde.onion"
OTHER = "b" * 52 + "cdef.onion"


def _middleware(tmp_path: Path, text: str, name: str = "s.yml", debug: bool = False) -> OfflineCookiesMiddleware:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    crawler = get_crawler(Spider, {"ONIONSCOPE_SESSIONS": load_sessions(path), "COOKIES_DEBUG": debug})
    crawler.stats.open_spider()
    return OfflineCookiesMiddleware.from_crawler(crawler)


def test_cookies_and_headers_go_to_their_onion_and_to_no_other(tmp_path: Path) -> None:
    middleware = _middleware(tmp_path, (
        f"sites:\n  {HOST}:\n    cookies: {{sid: s3cr3t-c}}\n    headers: {{Authorization: Bearer s3cr3t-h}}\n"))
    own = Request(f"http://{HOST}/item/1")
    middleware.process_request(own)
    assert own.headers.get("Cookie") == b"sid=s3cr3t-c"
    assert own.headers.get("Authorization") == b"Bearer s3cr3t-h"
    # Another onion, and a look-alike whose name ends with the session's host.
    for url in (f"http://{OTHER}/", f"http://x{HOST}/", f"http://{HOST[:-6]}.onion.example/"):
        other = Request(url)
        middleware.process_request(other)
        assert other.headers.get("Cookie") is None and other.headers.get("Authorization") is None, url
    # A redirect copies headers onto the request for the next host; they are taken off there.
    carried = own.replace(url=f"http://{OTHER}/landing")
    middleware.process_request(carried)
    assert carried.headers.get("Authorization") is None and carried.headers.get("Cookie") is None


def test_an_expired_cookie_is_not_sent_and_is_named_without_its_value(
    tmp_path: Path, caplog: pytest.LogCaptureFixture,
) -> None:
    past = int(time.time()) - 60
    middleware = _middleware(tmp_path, (
        "# Netscape HTTP Cookie File\n"
        f"{HOST}\tFALSE\t/\tFALSE\t{past}\told\ts3cr3t-old\n"
        f"{HOST}\tFALSE\t/\tTRUE\t{past + 3600 * 24}\tfresh\ts3cr3t-fresh\n"), name="cookies.txt")
    request = Request(f"http://{HOST}/")
    with caplog.at_level(logging.DEBUG):
        middleware.process_request(request)
    # The Secure cookie is sent over http:// to the onion, as Tor Browser does.
    assert request.headers.get("Cookie") == b"fresh=s3cr3t-fresh"
    assert middleware.crawler.stats.get_value("login/expired_cookies") == 1
    assert "'old'" in caplog.text and HOST in caplog.text
    assert "s3cr3t" not in caplog.text


def test_the_site_may_renew_its_cookie(tmp_path: Path) -> None:
    middleware = _middleware(tmp_path, f"sites:\n  {HOST}:\n    cookies: {{sid: s3cr3t-old}}\n")
    first = Request(f"http://{HOST}/")
    middleware.process_request(first)
    response = HtmlResponse(first.url, request=first, body=b"<html></html>",
                            headers={"Set-Cookie": "sid=renewed; Path=/; HttpOnly"})
    middleware.process_response(first, response)
    second = Request(f"http://{HOST}/next")
    middleware.process_request(second)
    assert second.headers.get("Cookie") == b"sid=renewed"


def test_cookies_debug_is_refused_with_a_session(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="COOKIES_DEBUG"):
        _middleware(tmp_path, f"sites:\n  {HOST}:\n    cookies: {{sid: s3cr3t}}\n", debug=True)


def test_a_redirect_to_the_login_page_is_counted_and_not_followed() -> None:
    from scrapy.exceptions import IgnoreRequest

    crawler = get_crawler(Spider)
    crawler.stats.open_spider()
    middleware = LoginRedirectMiddleware.from_crawler(crawler)
    request = Request(f"http://{HOST}/item/7")
    redirect = HtmlResponse(request.url, status=302, request=request, headers={"Location": "/login?next=/item/7"})
    with pytest.raises(IgnoreRequest):
        middleware.process_response(request, redirect)
    # A redirect elsewhere on the site, or to another host's /login, is left to Scrapy.
    elsewhere = HtmlResponse(request.url, status=302, request=request, headers={"Location": "/item/8"})
    assert middleware.process_response(request, elsewhere) is elsewhere
    offsite = HtmlResponse(request.url, status=302, request=request, headers={"Location": f"http://{OTHER}/login"})
    assert middleware.process_response(request, offsite) is offsite
    assert needs_login_sites(crawler.stats.get_stats()) == {HOST: 1}
