"""The pipeline's two freshness calls (pipelines.freshness.run) when Elasticsearch fails under them."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from crawler.freshness.liveness import Attempt
from crawler.spiders.onion import OnionSpider
from pipelines.bulk_writer import BulkWriter
from pipelines.freshness.run import finish_run, open_run

HOST = "a" * 56 + ".onion"


class Unreachable:
    """Every read fails as a refused connection would."""

    def search(self, **_: Any) -> Any:
        raise ConnectionError("connection refused")

    def mget(self, **_: Any) -> Any:
        raise ConnectionError("connection refused")


def test_a_failed_read_at_crawl_start_leaves_the_crawl_unconditional(caplog: pytest.LogCaptureFixture) -> None:
    spider = OnionSpider(seeds=f"http://{HOST}/")
    with caplog.at_level(logging.WARNING):
        open_run(Unreachable(), "p", spider)
    assert not spider.freshness.loaded and spider.freshness.stored_page_count == 0
    assert not spider.freshness.backoff_for(HOST).backing_off
    assert "fetches every page unconditionally" in caplog.text


class HalfBroken:
    """Takes bulk writes and entity reads; the removal sweep's refresh fails."""

    def __init__(self) -> None:
        self.bulk_lines: list[dict[str, Any]] = []
        self.indices = self

    def bulk(self, *, operations: list[dict[str, Any]]) -> dict[str, Any]:
        self.bulk_lines += operations
        return {"items": [{"index": {"status": 201, "result": "created"}}] * (len(operations) // 2)}

    def mget(self, *, index: str, ids: list[str]) -> Any:
        class Answer:
            body = {"docs": [{"_id": doc_id, "found": False} for doc_id in ids]}
        return Answer()

    def refresh(self, **_: Any) -> None:
        raise ConnectionError("connection reset")


def test_a_failing_step_at_the_end_is_counted_and_the_others_still_run(caplog: pytest.LogCaptureFixture) -> None:
    spider = OnionSpider(seeds=f"http://{HOST}/", job="job-1")
    spider.freshness.observations.record_attempt(Attempt(HOST, "2026-12-01T00:00:00Z", True, None, 200, 30))
    spider.freshness.observations.note_answer(f"http://{HOST}/")
    client = HalfBroken()
    with caplog.at_level(logging.ERROR):
        outcome = finish_run(BulkWriter(client, "p", None, max_retries=0), spider, "finished", {})
    indexed = [line for line in client.bulk_lines if "index" in line or "create" in line]
    assert {line.get("index", line.get("create"))["_index"] for line in indexed} == {"p-onion-checks", "p-onions"}
    assert outcome.stats["freshness/finish_errors"] == 1  # the sweep of the complete host
    assert outcome.stats["freshness/hosts_complete"] == 1 and "removal sweep" in caplog.text
