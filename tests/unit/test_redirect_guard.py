"""Redirects to other schemes are refused and counted before Scrapy reads them; endless chains are counted."""

from __future__ import annotations

import logging

import pytest
from scrapy.downloadermiddlewares.redirect import MetaRefreshMiddleware, RedirectMiddleware
from scrapy.exceptions import IgnoreRequest
from scrapy.http import HtmlResponse, Request, Response
from scrapy.utils.test import get_crawler

from crawler.middlewares.redirect_guard import RedirectGuardMiddleware

PAGE = "http://" + "r" * 56 + ".onion/go"
TARGETS = ["javascript:alert(document.domain)", "data:text/html;base64,PHNjcmlwdD4=", "file:///etc/passwd",
           "mailto:x@y.z", "JavaScript:alert(1)"]


def _stack():
    crawler = get_crawler()
    return (RedirectGuardMiddleware.from_crawler(crawler), RedirectMiddleware.from_crawler(crawler),
            MetaRefreshMiddleware.from_crawler(crawler), crawler)


def _through(middlewares, request: Request, response: Response):
    """The response as Scrapy passes it: the guard (650), then RedirectMiddleware (600), MetaRefresh (580)."""
    for middleware in middlewares:
        response = middleware.process_response(request, response)
        if isinstance(response, Request):
            return response
    return response


def test_scrapy_alone_raises_on_a_redirect_to_javascript() -> None:
    """The bug the guard works around: the page is lost with a ValueError traceback."""
    _, redirect, _, _ = _stack()
    response = Response(PAGE, status=302, headers={"Location": "javascript:alert(1)"})
    with pytest.raises(ValueError, match="Missing scheme"):
        redirect.process_response(Request(PAGE), response)


@pytest.mark.parametrize("target", TARGETS)
def test_a_redirect_to_another_scheme_is_not_followed_and_is_counted(target: str, caplog) -> None:
    guard, redirect, refresh, crawler = _stack()
    request = Request(PAGE)
    response = Response(PAGE, status=302, headers={"Location": target})
    assert _through([guard, redirect, refresh], request, response) is response
    stats = crawler.stats.get_stats()
    assert stats["scope/refused/scheme"] == 1 and stats["scope/refused_redirects"] == 1
    assert any("not following the redirect" in record.getMessage() for record in caplog.records)


@pytest.mark.parametrize("target", TARGETS[:3])
def test_a_meta_refresh_to_another_scheme_keeps_the_page(target: str) -> None:
    guard, redirect, refresh, crawler = _stack()
    body = f'<html><head><meta http-equiv="refresh" content="0; url={target}"></head><body>text</body></html>'
    response = HtmlResponse(PAGE, body=body.encode(), encoding="utf-8")
    assert _through([guard, redirect, refresh], Request(PAGE), response) is response
    assert crawler.stats.get_value("scope/refused/scheme") == 1


def test_redirects_to_http_are_left_to_scrapy() -> None:
    guard, redirect, refresh, crawler = _stack()
    response = Response(PAGE, status=301, headers={"Location": "/elsewhere"})
    followed = _through([guard, redirect, refresh], Request(PAGE), response)
    assert isinstance(followed, Request) and followed.url.endswith("/elsewhere")
    assert crawler.stats.get_stats().get("scope/refused/scheme") is None


def test_the_end_of_an_endless_chain_is_counted_and_logged_once_per_host(caplog) -> None:
    caplog.set_level(logging.WARNING)
    guard, redirect, refresh, crawler = _stack()
    for chain in range(3):
        request = Request(f"{PAGE}/{chain}", meta={"redirect_times": 20, "redirect_ttl": 1})
        response = Response(request.url, status=302, headers={"Location": f"/next/{chain}"})
        with pytest.raises(IgnoreRequest, match="max redirections"):
            _through([guard, redirect, refresh], request, response)
    assert crawler.stats.get_value("redirect/max_reached") == 3
    assert len([r for r in caplog.records if "REDIRECT_MAX_TIMES" in r.getMessage()]) == 1
