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
is dropped without a trace.  An exception that is not Elasticsearch's (a bug,
a malformed response) fails the operations it hit, which are spooled, logged
with the traceback and counted; should a whole batch still raise, the
pipeline spools its items whole, and if the spool refuses them too they go
back to the buffer and the error is raised.  ``onionscope index
replay-spool`` replays the spool: each record into the index prefix it was
spooled for, merged with what is stored so that the newer values win (an old
record never moves last_seen back), written with ``if_seq_no``.

Public API:

* :class:`BulkIndexer` (client, index_prefix, spool, ...) -- synchronous core:
  :meth:`~BulkIndexer.index_items` (items) -> :class:`BatchOutcome`,
  :meth:`~BulkIndexer.write_crawl_run` (doc), :meth:`~BulkIndexer.replay` (records);
* :func:`replay_spool` (client, spool_dir, index_prefix, ...) -> :class:`ReplayReport`;
* :func:`item_record` (item, index_prefix, error) -> the spool record of a whole item;
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
``elasticsearch/failed``, ``elasticsearch/spooled``, ``elasticsearch/entity_conflicts``,
``elasticsearch/unexpected_errors``, ``elasticsearch/lost`` (items neither indexed
nor spooled when the crawl closed: only when the spool itself fails).
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
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

from crawler.items import Listing, Page, Vendor, WalletMention
from config.settings import DEFAULTS
from pipelines import entities, spool
from pipelines.documents import DOCUMENT_KINDS, replayed_document, upsert_action
from pipelines.indices import alias_name

logger = logging.getLogger(__name__)

# Item errors worth another try: overload, unavailable shards, a write block
# (set during a migration).  Anything else (400 mapping errors...) is final.
RETRYABLE_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
RETRYABLE_ERROR_TYPES = frozenset({"cluster_block_exception", "es_rejected_execution_exception",
                                   "unavailable_shards_exception", "no_shard_available_action_exception"})
