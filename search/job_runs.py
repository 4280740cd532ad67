"""Reading scheduled jobs' runs from the crawl-runs index: history, one run, the Jobs overview, run totals.

Written once as :mod:`search.es_steps` generators, so ``onionscope jobs``
(blocking client) and the API's Jobs pages (async client) share them.

Public API:

* :func:`job_history_steps` (prefix, job_name, limit) -> list of run summaries, newest first;
* :func:`run_detail_steps` (prefix, job_id) -> the whole run document, or None;
* :func:`jobs_overview_steps` (prefix, schedule, now, runs_per_job) -> one dict per
  scheduled job: its timing, next run and last runs;
* :func:`job_overview` (job, now, last_runs) -> the same for one job, without Elasticsearch;
* :func:`run_totals_steps` (prefix) -> per job: runs by outcome, last success,
  last duration and outcome, figures summed over its runs, errors by type, bulk
  latency (what ``/metrics`` on the API shows);
* :func:`run_summary` (document) -> the fields a history row shows;
* :data:`SUMMARY_FIELDS`.

A missing crawl-runs alias answers as "no runs".  Elasticsearch errors propagate.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from search.es_steps import Get, Msearch, Search, Steps

# What `jobs history --json` prints for each run, and the Jobs page lists.
SUMMARY_FIELDS = ("job_id", "job_name", "started_at", "finished_at", "outcome", "outcome_reason", "trigger",
                  "scheduled_for", "missed_runs", "pages", "items", "bytes", "error_count", "tor_failures")
HISTORY_MAX = 1000
# Figures run_totals_steps adds up over every run of a job (whole numbers; bulk_seconds is seconds).
SUMMED = ("pages", "items", "bytes", "error_count", "tor_failures", "tor_bootstrap_failures", "tor_circuit_failures",
          "tor_newnym", "bulk_requests", "items_failed")
SUMMED_SECONDS = ("bulk_seconds",)
# Error types per job, at most (a type is onionscope's or Scrapy's name, never crawled text).
MAX_ERROR_TYPES = 200
NEWEST_FIRST = [{"started_at": {"order": "desc"}}, {"job_id": {"order": "desc"}}]


def _alias(prefix: str) -> str:
    return f"{prefix}-crawl-runs"


def run_summary(document: dict[str, Any]) -> dict[str, Any]:
    """The summary fields of a run document (missing ones as None; counts as 0)."""
    summary = {name: document.get(name) for name in SUMMARY_FIELDS}
    for name in ("pages", "items", "bytes", "error_count", "tor_failures", "missed_runs"):
        summary[name] = int(summary[name] or 0)
    summary["duration_seconds"] = duration_seconds(document)
    return summary


def duration_seconds(document: dict[str, Any]) -> float | None:
    """Seconds from ``started_at`` to ``finished_at``, or None when either is missing or unreadable."""
    try:
        started = datetime.fromisoformat(str(document["started_at"]).replace("Z", "+00:00"))
        finished = datetime.fromisoformat(str(document["finished_at"]).replace("Z", "+00:00"))
    except (KeyError, TypeError, ValueError):
        return None
    return max(0.0, (finished - started).total_seconds())


def _history_body(job_name: str, limit: int) -> dict[str, Any]:
    return {
        "size": max(0, min(limit, HISTORY_MAX)),
        "query": {"term": {"job_name": job_name}},
        "sort": NEWEST_FIRST,
        "_source": list(SUMMARY_FIELDS),
    }


def job_history_steps(prefix: str, job_name: str, limit: int = 50) -> Steps:
    """The runs of ``job_name``, newest first (by ``started_at``), at most ``limit`` (capped at 1000)."""
    response = yield Search(_alias(prefix), _history_body(job_name, limit))
    return [run_summary(hit["_source"]) for hit in response["hits"]["hits"]]


def run_detail_steps(prefix: str, job_id: str) -> Steps:
    """The run document ``job_id`` (all of it, Scrapy's stats included), or None."""
    answer = yield Get(_alias(prefix), job_id)
    if answer is None:
        return None
    document = dict(answer["_source"])
    document["duration_seconds"] = duration_seconds(document)
    return document


def jobs_overview_steps(prefix: str, schedule: Any, now: datetime, runs_per_job: int = 5) -> Steps:
    """Each job of ``schedule`` (a :class:`crawler.schedules.Schedule`) with its next run and last runs."""
    jobs = list(schedule.jobs.values())
    answers = []
    if jobs:
        answers = yield Msearch(tuple((_alias(prefix), _history_body(job.name, runs_per_job)) for job in jobs))
    return [job_overview(job, now, [run_summary(hit["_source"]) for hit in (answer.get("hits") or {}).get("hits", [])])
            for job, answer in zip(jobs, answers or [{}] * len(jobs))]


def job_overview(job: Any, now: datetime, last_runs: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """What the Jobs page and ``jobs list`` show of one scheduled job (``seeds``: seed URLs plus a seeds file)."""
    return {
        "name": job.name,
        "timing": job.timing,
        "enabled": job.enabled,
        "next_run": job.next_after(now).strftime("%Y-%m-%dT%H:%M:%SZ") if job.enabled else None,
        "seeds": len(job.seeds) + (1 if job.seeds_file else 0),
        "depth": job.depth,
        "discover": job.discover,
        "last_runs": list(last_runs or []),
    }


def run_totals_steps(prefix: str, max_jobs: int = 500) -> Steps:
    """Per job name: ``{"runs": {outcome: count}, "last_success": epoch s|None, "last": {outcome, duration_seconds},
    "errors": {type: n}, "bulk_seconds_max": s, <each of SUMMED and SUMMED_SECONDS>: total}`` -- the figures
    summed over its runs (``errors`` from the nested ``error_types``), the slowest bulk request of any run."""
    response = yield Search(_alias(prefix), {
        "size": 0,
        "query": {"exists": {"field": "job_name"}},
        "aggs": {"jobs": {
            "terms": {"field": "job_name", "size": max_jobs},
            "aggs": {
                "outcomes": {"terms": {"field": "outcome", "size": 10}},
                "last_success": {"filter": {"term": {"outcome": "ok"}},
                                 "aggs": {"at": {"max": {"field": "finished_at"}}}},
                **{f"sum_{name}": {"sum": {"field": name}} for name in (*SUMMED, *SUMMED_SECONDS)},
                "max_bulk_seconds": {"max": {"field": "bulk_seconds_max"}},
                "errors": {"nested": {"path": "error_types"}, "aggs": {"types": {
                    "terms": {"field": "error_types.type", "size": MAX_ERROR_TYPES},
                    "aggs": {"count": {"sum": {"field": "error_types.count"}}}}}},
                "last": {"top_hits": {"size": 1, "sort": NEWEST_FIRST,
                                      "_source": ["outcome", "started_at", "finished_at"]}},
            },
        }},
    })
    totals: dict[str, Any] = {}
    for bucket in ((response.get("aggregations") or {}).get("jobs") or {}).get("buckets", []):
        last_hits = bucket["last"]["hits"]["hits"]
        last = last_hits[0]["_source"] if last_hits else {}
        at = bucket["last_success"]["at"].get("value")
        totals[bucket["key"]] = {
            "runs": {item["key"]: item["doc_count"] for item in bucket["outcomes"]["buckets"]},
            "last_success": at / 1000.0 if at is not None else None,
            "last": {"outcome": last.get("outcome"), "duration_seconds": duration_seconds(last)},
            **{name: int(bucket[f"sum_{name}"].get("value") or 0) for name in SUMMED},
            **{name: float(bucket[f"sum_{name}"].get("value") or 0.0) for name in SUMMED_SECONDS},
            "bulk_seconds_max": float(bucket["max_bulk_seconds"].get("value") or 0.0),
            "errors": {item["key"]: int(item["count"].get("value") or 0)
                       for item in bucket["errors"]["types"]["buckets"]},
        }
    return totals
