"""One run of a scheduled job, in this process: ``onionscope jobs run NAME`` (the scheduler starts it as a child).

The run takes the job's run lock (:func:`onionscope.scheduling.locks.job_lock_path`)
first.  If another run of the job holds it, this run is recorded as
``skipped`` in the crawl-runs index and nothing is crawled: the same job
never runs twice at once, whoever started it.  Otherwise the job's crawl runs
as ``onionscope crawl`` would run it (same checks, same safety), with the
job's depth, page caps, concurrency and time cap (Scrapy's
``CLOSESPIDER_TIMEOUT``), and its crawl-run document carries the job name,
the trigger and the scheduled moment (:func:`pipelines.job_runs.run_labels`).

SIGTERM: while the crawl runs, Scrapy stops it gracefully -- what was
fetched is flushed to Elasticsearch and the run is recorded with outcome
``partial`` (or ``failed`` if nothing was fetched).  A SIGTERM that arrives
before the crawl starts ends the run at once, recorded as ``failed``.

Public API: :func:`run_job` (settings, job, ...) -> :class:`JobRunResult`.
"""

from __future__ import annotations

import contextlib
import logging
import secrets
import signal
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from config.errors import UserError
from crawler.schedules import ScheduledJob
from config.processes import LockHeld, exclusive_lock
from onionscope.scheduling.locks import job_lock_path

logger = logging.getLogger(__name__)


@dataclass
class JobRunResult:
    """What happened: the job id, the outcome and the crawl's summary (None when nothing was crawled)."""

    job_id: str
    outcome: str
    reason: str
    summary: dict[str, Any] | None


class _StoppedBeforeCrawl(Exception):
    pass


def job_settings(settings: Any, job: ScheduledJob) -> Any:
    """``settings`` with the job's own depth, page caps, concurrency, market confirmations and login session."""
    overrides: dict[str, Any] = {}
    for key, value in (("crawl_depth", job.depth), ("crawl_max_pages", job.max_pages),
                       ("crawl_max_pages_per_host", job.max_pages_per_host), ("crawl_concurrency", job.concurrency)):
        if value is not None:
            overrides[key] = value
    overrides["discover"] = job.discover
    if job.market_hosts:
        overrides["market_hosts"] = [*settings.market_hosts, *(f"{m}={h}" for m, h in job.market_hosts)]
    if job.session_file is not None:
        overrides["sessions_file"] = str(job.session_file)
    return settings.replace(**overrides) if overrides else settings


def _record(settings: Any, document: dict[str, Any]) -> None:
    from config.paths import index_templates_dir
    from pipelines.es_client import make_client
    from pipelines.job_runs import write_run_record

    client = make_client(settings)
    try:
        write_run_record(client, settings.index_prefix, document, index_templates_dir(settings.config_dir))
    except Exception as exc:  # the run's outcome is still printed and logged
        logger.error("could not record run %s (%s) in the crawl-runs index: %s", document["job_id"],
                     document["outcome"], exc)
    finally:
        client.close()


def run_job(
    settings: Any, job: ScheduledJob, *, job_id: str | None = None, trigger: str = "manual",
    scheduled_for: str | None = None, missed_runs: int = 0, quiet: bool = False, progress: bool = False,
    config_path: str | None = None,
) -> JobRunResult:
    """Run ``job`` once in this process (Scrapy's reactor: once per process) and return what happened.

    With the job's ``discover: probe|crawl`` the new onions it queued are then probed or crawled by a
    child ``onionscope [--config config_path] crawl`` (:mod:`onionscope.discovery_followup`).

    :raises config.errors.UserError: the seeds cannot be read, a market confirmation
        is wrong, or Elasticsearch or tor cannot be reached (the run is recorded as
        failed first, when Elasticsearch can take the record).
    """
    stopped: list[int] = []

    def stop_before_crawl(signum: int, frame: Any) -> None:
        stopped.append(signum)
        raise _StoppedBeforeCrawl()

    started = datetime.now(timezone.utc)
    job_id = job_id or f"{job.name}-{started.strftime('%Y%m%dT%H%M%SZ')}-{secrets.token_hex(3)}"
    # Before the slow imports below (inside the try: a SIGTERM may come while they run); Scrapy replaces
    # this handler with its graceful shutdown once the crawl starts.
    previous = signal.signal(signal.SIGTERM, stop_before_crawl)
    try:
        from pipelines.job_runs import utc_iso

        return _run_job(settings, job, job_id=job_id, started_at=utc_iso(started), trigger=trigger,
                        scheduled_for=scheduled_for, missed_runs=missed_runs, quiet=quiet, progress=progress,
                        config_path=config_path)
    except BaseException as exc:
        # A library may wrap the handler's exception: a SIGTERM that lands inside an Elasticsearch request
        # comes out as elastic_transport's ConnectionError ("raise err from e").  The handler's mark says
        # the run was stopped, whatever was raised.
        if not (isinstance(exc, _StoppedBeforeCrawl) or stopped):
            raise
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # the record below is this run's last word
        from pipelines.job_runs import run_record, utc_iso

        reason = "stopped (SIGTERM) before its crawl started"
        _record(settings, run_record(job_id, job.name, outcome="failed", reason=reason, started_at=utc_iso(started),
                                     finished_at=utc_iso(), trigger=trigger, scheduled_for=scheduled_for,
                                     seeds=list(job.seeds), missed_runs=missed_runs))
        return JobRunResult(job_id, "failed", reason, None)
    finally:
        signal.signal(signal.SIGTERM, previous)