# What a replay may write: the kinds the pipeline itself writes, nothing else
# (a spool record cannot reach the audit or token indices).
REPLAYED_DOCUMENT_KINDS = (*DOCUMENT_KINDS, "crawl-runs")
ITEM_TYPES: dict[str, type] = {item_type.kind: item_type for item_type in (Page, Listing, Vendor, WalletMention)}
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
    # Exceptions other than Elasticsearch's own errors; what they hit was spooled (or kept to retry).
    unexpected_errors: int = 0

    def add(self, other: "BatchOutcome") -> None:
        self.indexed.update(other.indexed)
        self.created.update(other.created)
        self.entities.update(other.entities)
        self.retries += other.retries
        self.failed += other.failed
        self.spooled += other.spooled
        self.entity_conflicts += other.entity_conflicts
        self.unexpected_errors += other.unexpected_errors


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
        spool_writer: "spool.SpoolWriter | _KeptRecords | None",
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

    def _unexpected(self, exc: Exception, outcome: BatchOutcome, what: str) -> str:
        """Log and count an exception that is not one of Elasticsearch's; returns the error to spool with."""
        outcome.unexpected_errors += 1
        logger.error("unexpected error in %s; what it hit is spooled, not dropped", what, exc_info=exc)
        return f"unexpected error in {what}: {type(exc).__name__}: {exc}"[:1000]

    def _send_once(
        self, operations: list[Operation], outcome: BatchOutcome,
    ) -> tuple[list[tuple[Operation, dict[str, Any]]], list[tuple[Operation, str, bool]]]:
        """One bulk request: (succeeded with their results, failed with (error, retryable)).

        Never raises: an exception that is not Elasticsearch's (a bug, a
        serialisation problem, a malformed response) fails every operation of
        the request, as final, and is logged and counted.
        """
        try:
            response = self.client.bulk(operations=_bulk_lines(operations))
            results = [next(iter(entry.values())) for entry in response.body["items"]]
            if len(results) != len(operations):
                raise ValueError(f"{len(results)} results for {len(operations)} operations")
        except ApiError as exc:
            retryable = exc.status_code in RETRYABLE_STATUSES or exc.status_code == 403
            return [], [(operation, f"bulk request failed: {exc.status_code} {exc.message}"[:1000], retryable)
                        for operation in operations]
        except TransportError as exc:
            message = str(getattr(exc, "message", "") or exc)
            return [], [(operation, f"bulk request failed: {type(exc).__name__}: {message}"[:1000], True)
                        for operation in operations]
        except Exception as exc:
            error = self._unexpected(exc, outcome, f"a bulk request of {len(operations)} operations")
            return [], [(operation, error, False) for operation in operations]
        succeeded: list[tuple[Operation, dict[str, Any]]] = []
        failed: list[tuple[Operation, str, bool]] = []
        for operation, result in zip(operations, results):
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
            ok, failed = self._send_once(pending, outcome)
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

    @staticmethod
    def _merge(kind: str, existing: dict[str, Any] | None, *, sightings: list[Any], new_pages: int) -> dict[str, Any]:
        if kind == "wallets":
            return entities.merge_wallet(existing, sightings)
        return entities.merge_onion(existing, sightings, new_pages)

    def write_entities(
        self, kind: str, sightings_by_id: dict[str, list[Any]], new_pages_by_id: dict[str, int],
        outcome: BatchOutcome,
    ) -> None:
        """Read, merge and conditionally write entity documents; conflicts re-read, failures spool."""
        merges = {
            entity_id: functools.partial(self._merge, kind, sightings=sightings,
                                         new_pages=new_pages_by_id.get(entity_id, 0))
            for entity_id, sightings in sightings_by_id.items()
        }
        written, failures = self._merge_write(kind, alias_name(self.index_prefix, kind), merges, outcome)
        outcome.entities[kind] += len(written)
        for entity_id, (error, attempts) in sorted(failures.items()):
            self._spool_entity(kind, entity_id, sightings_by_id, new_pages_by_id, error, attempts, outcome)

    def _merge_write(
        self, kind: str, index: str, merges: dict[str, Callable[[dict[str, Any] | None], dict[str, Any] | None]],
        outcome: BatchOutcome,
    ) -> tuple[dict[str, dict[str, Any]], dict[str, tuple[str, int]]]:
        """Read each document, merge, and write it back only if nobody changed it since the read.

        ``merges`` maps an ``_id`` to a function of the stored source (None
        when there is none) that returns the document to store, or None to
        leave it as it is.  A version conflict (another writer came first)
        re-reads and merges again, up to MAX_CONFLICT_ROUNDS; transient errors
        back off (``max_retries``); other errors, and unexpected exceptions
        (logged and counted), are final.  Does not spool.

        Returns (the bulk result of each written ``_id``, ``{"result": "noop"}``
        when nothing needed writing; the final ``(error, attempts)`` of each
        ``_id`` that failed).
        """
        pending = set(merges)
        transient_attempts = 0
        conflict_rounds = 0
        last_errors: dict[str, str] = {}
        written: dict[str, dict[str, Any]] = {}
        failures: dict[str, tuple[str, int]] = {}
        while pending:
            ids = sorted(pending)
            ok: dict[str, dict[str, Any]] = {}
            failed: list[tuple[str, str, bool]] = []
            try:
                response = self.client.mget(index=index, ids=ids)
                current = {doc["_id"]: doc for doc in response.body["docs"]}
            except (ApiError, TransportError) as exc:
                message = f"reading {kind} documents failed: {getattr(exc, 'message', exc)}"[:1000]
                failed = [(doc_id, message, True) for doc_id in ids]
            except Exception as exc:
                message = self._unexpected(exc, outcome, f"reading {len(ids)} {kind} documents")
                failed = [(doc_id, message, False) for doc_id in ids]
            else:
                operations = []
                for doc_id in ids:
                    found = current.get(doc_id, {})
                    if found.get("error"):
                        # Above all a missing index: writing would create one without the template.
                        error = found["error"]
                        retryable = _is_retryable(0, error) if isinstance(error, dict) else True
                        failed.append((doc_id, f"reading {kind} {doc_id} failed: {_error_text(error)}", retryable))
                        continue
                    existing = found.get("_source") if found.get("found") else None
                    try:
                        document = merges[doc_id](existing)
                    except Exception as exc:
                        failed.append((doc_id, self._unexpected(exc, outcome, f"merging {kind} {doc_id}"), False))
                        continue
                    if document is None:
                        ok[doc_id] = {"result": "noop"}
                    elif existing is None:
                        operations.append(Operation(kind, "create", doc_id, document, index))
                    else:
                        operations.append(Operation(kind, "index", doc_id, document, index, meta={
                            "if_seq_no": found["_seq_no"], "if_primary_term": found["_primary_term"]}))
                if operations:
                    succeeded, failed_ops = self._send_once(operations, outcome)
                    ok.update((operation.doc_id, result) for operation, result in succeeded)
                    failed += [(operation.doc_id, error, retryable) for operation, error, retryable in failed_ops]
            for doc_id, result in ok.items():
                pending.discard(doc_id)
                written[doc_id] = result
            conflicts = [doc_id for doc_id, error, _ in failed if error.startswith("409")]
            others = [(doc_id, error, retryable) for doc_id, error, retryable in failed if not error.startswith("409")]
            for doc_id, error, retryable in others:
                last_errors[doc_id] = error
                if not retryable:
                    pending.discard(doc_id)
                    failures[doc_id] = (error, transient_attempts + 1)
            if conflicts:
                outcome.entity_conflicts += len(conflicts)
                conflict_rounds += 1
                for doc_id in conflicts:
                    last_errors[doc_id] = "409 version conflict (document changed by another writer)"
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
        for doc_id in sorted(pending):
            failures[doc_id] = (last_errors.get(doc_id, "gave up"), transient_attempts + 1)
        return written, failures

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
        """Try spooled records again; returns (how many went in, the records still failing).

        Each record goes to its own ``index_prefix`` (this indexer's for a
        record without one).  A document is merged with what is stored
        (:func:`~pipelines.documents.replayed_document`: the newer values win,
        first_seen is the earliest) and written only if nobody changed it since
        the read, so an old record never undoes a newer crawl.  Entity
        sightings merge as in a crawl.  An ``item`` record (a whole batch that
        failed unexpectedly) is indexed again as an item; what of it still
        fails comes back as document or entity records.  Raises nothing for a
        failing record: it comes back in the second list, with its error.
        """
        replayed = 0
        still_failing: list[dict[str, Any]] = []
        by_prefix: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for record in records:
            prefix = _record_prefix(record, self.index_prefix)
            if prefix is None:
                still_failing.append({**record, "error": f"invalid index_prefix {record.get('index_prefix')!r}"})
            else:
                by_prefix[prefix].append(record)
        for prefix, group in by_prefix.items():
            indexer = BulkIndexer(self.client, prefix, _KeptRecords(), max_retries=self.max_retries,
                                  backoff_seconds=self.backoff_seconds, sleep=self.sleep)
            count, failing = indexer._replay_own_prefix(group)
            replayed += count
            still_failing.extend(failing)
        return replayed, still_failing

    def _kept(self) -> "_KeptRecords":
        assert isinstance(self.spool_writer, _KeptRecords)
        return self.spool_writer

    def _replay_own_prefix(self, records: list[dict[str, Any]]) -> tuple[int, list[dict[str, Any]]]:
        still_failing: list[dict[str, Any]] = []
        documents = [r for r in records if r.get("record") == "document" and r.get("kind") in REPLAYED_DOCUMENT_KINDS]
        replayed = self._replay_documents(documents, still_failing) if documents else 0
        # Onion counts of the pages the replay created, when they could not be written.
        still_failing.extend(self._kept().take())
        for record in records:
            kind = record.get("kind")
            if record.get("record") == "document" and kind in REPLAYED_DOCUMENT_KINDS:
                continue
            if record.get("record") == "entity" and kind in ("wallets", "onions"):
                replayed += self._replay_entity(record, still_failing)
            elif record.get("record") == "item" and kind in ITEM_TYPES:
                replayed += self._replay_item(record, still_failing)
            elif record.get("record") == "unreadable":
                still_failing.append(record)
            else:
                still_failing.append({**record, "error": f"not replayed: {record.get('record')!r} record of kind "
                                                         f"{kind!r} (kept as it is)"})
        return replayed, still_failing

    def _replay_documents(self, records: list[dict[str, Any]], still_failing: list[dict[str, Any]]) -> int:
        replayed = 0
        by_kind: dict[str, dict[str, list[dict[str, Any]]]] = defaultdict(lambda: defaultdict(list))
        for record in records:
            if not isinstance(record.get("body"), dict) or not record.get("id"):
                still_failing.append({**record, "error": "not replayed: a document record needs an id and a body"})
                continue
            by_kind[str(record["kind"])][str(record["id"])].append(record)

        def merge(group: list[dict[str, Any]], stored: dict[str, Any] | None) -> dict[str, Any] | None:
            document = stored
            for record in group:  # in the order they were spooled
                document = replayed_document(document, str(record.get("op_type") or "index"), record["body"])
            return None if document == stored else document

        created_pages: list[dict[str, Any]] = []
        for kind, groups in by_kind.items():
            outcome = BatchOutcome()
            merges = {doc_id: functools.partial(merge, group) for doc_id, group in groups.items()}
            written, failures = self._merge_write(kind, alias_name(self.index_prefix, kind), merges, outcome)
            for doc_id, result in written.items():
                replayed += len(groups[doc_id])
                if kind == "pages" and result.get("result") == "created":
                    created_pages.append(replayed_document(None, str(groups[doc_id][0].get("op_type") or "index"),
                                                           groups[doc_id][0]["body"]))
            for doc_id, (error, attempts) in failures.items():
                still_failing.extend({**record, "error": error, "attempts": int(record.get("attempts") or 0) + attempts}
                                     for record in groups[doc_id])
        self._count_replayed_pages(created_pages)
        return replayed

    def _replay_entity(self, record: dict[str, Any], still_failing: list[dict[str, Any]]) -> int:
        kind = str(record["kind"])
        sighting_type = entities.WalletSighting if kind == "wallets" else entities.OnionSighting
        try:
            sightings = [sighting_type(**s) for s in record["sightings"]]
            entity_id = str(record["id"])
        except (KeyError, TypeError) as exc:
            still_failing.append({**record, "error": f"not replayed: unreadable sightings ({exc})"[:1000]})
            return 0
        outcome = BatchOutcome()
        self.write_entities(kind, {entity_id: sightings}, {entity_id: int(record.get("new_pages") or 0)}, outcome)
        if outcome.entities[kind]:
            return 1
        for kept in self._kept().take():
            still_failing.append({**record, "error": kept.get("error"),
                                  "attempts": int(record.get("attempts") or 0) + int(kept.get("attempts") or 0)})
        return 0

    def _replay_item(self, record: dict[str, Any], still_failing: list[dict[str, Any]]) -> int:
        try:
            item = ITEM_TYPES[str(record["kind"])](**record["item"])
            outcome = self.index_items([item])
        except Exception as exc:
            logger.error("replaying a spooled %s item failed", record.get("kind"), exc_info=exc)
            still_failing.append({**record, "error": f"replay failed: {type(exc).__name__}: {exc}"[:1000],
                                  "attempts": int(record.get("attempts") or 0) + 1})
            self._kept().take()  # the item record stays whole, so its parts are not kept twice
            return 0
        kept = self._kept().take()
        # What of the item still fails stays in the spool as finer document or entity records.
        spooled_at = record.get("spooled_at")
        still_failing.extend({**part, "spooled_at": spooled_at or part.get("spooled_at")} for part in kept)
        return 0 if kept or outcome.failed else 1

    def _count_replayed_pages(self, created_pages: list[dict[str, Any]]) -> None:
        """A page created by a replay is a new page of its onion: count it there too (kept if that fails)."""
        sightings: dict[str, list[entities.OnionSighting]] = defaultdict(list)
        new_pages: Counter = Counter()
        for page in created_pages:
            if not page.get("onion_host"):
                continue
            host = entities.onion_doc_id(str(page["onion_host"]))
            sightings[host].append(entities.OnionSighting(
                onion_host=host, seen_at=str(page.get("fetched_at", "")), status=int(page.get("status", 0)),
                url=str(page.get("canonical_url", "")), title=str(page.get("title", "")),
                job_id=str(page.get("job_id", "")), market=page.get("market")))
            new_pages[host] += 1
        if sightings:
            self.write_entities("onions", sightings, dict(new_pages), BatchOutcome())


