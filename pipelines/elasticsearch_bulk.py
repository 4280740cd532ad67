"""Last item pipeline: bulk-index items into Elasticsearch; retry, spool, never drop silently.

Pages, listings and vendors go to their alias (``<prefix>-<kind>``) as bulk
``update`` actions with ``_id = item.doc_id()`` (``doc`` + ``upsert``: a
re-crawl updates and moves last_seen, first_seen stays).  WalletMention items
and each Page's ``wallets`` fold into one wallet document per address; pages
fold into one onion document per host (see :mod:`pipelines.entities`).  Entity
documents are read (``mget``), merged in Python and written back with
``if_seq_no``/``if_primary_term``; a version conflict re-reads and merges again.

Failures: a whole request that fails (connection refused, timeout, 429, 5xx)
and items that fail with a transient error (429, 5xx, a write block during a
migration) are retried with exponential backoff (``bulk_backoff_seconds``,
doubling, ``bulk_max_retries`` times).  Items that still fail, and items that
fail permanently (a mapping violation, say), are written to the spool
(:mod:`pipelines.spool`) with their error and counted in the stats.  Nothing
is dropped without a trace.  ``onionscope index replay-spool`` replays them.

Public API:

* :class:`BulkIndexer` (client, index_prefix, spool, ...) -- synchronous core:
  :meth:`~BulkIndexer.index_items` (items) -> :class:`BatchOutcome`,
  :meth:`~BulkIndexer.write_crawl_run` (doc), :meth:`~BulkIndexer.replay` (records);
* :func:`replay_spool` (client, spool_dir, index_prefix, ...) -> :class:`ReplayReport`;
* :func:`crawl_run_document` (job_id, spider, started_at, stats, ...) -> dict;
* :class:`ElasticsearchBulkPipeline` -- the Scrapy pipeline.  It batches
  ``bulk_batch_size`` items, runs each bulk in a worker thread (the reactor
  never waits on Elasticsearch), flushes on close, and writes the crawl-run
  document when the spider closes.  It needs the asyncio reactor (set by
  crawler/settings.py).  If Elasticsearch is unreachable when the spider
  opens, the crawl stops with the reason (fail early rather than spool a
  whole crawl).

Stats: ``elasticsearch/indexed/<kind>``, ``elasticsearch/created/<kind>``,
``elasticsearch/entities/<kind>``, ``elasticsearch/retries``,
``elasticsearch/failed``, ``elasticsearch/spooled``, ``elasticsearch/entity_conflicts``.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import random
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterable

from elastic_transport import TransportError
from elasticsearch import ApiError, Elasticsearch

from crawler.items import Page, WalletMention
from pipelines import entities, spool
from pipelines.documents import DOCUMENT_KINDS, upsert_action
from pipelines.indices import alias_name

logger = logging.getLogger(__name__)

# Item errors worth another try: overload, unavailable shards, a write block
# (set during a migration).  Anything else (400 mapping errors...) is final.
RETRYABLE_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
RETRYABLE_ERROR_TYPES = frozenset({"cluster_block_exception", "es_rejected_execution_exception",
                                   "unavailable_shards_exception", "no_shard_available_action_exception"})
MAX_CONFLICT_ROUNDS = 30
# Upper bound of the random pause after the n-th conflict round is n times this.
CONFLICT_PAUSE_SECONDS = 0.005


@dataclass
class Operation:
    """One bulk operation and what to spool if it finally fails."""

    kind: str
    op_type: str  # "update", "index" or "create"
    doc_id: str
    body: dict[str, Any]
    index: str
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass
class Failure:
    operation: Operation
    error: str
    attempts: int


@dataclass
class BatchOutcome:
    indexed: Counter = field(default_factory=Counter)
    created: Counter = field(default_factory=Counter)
    entities: Counter = field(default_factory=Counter)
    retries: int = 0
    failed: int = 0
    spooled: int = 0
    entity_conflicts: int = 0

    def add(self, other: "BatchOutcome") -> None:
        self.indexed.update(other.indexed)
        self.created.update(other.created)
        self.entities.update(other.entities)
        self.retries += other.retries
        self.failed += other.failed
        self.spooled += other.spooled
        self.entity_conflicts += other.entity_conflicts


@dataclass
class ReplayReport:
    files: int = 0
    busy_files: int = 0
    records: int = 0
    replayed: int = 0
    still_failing: int = 0


def _error_text(error: Any) -> str:
    if isinstance(error, dict):
        text = f"{error.get('type', 'error')}: {error.get('reason', '')}"
        caused = error.get("caused_by")
        if isinstance(caused, dict):
            text += f" (caused by {caused.get('type')}: {caused.get('reason')})"
        return text[:1000]
    return str(error)[:1000]


def _is_retryable(status: int, error: Any) -> bool:
    error_type = error.get("type") if isinstance(error, dict) else None
    return status in RETRYABLE_STATUSES or error_type in RETRYABLE_ERROR_TYPES


def _bulk_lines(operations: list[Operation]) -> list[dict[str, Any]]:
    lines: list[dict[str, Any]] = []
    for operation in operations:
        lines.append({operation.op_type: {"_index": operation.index, "_id": operation.doc_id, **operation.meta}})
        lines.append(operation.body)
    return lines


class BulkIndexer:
    """Synchronous bulk writer with retries, entity merging and a spool.

    Cost: holds one batch in memory; entity merging reads each touched wallet
    and onion document once per batch.  Blocks while it backs off, so call it
    from a worker thread when inside a reactor.
    """

    def __init__(
        self,
        client: Elasticsearch,
        index_prefix: str,
        spool_writer: spool.SpoolWriter | None,
        *,
        max_retries: int = 5,
        backoff_seconds: float = 0.5,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self.client = client
        self.index_prefix = index_prefix
        self.spool_writer = spool_writer
        self.max_retries = max_retries
        self.backoff_seconds = backoff_seconds
        self.sleep = sleep

    # ------------------------------------------------------------------ sending

    def _backoff(self, attempt: int) -> None:
        self.sleep(self.backoff_seconds * (2 ** (attempt - 1)))

    def _send_once(self, operations: list[Operation]) -> tuple[list[tuple[Operation, dict[str, Any]]], list[tuple[Operation, str, bool]]]:
        """One bulk request: (succeeded with their results, failed with (error, retryable))."""
        try:
            response = self.client.bulk(operations=_bulk_lines(operations))
        except ApiError as exc:
            retryable = exc.status_code in RETRYABLE_STATUSES or exc.status_code == 403
            return [], [(operation, f"bulk request failed: {exc.status_code} {exc.message}"[:1000], retryable)
                        for operation in operations]
        except TransportError as exc:
            message = str(getattr(exc, "message", "") or exc)
            return [], [(operation, f"bulk request failed: {type(exc).__name__}: {message}"[:1000], True)
                        for operation in operations]
        succeeded: list[tuple[Operation, dict[str, Any]]] = []
        failed: list[tuple[Operation, str, bool]] = []
        for operation, entry in zip(operations, response.body["items"]):
            result = next(iter(entry.values()))
            status = int(result.get("status", 0))
            if 200 <= status < 300:
                succeeded.append((operation, result))
            else:
                error = result.get("error", {})
                failed.append((operation, f"{status} {_error_text(error)}", status == 409 or _is_retryable(status, error)))
        return succeeded, failed

    def send(self, operations: list[Operation], outcome: BatchOutcome) -> tuple[list[tuple[Operation, dict[str, Any]]], list[Failure]]:
        """Send with retries and backoff; returns (succeeded, final failures). Does not spool."""
        succeeded: list[tuple[Operation, dict[str, Any]]] = []
        failures: list[Failure] = []
        pending = list(operations)
        attempt = 0
        while pending:
            attempt += 1
            ok, failed = self._send_once(pending)
            succeeded.extend(ok)
            pending = []
            for operation, error, retryable in failed:
                if retryable and attempt <= self.max_retries:
                    pending.append(operation)
                else:
                    failures.append(Failure(operation, error, attempt))
            if pending:
                outcome.retries += len(pending)
                logger.info("retrying %d bulk operations (attempt %d of %d)", len(pending), attempt + 1,
                            self.max_retries + 1)
                self._backoff(attempt)
        return succeeded, failures

    def _spool(self, record: dict[str, Any], outcome: BatchOutcome) -> None:
        outcome.failed += 1
        if self.spool_writer is None:
            # No spool configured: the failure must still be loud.
            logger.error("bulk operation failed and no spool is configured: %s", record.get("error"))
            return
        path = self.spool_writer.write(record)
        outcome.spooled += 1
        logger.warning("spooled %s %s to %s: %s", record.get("kind"), record.get("id"), path, record.get("error"))

    def _spool_document(self, failure: Failure, outcome: BatchOutcome) -> None:
        operation = failure.operation
        self._spool({
            "record": "document", "kind": operation.kind, "index_prefix": self.index_prefix,
            "id": operation.doc_id, "op_type": operation.op_type, "meta": operation.meta,
            "body": operation.body, "error": failure.error, "attempts": failure.attempts,
        }, outcome)

    # ------------------------------------------------------------------ items

    def index_items(self, items: Iterable[Any]) -> BatchOutcome:
        """Index one batch: documents, and meanwhile the wallets they name; then their onions.

        Wallet entities do not depend on the document results, so they are
        written in a second thread while the document bulk runs; onion
        documents wait for it, because they count the pages it created.
        """
        outcome = BatchOutcome()
        items = list(items)
        wallet_sightings: dict[str, list[entities.WalletSighting]] = defaultdict(list)
        onion_sightings: dict[str, list[entities.OnionSighting]] = defaultdict(list)
        for item in items:
            for sighting in entities.wallet_sightings_from_item(item):
                wallet_sightings[entities.wallet_doc_id(sighting.coin, sighting.address)].append(sighting)
            if isinstance(item, Page) and item.onion_host:
                sighting = entities.onion_sighting_from_page(item)
                onion_sightings[entities.onion_doc_id(sighting.onion_host)].append(sighting)
        wallet_outcome = BatchOutcome()
        wallet_errors: list[BaseException] = []

        def write_wallets() -> None:
            try:
                self.write_entities("wallets", wallet_sightings, {}, wallet_outcome)
            except BaseException as exc:  # handed to the caller below: a thread must not swallow it
                wallet_errors.append(exc)

        wallet_writer: threading.Thread | None = None
        if wallet_sightings:
            wallet_writer = threading.Thread(target=write_wallets, name="onionscope-wallet-entities")
            wallet_writer.start()
        try:
            new_pages_per_host = self._index_documents(items, outcome)
            if onion_sightings:
                new_pages = {entities.onion_doc_id(host): count for host, count in new_pages_per_host.items() if host}
                self.write_entities("onions", onion_sightings, new_pages, outcome)
        finally:
            if wallet_writer is not None:
                wallet_writer.join()
                outcome.add(wallet_outcome)
        if wallet_errors:
            raise wallet_errors[0]
        return outcome

    def _index_documents(self, items: list[Any], outcome: BatchOutcome) -> Counter:
        """Bulk-upsert the pages, listings and vendors; returns new pages per onion host."""
        operations: list[Operation] = []
        for item in items:
            if item.kind in DOCUMENT_KINDS:
                action = upsert_action(item, alias_name(self.index_prefix, item.kind))
                operations.append(Operation(
                    kind=item.kind, op_type="update", doc_id=action["_id"], index=action["_index"],
                    body={"doc": action["doc"], "upsert": action["upsert"]},
                    meta={"retry_on_conflict": action["retry_on_conflict"]},
                ))
        new_pages_per_host: Counter = Counter()
        if not operations:
            return new_pages_per_host
        succeeded, failures = self.send(operations, outcome)
        for operation, result in succeeded:
            outcome.indexed[operation.kind] += 1
            if result.get("result") == "created":
                outcome.created[operation.kind] += 1
                if operation.kind == "pages":
                    new_pages_per_host[operation.body["upsert"].get("onion_host")] += 1
        for failure in failures:
            self._spool_document(failure, outcome)
        return new_pages_per_host

    # ------------------------------------------------------------------ entities

    def _merge(self, kind: str, existing: dict[str, Any] | None, sightings: list[Any], new_pages: int) -> dict[str, Any]:
        if kind == "wallets":
            return entities.merge_wallet(existing, sightings)
        return entities.merge_onion(existing, sightings, new_pages)

    def write_entities(
        self, kind: str, sightings_by_id: dict[str, list[Any]], new_pages_by_id: dict[str, int],
        outcome: BatchOutcome,
    ) -> None:
        """Read, merge and conditionally write entity documents; conflicts re-read, failures spool."""
        index = alias_name(self.index_prefix, kind)
        pending = set(sightings_by_id)
        transient_attempts = 0
        conflict_rounds = 0
        last_errors: dict[str, str] = {}
        while pending:
            ids = sorted(pending)
            try:
                response = self.client.mget(index=index, ids=ids)
                current = {doc["_id"]: doc for doc in response.body["docs"]}
            except (ApiError, TransportError) as exc:
                message = f"reading {kind} entities failed: {getattr(exc, 'message', exc)}"[:1000]
                failed = [(entity_id, message, True) for entity_id in ids]
                ok_ids: list[str] = []
            else:
                operations = []
                for entity_id in ids:
                    found = current.get(entity_id, {})
                    existing = found.get("_source") if found.get("found") else None
                    document = self._merge(kind, existing, sightings_by_id[entity_id], new_pages_by_id.get(entity_id, 0))
                    if existing is None:
                        operations.append(Operation(kind, "create", entity_id, document, index))
                    else:
                        operations.append(Operation(kind, "index", entity_id, document, index, meta={
                            "if_seq_no": found["_seq_no"], "if_primary_term": found["_primary_term"]}))
                succeeded, failed_ops = self._send_once(operations)
                ok_ids = [operation.doc_id for operation, _ in succeeded]
                failed = [(operation.doc_id, error, retryable) for operation, error, retryable in failed_ops]
            for entity_id in ok_ids:
                pending.discard(entity_id)
                outcome.entities[kind] += 1
            conflicts = [entity_id for entity_id, error, _ in failed if error.startswith("409")]
            others = [(entity_id, error, retryable) for entity_id, error, retryable in failed if not error.startswith("409")]
            for entity_id, error, retryable in others:
                last_errors[entity_id] = error
                if not retryable:
                    pending.discard(entity_id)
                    self._spool_entity(kind, entity_id, sightings_by_id, new_pages_by_id, error, transient_attempts + 1, outcome)
            if conflicts:
                outcome.entity_conflicts += len(conflicts)
                conflict_rounds += 1
                for entity_id in conflicts:
                    last_errors[entity_id] = "409 version conflict (entity changed by another writer)"
            if not pending:
                break
            if any(retryable for _, _, retryable in others):
                transient_attempts += 1
                if transient_attempts > self.max_retries:
                    break
                outcome.retries += len(pending)
                self._backoff(transient_attempts)
            elif conflict_rounds > MAX_CONFLICT_ROUNDS:
                break
            else:
                # Writers that collided would re-read in lockstep and collide again;
                # a short random pause lets one of them through each round.
                self.sleep(random.uniform(0, CONFLICT_PAUSE_SECONDS * conflict_rounds))
        for entity_id in sorted(pending):
            self._spool_entity(kind, entity_id, sightings_by_id, new_pages_by_id,
                               last_errors.get(entity_id, "gave up"), transient_attempts + 1, outcome)

    def _spool_entity(
        self, kind: str, entity_id: str, sightings_by_id: dict[str, list[Any]], new_pages_by_id: dict[str, int],
        error: str, attempts: int, outcome: BatchOutcome,
    ) -> None:
        self._spool({
            "record": "entity", "kind": kind, "index_prefix": self.index_prefix, "id": entity_id,
            "sightings": [dataclasses.asdict(s) for s in sightings_by_id[entity_id]],
            "new_pages": new_pages_by_id.get(entity_id, 0), "error": error, "attempts": attempts,
        }, outcome)

    # ------------------------------------------------------------------ crawl runs and replay

    def write_crawl_run(self, document: dict[str, Any]) -> BatchOutcome:
        """Index the crawl-run document (``_id`` = job_id); spooled like any other on failure."""
        outcome = BatchOutcome()
        operation = Operation("crawl-runs", "index", str(document["job_id"]), document,
                              alias_name(self.index_prefix, "crawl-runs"))
        succeeded, failures = self.send([operation], outcome)
        outcome.indexed["crawl-runs"] += len(succeeded)
        for failure in failures:
            self._spool_document(failure, outcome)
        return outcome

    def replay(self, records: list[dict[str, Any]]) -> tuple[int, list[dict[str, Any]]]:
        """Try spooled records again; returns (how many went in, the records still failing)."""
        replayed = 0
        still_failing: list[dict[str, Any]] = []
        documents = [record for record in records if record.get("record") == "document"]
        operations = [
            Operation(str(r["kind"]), str(r["op_type"]), str(r["id"]), dict(r["body"]),
                      alias_name(self.index_prefix, str(r["kind"])), dict(r.get("meta") or {}))
            for r in documents
        ]
        if operations:
            outcome = BatchOutcome()
            succeeded, failures = self.send(operations, outcome)
            replayed += len(succeeded)
            self._count_replayed_pages(succeeded)
            failed_ids = {(f.operation.kind, f.operation.doc_id): f for f in failures}
            for record in documents:
                failure = failed_ids.get((record["kind"], record["id"]))
                if failure is not None:
                    still_failing.append({**record, "error": failure.error,
                                          "attempts": int(record.get("attempts", 0)) + failure.attempts})
        for record in records:
            if record.get("record") == "entity":
                sighting_type = entities.WalletSighting if record["kind"] == "wallets" else entities.OnionSighting
                sightings = [sighting_type(**s) for s in record["sightings"]]
                outcome = BatchOutcome()
                # Re-spooling goes to a throwaway list: the caller keeps the record instead.
                writer, self.spool_writer = self.spool_writer, None
                try:
                    self.write_entities(record["kind"], {record["id"]: sightings},
                                        {record["id"]: int(record.get("new_pages", 0))}, outcome)
                finally:
                    self.spool_writer = writer
                if outcome.entities[record["kind"]]:
                    replayed += 1
                else:
                    still_failing.append(record)
            elif record.get("record") != "document":
                still_failing.append(record)
        return replayed, still_failing


    def _count_replayed_pages(self, succeeded: list[tuple[Operation, dict[str, Any]]]) -> None:
        """A page created by a replay is a new page of its onion: count it there too."""
        sightings: dict[str, list[entities.OnionSighting]] = defaultdict(list)
        new_pages: Counter = Counter()
        for operation, result in succeeded:
            upsert = operation.body.get("upsert") if operation.kind == "pages" else None
            if result.get("result") != "created" or not isinstance(upsert, dict) or not upsert.get("onion_host"):
                continue
            host = entities.onion_doc_id(str(upsert["onion_host"]))
            sightings[host].append(entities.OnionSighting(
                onion_host=host, seen_at=str(upsert.get("fetched_at", "")), status=int(upsert.get("status", 0)),
                url=str(upsert.get("canonical_url", "")), title=str(upsert.get("title", "")),
                job_id=str(upsert.get("job_id", "")), market=upsert.get("market")))
            new_pages[host] += 1
        if sightings:
            outcome = BatchOutcome()
            writer, self.spool_writer = self.spool_writer, None
            try:
                self.write_entities("onions", sightings, dict(new_pages), outcome)
            finally:
                self.spool_writer = writer
            if outcome.failed:
                logger.warning("replayed pages of %d onions could not be counted on their onion documents",
                               outcome.failed)


def replay_spool(
    client: Elasticsearch, spool_dir: Path, index_prefix: str, *, max_retries: int = 2, backoff_seconds: float = 0.5,
) -> ReplayReport:
    """Replay every spool file no crawl is writing; files shrink to what still fails.

    What was replayed is searchable when this returns (the prefix's indices
    are refreshed), so ``index status`` and searches right after count it.
    """
    report = ReplayReport()
    indexer = BulkIndexer(client, index_prefix, None, max_retries=max_retries, backoff_seconds=backoff_seconds)
    for path in spool.spool_files(spool_dir):
        with spool.claim(path) as records:
            if records is None:
                report.busy_files += 1
                continue
            report.files += 1
            report.records += len(records)
            replayed, still_failing = indexer.replay(records)
            report.replayed += replayed
            report.still_failing += len(still_failing)
            spool.rewrite(path, still_failing)
    if report.replayed:
        client.indices.refresh(index=f"{index_prefix}-*", ignore_unavailable=True, allow_no_indices=True)
    return report


def _json_safe(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)


def crawl_run_document(
    job_id: str, spider: str, started_at: str, finished_at: str, finish_reason: str | None,
    seeds: list[str], stats: dict[str, Any],
) -> dict[str, Any]:
    """The crawl-run document; counts come from the pipelines' stats."""
    def total(prefix: str) -> int:
        return int(sum(v for k, v in stats.items() if k.startswith(prefix) and isinstance(v, (int, float))))

    return {
        "job_id": job_id,
        "spider": spider,
        "started_at": started_at,
        "finished_at": finished_at,
        "finish_reason": finish_reason,
        "seeds": [str(seed)[:2048] for seed in seeds][:1000],
        "pages_indexed": int(stats.get("elasticsearch/indexed/pages", 0)),
        "items_indexed": total("elasticsearch/indexed/"),
        "items_failed": int(stats.get("elasticsearch/failed", 0)),
        "items_spooled": int(stats.get("elasticsearch/spooled", 0)),
        "items_dropped": total("validate/dropped/") + total("deduplicate/dropped/"),
        "stats": _json_safe(stats),
    }


