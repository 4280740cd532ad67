"""A shared job's crawl-run record (pipelines.crawl_runs.shared_crawl_run_document, schema 4),
the JSON serializer of its requests and the guard's Redis endpoint."""

from __future__ import annotations

import json

from scrapy import Request, Spider

from config import paths
from crawler.frontier import serializer
from crawler.job import create_crawl_job
from crawler.tor.network_guard import redis_endpoint
from pipelines.crawl_runs import shared_crawl_run_document, sum_worker_stats


def _workers() -> list[dict]:
    return [
        {"worker_id": "a-1", "alive": False,
         "info": {"hostname": "a", "pid": 1, "started_at": "2026-01-01T00:00:00Z",
                  "finished_at": "2026-01-01T00:10:00Z", "finish_reason": "finished"},
         "stats": {"onionscope/pages": 30, "downloader/request_count": 32, "elasticsearch/indexed/pages": 30,
                   "elasticsearch/indexed/listings": 5, "elasticsearch/bulk_seconds": 1.5,
                   "elasticsearch/bulk_seconds_max": 0.4, "elapsed_time_seconds": 600.0, "finish_reason": "finished"}},
        {"worker_id": "b-2", "alive": False, "info": {"hostname": "b", "pid": 2, "started_at": "2026-01-01T00:01:00Z"},
         "stats": {"onionscope/pages": 12, "downloader/request_count": 20, "elasticsearch/indexed/pages": 12,
                   "elasticsearch/bulk_seconds": 0.5, "elasticsearch/bulk_seconds_max": 0.9,
                   "elapsed_time_seconds": 300.0}},
    ]


def test_worker_stats_are_summed_maxima_kept_and_texts_taken_once() -> None:
    total = sum_worker_stats([run["stats"] for run in _workers()])
    assert total["onionscope/pages"] == 42 and total["downloader/request_count"] == 52
    assert total["elasticsearch/bulk_seconds"] == 2.0 and total["elasticsearch/bulk_seconds_max"] == 0.9
    assert total["elapsed_time_seconds"] == 600.0 and total["finish_reason"] == "finished"


def test_the_shared_record_is_the_jobs_with_each_workers_own_figures_and_fits_the_mapping() -> None:
    job = create_crawl_job(["http://x.onion/"], "sweep")
    document = shared_crawl_run_document(job, "onion", "2026-01-01T00:10:00Z", "finished", _workers(),
                                         job_complete=True)
    template = json.loads((paths.index_templates_dir() / "crawl-runs.json").read_text())
    properties = template["mappings"]["properties"]
    assert template["schema_version"] == 4
    assert set(document) <= set(properties), set(document) - set(properties)
    assert set(document["workers"][0]) <= set(properties["workers"]["properties"])
    assert document["shared"] is True and document["worker_count"] == 2
    assert document["pages"] == 42 and document["pages_indexed"] == 42 and document["items"] == 5
    assert document["finish_reason"] == "finished" and document["outcome"] == "ok"
    rows = {row["worker_id"]: row for row in document["workers"]}
    assert (rows["a-1"]["pages"], rows["b-2"]["pages"]) == (30, 12)
    # The second worker never said how it ended (killed): it is gone.
    assert (rows["a-1"]["finish_reason"], rows["b-2"]["finish_reason"]) == ("finished", "gone")


def test_a_worker_that_stops_while_the_job_goes_on_does_not_call_it_finished() -> None:
    job = create_crawl_job(["http://x.onion/"], "sweep")
    document = shared_crawl_run_document(job, "onion", "2026-01-01T00:10:00Z", "shutdown", _workers(),
                                         job_complete=False)
    assert document["finish_reason"] == "shutdown" and document["outcome"] == "partial"


class _Spider(Spider):
    name = "onion"

    def parse(self, response, **kwargs):  # type: ignore[no-untyped-def]
        return None


def test_requests_go_to_redis_as_json_and_come_back_whole() -> None:
    spider = _Spider()
    request = Request("http://x.onion/a?b=1", callback=spider.parse, headers={"Accept": "text/html"},
                      meta={"depth": 3, "reserved": True, "pair": ("a", 1)}, priority=-3, body=b"\x00\xff")
    data = serializer.dumps(request.to_dict(spider=spider))
    assert b"pickle" not in data and json.loads(data)["url"] == "http://x.onion/a?b=1"
    restored = serializer.loads(data)
    assert restored["headers"] == {b"Accept": [b"text/html"]} and restored["body"] == b"\x00\xff"
    assert restored["meta"]["depth"] == 3 and restored["meta"]["pair"] == ["a", 1]


def test_the_guard_allows_the_shared_frontiers_redis_and_nothing_for_a_unix_socket() -> None:
    assert redis_endpoint("redis://127.0.0.1:6390/0") == [("127.0.0.1", 6390)]
    assert redis_endpoint("rediss://:secret@redis.internal/0") == [("redis.internal", 6379)]
    assert redis_endpoint("unix:///run/redis.sock") == [] and redis_endpoint(None) == []
