"""The two calls the indexing pipeline makes for freshness: when the crawl opens, and when it ends.

* :func:`open_run` (client, prefix, spider, page_limit) -- loads into the
  spider's :class:`~crawler.freshness.context.FreshnessContext` what is
  stored about its seed hosts (:mod:`pipelines.freshness.stored_state`).  A
  read that fails is logged and the crawl goes on with nothing loaded: it
  then fetches every page unconditionally and backs off from no host (it
  never skips what it should have fetched).
* :func:`finish_run` (writer, spider, finish_reason, stats) ->
  :class:`~pipelines.bulk_writer.BatchOutcome` -- writes what the run saw:
  the liveness history (:mod:`pipelines.freshness.liveness_history`),
  ``last_seen`` of the pages answered "not modified" or not due, and, per
  host, the listings not seen: marked removed where the run crawled the host
  completely (:mod:`crawler.freshness.completeness`), moved to seen where
  their page was seen unchanged (:mod:`pipelines.freshness.removals`).  Each
  host's verdict is logged.  Elasticsearch errors of one step are logged and
  counted (``freshness/finish_errors``); the other steps still run.  Raises
  OSError only when the spool cannot be written.

A spider without a freshness context (``spider.freshness``) makes both a no-op.
"""

from __future__ import annotations

import logging
from datetime import datetime, timezone
from typing import Any

from crawler.freshness.completeness import completeness
from crawler.freshness.context import FreshnessContext
from crawler.freshness.instants import utc_iso
from crawler.job import job_of
from crawler.urls import onion_host
from pipelines.bulk_writer import BatchOutcome, BulkWriter
from pipelines.freshness.liveness_history import write_liveness
from pipelines.freshness.removals import mark_pages_seen, sweep_host
from pipelines.freshness.stored_state import links_reader, recent_checks, stored_pages

logger = logging.getLogger(__name__)

MAX_STORED_PAGES = 200_000


def _context(spider: Any) -> FreshnessContext | None:
    context = getattr(spider, "freshness", None)
    return context if isinstance(context, FreshnessContext) else None


def open_run(client: Any, prefix: str, spider: Any, page_limit: int | None = None) -> None:
    """Load the seed hosts' stored pages and checks into ``spider.freshness``; see the module docstring."""
    context = _context(spider)
    if context is None:
        return
    seeds = list(getattr(spider, "seed_urls", None) or [])
    hosts = sorted({host for host in (onion_host(seed) for seed in seeds) if host})
    now = datetime.now(timezone.utc)
    limit = min(page_limit or MAX_STORED_PAGES, MAX_STORED_PAGES)
    try:
        pages = stored_pages(client, prefix, hosts, policy=context.recrawl, now=now, limit=limit)
        checks = recent_checks(client, prefix, hosts)
    except Exception as exc:
        logger.warning("what is stored about the seed hosts could not be read (%s: %.300s); this crawl fetches every "
                       "page unconditionally and backs off from no host", type(exc).__name__, exc)
        return
    context.load(pages, checks, links_reader(client, prefix))
    backing_off = [host for host in hosts if context.backoff_for(host, now).backing_off]
    logger.info("freshness: %d stored pages of %d seed hosts known (validators or stable), %d hosts with a liveness "
                "history, %d backing off", len(pages), len(hosts), len(checks), len(backing_off))


def finish_run(writer: BulkWriter, spider: Any, finish_reason: str | None, stats: dict[str, Any]) -> BatchOutcome:
    """Write what the run saw and mark removed listings; see the module docstring."""
    outcome = BatchOutcome()
    context = _context(spider)
    if context is None:
        return outcome
    observations = context.observations
    now = datetime.now(timezone.utc)
    job = job_of(spider)
    job_id = job.job_id if job is not None else observations.job_id
    started_at = job.started_at if job is not None else None
    follow_links = job.options.follow_links if job is not None else bool(getattr(spider, "follow_links", True))

    def step(what: str, action: Any) -> Any:
        try:
            return action()
        except OSError as exc:
            if not isinstance(exc, (ConnectionError, TimeoutError)):
                raise  # the spool could not be written: as loud as everywhere else
            outcome.stats["freshness/finish_errors"] += 1
            logger.error("freshness: %s failed (%s: %.300s)", what, type(exc).__name__, exc)
            return None
        except Exception as exc:
            outcome.stats["freshness/finish_errors"] += 1
            logger.error("freshness: %s failed (%s: %.300s)", what, type(exc).__name__, exc)
            return None

    found = step("writing the liveness history",
                 lambda: write_liveness(writer, observations.checks(), now, context.backoff))
    if found is not None:
        outcome.add(found)
    unchanged = observations.unchanged_pages()
    if unchanged:
        found = step("moving last_seen of unchanged pages", lambda: mark_pages_seen(writer, unchanged))
        if found is not None:
            outcome.add(found)
    verdicts = completeness(observations, finish_reason, stats, follow_links)
    for host, reason in verdicts.items():
        if not onion_host(f"http://{host}/"):
            continue
        complete = reason is None and started_at is not None
        host_unchanged = observations.unchanged_pages(host)
        if complete:
            outcome.stats["freshness/hosts_complete"] += 1
        else:
            logger.info("%s was not crawled completely (%s): no listing of it is marked removed", host,
                        reason or "the run has no start time")
        if not complete and not host_unchanged:
            continue
        swept = step(f"the removal sweep of {host}", lambda host=host, complete=complete, pages=host_unchanged: sweep_host(
            writer, host, started_at=started_at or utc_iso(now), removed_at=utc_iso(now), job_id=job_id,
            unchanged_pages=pages, mark_removed=complete))
        if swept is not None:
            outcome.add(swept[1])
    return outcome
