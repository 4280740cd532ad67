"""Crawl-run records: one document per crawl job in ``<prefix>-crawl-runs`` (``_id`` = job id).

The document holds the :class:`crawler.job.CrawlJob` the crawl was started
with (job id, seeds, start time, options), how it finished, the counts the
pipelines kept and Scrapy's stats (stored, not indexed).

Public API:

* :func:`crawl_run_document` (job, spider, finished_at, finish_reason, stats) -> dict;
* :func:`write_crawl_run` (writer, document) -> :class:`~pipelines.bulk_writer.BatchOutcome`:
  indexes it through the bulk writer, which retries and spools it like any
  other document (raises OSError only when the spool cannot be written).
"""

from __future__ import annotations

from typing import Any

from crawler.job import CrawlJob
from pipelines.bulk_writer import BatchOutcome, BulkWriter, Operation
from config.schema import alias_name, crawl_run_doc_id
from pipelines.spool import json_safe

KIND = "crawl-runs"
MAX_SEEDS = 1000
MAX_SEED_CHARS = 2048


def crawl_run_document(
    job: CrawlJob, spider: str, finished_at: str, finish_reason: str | None, stats: dict[str, Any],
) -> dict[str, Any]:
    """The crawl-run document of ``job``; counts come from the pipelines' stats."""
    def total(prefix: str) -> int:
        return int(sum(v for k, v in stats.items() if k.startswith(prefix) and isinstance(v, (int, float))))

    recorded = job.to_doc()
    return {
        "job_id": recorded["job_id"],
        "spider": spider,
        "started_at": recorded["started_at"],
        "finished_at": finished_at,
        "finish_reason": finish_reason,
        "seeds": [str(seed)[:MAX_SEED_CHARS] for seed in recorded["seeds"]][:MAX_SEEDS],
        "options": recorded["options"],
        "pages_indexed": int(stats.get("elasticsearch/indexed/pages", 0)),
        "items_indexed": total("elasticsearch/indexed/"),
        "items_failed": int(stats.get("elasticsearch/failed", 0)),
        "items_spooled": int(stats.get("elasticsearch/spooled", 0)),
        "items_dropped": total("validate/dropped/") + total("deduplicate/dropped/"),
        "stats": json_safe(stats),
    }


def write_crawl_run(writer: BulkWriter, document: dict[str, Any]) -> BatchOutcome:
    """Index the crawl-run document (``_id`` = job_id); spooled like any other on failure."""
    outcome = BatchOutcome()
    operation = Operation(KIND, "index", crawl_run_doc_id(document["job_id"]), document, alias_name(writer.index_prefix, KIND))
    succeeded, failures = writer.send([operation], outcome)
    outcome.indexed[KIND] += len(succeeded)
    for failure in failures:
        writer.spool_document(failure, outcome)
    return outcome
