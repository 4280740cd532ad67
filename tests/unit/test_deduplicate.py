from __future__ import annotations

import pytest
from scrapy.exceptions import DropItem

from crawler.items import Page, Vendor, WalletMention
from pipelines.deduplicate import DeduplicatePipeline, SeenDocuments


def page(content_hash: str, fetched_at: str = "2026-11-28T23:25:18Z", url: str = "http://x.onion/a") -> Page:
    return Page(url=url, canonical_url=url, onion_host="x.onion", status=200, content_type="text/html",
                content_hash=content_hash, fetched_at=fetched_at, job_id="job")


def test_same_page_same_content_is_dropped_changed_content_goes_through() -> None:
    pipeline = DeduplicatePipeline()
    assert pipeline.process_item(page("h1")) is not None
    with pytest.raises(DropItem):
        pipeline.process_item(page("h1", fetched_at="2026-11-28T23:30:00Z"))
    assert pipeline.process_item(page("h2")).content_hash == "h2"
    assert pipeline.process_item(page("h1", url="http://x.onion/b")) is not None


def test_vendor_repeat_ignores_fetch_time_but_not_content() -> None:
    seen = SeenDocuments()
    vendor = Vendor(market="m", name="Bob", fetched_at="2026-11-28T23:25:18Z", job_id="j", rating=4.5)
    assert not seen.is_repeat(vendor)
    assert seen.is_repeat(Vendor(market="m", name="BOB", fetched_at="2026-11-29T00:00:00Z", job_id="j", rating=4.5)) is False
    # Same document, same content as the last one passed on: a repeat, whatever its fetch time and job.
    assert seen.is_repeat(Vendor(market="m", name="BOB", fetched_at="2026-11-29T01:00:00Z", job_id="j2", rating=4.5))


def test_one_wallet_on_two_pages_is_two_mentions() -> None:
    seen = SeenDocuments()
    def mention(url: str) -> WalletMention:
        return WalletMention(address="1Boat", coin="btc", network="mainnet", address_type="p2pkh", page_url=url,
                             onion_host="x.onion", fetched_at="2026-11-28T23:25:18Z", job_id="j")
    assert not seen.is_repeat(mention("http://x.onion/1"))
    assert not seen.is_repeat(mention("http://x.onion/2"))
    assert seen.is_repeat(mention("http://x.onion/1"))
    assert len(seen) == 2
