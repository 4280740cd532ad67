"""A page whose extraction runs over the budget is indexed plainly, and the crawl goes on.

The spider's callback is driven directly with responses (nothing is fetched);
the extraction runs in the real worker process.  The slow page comes from a
market profile whose title normaliser backtracks exponentially on the page's
heading, the way an operator's regex can meet hostile text: extraction would
take hours, so the test can only finish if the worker is killed.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import pytest
import scrapy
from scrapy.http import HtmlResponse
from scrapy.utils.test import get_crawler

from crawler.items import Listing, Page
from crawler.spiders.onion import OnionSpider

SLOW_HOST = "s" * 56 + ".onion"
OTHER_HOST = "o" * 56 + ".onion"
BUDGET_SECONDS = 2.0

PROFILE = f"""
name: slowmarket
match:
  hosts: [{SLOW_HOST}]
pages:
  listing:
    url_pattern: '^/item/(?P<listing_id>\\d+)'
    fields:
      title: {{css: 'h1', normalise: [strip, {{regex: '^(a|aa)+$', group: 0}}]}}
"""
SLOW_PAGE = f"""<html><head><title>Slow item</title></head><body>
<h1>{"a" * 80}b</h1><p>Mail bob@example.org, see http://{OTHER_HOST}/</p>
<a href="/item/2">next</a></body></html>"""
NORMAL_PAGE = """<html><head><title>Normal item</title>
<script type="application/ld+json">{"@type": "Product", "name": "Blue pills 10x", "sku": "77",
 "offers": {"price": "12.50", "priceCurrency": "EUR", "seller": {"name": "Bob"}}}</script>
