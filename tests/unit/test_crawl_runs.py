"""The crawl-run document: the crawl job as it was made, and the counts the pipelines kept."""

from __future__ import annotations

from datetime import datetime, timezone

from crawler.job import create_crawl_job
from config.settings import load_settings
from pipelines.crawl_runs import crawl_run_document

SEED = "http://" + "a" * 56 + ".onion/"


def test_crawl_run_document_sums_the_pipeline_stats() -> None:
    stats = {
        "start_time": datetime(2026, 11, 28, 23, 0, tzinfo=timezone.utc),
        "elasticsearch/indexed/pages": 10, "elasticsearch/indexed/listings": 4,
        "elasticsearch/spooled": 2, "elasticsearch/failed": 2,
        "validate/dropped/bad_url": 1, "deduplicate/dropped/pages": 3,
    }
    document = crawl_run_document(create_crawl_job(["http://x.onion/"], "job"), "onion", "2026-11-28T23:10:00Z",
                                  "finished", stats)
    assert (document["pages_indexed"], document["items_indexed"], document["items_spooled"]) == (10, 14, 2)
    assert document["items_dropped"] == 4
    assert document["stats"]["start_time"] == "2026-11-28T23:00:00Z"


def test_crawl_run_document_records_the_job() -> None:
    settings = load_settings(None, environ={}).replace(crawl_depth=2, crawl_max_pages=9)
    job = create_crawl_job([SEED, SEED + "forum"], "job-7", follow_offsite=True, settings=settings)
    document = crawl_run_document(job, "onion", "2999-01-01T00:00:00Z", "finished", {})
    assert (document["job_id"], document["seeds"], document["started_at"]) == ("job-7", [SEED, SEED + "forum"],
                                                                              job.started_at)
    assert document["options"]["follow_offsite"] is True
    assert (document["options"]["depth"], document["options"]["max_pages"]) == (2, 9)


def test_seeds_are_capped_in_number_and_length() -> None:
    job = create_crawl_job([SEED + "x" * 3000] + [f"{SEED}{n}" for n in range(1200)], "job")
    seeds = crawl_run_document(job, "onion", "2999-01-01T00:00:00Z", "finished", {})["seeds"]
    assert len(seeds) == 1000 and len(seeds[0]) == 2048
