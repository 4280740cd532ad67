from __future__ import annotations

import pytest
from scrapy.exceptions import DropItem

from crawler.items import Listing, Page, Vendor, WalletMention
from pipelines.validate import Limits, ValidatePipeline, cap_item, problem_with


class Stats:
    def __init__(self) -> None:
        self.values: dict[str, int] = {}

    def inc_value(self, key: str, count: int = 1) -> None:
        self.values[key] = self.values.get(key, 0) + count


def page(**changes: object) -> Page:
    values: dict[str, object] = dict(url="http://x.onion/a", canonical_url="http://x.onion/a", onion_host="x.onion",
                                     status=200, content_type="text/html", content_hash="h",
                                     fetched_at="2026-11-28T23:25:18Z", job_id="job")
    values.update(changes)
    return Page(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("item", "reason"),
    [
        (page(fetched_at="yesterday"), "bad_fetched_at"),
        (page(fetched_at="2026-11-28T23:25:18"), "bad_fetched_at"),  # no time zone
        (page(url="javascript:alert(1)"), "bad_url"),
        (page(canonical_url="http://x.onion/" + "a" * 3000), "canonical_url_too_long"),
        (page(onion_host=""), "missing_onion_host"),
        (page(status=-1), "bad_status"),
        (page(job_id=""), "missing_job_id"),
        (Listing(market="m", listing_id="1", url="http://x.onion/l", title=" ", fetched_at="2026-11-28T23:25:18Z", job_id="j"), "missing_title"),
        (Listing(market="m", listing_id="1", url="http://x.onion/l", title="t", fetched_at="2026-11-28T23:25:18Z", job_id="j", price_amount=float("nan")), "bad_price_amount"),
        (Vendor(market="m", name="v" * 300, fetched_at="2026-11-28T23:25:18Z", job_id="j"), "name_too_long"),
        (WalletMention(address="1A 2B", coin="btc", network="mainnet", address_type="p2pkh", page_url="http://x.onion/", onion_host="x.onion", fetched_at="2026-11-28T23:25:18Z", job_id="j"), "bad_address"),
        ({"url": "http://x.onion/"}, "unknown_item"),
    ],
)
def test_broken_items_are_named(item: object, reason: str) -> None:
    problem = problem_with(item)
    assert problem is not None and problem.startswith(reason)


def test_a_sane_page_passes() -> None:
    assert problem_with(page()) is None


def test_sizes_are_capped_and_reported() -> None:
    limits = Limits(text_max_chars=1000, list_max_entries=3)
    big = page(text="x" * 5000, links=[f"http://x.onion/{n}" for n in range(10)], title="t" * 5000)
    capped, cut = cap_item(big, limits)
    assert len(capped.text) == 1000 and len(capped.links) == 3 and len(capped.title) == limits.title_max_chars
    assert cut == ["links", "text", "title"]
    assert len(big.text) == 5000  # the original is untouched
    same, nothing = cap_item(page(), limits)
    assert nothing == [] and same == page()


def test_onion_mentions_and_hidden_identifiers_are_capped_like_other_identifier_lists() -> None:
    limits = Limits(identifier_list_max_entries=2)
    hosts = [f"{n:056d}.onion" for n in range(5)]
    big = page(onion_mentions=[{"host": host, "version": 3, "where": "text", "obfuscated": False, "hidden": False}
                               for host in hosts], discovery_onions=hosts, hidden_identifiers=hosts + ["x" * 300])
    capped, cut = cap_item(big, limits)
    assert cut == ["discovery_onions", "hidden_identifiers", "onion_mentions"]
    assert [m["host"] for m in capped.onion_mentions] == capped.discovery_onions == capped.hidden_identifiers == hosts[:2]


def test_pipeline_drops_with_a_counted_reason_and_passes_capped_items() -> None:
    stats = Stats()
    pipeline = ValidatePipeline(Limits(text_max_chars=1000), stats=stats)
    with pytest.raises(DropItem, match="bad_status"):
        pipeline.process_item(page(status=1234))
    passed = pipeline.process_item(page(text="y" * 2000))
    assert len(passed.text) == 1000
    assert stats.values == {"validate/dropped/bad_status": 1, "validate/capped/text": 1, "validate/passed": 1}