</head><body><h1>Blue pills 10x</h1><p>Contact bob@example.org</p></body></html>"""


def response(url: str, html: str) -> HtmlResponse:
    return HtmlResponse(
        url=url, body=html.encode("utf-8"), encoding="utf-8", headers={"Content-Type": "text/html"},
        request=scrapy.Request(url),
    )


async def collect(result: Any) -> list[Any]:
    if hasattr(result, "__aiter__"):
        return [item async for item in result]
    return list(result)


@pytest.fixture()
def spider(tmp_path: Path):  # type: ignore[no-untyped-def]
    (tmp_path / "slowmarket.yml").write_text(PROFILE, encoding="utf-8")
    crawler = get_crawler(OnionSpider, {"EXTRACTION_BUDGET_SECONDS": BUDGET_SECONDS})
    spider = OnionSpider.from_crawler(
        crawler, seeds=f"http://{SLOW_HOST}/", markets_dir=str(tmp_path), follow_links="false"
    )
    yield spider
    if getattr(spider, "extractor", None) is not None:
        spider.extractor.close()


def test_a_page_over_budget_is_indexed_plainly_and_the_next_page_is_extracted(spider, caplog) -> None:
    async def crawl() -> tuple[list[Any], list[Any], float]:
        started = time.monotonic()
        slow = await collect(spider.parse(response(f"http://{SLOW_HOST}/item/1", SLOW_PAGE)))
        elapsed = time.monotonic() - started
        normal = await collect(spider.parse(response(f"http://{OTHER_HOST}/item/77", NORMAL_PAGE)))
        return slow, normal, elapsed

    slow, normal, elapsed = asyncio.run(crawl())

    (page,) = slow  # the page only: no listing, no wallet mentions
    assert isinstance(page, Page)
    assert (page.title, page.url) == ("Slow item", f"http://{SLOW_HOST}/item/1")
    assert "bob@example.org" in page.text and page.links == [f"http://{SLOW_HOST}/item/2"]
    assert page.onion_links == page.links
    assert page.market is None and page.emails == [] and page.wallets == []
    stats = spider.crawler.stats.get_stats()
    assert stats["onionscope/extraction_over_budget"] == 1
    assert "onionscope/extraction_failed" not in stats
    assert any("ran over its budget" in record.getMessage() and "/item/1" in record.getMessage()
               for record in caplog.records)
    # Killed at the budget, plus the worker's restart (imports, language model) and the plain read.
    assert elapsed < BUDGET_SECONDS + 30

    listing, page = normal  # a page's items come before the page itself
    assert isinstance(listing, Listing)
    assert (listing.title, listing.price_amount, listing.price_currency, listing.vendor) == (
        "Blue pills 10x", 12.5, "EUR", "Bob"
    )
    assert page.emails == ["bob@example.org"]
    assert spider.crawler.stats.get_value("onionscope/extraction_over_budget") == 1
    assert spider.crawler.stats.get_value("extract/pages/generic") == 1


def test_pages_keep_their_order_and_fields_through_the_worker(spider) -> None:
    """The worker gives the same items as extraction in the crawl process."""
    from crawler.extractors.document import extract_document

    async def crawl() -> list[Any]:
        results = await asyncio.gather(
            *(collect(spider.parse(response(f"http://{OTHER_HOST}/item/{n}", NORMAL_PAGE))) for n in range(5))
        )
        return [items for items in results]

    results = asyncio.run(crawl())
    for number, items in enumerate(results):
        expected = extract_document(
            NORMAL_PAGE.encode(), f"http://{OTHER_HOST}/item/{number}", items[0].fetched_at, spider.job_id,
            profiles=spider.profiles,
        ).items()
        assert items == expected


def test_a_zero_budget_extracts_in_the_crawl_process(tmp_path: Path) -> None:
    crawler = get_crawler(OnionSpider, {"EXTRACTION_BUDGET_SECONDS": 0})
    spider = OnionSpider.from_crawler(crawler, seeds=f"http://{OTHER_HOST}/", follow_links="false")
    assert spider.extractor is None
    items = asyncio.run(collect(spider.parse(response(f"http://{OTHER_HOST}/item/77", NORMAL_PAGE))))
    assert [type(item) for item in items] == [Listing, Page]


def test_plain_document_without_reading_the_html_keeps_url_status_and_hash() -> None:
    from crawler.extractors.document import plain_document

    html = NORMAL_PAGE.encode()
    read = plain_document(html, f"http://{OTHER_HOST}/x", "2025-12-01T00:00:00Z", "job", status=203)
    unread = plain_document(html, f"http://{OTHER_HOST}/x", "2025-12-01T00:00:00Z", "job", status=203, read_html=False)
    assert read.page.title == "Normal item" and read.items() == [read.page]
    assert (unread.page.title, unread.page.text, unread.page.links) == ("", "", [])
    assert (unread.page.status, unread.page.content_hash) == (203, read.page.content_hash)
    assert unread.page.onion_host == OTHER_HOST


@pytest.fixture()
def pool_spider(tmp_path: Path):  # type: ignore[no-untyped-def]
    """A spider whose extraction has two worker processes and a budget no test page reaches by accident."""
    (tmp_path / "slowmarket.yml").write_text(PROFILE, encoding="utf-8")
    crawler = get_crawler(OnionSpider, {"EXTRACTION_BUDGET_SECONDS": 120, "EXTRACTION_WORKERS": 2})
    spider = OnionSpider.from_crawler(
        crawler, seeds=f"http://{SLOW_HOST}/", markets_dir=str(tmp_path), follow_links="false"
    )
    yield spider
    if getattr(spider, "extractor", None) is not None:
        spider.extractor.close()


def test_a_page_is_extracted_while_another_worker_is_stuck_on_a_slow_one(pool_spider) -> None:
    """With two workers, one page that takes long does not hold the next page back.

    With a single worker the normal page could only be read after the slow
    one was killed at its budget, so it would come back with the over-budget
    stat already counted.
    """
    assert pool_spider.extractor.workers == 2

    async def crawl() -> tuple[list[Any], bool]:
        slow = asyncio.ensure_future(collect(pool_spider.parse(response(f"http://{SLOW_HOST}/item/1", SLOW_PAGE))))
        # Let the slow page reach its worker first: the callback runs up to its wait for the worker.
        await asyncio.sleep(0)
        normal = await collect(pool_spider.parse(response(f"http://{OTHER_HOST}/item/77", NORMAL_PAGE)))
        slow_done = slow.done()
        slow.cancel()
        return normal, slow_done

    normal, slow_done = asyncio.run(crawl())

    assert not slow_done
    assert "onionscope/extraction_over_budget" not in pool_spider.crawler.stats.get_stats()
    listing, page = normal
    assert (listing.title, listing.vendor, page.emails) == ("Blue pills 10x", "Bob", ["bob@example.org"])


def test_every_worker_extracts_a_market_host_under_its_market(pool_spider) -> None:
    """Pages of a profile's host read in parallel by both workers all go under the market."""
    page_html = "<html><head><title>Item</title></head><body><h1>aaaa</h1></body></html>"  # the profile's title: a short run of a's

    async def crawl() -> list[list[Any]]:
        return list(await asyncio.gather(*(
            collect(pool_spider.parse(response(f"http://{SLOW_HOST}/item/{number}", page_html)))
            for number in range(8)
        )))

    results = asyncio.run(crawl())
    for number, items in enumerate(results):
        listing, page = items
        assert isinstance(listing, Listing) and (listing.market, listing.title) == ("slowmarket", "aaaa")
        assert (page.market, page.url) == ("slowmarket", f"http://{SLOW_HOST}/item/{number}")
