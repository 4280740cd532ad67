from __future__ import annotations

from datetime import datetime, timezone

from pipelines.elasticsearch_bulk import Operation, _bulk_lines, _is_retryable, crawl_run_document


def test_retryable_errors_are_transient_ones_only() -> None:
    assert _is_retryable(429, {"type": "es_rejected_execution_exception"})
    assert _is_retryable(403, {"type": "cluster_block_exception"})  # a write block during a migration
    assert _is_retryable(503, {})
    assert not _is_retryable(400, {"type": "strict_dynamic_mapping_exception"})
    assert not _is_retryable(400, {"type": "document_parsing_exception"})


def test_bulk_lines_pair_metadata_with_bodies() -> None:
    operations = [
        Operation("wallets", "index", "w1", {"address": "a"}, "p-wallets", {"if_seq_no": 4, "if_primary_term": 1}),
        Operation("pages", "update", "p1", {"doc": {}, "upsert": {}}, "p-pages", {"retry_on_conflict": 3}),
    ]
    assert _bulk_lines(operations) == [
        {"index": {"_index": "p-wallets", "_id": "w1", "if_seq_no": 4, "if_primary_term": 1}},
        {"address": "a"},
        {"update": {"_index": "p-pages", "_id": "p1", "retry_on_conflict": 3}},
        {"doc": {}, "upsert": {}},
    ]


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
