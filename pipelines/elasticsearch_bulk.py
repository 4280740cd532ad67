"""The last item pipeline: Scrapy's side of bulk indexing into Elasticsearch.

A thin adapter: it batches items (``bulk_batch_size``), hands each batch to
:class:`pipelines.item_indexer.BulkIndexer` in a worker thread (the reactor
never waits on Elasticsearch), flushes on close, and when the spider closes
writes the crawl-run record (:mod:`pipelines.crawl_runs`) of the spider's
:class:`crawler.job.CrawlJob`.  When the spider opens it loads what is stored
about the seed hosts into the spider's freshness context, and before the
run's record it writes what the run saw (:mod:`pipelines.freshness.run`).
When the crawl spooled anything (Elasticsearch
was down or refused writes for a while), it writes that back at the end, once
Elasticsearch answers again (:meth:`~ElasticsearchBulkPipeline.replay_own_spool`);
what still fails stays in the spool.  Retries and the spool are
:mod:`pipelines.bulk_writer`'s; ``onionscope index replay-spool``
(:mod:`pipelines.spool_replay`) replays the spool.  It needs the asyncio
reactor (set by crawler/settings.py).  If Elasticsearch is unreachable when
the spider opens, the crawl stops with the reason (fail early rather than
spool a whole crawl).

Failures: should a whole batch raise (a bug outside the bulk writer's own
handling), the pipeline spools its items whole (``item`` records), logs and
counts it; if the spool refuses them too (a full disk) they go back to the
buffer, the error is raised and the crawl is stopped (finish reason
``spool_failed``, the spool's error in ``elasticsearch/spool_error``): nothing
more is fetched, and what the flush at close cannot save is counted as lost.
Nothing is dropped without a trace.

Public API:

* :class:`ElasticsearchBulkPipeline` (client, index_prefix, spool_dir, ...) --
  the Scrapy pipeline (``ITEM_PIPELINES``); :meth:`~ElasticsearchBulkPipeline.record_crawl_run`
  (spider, reason) writes the crawl-run record (for a shared job, the job's, summed over its
  workers: :func:`pipelines.crawl_runs.shared_crawl_run_document`);
  ``batches_taken``, ``batches_done``, :meth:`~ElasticsearchBulkPipeline.persisted_barrier` and
  :meth:`~ElasticsearchBulkPipeline.request_flush` tell the shared frontier when a request's
  documents are written (:mod:`crawler.frontier.scheduler`).

Stats: ``elasticsearch/indexed/<kind>``, ``elasticsearch/created/<kind>``,
``elasticsearch/entities/<kind>``, ``elasticsearch/retries``,
``elasticsearch/failed``, ``elasticsearch/spooled``, ``elasticsearch/entity_conflicts``,
``elasticsearch/unexpected_errors``, ``elasticsearch/entity_cache_stale`` (entity writes planned on
the indexer's cache that the stored document had moved on from, and held entities dropped because
their index left its alias or was created again: read and merged again),
``elasticsearch/entity_cache_hits`` (entity documents a batch took from the cache instead of reading),
``elasticsearch/bulk_requests`` (bulk requests sent),
``elasticsearch/bulk_seconds`` (their latency added up) and ``elasticsearch/bulk_seconds_max``
(the slowest), ``elasticsearch/bulk_request_errors`` (requests that failed as a whole, then retried),
``elasticsearch/lost`` (items neither indexed
nor spooled when the crawl closed: only when the spool itself fails),
``elasticsearch/spool_error`` (why the spool failed, when it did),
``elasticsearch/replayed`` and ``elasticsearch/spool_left`` (records this crawl
wrote back at its end, and left in its spool files).
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from config.paths import index_templates_dir
from config.settings import DEFAULTS
from crawler.job import CrawlJob, job_of
from pipelines import spool
from pipelines.bulk_writer import BatchOutcome
from pipelines.crawl_runs import crawl_run_document, write_crawl_run
from pipelines.freshness.run import finish_run, open_run
from pipelines.item_indexer import BulkIndexer, item_record

logger = logging.getLogger(__name__)

# The crawl's finish reason when the spool refused items, and the stat holding the spool's error.
SPOOL_FAILED_REASON = "spool_failed"
SPOOL_ERROR_STAT = "elasticsearch/spool_error"
# Records left in this crawl's spool files after it wrote back what it could (set when it spooled any).
SPOOL_LEFT_STAT = "elasticsearch/spool_left"


def _record_count(path: Path) -> int:
    try:
        with path.open("rb") as handle:
            return sum(1 for line in handle if line.strip())
    except FileNotFoundError:
        return 0


class ElasticsearchBulkPipeline:
    """The Scrapy pipeline around :class:`~pipelines.item_indexer.BulkIndexer`."""

    def __init__(
        self,
        client: Any,
        index_prefix: str,
        spool_dir: Path,
        *,
        batch_size: int = 200,
        max_retries: int = DEFAULTS["bulk_max_retries"].default,
        backoff_seconds: float = DEFAULTS["bulk_backoff_seconds"].default,
        stats: Any = None,
        settings: Any = None,
    ):
        self.client = client
        self.index_prefix = index_prefix
        self.batch_size = batch_size
        self.stats = stats
        self.settings = settings
        self.spool_writer = spool.SpoolWriter(spool_dir)
        self.indexer = BulkIndexer(client, index_prefix, self.spool_writer,
                                   max_retries=max_retries, backoff_seconds=backoff_seconds)
        self.buffer: list[Any] = []
        self.totals = BatchOutcome()
        self.started_at = spool.utc_now_iso()
        self._lock: asyncio.Lock | None = None
        self.crawler: Any = None
        # The spool's error once it refused items (the crawl is then stopped); None before.
        self.spool_failed: str | None = None
        # Batches taken from the buffer, and the last of them written (indexed or spooled); the shared
        # frontier releases a request's lease once the batch holding its items is written.
        self.batches_taken = 0
        self.batches_done = 0

    @classmethod
    def from_crawler(cls, crawler: Any) -> "ElasticsearchBulkPipeline":
        from scrapy import signals

        from config.settings import load_settings
        from pipelines.es_client import make_client

        settings = crawler.settings.get("ONIONSCOPE_SETTINGS") or load_settings()
        pipeline = cls(
            make_client(settings),
            settings.index_prefix,
            Path(settings.var_dir) / "spool",
            batch_size=settings.bulk_batch_size,
            max_retries=settings.bulk_max_retries,
            backoff_seconds=settings.bulk_backoff_seconds,
            stats=crawler.stats,
            settings=settings,
        )
        pipeline.crawler = crawler
        crawler.signals.connect(pipeline.spider_closed, signal=signals.spider_closed)
        return pipeline

    def open_spider(self) -> None:
        from pipelines.es_client import ensure_reachable
        from pipelines.indices import ensure_indices, shard_overrides

        templates_dir = None
        if self.settings is not None:
            ensure_reachable(self.client, self.settings)
            templates_dir = index_templates_dir(self.settings.config_dir)
        ensure_indices(self.client, self.index_prefix, templates_dir=templates_dir, **shard_overrides(self.settings))
        self.started_at = spool.utc_now_iso()
        self.indexer.discovery = discovery_recorder(self.settings, getattr(self.crawler, "spider", None))
        # What is stored about the seed hosts: validators, change dates, liveness checks (pipelines.freshness).
        open_run(self.client, self.index_prefix, getattr(self.crawler, "spider", None),
                 getattr(self.settings, "crawl_max_pages", None))

    def _record(self, outcome: BatchOutcome) -> None:
        self.totals.add(outcome)
        if self.stats is None:
            return
        for kind, count in outcome.indexed.items():
            self.stats.inc_value(f"elasticsearch/indexed/{kind}", count)
        for kind, count in outcome.created.items():
            self.stats.inc_value(f"elasticsearch/created/{kind}", count)
        for kind, count in outcome.entities.items():
            self.stats.inc_value(f"elasticsearch/entities/{kind}", count)
        for name in ("retries", "failed", "spooled", "entity_conflicts", "unexpected_errors", "bulk_requests",
                     "bulk_request_errors"):
            if getattr(outcome, name):
                self.stats.inc_value(f"elasticsearch/{name}", getattr(outcome, name))
        for key, count in outcome.stats.items():
            self.stats.inc_value(key, count)
        if outcome.bulk_requests:
            self.stats.inc_value("elasticsearch/bulk_seconds", outcome.bulk_seconds, start=0.0)
            self.stats.max_value("elasticsearch/bulk_seconds_max", outcome.bulk_seconds_max)

    async def _flush(self) -> None:
        if self._lock is None:
            self._lock = asyncio.Lock()
        # One bulk at a time keeps entity merges of consecutive batches ordered.
        async with self._lock:
            batch, self.buffer = self.buffer, []
            if not batch:
                return
            self.batches_taken += 1
            number = self.batches_taken
            try:
                outcome = await asyncio.to_thread(self.indexer.index_items, batch)
            except Exception as exc:
                outcome, unsaved, spool_error = await asyncio.to_thread(self._spool_batch, batch, exc)
                self._record(outcome)
                if unsaved:
                    # Neither Elasticsearch nor the spool took them: keep them for the last flush.
                    self.buffer[:0] = unsaved
                    self._stop_crawl(spool_error, len(unsaved))
                    raise RuntimeError(f"{len(unsaved)} items were neither indexed nor spooled: {spool_error}") from exc
                self.batches_done = number
                return
            self._record(outcome)
            self.batches_done = number

    def persisted_barrier(self) -> int:
        """The batch number whose write (``batches_done`` reaching it) makes every item handed in so far safe.

        Items in the buffer go into the next batch; items already taken are in a batch up to ``batches_taken``.
        """
        return self.batches_taken + (1 if self.buffer else 0)

    def request_flush(self) -> None:
        """Write the buffer soon, without waiting for a full batch (the shared frontier asks, see
        :mod:`crawler.frontier.scheduler`); nothing once the spool has failed."""
        if not self.buffer or self.spool_failed is not None:
            return
        if self._lock is not None and self._lock.locked():
            return  # a batch is being written; the buffer goes with the next one asked for
        from scrapy.utils.defer import deferred_from_coro

        deferred = deferred_from_coro(self._flush())
        deferred.addErrback(lambda failure: logger.error("an early flush failed: %s", failure.getErrorMessage()))

    def _spool_batch(self, batch: list[Any], exc: Exception) -> tuple[BatchOutcome, list[Any], Exception | None]:
        """Spool a batch that raised as whole items; returns (outcome, items the spool refused too, its error)."""
        outcome = BatchOutcome(unexpected_errors=1)
        logger.error("unexpected error while indexing a batch of %d items; the batch goes to the spool as items",
                     len(batch), exc_info=exc)
        error = f"unexpected error while indexing its batch: {type(exc).__name__}: {exc}"[:1000]
        for position, item in enumerate(batch):
            try:
                self.spool_writer.write(item_record(item, self.index_prefix, error))
            except Exception as spool_error:
                return outcome, batch[position:], spool_error
            outcome.failed += 1
            outcome.spooled += 1
        return outcome, [], None

    def _stop_crawl(self, spool_error: Exception | None, unsaved: int) -> None:
        """The spool refused items (a full disk, say): stop fetching, say why, once.

        Crawling on would only pile up items that can go nowhere.  They stay in
        memory for the flush at close (space may have been freed by then);
        what that flush cannot save is counted as ``elasticsearch/lost``.
        """
        if self.spool_failed is not None:
            return
        self.spool_failed = str(spool_error)
        logger.critical("the spool refused %d items (%s); the crawl stops: nothing more is fetched",
                        unsaved, spool_error)
        if self.stats is not None:
            self.stats.set_value(SPOOL_ERROR_STAT, self.spool_failed[:1000])
        engine = getattr(self.crawler, "engine", None)
        if engine is None or getattr(engine, "spider", None) is None:
            return
        from scrapy.utils.defer import deferred_from_coro

        deferred = deferred_from_coro(engine.close_spider_async(reason=SPOOL_FAILED_REASON))
        deferred.addErrback(lambda failure: logger.error("could not stop the crawl after the spool failed: %s",
                                                         failure.getErrorMessage()))

    async def process_item(self, item: Any) -> Any:
        self.buffer.append(item)
        # Once the spool has failed, items wait for the flush at close (the crawl is stopping).
        if len(self.buffer) >= self.batch_size and self.spool_failed is None:
            await self._flush()
        return item

    async def close_spider(self) -> None:
        try:
            await self._flush()
        except Exception:
            logger.critical("%d items were neither indexed nor spooled; they are lost when this crawl ends",
                            len(self.buffer))
            if self.stats is not None:
                self.stats.inc_value("elasticsearch/lost", len(self.buffer))
            raise
        if self.spool_writer.paths:
            await asyncio.to_thread(self.replay_own_spool)

    def replay_own_spool(self) -> int:
        """Write back what this crawl spooled, now that the crawl is over, if Elasticsearch answers again.

        Only this crawl's own spool files are replayed (each claimed, so a
        concurrent ``onionscope index replay-spool`` never writes a record
        twice); what still fails stays in them.  Sets ``elasticsearch/replayed``
        and ``elasticsearch/spool_left`` (records left in this crawl's files)
        and returns the latter.  Raises OSError when a spool file cannot be
        rewritten.
        """
        from pipelines.es_client import describe_error
        from pipelines.spool_replay import replay_records

        self.spool_writer.close()  # releases the file, so it can be claimed
        paths = [path for path in self.spool_writer.paths if path.exists()]
        left = sum(_record_count(path) for path in paths)
        replayed = 0
        if left:
            try:
                self.client.cluster.health()
            except Exception as exc:
                logger.warning("%d spooled records stay in %s: %s", left, self.spool_writer.spool_dir,
                               describe_error(exc, self.settings) if self.settings is not None else exc)
                paths = []
        for path in paths:
            with spool.claim(path) as records:
                if records is None:
                    continue  # another replay holds it, or took it all
                written, still_failing = replay_records(
                    self.client, records, self.index_prefix,
                    max_retries=self.indexer.writer.max_retries, backoff_seconds=self.indexer.writer.backoff_seconds)
                spool.rewrite(path, still_failing)
                replayed += written
                left -= len(records) - len(still_failing)
        if replayed:
            logger.info("Elasticsearch answered again: wrote %d spooled records back; %d left in the spool",
                        replayed, left)
        if self.stats is not None:
            self.stats.set_value("elasticsearch/replayed", replayed)
            self.stats.set_value(SPOOL_LEFT_STAT, max(left, 0))
        return max(left, 0)

    async def spider_closed(self, spider: Any, reason: str) -> None:
        """Signal handler: writes the crawl-run document in a worker thread (retries may back off)."""
        # After every pipeline closed, so the stats are final apart from Scrapy's own finish_time.
        stats = dict(self.stats.get_stats()) if self.stats is not None else {}
        await asyncio.to_thread(self.record_crawl_run, spider, reason, stats)

    def record_crawl_run(self, spider: Any, reason: str, stats: dict[str, Any] | None = None) -> None:
        """Index the crawl-run document of the spider's crawl job (spooled on failure) and close the spool file.

        Raises OSError when the document fails and the spool cannot be written.
        """
        if stats is None:
            stats = dict(self.stats.get_stats()) if self.stats is not None else {}
        job = job_of(spider)
        if job is None:
            logger.warning("spider %s carries no crawl job (crawler.job.CrawlJob); its crawl run is recorded "
                           "without seeds and with default options, under a job id made here", spider.name)
            job = CrawlJob(job_id=f"{spider.name}-{self.started_at}", seeds=(), started_at=self.started_at)
        # Liveness history, unchanged pages, removed listings; their counts go into the run's record.
        freshness = finish_run(self.indexer.writer, spider, reason, stats)
        self._record(freshness)
        stats = {**stats, **{key: stats.get(key, 0) + count for key, count in freshness.stats.items()}}
        frontier = getattr(spider, "shared_frontier", None)
        lock = None
        if frontier is not None:
            # The shared job's record: this worker's final stats go to Redis, the record sums every worker's.
            from crawler.frontier.workers import worker_runs
            from pipelines.crawl_runs import shared_crawl_run_document

            frontier.registry.finish(reason, stats)
            lock = frontier.server.lock(frontier.keys.record_lock, timeout=120, blocking_timeout=120)
            lock.acquire()
            document = shared_crawl_run_document(
                job, spider.name, spool.utc_now_iso(), reason, worker_runs(frontier.server, frontier.keys),
                job_complete=frontier.job_complete, labels=getattr(spider, "run_labels", None))
        else:
            document = crawl_run_document(job, spider.name, spool.utc_now_iso(), reason, stats,
                                          labels=getattr(spider, "run_labels", None))
        try:
            outcome = write_crawl_run(self.indexer.writer, document)
            self._record(outcome)
            if outcome.spooled and self.stats is not None and self.stats.get_value(SPOOL_LEFT_STAT) is not None:
                self.stats.inc_value(SPOOL_LEFT_STAT, outcome.spooled)
        finally:
            self.spool_writer.close()
            if lock is not None:
                lock.release()
        if self.totals.failed:
            logger.error("%d bulk operations failed; %d spooled under %s (replay with `onionscope index replay-spool`)",
                         self.totals.failed, self.totals.spooled, self.spool_writer.spool_dir)


def discovery_recorder(settings: Any, spider: Any) -> Any:
    """The crawl's :class:`pipelines.discovery.DiscoveryRecorder`, or None when ``discover`` is off (or no settings)."""
    if settings is None or settings.discover == "off":
        return None
    from config.blocklist import blocklist_for
    from crawler.job import job_of
    from pipelines.discovery import DiscoveryRecorder

    job = job_of(spider) if spider is not None else None
    seed_hosts = [urlsplit(seed).hostname or "" for seed in (job.seeds if job is not None else ())]
    return DiscoveryRecorder(blocklist_for(settings), seed_hosts)
