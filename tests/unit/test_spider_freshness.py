"""The onion spider and freshness: a 304 is "unchanged, seen" and its stored links are followed; validators kept."""

from __future__ import annotations

import asyncio
from typing import Any

from scrapy.http import HtmlResponse, Request, Response
from scrapy.utils.test import get_crawler

from config.schema import page_doc_id
from config.settings import load_settings
from crawler.freshness.recrawl import StoredPage
from crawler.items import Page
from crawler.middlewares.conditional_requests import CONDITIONAL_META, NOT_DUE_FLAG
from crawler.spiders.onion import OnionSpider

HOST = "a" * 56 + ".onion"
HOME = f"http://{HOST}/"


def _spider(**settings: Any) -> OnionSpider:
    onionscope = load_settings(None, environ={}).replace(extraction_budget_seconds=0, crawl_depth=2, **settings)
    crawler = get_crawler(OnionSpider, {"ONIONSCOPE_SETTINGS": onionscope, "EXTRACTION_BUDGET_SECONDS": 0})
    spider = OnionSpider.from_crawler(crawler, seeds=[HOME])
    crawler.spider = spider
    crawler.stats.open_spider()
    links = {f"http://{HOST}/stable": [f"http://{HOST}/child", "http://" + "b" * 56 + ".onion/offsite",
                                       f"http://{HOST}/photo.jpg"]}
    spider.freshness.load([StoredPage(f"http://{HOST}/stable", etag='"s"')], {}, links_of=lambda url: links.get(url, []))
    return spider


def _parse(spider: OnionSpider, response: Response) -> list[Any]:
    async def collect() -> list[Any]:
        return [out async for out in spider.parse(response)]

    return asyncio.run(collect())


def _not_modified(url: str, depth: int = 1, **meta: Any) -> Response:
    request = Request(url, meta={"depth": depth, **meta})
    return Response(url, status=304, request=request)


def test_a_304_to_our_conditional_request_follows_the_stored_links_and_yields_no_page() -> None:
    spider = _spider()
    out = _parse(spider, _not_modified(f"http://{HOST}/stable", **{CONDITIONAL_META: True}))
    assert [request.url for request in out] == [f"http://{HOST}/child"]  # in scope and not media, like a page's own
    assert not any(isinstance(item, Page) for item in out)
    stats = spider.crawler.stats
    assert stats.get_value("freshness/not_modified") == 1 and stats.get_value("onionscope/pages") == 1
    seen = spider.freshness.observations.unchanged_pages(HOST)
    assert list(seen) == [page_doc_id(f"http://{HOST}/stable")]


def test_a_page_not_due_is_seen_but_not_counted_as_fetched() -> None:
    spider = _spider()
    response = Response(f"http://{HOST}/stable", status=304, flags=[NOT_DUE_FLAG],
                        request=Request(f"http://{HOST}/stable", meta={"depth": 1}))
    assert len(_parse(spider, response)) == 1
    assert spider.crawler.stats.get_value("onionscope/pages") is None
    assert spider.freshness.observations.unchanged_pages(HOST)


def test_a_304_nobody_asked_for_is_ignored() -> None:
    spider = _spider()
    assert _parse(spider, _not_modified(f"http://{HOST}/stable")) == []  # no validators were sent
    assert _parse(spider, _not_modified(f"http://{HOST}/unknown", **{CONDITIONAL_META: True})) == []
    assert spider.crawler.stats.get_value("freshness/unexpected_not_modified") == 2
    assert spider.freshness.observations.unchanged_pages() == {}


def test_at_the_depth_limit_the_stored_links_are_noted_as_cut() -> None:
    spider = _spider()
    assert _parse(spider, _not_modified(f"http://{HOST}/stable", depth=2, **{CONDITIONAL_META: True})) == []
    assert spider.freshness.observations.uncovered_depth_cuts(HOST) == 1  # /child; offsite and media are not pages of it


def test_a_page_keeps_its_well_formed_validators_only() -> None:
    spider = _spider()
    body = b"<html><head><title>t</title></head><body>hi</body></html>"
    good = HtmlResponse(HOME, body=body, headers={"ETag": '"v1"', "Last-Modified": "Sun, 06 Nov 1994 08:49:37 GMT"},
                        request=Request(HOME, meta={"depth": 0}))
    [page] = [item for item in _parse(spider, good) if isinstance(item, Page)]
    assert (page.etag, page.last_modified) == ('"v1"', "Sun, 06 Nov 1994 08:49:37 GMT")
    bad = HtmlResponse(HOME, body=body, headers={"ETag": "unquoted\x7f", "Last-Modified": "soon"},
                       request=Request(HOME, meta={"depth": 0}))
    [page] = [item for item in _parse(spider, bad) if isinstance(item, Page)]
    assert (page.etag, page.last_modified) == (None, None)
