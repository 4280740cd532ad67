"""Crawl-run records: one document per crawl job in ``<prefix>-crawl-runs`` (``_id`` = job id).

The document holds the :class:`crawler.job.CrawlJob` the crawl was started
with (job id, seeds, start time, options), how it finished, the counts the
pipelines kept, what changed (new, changed and removed listings, changed
pages: :func:`pipelines.freshness.changes.run_change_counts`), the onion hosts
that showed a login wall where content was expected (``needs_login_sites``)
and those that had a login session (``session_sites``: names only, never a
cookie or header value), and Scrapy's stats (stored, not indexed; they hold no
session value either).

Public API:

* :func:`crawl_run_document` (job, spider, finished_at, finish_reason, stats, labels=None) -> dict
  (schema 3: with the scheduled job's labels, the outcome and the figures of :mod:`pipelines.job_runs`);
* :func:`write_crawl_run` (writer, document) -> :class:`~pipelines.bulk_writer.BatchOutcome`:
  indexes it through the bulk writer, which retries and spools it like any
  other document (raises OSError only when the spool cannot be written).
"""

from __future__ import annotations

from typing import Any

from crawler.job import CrawlJob
from crawler.middlewares.login_wall import needs_login_sites, session_sites
from pipelines.bulk_writer import BatchOutcome, BulkWriter, Operation
from config.schema import alias_name, crawl_run_doc_id
from pipelines.freshness.changes import run_change_counts
from pipelines.spool import json_safe

KIND = "crawl-runs"
MAX_SEEDS = 1000
MAX_SEED_CHARS = 2048


def crawl_run_document(
    job: CrawlJob, spider: str, finished_at: str, finish_reason: str | None, stats: dict[str, Any],
    labels: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The crawl-run document of ``job``; counts come from the pipelines' stats.

    ``labels`` (:func:`pipelines.job_runs.run_labels`: the scheduled job's
    name, trigger, ...) are stored as they are; the outcome and the figures
    come from :func:`pipelines.job_runs.run_figures`.
    """
    from pipelines.job_runs import run_figures

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
        "needs_login_sites": sorted(needs_login_sites(stats))[:MAX_SEEDS],
        "session_sites": session_sites(stats)[:MAX_SEEDS],
        "stats": json_safe(stats),
        # listings_new, listings_changed, listings_removed, pages_changed.
        **run_change_counts(stats),
        **(labels or {}),
        **run_figures(stats, finish_reason),
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