def _run_job(
    settings: Any, job: ScheduledJob, *, job_id: str, started_at: str, trigger: str, scheduled_for: str | None,
    missed_runs: int, quiet: bool, progress: bool, config_path: str | None = None,
) -> JobRunResult:
    from crawler.job import create_crawl_job
    from crawler.spiders.onion import parse_seeds
    from pipelines.job_runs import run_labels, run_record, utc_iso
    from onionscope.commands.crawl import run_crawl, summarize

    labels = run_labels(job.name, trigger, scheduled_for, missed_runs)

    def record_without_crawl(outcome: str, reason: str, seeds: list[str] | None = None) -> JobRunResult:
        _record(settings, run_record(job_id, job.name, outcome=outcome, reason=reason, started_at=started_at,
                                     finished_at=utc_iso(), trigger=trigger, scheduled_for=scheduled_for,
                                     seeds=seeds, missed_runs=missed_runs))
        return JobRunResult(job_id, outcome, reason, None)

    lock = contextlib.ExitStack()
    try:
        lock.enter_context(exclusive_lock(job_lock_path(settings, job.name), wait=False, record_holder=True))
    except LockHeld as held:
        reason = "the previous run of this job is still going" + (f" (process {held.holder})" if held.holder else "")
        logger.warning("job %s: run %s skipped: %s", job.name, job_id, reason)
        return record_without_crawl("skipped", reason)

    with lock:
        try:
            seeds = parse_seeds(list(job.seeds), job.seeds_file)
        except ValueError as exc:
            record_without_crawl("failed", f"bad seeds: {exc}")
            raise UserError(f"job {job.name}: {exc}") from None
        extra = {"CLOSESPIDER_TIMEOUT": job.max_duration_seconds} if job.max_duration_seconds else {}
        try:
            run_settings = job_settings(settings, job)
            crawl_job = create_crawl_job(seeds, job_id, follow_offsite=job.follow_offsite, settings=run_settings)
            stats = run_crawl(
                run_settings, crawl_job, quiet=quiet, extra_scrapy_settings=extra,
                spider_arguments={"run_labels": labels}, progress=progress,
            )
        except UserError as exc:
            record_without_crawl("failed", str(exc), seeds)
            raise
    from pipelines.job_runs import run_figures

    figures = run_figures(stats, str(stats.get("finish_reason") or "") or None)
    summary = summarize(job_id, stats)
    if run_settings.discover in ("probe", "crawl"):
        from onionscope.discovery_followup import follow_up

        try:
            summary["discovery"] = follow_up(run_settings, job_id, run_settings.discover, config_path=config_path)
        except UserError as exc:  # the crawl's outcome stands; the new onions stay new for the next run
            logger.error("job %s: discover %s failed: %s", job.name, run_settings.discover, exc)
    if not summary["network_refused"] and summary["items_indexed"]:
        from onionscope.alerting import alert_after_run

        # Raises nothing: a failure is logged and in the summary; the run's outcome stands.
        summary["alerts"] = alert_after_run(run_settings, job_id, config_path=config_path)
    return JobRunResult(job_id, figures["outcome"], figures["outcome_reason"], summary)
