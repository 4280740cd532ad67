"""The scheduler's Prometheus metrics (prometheus-client), served on ``--metrics-port``.

Per job (label ``job``, the job's name from the schedules file):

* ``onionscope_job_runs_total{job,outcome}`` -- runs finished, by outcome (skipped included);
* ``onionscope_job_running{job}`` -- 1 while a run of the job is going;
* ``onionscope_job_last_success_timestamp_seconds{job}`` -- when its last ``ok`` run finished;
* ``onionscope_job_last_run_duration_seconds{job}`` -- how long its last run took;
* ``onionscope_job_last_outcome{job,outcome}`` -- 1 for the outcome of its last run, 0 for the others;
* ``onionscope_job_next_run_timestamp_seconds{job}`` -- when it runs next;
* ``onionscope_crawl_pages_total{job}``, ``onionscope_crawl_items_total{job}``,
  ``onionscope_crawl_bytes_total{job}`` -- pages fetched, listings and vendors found, bytes received;
* ``onionscope_crawl_errors_total{job,type}`` -- errors by type (:func:`pipelines.job_runs.errors_by_type`);
* ``onionscope_tor_failures_total{job}`` -- the ``tor/*`` errors among them (SOCKS, onion service);
* ``onionscope_tor_bootstrap_failures_total{job}``, ``onionscope_tor_circuit_failures_total{job}``,
  ``onionscope_tor_newnym_total{job}`` -- tor not bootstrapped when a run started or reporting
  bootstrap problems, circuits that failed, NEWNYM signals tor acted on, from tor's ControlPort
  (:mod:`crawler.tor.control_stats`; 0 when the crawls have none);
* ``onionscope_bulk_request_seconds{job}`` (a summary: ``_count`` bulk requests, ``_sum`` their
  latency) and ``onionscope_bulk_request_seconds_max{job}`` (the slowest one);
* ``onionscope_bulk_failures_total{job}`` -- bulk items that failed for good (then spooled).

And for the process: ``onionscope_spool_files``, ``onionscope_spool_records`` and
``onionscope_spool_bytes`` (the spool waiting for ``onionscope index replay-spool``, read at
each scrape), and ``onionscope_scheduler_up`` (1).

Every figure comes from the run's crawl-run record (:mod:`pipelines.job_runs`), so the
scheduler and the API's ``/metrics`` (:mod:`search.api.metrics_routes`) say the same.

Label values are job names (validated), outcomes and error types from
onionscope's own vocabulary -- never crawled text.

And ``onionscope_discovery_queue_size{status}`` when given a reader of the queue
(:func:`discovery_queue_reader`; read from Elasticsearch at each scrape).

Public API: :class:`SchedulerMetrics` (job_names, spool_dir, queue_sizes=None); :func:`discovery_queue_reader` (settings); its ``registry``;
:meth:`~SchedulerMetrics.serve` (port, host) -> the bound port.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Iterable

import logging
import threading

from prometheus_client import CollectorRegistry, Counter, Gauge, start_http_server
from prometheus_client.core import GaugeMetricFamily, SummaryMetricFamily

from pipelines.job_runs import OUTCOMES
from pipelines.spool import spool_size
from search.job_runs import duration_seconds
from onionscope.scheduling.state import parse_moment

logger = logging.getLogger(__name__)


class SchedulerMetrics:
    """The scheduler's metrics in their own registry (nothing of the process's default one)."""

    def __init__(self, job_names: Iterable[str], spool_dir: Path | None = None,
                 queue_sizes: Callable[[], dict[str, int]] | None = None):
        self.registry = CollectorRegistry(auto_describe=True)
        registry = self.registry
        self.runs = Counter("onionscope_job_runs", "Runs finished, by outcome.", ["job", "outcome"], registry=registry)
        self.running = Gauge("onionscope_job_running", "1 while a run of the job is going.", ["job"], registry=registry)
        self.last_success = Gauge("onionscope_job_last_success_timestamp_seconds",
                                  "When the job's last ok run finished (Unix time).", ["job"], registry=registry)
        self.last_duration = Gauge("onionscope_job_last_run_duration_seconds", "How long the job's last run took.",
                                   ["job"], registry=registry)
        self.last_outcome = Gauge("onionscope_job_last_outcome", "1 for the outcome of the job's last run.",
                                  ["job", "outcome"], registry=registry)
        self.next_run = Gauge("onionscope_job_next_run_timestamp_seconds", "When the job runs next (Unix time).",
                              ["job"], registry=registry)
        self.pages = Counter("onionscope_crawl_pages", "Pages fetched by the job's runs.", ["job"], registry=registry)
        self.items = Counter("onionscope_crawl_items", "Listings and vendors found by the job's runs.", ["job"],
                             registry=registry)
        self.bytes = Counter("onionscope_crawl_bytes", "Response bytes received by the job's runs.", ["job"],
                             registry=registry)
        self.errors = Counter("onionscope_crawl_errors", "Errors of the job's runs, by type.", ["job", "type"],
                              registry=registry)
        self.tor_failures = Counter("onionscope_tor_failures", "Tor failures (SOCKS, onion service, circuit) of "
                                    "the job's runs.", ["job"], registry=registry)
        self.bulk_failures = Counter("onionscope_bulk_failures", "Bulk items of the job's runs that failed for good "
                                     "(spooled).", ["job"], registry=registry)
        self.tor_bootstrap_failures = Counter(
            "onionscope_tor_bootstrap_failures", "Runs that found tor not bootstrapped, plus bootstrap problems tor "
            "reported during the job's runs.", ["job"], registry=registry)
        self.tor_circuit_failures = Counter("onionscope_tor_circuit_failures", "Circuits tor failed to build during "
                                            "the job's runs.", ["job"], registry=registry)
        self.tor_newnym = Counter("onionscope_tor_newnym", "NEWNYM signals tor acted on during the job's runs.",
                                  ["job"], registry=registry)
        self.bulk_seconds_max = Gauge("onionscope_bulk_request_seconds_max", "The slowest bulk request of the "
                                      "job's runs (seconds).", ["job"], registry=registry)
        self._bulk_lock = threading.Lock()
        self._bulk: dict[str, list[float]] = {}  # job -> [requests, seconds, slowest]
        registry.register(_BulkLatency(self))
        Gauge("onionscope_scheduler_up", "1 while the scheduler runs.", registry=registry).set(1)
        if spool_dir is not None:
            Gauge("onionscope_spool_files", "Spool files waiting for `onionscope index replay-spool`.",
                  registry=registry).set_function(lambda: spool_size(spool_dir).files)
            Gauge("onionscope_spool_records", "Records (documents, entities, items) in the spool.",
                  registry=registry).set_function(lambda: spool_size(spool_dir).records)
            Gauge("onionscope_spool_bytes", "Bytes in the spool.",
                  registry=registry).set_function(lambda: spool_size(spool_dir).bytes)
        if queue_sizes is not None:
            registry.register(_DiscoveryQueue(queue_sizes))
        for name in job_names:  # every job shows up from the first scrape, at zero
            for outcome in OUTCOMES:
                self.runs.labels(name, outcome)
            for metric in (self.pages, self.items, self.bytes, self.tor_failures, self.bulk_failures,
                           self.tor_bootstrap_failures, self.tor_circuit_failures, self.tor_newnym,
                           self.bulk_seconds_max):
                metric.labels(name)
            self._bulk[name] = [0, 0.0, 0.0]
            self.running.labels(name).set(0)

    def run_started(self, job: str) -> None:
        self.running.labels(job).set(1)

    def run_finished(self, job: str, record: dict[str, Any], still_running: bool = False) -> None:
        """Count a finished run from its crawl-run document (outcome, figures, errors by type)."""
        outcome = str(record.get("outcome") or "failed")
        self.runs.labels(job, outcome).inc()
        if not still_running:
            self.running.labels(job).set(0)
        for name in OUTCOMES:
            self.last_outcome.labels(job, name).set(1 if name == outcome else 0)
        duration = duration_seconds(record)
        if duration is not None:
            self.last_duration.labels(job).set(duration)
        finished = parse_moment(record.get("finished_at"))
        if outcome == "ok" and finished is not None:
            self.last_success.labels(job).set(finished.timestamp())
        self.pages.labels(job).inc(int(record.get("pages") or 0))
        self.items.labels(job).inc(int(record.get("items") or 0))
        self.bytes.labels(job).inc(int(record.get("bytes") or 0))
        errors = record.get("errors") or {}
        for kind, count in errors.items():
            self.errors.labels(job, str(kind)).inc(int(count))
        self.tor_failures.labels(job).inc(int(record.get("tor_failures") or 0))
        self.bulk_failures.labels(job).inc(int(record.get("items_failed") or errors.get("index/failed") or 0))
        self.tor_bootstrap_failures.labels(job).inc(int(record.get("tor_bootstrap_failures") or 0))
        self.tor_circuit_failures.labels(job).inc(int(record.get("tor_circuit_failures") or 0))
        self.tor_newnym.labels(job).inc(int(record.get("tor_newnym") or 0))
        with self._bulk_lock:
            bulk = self._bulk.setdefault(job, [0, 0.0, 0.0])
            bulk[0] += int(record.get("bulk_requests") or 0)
            bulk[1] += float(record.get("bulk_seconds") or 0.0)
            bulk[2] = max(bulk[2], float(record.get("bulk_seconds_max") or 0.0))
            self.bulk_seconds_max.labels(job).set(bulk[2])

    def bulk_latency(self) -> dict[str, tuple[int, float]]:
        """Per job: (bulk requests, their latency added up in seconds) of the runs counted so far."""
        with self._bulk_lock:
            return {job: (int(count), float(seconds)) for job, (count, seconds, _slowest) in self._bulk.items()}

    def serve(self, port: int, host: str = "127.0.0.1") -> int:
        """Serve ``/metrics`` from a thread on ``host:port`` (0: a free port); returns the port."""
        server, _thread = start_http_server(port, addr=host, registry=self.registry)
        return int(server.server_address[1])


class _BulkLatency:
    """``onionscope_bulk_request_seconds{job}``: a summary made from the runs' totals (count and sum, no quantiles)."""

    def __init__(self, metrics: SchedulerMetrics):
        self.metrics = metrics

    def describe(self) -> list[Any]:
        return [SummaryMetricFamily("onionscope_bulk_request_seconds", "Bulk requests of the job's runs and their "
                                    "latency.", labels=["job"])]

    def collect(self) -> Any:
        family = SummaryMetricFamily("onionscope_bulk_request_seconds", "Bulk requests of the job's runs and their "
                                     "latency.", labels=["job"])
        for job, (count, seconds) in sorted(self.metrics.bulk_latency().items()):
            family.add_metric([job], count_value=count, sum_value=seconds)
        yield family


