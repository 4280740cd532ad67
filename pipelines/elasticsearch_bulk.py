"""The last item pipeline: Scrapy's side of bulk indexing into Elasticsearch.

A thin adapter: it batches items (``bulk_batch_size``), hands each batch to
:class:`pipelines.item_indexer.BulkIndexer` in a worker thread (the reactor
never waits on Elasticsearch), flushes on close, and when the spider closes
writes the crawl-run record (:mod:`pipelines.crawl_runs`) of the spider's
:class:`crawler.job.CrawlJob`.  Retries and the spool are
:mod:`pipelines.bulk_writer`'s; ``onionscope index replay-spool``
(:mod:`pipelines.spool_replay`) replays the spool.  It needs the asyncio
reactor (set by crawler/settings.py).  If Elasticsearch is unreachable when
the spider opens, the crawl stops with the reason (fail early rather than
spool a whole crawl).

Failures: should a whole batch raise (a bug outside the bulk writer's own
handling), the pipeline spools its items whole (``item`` records), logs and
counts it; if the spool refuses them too they go back to the buffer and the
error is raised.  Nothing is dropped without a trace.

Public API:

* :class:`ElasticsearchBulkPipeline` (client, index_prefix, spool_dir, ...) --
  the Scrapy pipeline (``ITEM_PIPELINES``); :meth:`~ElasticsearchBulkPipeline.record_crawl_run`
  (spider, reason) writes the crawl-run record.

Stats: ``elasticsearch/indexed/<kind>``, ``elasticsearch/created/<kind>``,
``elasticsearch/entities/<kind>``, ``elasticsearch/retries``,
``elasticsearch/failed``, ``elasticsearch/spooled``, ``elasticsearch/entity_conflicts``,
``elasticsearch/unexpected_errors``, ``elasticsearch/lost`` (items neither indexed
nor spooled when the crawl closed: only when the spool itself fails).
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

from config.paths import index_templates_dir
from crawler.job import CrawlJob, job_of
from pipelines import spool
from pipelines.bulk_writer import BatchOutcome
from pipelines.crawl_runs import crawl_run_document, write_crawl_run
from pipelines.item_indexer import BulkIndexer, item_record

logger = logging.getLogger(__name__)


class ElasticsearchBulkPipeline:
    """The Scrapy pipeline around :class:`~pipelines.item_indexer.BulkIndexer`."""

    def __init__(
        self,
        client: Any,
        index_prefix: str,
        spool_dir: Path,
        *,
        batch_size: int = 200,
        max_retries: int = 5,
        backoff_seconds: float = 0.5,
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
        for name in ("retries", "failed", "spooled", "entity_conflicts", "unexpected_errors"):
            if getattr(outcome, name):
                self.stats.inc_value(f"elasticsearch/{name}", getattr(outcome, name))

    async def _flush(self) -> None:
        if self._lock is None:
            self._lock = asyncio.Lock()
        # One bulk at a time keeps entity merges of consecutive batches ordered.
        async with self._lock:
            batch, self.buffer = self.buffer, []
            if not batch:
                return
            try:
                outcome = await asyncio.to_thread(self.indexer.index_items, batch)
            except Exception as exc:
                outcome, unsaved, spool_error = await asyncio.to_thread(self._spool_batch, batch, exc)
                self._record(outcome)
                if unsaved:
                    # Neither Elasticsearch nor the spool took them: keep them for the next flush.
                    self.buffer[:0] = unsaved
                    logger.error("%d items could not be spooled either (%s); they are kept in memory and tried again "
                                 "at the next flush", len(unsaved), spool_error)
                    raise RuntimeError(f"{len(unsaved)} items were neither indexed nor spooled: {spool_error}") from exc
                return
            self._record(outcome)

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

    async def process_item(self, item: Any) -> Any:
        self.buffer.append(item)
        if len(self.buffer) >= self.batch_size:
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
        document = crawl_run_document(job, spider.name, spool.utc_now_iso(), reason, stats)
        self._record(write_crawl_run(self.indexer.writer, document))
        self.spool_writer.close()
        if self.totals.failed:
            logger.error("%d bulk operations failed; %d spooled under %s (replay with `onionscope index replay-spool`)",
                         self.totals.failed, self.totals.spooled, self.spool_writer.spool_dir)
