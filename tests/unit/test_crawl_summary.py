from __future__ import annotations

from onionscope.commands.crawl import format_summary, summarize


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
    }
    summary = summarize("job-1", stats)
    assert summary["pages"] == 7
    assert summary["items_indexed"] == 10
    assert summary["indexed_by_kind"] == {"pages": 7, "listings": 3}
    assert summary["items_dropped_invalid"] == 3
    assert summary["media_blocked"] == 8
    assert summary["socks_errors"] == {"host_unreachable": 2}
    text = format_summary(summary)
    assert "host_unreachable=2" in text and "replay-spool" in text and "drift" in text