class _KeptRecords:
    """Stands in for the spool during a replay: what still fails is kept here, for the file it came from."""

    path = Path("<replay>")

    def __init__(self) -> None:
        self.records: list[dict[str, Any]] = []
        self._lock = threading.Lock()

    def write(self, record: dict[str, Any]) -> Path:
        with self._lock:
            self.records.append(record)
        return self.path

    def take(self) -> list[dict[str, Any]]:
        with self._lock:
            taken, self.records = self.records, []
        return taken


def _record_prefix(record: dict[str, Any], default: str) -> str | None:
    """The index prefix a spooled record belongs to (``default`` when it names none); None if invalid."""
    prefix = record.get("index_prefix") or default
    try:
        return str(DEFAULTS["index_prefix"].parse("index_prefix", prefix))
    except ValueError:
        return None


def replay_spool(
    client: Elasticsearch, spool_dir: Path, index_prefix: str, *, max_retries: int = 2, backoff_seconds: float = 0.5,
) -> ReplayReport:
    """Replay every spool file no crawl or other replay holds; files shrink to what still fails.

    Each record goes to the index prefix it was spooled for (``index_prefix``
    only for records that name none), and never undoes a newer write (see
    :meth:`BulkIndexer.replay`).  What was replayed is searchable when this
    returns (the prefixes' indices are refreshed), so ``index status`` and
    searches right after count it.  Raises OSError when a spool file cannot
    be rewritten.
    """
    report = ReplayReport()
    indexer = BulkIndexer(client, index_prefix, None, max_retries=max_retries, backoff_seconds=backoff_seconds)
    prefixes: set[str] = set()
    for path in spool.spool_files(spool_dir):
        with spool.claim(path) as records:
            if records is None:
                report.busy_files += 1
                continue
            report.files += 1
            report.records += len(records)
            prefixes.update(p for p in (_record_prefix(r, index_prefix) for r in records) if p is not None)
            replayed, still_failing = indexer.replay(records)
            report.replayed += replayed
            report.still_failing += len(still_failing)
            spool.rewrite(path, still_failing)
    if report.replayed:
        for prefix in sorted(prefixes):
            client.indices.refresh(index=f"{prefix}-*", ignore_unavailable=True, allow_no_indices=True)
    return report


