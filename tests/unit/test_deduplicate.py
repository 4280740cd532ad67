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


def test_a_listing_repeat_ignores_fetch_time_and_job_but_no_field_of_its_content() -> None:
    from crawler.items import Listing

    def listing(**changes: object) -> Listing:
        values: dict[str, object] = dict(
            market="m", listing_id="42", url="http://x.onion/l/42", title="Item", fetched_at="2026-11-28T23:25:18Z",
            job_id="j", onion_host="x.onion", price_amount=12.5, price_currency="USD", crypto_prices={"btc": 0.001},
            ships_to=["eu"], evidence={"file": "a.warc.gz", "offset": 10})
        values.update(changes)
        return Listing(**values)  # type: ignore[arg-type]

    seen = SeenDocuments()
    assert not seen.is_repeat(listing())
    assert seen.is_repeat(listing(fetched_at="2026-11-29T00:00:00Z", job_id="j2"))
    for change in ({"price_amount": 12.0}, {"crypto_prices": {"btc": 0.002}}, {"ships_to": ["eu", "us"]},
                   {"evidence": {"file": "a.warc.gz", "offset": 11}}, {"price_amount": None}, {"title": "Item 2"}):
        assert not seen.is_repeat(listing(**change)), change
        assert seen.is_repeat(listing(**change)), change
    # Keys in another order are the same content.
    assert not seen.is_repeat(listing(crypto_prices={"btc": 0.1, "xmr": 2.0}))
    assert seen.is_repeat(listing(crypto_prices={"xmr": 2.0, "btc": 0.1}))
