from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from scrapy.utils.test import get_crawler

from crawler.items import Page
from crawler.spiders.onion import OnionSpider
from pipelines.elasticsearch_bulk import ElasticsearchBulkPipeline
from pipelines.spool import spool_files


def _page(number: int) -> Page:
    url = f"http://{'x' * 56}.onion/page/{number}"
    return Page(url=url, canonical_url=url, onion_host="x" * 56 + ".onion", status=200, content_type="text/html",
                content_hash="h", fetched_at="2026-11-28T10:00:00Z", job_id="job-1", title=f"Page {number}")


def _pipeline_whose_batches_raise(spool_dir: Path) -> ElasticsearchBulkPipeline:
    # No Elasticsearch is involved: the indexer raises before it would talk to one.
    crawler = get_crawler()
    crawler.stats.open_spider()
    pipeline = ElasticsearchBulkPipeline(None, "test-prefix", spool_dir, batch_size=3,  # type: ignore[arg-type]
                                         stats=crawler.stats)

    def index_items(items: list[Any]) -> None:
        raise RuntimeError("a bug while indexing the batch")

    pipeline.indexer.index_items = index_items  # type: ignore[method-assign]
    return pipeline


def test_a_batch_that_raises_is_spooled_as_items_and_counted(tmp_path: Path) -> None:
    pipeline = _pipeline_whose_batches_raise(tmp_path / "spool")
    pages = [_page(number) for number in range(4)]

    async def crawl() -> None:
        for page in pages:
            await pipeline.process_item(page)
        await pipeline.close_spider()

    asyncio.run(crawl())
    pipeline.spool_writer.close()
    records = [json.loads(line) for path in spool_files(tmp_path / "spool") for line in path.read_text().splitlines()]
    assert [(r["record"], r["kind"], r["index_prefix"], r["id"]) for r in records] == [
        ("item", "pages", "test-prefix", page.doc_id()) for page in pages]
    assert records[0]["item"]["title"] == "Page 0" and "a bug while indexing" in records[0]["error"]
    stats = pipeline.stats.get_stats()
    assert (stats["elasticsearch/spooled"], stats["elasticsearch/failed"], stats["elasticsearch/unexpected_errors"]) \
        == (4, 4, 2)  # one full batch and the remainder flushed on close


def test_a_batch_the_spool_refuses_too_goes_back_to_the_buffer_and_the_error_is_raised(tmp_path: Path) -> None:
    blocker = tmp_path / "spool"
    blocker.write_text("a file where the spool folder should be")
    pipeline = _pipeline_whose_batches_raise(blocker)
    pages = [_page(number) for number in range(3)]

    async def crawl() -> None:
        await pipeline.process_item(pages[0])
        await pipeline.process_item(pages[1])
        with pytest.raises(RuntimeError, match="3 items were neither indexed nor spooled"):
            await pipeline.process_item(pages[2])

    asyncio.run(crawl())
    assert pipeline.buffer == pages
    blocker.unlink()  # the spool works again: the next flush spools them

    asyncio.run(pipeline.close_spider())
    pipeline.spool_writer.close()
    assert pipeline.buffer == []
    [path] = spool_files(blocker)
    assert [json.loads(line)["id"] for line in path.read_text().splitlines()] == [page.doc_id() for page in pages]


class RecordingCluster:
    """Takes every bulk request and answers that each operation was indexed."""

    def __init__(self) -> None:
        self.lines: list[dict[str, Any]] = []

    def bulk(self, *, operations: list[dict[str, Any]]) -> dict[str, Any]:
        self.lines += operations
        return {"items": [{"index": {"status": 201}}] * (len(operations) // 2)}


def test_the_crawl_run_record_holds_the_onion_spiders_job(tmp_path: Path) -> None:
    cluster = RecordingCluster()
    crawler = get_crawler()
    crawler.stats.open_spider()
    pipeline = ElasticsearchBulkPipeline(cluster, "test-prefix", tmp_path / "spool", stats=crawler.stats)
    seeds = [f"http://{'a' * 56}.onion/", f"http://{'b' * 56}.onion/forum"]
    spider = OnionSpider(seeds=seeds, job="job-9", follow_offsite="true")
    pipeline.record_crawl_run(spider, "finished")
    [header, document] = cluster.lines
    assert header == {"index": {"_index": "test-prefix-crawl-runs", "_id": "job-9"}}
    assert (document["job_id"], document["seeds"]) == ("job-9", seeds)
    assert document["started_at"] == spider.crawl_job.started_at
    assert document["options"]["follow_offsite"] is True and document["finish_reason"] == "finished"
    assert crawler.stats.get_value("elasticsearch/indexed/crawl-runs") == 1
