from __future__ import annotations

import pytest

from crawler.extractors.onions import v3_onion_from_pubkey
from onionscope.commands.crawl import format_summary, run_crawl, summarize
from onionscope.errors import UserError
from onionscope.settings import load_settings


def test_summary_adds_up_per_kind_counters() -> None:
    stats = {
        "onionscope/pages": 7,
        "elasticsearch/indexed/pages": 7,
        "elasticsearch/indexed/listings": 3,
        "elasticsearch/spooled": 1,
        "validate/dropped/missing_field": 2,
        "validate/dropped/too_big": 1,
        "media_guard/blocked_url": 4,
        "media_guard/blocked_content_type": 1,
        "onionscope/media_links_skipped": 3,
        "tor/socks_error/host_unreachable": 2,
        "extract/drift/old-bazaar/price": 5,
        "extract/looks_like/nebula-market": 2,
    }
    summary = summarize("job-1", stats)
    assert summary["pages"] == 7
    assert summary["items_indexed"] == 10
    assert summary["indexed_by_kind"] == {"pages": 7, "listings": 3}
    assert summary["items_dropped_invalid"] == 3
    assert summary["media_blocked"] == 8
    assert summary["socks_errors"] == {"host_unreachable": 2}
    assert summary["look_alike_pages"] == 2
    text = format_summary(summary)
    assert "host_unreachable=2" in text and "replay-spool" in text and "drift" in text
    assert "2 pages look like a profiled market" in text and "--market-host" in text


@pytest.mark.parametrize(("confirmation", "message"), [
    (f"no-such-market={v3_onion_from_pubkey(bytes(32))}", "no market profile named 'no-such-market'"),
    ("nebula-market=" + "a" * 56 + ".onion", "not a v3 onion address"),  # right shape, wrong checksum
])
def test_a_wrong_market_host_confirmation_stops_the_crawl_before_it_starts(confirmation: str, message: str) -> None:
    # No tor and no Elasticsearch are configured: the confirmation is checked first, as one line.
    settings = load_settings(None, environ={}).replace(market_hosts=[confirmation])
    with pytest.raises(UserError, match=message):
        run_crawl(settings, ["http://" + v3_onion_from_pubkey(bytes(32)) + "/"], "job")