class ElasticsearchBulkPipeline:
    """The Scrapy pipeline around :class:`BulkIndexer`."""

    def __init__(
        self,
        client: Elasticsearch,
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

        from onionscope.settings import load_settings
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

        if self.settings is not None:
            ensure_reachable(self.client, self.settings)
        ensure_indices(self.client, self.index_prefix, **shard_overrides(self.settings))
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
        for name in ("retries", "failed", "spooled", "entity_conflicts"):
            if getattr(outcome, name):
                self.stats.inc_value(f"elasticsearch/{name}", getattr(outcome, name))

    async def _flush(self) -> None:
        if self._lock is None:
            self._lock = asyncio.Lock()
        # One bulk at a time keeps entity merges of consecutive batches ordered.
        async with self._lock:
            batch, self.buffer = self.buffer, []
            if batch:
                self._record(await asyncio.to_thread(self.indexer.index_items, batch))

    async def process_item(self, item: Any) -> Any:
        self.buffer.append(item)
        if len(self.buffer) >= self.batch_size:
            await self._flush()
        return item

    async def close_spider(self) -> None:
        await self._flush()

    async def spider_closed(self, spider: Any, reason: str) -> None:
        """Signal handler: writes the crawl-run document in a worker thread (retries may back off)."""
        # After every pipeline closed, so the stats are final apart from Scrapy's own finish_time.
        stats = dict(self.stats.get_stats()) if self.stats is not None else {}
        await asyncio.to_thread(self.record_crawl_run, spider, reason, stats)

    def record_crawl_run(self, spider: Any, reason: str, stats: dict[str, Any] | None = None) -> None:
        """Index the crawl-run document (spooled on failure) and close the spool file."""
        if stats is None:
            stats = dict(self.stats.get_stats()) if self.stats is not None else {}
        job_id = str(getattr(spider, "job_id", "") or f"{spider.name}-{self.started_at}")
        seeds = list(getattr(spider, "seeds", None) or getattr(spider, "start_urls", None) or [])
        document = crawl_run_document(job_id, spider.name, self.started_at, spool.utc_now_iso(), reason, seeds, stats)
        self._record(self.indexer.write_crawl_run(document))
        self.spool_writer.close()
        if self.totals.failed:
            logger.error("%d bulk operations failed; %d spooled under %s (replay with `onionscope index replay-spool`)",
                         self.totals.failed, self.totals.spooled, self.spool_writer.spool_dir)