def item_record(item: Any, index_prefix: str, error: str) -> dict[str, Any]:
    """The spool record of a whole item, for a batch that failed before its operations could be spooled."""
    try:
        doc_id = str(item.doc_id())
    except Exception:  # a malformed item must still reach the spool
        doc_id = None
    fields = dataclasses.asdict(item) if dataclasses.is_dataclass(item) and not isinstance(item, type) else item
    return {"record": "item", "kind": str(getattr(item, "kind", type(item).__name__)), "index_prefix": index_prefix,
            "id": doc_id, "item": _json_safe(fields), "error": error, "attempts": 1}


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
    seeds: list[str], stats: dict[str, Any], labels: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The crawl-run document; counts come from the pipelines' stats.

    ``labels`` (:func:`pipelines.job_runs.run_labels`: the scheduled job's
    name, trigger, ...) are stored as they are; the outcome and the figures
    come from :func:`pipelines.job_runs.run_figures`.
    """
    from pipelines.job_runs import run_figures

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
        **(labels or {}),
        **run_figures(stats, finish_reason),
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
        """Index the crawl-run document (spooled on failure) and close the spool file."""
        if stats is None:
            stats = dict(self.stats.get_stats()) if self.stats is not None else {}
        job_id = str(getattr(spider, "job_id", "") or f"{spider.name}-{self.started_at}")
        seeds = list(getattr(spider, "seeds", None) or getattr(spider, "start_urls", None) or [])
        document = crawl_run_document(job_id, spider.name, self.started_at, spool.utc_now_iso(), reason, seeds, stats,
                                      labels=getattr(spider, "run_labels", None))
        self._record(self.indexer.write_crawl_run(document))
        self.spool_writer.close()
        if self.totals.failed:
            logger.error("%d bulk operations failed; %d spooled under %s (replay with `onionscope index replay-spool`)",
                         self.totals.failed, self.totals.spooled, self.spool_writer.spool_dir)
