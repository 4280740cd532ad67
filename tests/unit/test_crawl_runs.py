"""The crawl-run document: the counts the pipelines kept."""

from __future__ import annotations

from datetime import datetime, timezone

from pipelines.crawl_runs import crawl_run_document


def test_crawl_run_document_sums_the_pipeline_stats() -> None:
    stats = {
        "start_time": datetime(2026, 11, 28, 23, 0, tzinfo=timezone.utc),
        "elasticsearch/indexed/pages": 10, "elasticsearch/indexed/listings": 4,
        "elasticsearch/spooled": 2, "elasticsearch/failed": 2,
        "validate/dropped/bad_url": 1, "deduplicate/dropped/pages": 3,
    }
    document = crawl_run_document("job", "onion", "2026-11-28T23:00:00Z", "2026-11-28T23:10:00Z", "finished",
                                  ["http://x.onion/"], stats)
    assert (document["pages_indexed"], document["items_indexed"], document["items_spooled"]) == (10, 14, 2)
    assert document["items_dropped"] == 4
    assert document["stats"]["start_time"] == "2026-11-28T23:00:00Z"
