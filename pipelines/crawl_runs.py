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
* :func:`shared_crawl_run_document` (job, spider, finished_at, finish_reason, workers, job_complete, labels=None)
  -> dict: a shared job's record (schema 4), its figures summed over every worker
  (:func:`sum_worker_stats`), each worker's own in ``workers``;
* :func:`sum_worker_stats` (list of stats) -> the job's stats;
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


# Stats that are a maximum or a moment, not a count: not summed over workers.
_MAX_STATS = ("elapsed_time_seconds", "memusage/max", "memusage/startup")
MAX_WORKERS = 256


def sum_worker_stats(worker_stats: list[dict[str, Any]]) -> dict[str, Any]:
    """One job's stats from its workers': counts added up, ``*_max`` and elapsed time the largest,
    texts (a finish reason, a spool error) the first given.  Returns a new dict; raises nothing."""
    total: dict[str, Any] = {}
    for stats in worker_stats:
        for key, value in stats.items():
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                if value not in (None, "") and key not in total:
                    total[key] = value
            elif key.endswith("_max") or key in _MAX_STATS:
                total[key] = max(value, total.get(key, value))
            else:
                total[key] = total.get(key, 0) + value
    return total


def worker_row(run: dict[str, Any]) -> dict[str, Any]:
    info, stats = run.get("info") or {}, run.get("stats") or {}

    def number(key: str) -> int:
        value = stats.get(key, 0)
        return int(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else 0

    return {
        "worker_id": str(run.get("worker_id", ""))[:256],
        "hostname": str(info.get("hostname", ""))[:256],
        "pid": int(info.get("pid") or 0),
        "started_at": info.get("started_at"),
        "finished_at": info.get("finished_at"),
        "finish_reason": (str(info["finish_reason"])[:128] if info.get("finish_reason") else
                          ("running" if run.get("alive") else "gone")),
        "pages": number("onionscope/pages") or number("response_received_count"),
        "requests": number("downloader/request_count"),
        "items_indexed": sum(number(key) for key in stats if key.startswith("elasticsearch/indexed/")),
        "leases_released": number("frontier/released"),
        "stats": stats,
    }


def shared_crawl_run_document(
    job: CrawlJob, spider: str, finished_at: str, finish_reason: str | None, workers: list[dict[str, Any]],
    job_complete: bool, labels: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The record of a shared job: :func:`crawl_run_document` over the sum of every worker's stats.

    ``workers``: :func:`crawler.frontier.workers.worker_runs`.  Each worker's
    own figures and stats go into ``workers``; ``finish_reason`` is
    ``finished`` once the job's frontier is empty (``job_complete``), else this
    worker's reason.  Every worker rewrites the record when it stops, so the
    last one leaves the whole job's.
    """
    total = sum_worker_stats([dict(run.get("stats") or {}) for run in workers])
    reason = "finished" if job_complete and finish_reason == "finished" else finish_reason
    document = crawl_run_document(job, spider, finished_at, reason, total, labels)
    rows = [worker_row(run) for run in workers][:MAX_WORKERS]
    document.update(shared=True, worker_count=len(workers), workers=json_safe(rows))
    return document


def write_crawl_run(writer: BulkWriter, document: dict[str, Any]) -> BatchOutcome:
    """Index the crawl-run document (``_id`` = job_id); spooled like any other on failure."""
    outcome = BatchOutcome()
    operation = Operation(KIND, "index", crawl_run_doc_id(document["job_id"]), document, alias_name(writer.index_prefix, KIND))
    succeeded, failures = writer.send([operation], outcome)
    outcome.indexed[KIND] += len(succeeded)
    for failure in failures:
        writer.spool_document(failure, outcome)
    return outcome
