"""``GET /metrics``: Prometheus metrics of the scheduled jobs, read from the crawl-runs index at each scrape.

Needs a viewer token (Prometheus sends it with ``authorization: {credentials: ...}``
in its scrape config); not audited, since it shows job names and counts only,
never crawled content.  Per job (label ``job``):

* ``onionscope_job_runs_total{job,outcome}`` -- runs recorded, by outcome;
* ``onionscope_job_last_success_timestamp_seconds{job}``, ``onionscope_job_last_run_duration_seconds{job}``,
  ``onionscope_job_last_outcome{job,outcome}`` (1 for the last run's outcome);
* ``onionscope_crawl_pages_total``, ``onionscope_crawl_items_total``, ``onionscope_crawl_bytes_total``,
  ``onionscope_crawl_errors_total{job,type}`` (by type), ``onionscope_tor_failures_total``,
  ``onionscope_tor_bootstrap_failures_total``, ``onionscope_tor_circuit_failures_total``,
  ``onionscope_tor_newnym_total`` and ``onionscope_bulk_failures_total``, summed over the job's runs;
* ``onionscope_bulk_request_seconds{job}`` (summary: ``_count`` bulk requests, ``_sum`` their latency)
  and ``onionscope_bulk_request_seconds_max{job}`` (the slowest).

And ``onionscope_spool_files``, ``onionscope_spool_records`` and ``onionscope_spool_bytes`` of
this server's var dir, and ``onionscope_discovery_queue_size{status}`` (the discovery queue, read at
each scrape).  With a tor client pool configured (``tor_pool``), each client's state is read over
its ControlPort at each scrape (:func:`crawler.tor.pool.pool_status`):
``onionscope_tor_pool_client_healthy{client}`` (1 when it answers with bootstrap at 100 %),
``onionscope_tor_pool_client_bootstrap_percent{client}`` and ``onionscope_tor_pool_healthy_clients``.
The names match the scheduler's own endpoint (:mod:`onionscope.scheduling.metrics`),
which counts since the scheduler started; these count every recorded run.

Public API: :data:`router`; :func:`render_metrics` (totals, spool_dir, queue_sizes=None, tor_pool=None) -> bytes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from pipelines.job_runs import OUTCOMES
from pipelines.spool import spool_size
from search.api.context import context_of, viewer
from search.auth import TokenRecord
from search.es_steps import run_async
from search.discovered import queue_size_steps
from search.job_runs import run_totals_steps

DISCOVERY_QUEUE_HELP = "Onions in the discovery queue, by status (new, probed, crawled, blocked)."

router = APIRouter(tags=["metrics"])


def render_metrics(totals: dict[str, Any], spool_dir: Path, queue_sizes: dict[str, int] | None = None,
                   tor_pool: list[Any] | None = None) -> bytes:
    """The Prometheus text exposition of ``totals`` (:func:`search.job_runs.run_totals_steps`), the spool,
    the discovery queue's size by status (:func:`search.discovered.queue_size_steps`) and the tor pool's
    clients (:class:`crawler.tor.pool.PoolClientStatus` list; None or empty: no pool metrics)."""
    from prometheus_client import CollectorRegistry, generate_latest
    from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, SummaryMetricFamily

    class Totals:
        def collect(self):  # type: ignore[no-untyped-def]
            runs = CounterMetricFamily("onionscope_job_runs", "Runs recorded, by outcome.", labels=["job", "outcome"])
            last_success = GaugeMetricFamily("onionscope_job_last_success_timestamp_seconds",
                                             "When the job's last ok run finished (Unix time).", labels=["job"])
            duration = GaugeMetricFamily("onionscope_job_last_run_duration_seconds", "How long the job's last run took.",
                                         labels=["job"])
            last_outcome = GaugeMetricFamily("onionscope_job_last_outcome", "1 for the outcome of the job's last run.",
                                             labels=["job", "outcome"])
            summed = {name: CounterMetricFamily(metric, text, labels=["job"]) for name, metric, text in (
                ("pages", "onionscope_crawl_pages", "Pages fetched by the job's runs."),
                ("items", "onionscope_crawl_items", "Listings and vendors found by the job's runs."),
                ("bytes", "onionscope_crawl_bytes", "Response bytes received by the job's runs."),
                ("tor_failures", "onionscope_tor_failures", "Tor failures of the job's runs."),
                ("tor_bootstrap_failures", "onionscope_tor_bootstrap_failures",
                 "Runs that found tor not bootstrapped, plus bootstrap problems tor reported during the job's runs."),
                ("tor_circuit_failures", "onionscope_tor_circuit_failures",
                 "Circuits tor failed to build during the job's runs."),
                ("tor_newnym", "onionscope_tor_newnym", "NEWNYM signals tor acted on during the job's runs."),
                ("items_failed", "onionscope_bulk_failures", "Bulk items of the job's runs that failed for good "
                 "(spooled)."),
            )}
            errors = CounterMetricFamily("onionscope_crawl_errors", "Errors of the job's runs, by type.",
                                         labels=["job", "type"])
            bulk = SummaryMetricFamily("onionscope_bulk_request_seconds", "Bulk requests of the job's runs and "
                                       "their latency.", labels=["job"])
            bulk_max = GaugeMetricFamily("onionscope_bulk_request_seconds_max", "The slowest bulk request of the "
                                         "job's runs (seconds).", labels=["job"])
            for job, total in sorted(totals.items()):
                for outcome in OUTCOMES:
                    runs.add_metric([job, outcome], total["runs"].get(outcome, 0))
                    last_outcome.add_metric([job, outcome], 1 if total["last"]["outcome"] == outcome else 0)
                if total["last_success"] is not None:
                    last_success.add_metric([job], total["last_success"])
                if total["last"]["duration_seconds"] is not None:
                    duration.add_metric([job], total["last"]["duration_seconds"])
                for name, family in summed.items():
                    family.add_metric([job], total.get(name, 0))
                for kind, count in sorted((total.get("errors") or {}).items()):
                    errors.add_metric([job, kind], count)
                bulk.add_metric([job], count_value=total.get("bulk_requests", 0), sum_value=total.get("bulk_seconds", 0.0))
                bulk_max.add_metric([job], total.get("bulk_seconds_max", 0.0))
            spool = spool_size(spool_dir)
            yield from (runs, last_success, duration, last_outcome, *summed.values(), errors, bulk, bulk_max)
            yield GaugeMetricFamily("onionscope_spool_files", "Spool files waiting for `onionscope index replay-spool`.",
                                    value=spool.files)
            yield GaugeMetricFamily("onionscope_spool_records", "Records (documents, entities, items) in the spool.",
                                    value=spool.records)
            yield GaugeMetricFamily("onionscope_spool_bytes", "Bytes in the spool.", value=spool.bytes)
            if queue_sizes is not None:
                queue = GaugeMetricFamily("onionscope_discovery_queue_size", DISCOVERY_QUEUE_HELP, labels=["status"])
                for status, count in sorted(queue_sizes.items()):
                    queue.add_metric([status], count)
                yield queue
            if tor_pool:
                healthy = GaugeMetricFamily("onionscope_tor_pool_client_healthy", "1 when the tor pool client "
                                            "answers on its ControlPort with bootstrap at 100 %.", labels=["client"])
                bootstrap = GaugeMetricFamily("onionscope_tor_pool_client_bootstrap_percent",
                                              "The tor pool client's bootstrap percentage (absent: no answer).",
                                              labels=["client"])
                for client in tor_pool:
                    healthy.add_metric([client.socks], 1 if client.healthy else 0)
                    if client.bootstrap_percent is not None:
                        bootstrap.add_metric([client.socks], client.bootstrap_percent)
                yield healthy
                yield bootstrap
                yield GaugeMetricFamily("onionscope_tor_pool_healthy_clients", "Tor pool clients healthy now.",
                                        value=sum(1 for client in tor_pool if client.healthy))

    registry = CollectorRegistry(auto_describe=False)
    registry.register(Totals())
    return generate_latest(registry)


def _tor_pool_status(settings: Any) -> list[Any] | None:
    """Every tor pool client's state now (blocking: one ControlPort round trip each); None without a pool."""
    from config.errors import UserError
    from crawler.tor.endpoints import resolve_tor_endpoints
    from crawler.tor.pool import pool_status

    if not settings["tor_pool"]:
        return None
    try:
        endpoints = resolve_tor_endpoints(settings)
    except UserError:
        return None
    return pool_status(endpoints)


@router.get("/metrics", summary="Prometheus metrics of the scheduled jobs", include_in_schema=True)
async def metrics(request: Request, who: TokenRecord = Depends(viewer)) -> Response:
    from prometheus_client import CONTENT_TYPE_LATEST

    context = context_of(request)
    totals = await run_async(context.async_client(), run_totals_steps(context.index_prefix))
    queue_sizes = await run_async(context.async_client(), queue_size_steps(context.index_prefix))
    tor_pool = await run_in_threadpool(_tor_pool_status, context.settings)
    body = render_metrics(totals, Path(context.settings["var_dir"]) / "spool", queue_sizes, tor_pool)
    return Response(body, media_type=CONTENT_TYPE_LATEST, headers={"Cache-Control": "no-store"})