DISCOVERY_QUEUE_HELP = "Onions in the discovery queue, by status (new, probed, crawled, blocked)."


class _DiscoveryQueue:
    """``onionscope_discovery_queue_size{status}``: read from Elasticsearch at each scrape.

    An Elasticsearch that does not answer leaves the metric out of that
    scrape (logged), rather than failing the whole scrape.
    """

    def __init__(self, queue_sizes: Callable[[], dict[str, int]]):
        self.queue_sizes = queue_sizes

    def describe(self) -> list[Any]:
        return [GaugeMetricFamily("onionscope_discovery_queue_size", DISCOVERY_QUEUE_HELP, labels=["status"])]

    def collect(self) -> Any:
        try:
            sizes = self.queue_sizes()
        except Exception as exc:  # a scrape must still show the jobs' metrics
            logger.warning("the discovery queue's size could not be read: %s", exc)
            return
        family = GaugeMetricFamily("onionscope_discovery_queue_size", DISCOVERY_QUEUE_HELP, labels=["status"])
        for status, count in sorted(sizes.items()):
            family.add_metric([status], count)
        yield family


def discovery_queue_reader(settings: Any) -> Callable[[], dict[str, int]]:
    """A function that reads the discovery queue's size by status from ``settings``' Elasticsearch (one search)."""

    def read() -> dict[str, int]:
        from pipelines.es_client import make_client
        from search.discovered import queue_size_steps
        from search.es_steps import run

        client = make_client(settings)
        try:
            return run(client, queue_size_steps(settings.index_prefix))
        finally:
            client.close()

    return read
