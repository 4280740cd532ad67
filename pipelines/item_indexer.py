"""Indexes a batch of crawled items: their documents, then the wallet and onion entities they name.

Pages, listings and vendors go to their alias (``<prefix>-<kind>``) with
``_id = item.doc_id()``: a bulk ``update`` (``doc`` + ``upsert``: a re-crawl
updates and moves last_seen, first_seen stays), or a ``create`` of the upsert
when the batch's read found the document not stored (Elasticsearch's cheaper
write; should another writer create it first, the 409 is answered by sending
the update after all).  WalletMention items and each Page's ``wallets`` fold
into one wallet document per address; pages fold into one onion document per
host.  Entity documents are merged in Python (:mod:`pipelines.entities`) and
written back with optimistic concurrency (``if_seq_no``/``if_primary_term``:
the node has no painless for scripted upserts); a version conflict re-reads
and merges again (:meth:`pipelines.bulk_writer.BulkWriter.merge_write`), so
concurrent writers never lose each other's sightings.

A batch costs three requests when nothing fails, and one small one more
(the entity indices' uuids, see 1.) when it names any wallet or onion:

1. one ``mget`` reads the stored pages and listings for change tracking
   (:class:`pipelines.freshness.change_tracker.ChangeTracker`) and the wallet
   and onion documents the batch touches, except those the indexer wrote or
   read in an earlier batch and still holds (:mod:`pipelines.entity_cache`:
   their writes are conditional on the version it holds, in the index it was
   read from, so a stale one is refused and read again, never overwritten; a
   batch that uses the cache first asks the uuids of the entity indices, so
   nothing held in an index since deleted, moved from or created again is used);
2. one bulk request writes the documents, their change records and the merged
   wallet documents;
3. one bulk request writes the merged onion documents, which count the pages
   request 2 created.

Everything goes through one :class:`pipelines.bulk_writer.BulkWriter`, which
retries and spools what finally fails.  When the read fails as a whole, the
batch is written step by step as before: documents (without change records),
then each kind of entity with its own read (:class:`pipelines.entity_writer.EntityWriter`).

Public API:

* :class:`BulkIndexer` (client, index_prefix, spool, ..., track_changes=True, entity_cache_bytes=16 MiB;
  0: no entity cache) --
  :meth:`~BulkIndexer.index_items` (items) -> :class:`~pipelines.bulk_writer.BatchOutcome`;
  with ``discovery`` set (a :class:`pipelines.discovery.DiscoveryRecorder`) the onions its
  pages name are queued after them;
* :func:`item_record` (item, index_prefix, error) -> the spool record of a whole item;
* :data:`ITEM_TYPES` -- item kind -> item class (a replay rebuilds items from records).
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import threading
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any, Callable, Iterable

from config.settings import DEFAULTS
from crawler.items import Listing, Page, Vendor, WalletMention
from pipelines import entities, spool
from pipelines.bulk_writer import BatchOutcome, BulkWriter, Failure, Operation, SpoolTarget
from pipelines.discovery import DiscoveryRecorder
from pipelines.documents import DOCUMENT_KINDS, upsert_action
from pipelines.entity_cache import DEFAULT_MAX_BYTES, EntityCache
from pipelines.entity_writer import EntityWriter
from pipelines.freshness.change_tracker import BatchChanges, ChangeTracker
from pipelines.indices import alias_name

logger = logging.getLogger(__name__)

ITEM_TYPES: dict[str, type] = {item_type.kind: item_type for item_type in (Page, Listing, Vendor, WalletMention)}
# The entity kinds a batch writes with optimistic concurrency.
ENTITY_KINDS = ("wallets", "onions")


def _merged(kind: str, existing: dict[str, Any] | None, sightings: list[Any], new_pages: int) -> dict[str, Any]:
    if kind == "wallets":
        return entities.merge_wallet(existing, sightings)
    return entities.merge_onion(existing, sightings, new_pages)


class _Read:
    """One ``mget`` of several indices, run in a thread: its answers (in the order of ``docs``) or its error."""

    def __init__(self, client: Any, docs: list[dict[str, Any]]):
        self.client = client
        self.docs = docs
        self.answers: list[dict[str, Any]] | None = [] if not docs else None
        self.error: Exception | None = None

    def run(self) -> None:
        try:
            response = self.client.mget(docs=self.docs)
            answers = list(getattr(response, "body", response)["docs"])
            if len(answers) != len(self.docs):
                raise ValueError(f"{len(answers)} answers for {len(self.docs)} reads")
            self.answers = answers
        except Exception as exc:  # handed to the batch, which writes step by step
            self.error = exc


@dataclass
class _EntityWrite:
    """One entity document of a batch: what was read, and the write planned from it (None: unchanged)."""

    kind: str
    entity_id: str
    operation: Operation | None
    # Planned on the indexer's cache (pipelines.entity_cache), not on this batch's read.
    from_cache: bool = False
    # What the merge started from (an mget-like answer), kept in the cache when nothing changed.
    answer: dict[str, Any] | None = None


class BulkIndexer:
    """Synchronous indexer of item batches, with retries, entity merging and a spool.

    Cost: holds one batch in memory, and the stored wallet and onion documents
    it touches (read once per batch).  Blocks while it backs off, so call it
    from a worker thread when inside a reactor.
    """

    def __init__(
        self,
        client: Any,
        index_prefix: str,
        spool_writer: SpoolTarget | None,
        *,
        max_retries: int = DEFAULTS["bulk_max_retries"].default,
        backoff_seconds: float = DEFAULTS["bulk_backoff_seconds"].default,
        sleep: Callable[[float], None] = time.sleep,
        track_changes: bool = True,
        entity_cache_bytes: int = DEFAULT_MAX_BYTES,
    ):
        self.writer = BulkWriter(client, index_prefix, spool_writer, max_retries=max_retries,
                                 backoff_seconds=backoff_seconds, sleep=sleep)
        self.entity_writer = EntityWriter(self.writer)
        self.index_prefix = index_prefix
        # Change records, content_changed_at, removed listings seen again: read in the batch's one mget.
        self.change_tracker: ChangeTracker | None = ChangeTracker(client, index_prefix) if track_changes else None
        # Queues the onions the pages name (pipelines.discovery); None: discover is off.
        self.discovery: DiscoveryRecorder | None = None
        # The wallet and onion documents this indexer last wrote or read: not read again next batch.
        self.entity_cache = EntityCache(entity_cache_bytes)

    # ------------------------------------------------------------------ the batch

    def index_items(self, items: Iterable[Any]) -> BatchOutcome:
        """Index one batch: its documents and change records, its wallets, then its onions; returns what it did.

        Raises OSError when the spool cannot be written; an exception of a
        bug outside the bulk writer's own handling propagates (the Scrapy
        pipeline spools the batch's items whole).
        """
        outcome = BatchOutcome()
        items = list(items)
        wallet_sightings, onion_sightings = entities.sightings_by_entity(items)
        change_read = self.change_tracker.plan(items) if self.change_tracker is not None else None
        change_docs = change_read.docs if change_read is not None else []
        entity_keys = [("wallets", entity_id) for entity_id in wallet_sightings]
        entity_keys += [("onions", entity_id) for entity_id in onion_sightings]
        # Which incarnation of the entity indices the cache may hold versions of (pipelines.entity_cache):
        # asked before the cache answers when it holds any of the batch's entities, else with the read.
        confirm_with_read = False
        if entity_keys and self.entity_cache.max_bytes > 0:
            if any(key in self.entity_cache for key in entity_keys):
                self._confirm_cache(outcome)
            else:
                confirm_with_read = True
        cached = {key: answer for key in entity_keys if (answer := self.entity_cache.answer(*key)) is not None}
        if cached:
            outcome.stats["elasticsearch/entity_cache_hits"] += len(cached)
        entity_keys = [key for key in entity_keys if key not in cached]
        reads = change_docs + [{"_index": alias_name(self.index_prefix, kind), "_id": entity_id}
                               for kind, entity_id in entity_keys]
        read = _Read(self.writer.client, reads)

        def run_read() -> None:
            if confirm_with_read:
                self._confirm_cache(outcome)
            read.run()

        # The documents are built while Elasticsearch answers the read (the client releases the GIL).
        reader = threading.Thread(target=run_read, name="onionscope-batch-read") if reads else None
        if reader is not None:
            reader.start()
        try:
            actions = [(item, upsert_action(item, alias_name(self.index_prefix, item.kind)))
                       for item in items if item.kind in DOCUMENT_KINDS]
        finally:
            if reader is not None:
                reader.join()
        answers = read.answers
        if read.error is not None:  # written step by step below, each step with its own reads and retries
            if self.change_tracker is not None and change_docs:
                self.change_tracker.read_failed(read.error, outcome)
            else:
                logger.warning("reading the stored documents of a batch failed (%s: %.300s); its entities are "
                               "read again one kind at a time", type(read.error).__name__, read.error)
        changes: BatchChanges | None = None
        if change_read is not None:
            changes = self.change_tracker.compare(  # type: ignore[union-attr]
                change_read, None if answers is None else answers[:len(change_docs)], outcome)
        if answers is None:
            # Written by the entity writer, which reads each document itself: the cache would be stale.
            self.entity_cache.clear()
            self._index_step_by_step(actions, changes, wallet_sightings, onion_sightings, outcome)
        else:
            stored = dict(zip(entity_keys, answers[len(change_docs):]))
            stored.update(cached)
            self._index_together(actions, changes, wallet_sightings, onion_sightings, stored, outcome)
        if self.discovery is not None:
            self.discovery.write(self.writer, items, outcome)
        return outcome

    def _index_step_by_step(self, actions: list[tuple[Any, dict[str, Any]]], changes: BatchChanges | None,
                            wallet_sightings: dict[str, list[Any]], onion_sightings: dict[str, list[Any]],
                            outcome: BatchOutcome) -> None:
        """The batch after a failed read: documents, then wallets and onions, each read and retried on its own."""
        pairs = self._document_operations(actions, changes, create_absent=False)
        operations = [operation for operation, _ in pairs] + (changes.operations(self.index_prefix) if changes else [])
        new_pages: Counter = Counter()
        if operations:
            succeeded, failures = self.writer.send(operations, outcome)
            self._count_documents(succeeded, new_pages, outcome)
            for failure in failures:
                self.writer.spool_document(failure, outcome)
        if wallet_sightings:
            self.entity_writer.write("wallets", wallet_sightings, {}, outcome)
        if onion_sightings:
            self.entity_writer.write("onions", onion_sightings, self._new_pages_by_onion(new_pages), outcome)

    def _index_together(self, actions: list[tuple[Any, dict[str, Any]]], changes: BatchChanges | None,
                        wallet_sightings: dict[str, list[Any]], onion_sightings: dict[str, list[Any]],
                        stored: dict[tuple[str, str], dict[str, Any]], outcome: BatchOutcome) -> None:
        """The batch after the one read: documents, change records and wallets in one bulk request, then onions."""
        pairs = self._document_operations(actions, changes, create_absent=True)
        update_of = {id(sent): update for sent, update in pairs}
        documents = [sent for sent, _ in pairs] + (changes.operations(self.index_prefix) if changes else [])
        wallets, wallets_to_read = self._plan_entities("wallets", wallet_sightings, {}, stored, outcome)
        entity_operations = [write.operation for write in wallets if write.operation is not None]
        succeeded, failed = self.writer.send_once(documents + entity_operations, outcome) \
            if documents or entity_operations else ([], [])

        new_pages: Counter = Counter()
        self._count_documents([(op, result) for op, result in succeeded if op.kind not in ENTITY_KINDS],
                              new_pages, outcome)
        conflicted: list[Operation] = []  # creates another writer came first to: sent as updates
        transient: list[tuple[Operation, str]] = []
        final: list[Failure] = []
        entity_failed: list[tuple[Operation, str, bool]] = []
        for operation, error, retryable in failed:
            if operation.kind in ENTITY_KINDS:
                entity_failed.append((operation, error, retryable))
                continue
            update = update_of.get(id(operation), operation)
            if operation.op_type == "create" and error.startswith("409"):
                conflicted.append(update)
            elif retryable:
                transient.append((update, error))
            else:
                final.append(Failure(update, error, 1))
        wallet_transient = sum(1 for _, error, retryable in entity_failed if retryable and not error.startswith("409"))
        backed_off = self._back_off_once(len(transient) + wallet_transient, outcome)
        if not backed_off:
            final += [Failure(update, error, 1) for update, error in transient]
            transient = []
        again = conflicted + [update for update, _ in transient]
        if again:
            more, failures = self.writer.send(again, outcome, tried=1 if transient else 0)
            self._count_documents(more, new_pages, outcome)
            final += failures
        for failure in final:
            self.writer.spool_document(failure, outcome)

        written = {(op.kind, str(op.doc_id)) for op, _ in succeeded if op.kind in ENTITY_KINDS}
        self._remember(wallets, [(op, result) for op, result in succeeded if op.kind in ENTITY_KINDS])
        self._settle_entities("wallets", wallets, written, entity_failed, wallets_to_read, wallet_sightings, {},
                              backed_off, outcome)

        onion_pages = self._new_pages_by_onion(new_pages)
        onions, onions_to_read = self._plan_entities("onions", onion_sightings, onion_pages, stored, outcome)
        operations = [write.operation for write in onions if write.operation is not None]
        succeeded, failed = self.writer.send_once(operations, outcome) if operations else ([], [])
        self._remember(onions, succeeded)
        onion_transient = sum(1 for _, error, retryable in failed if retryable and not error.startswith("409"))
        backed_off = self._back_off_once(onion_transient, outcome)
        self._settle_entities("onions", onions, {(op.kind, str(op.doc_id)) for op, _ in succeeded}, failed,
                              onions_to_read, onion_sightings, onion_pages, backed_off, outcome)

    def _confirm_cache(self, outcome: BatchOutcome) -> None:
        """Drop the held entity versions of an index no longer behind its alias, or deleted and created again
        under its name (see :mod:`pipelines.entity_cache`); they count as ``elasticsearch/entity_cache_stale``.
        When the indices cannot be asked, nothing held is trusted (the cache is cleared).  Never raises."""
        aliases = ",".join(alias_name(self.index_prefix, kind) for kind in ENTITY_KINDS)
        try:
            response = self.writer.client.indices.get_settings(
                index=aliases, name="index.uuid", flat_settings=True, ignore_unavailable=True, allow_no_indices=True)
            uuids = {index: str(answer["settings"]["index.uuid"])
                     for index, answer in getattr(response, "body", response).items()}
        except Exception as exc:
            dropped = len(self.entity_cache)
            self.entity_cache.clear()
            if dropped:  # an outage is reported by the batch's read and writes; this says what it cost the cache
                logger.warning("asking which indices hold the wallets and onions failed (%s: %.300s); the %d "
                               "entity documents the indexer held are read again", type(exc).__name__, exc, dropped)
        else:
            dropped = self.entity_cache.confirm(uuids)
        if dropped:
            outcome.stats["elasticsearch/entity_cache_stale"] += dropped

    # ------------------------------------------------------------------ documents

    def _document_operations(self, actions: list[tuple[Any, dict[str, Any]]], changes: BatchChanges | None,
                             *, create_absent: bool) -> list[tuple[Operation, Operation]]:
        """(operation to send, its update form) per document; a ``create`` where the read found none stored.

        Only the first write of an ``_id`` in the batch can be a create: a card and its listing's
        own page, or a page fetched twice, update what the first one created.
        """
        pairs: list[tuple[Operation, Operation]] = []
        planned: set[tuple[str, str]] = set()
        for item, action in actions:
            key = (item.kind, action["_id"])
            doc, upsert = action["doc"], action["upsert"]
            if changes is not None:
                if key in changes.doc_fields:
                    doc = {**doc, **changes.doc_fields[key]}
                if key in changes.upsert_fields:
                    upsert = {**upsert, **changes.upsert_fields[key]}
            update = Operation(kind=item.kind, op_type="update", doc_id=action["_id"], index=action["_index"],
                               body={"doc": doc, "upsert": upsert},
                               meta={"retry_on_conflict": action["retry_on_conflict"]})
            sent = update
            if create_absent and changes is not None and key in changes.absent and key not in planned:
                # What the update would do to a missing document, without Elasticsearch reading it first.
                sent = Operation(kind=item.kind, op_type="create", doc_id=action["_id"], index=action["_index"],
                                 body=upsert)
            planned.add(key)
            pairs.append((sent, update))
        return pairs

    @staticmethod
    def _count_documents(succeeded: list[tuple[Operation, dict[str, Any]]], new_pages: Counter,
                         outcome: BatchOutcome) -> None:
        for operation, result in succeeded:
            outcome.indexed[operation.kind] += 1
            if result.get("result") == "created":
                outcome.created[operation.kind] += 1
                if operation.kind == "pages":
                    body = operation.body["upsert"] if operation.op_type == "update" else operation.body
                    new_pages[body.get("onion_host")] += 1

    @staticmethod
    def _new_pages_by_onion(new_pages: Counter) -> dict[str, int]:
        return {entities.onion_doc_id(host): count for host, count in new_pages.items() if host}

    def _back_off_once(self, operations: int, outcome: BatchOutcome) -> bool:
        """After a request with ``operations`` transient failures: one backoff before they are retried;
        False when there are none, or ``max_retries`` allows no retry (they are then final)."""
        if not operations or self.writer.max_retries < 1:
            return False
        outcome.retries += operations
        logger.info("retrying %d operations of a batch after a transient failure", operations)
        self.writer.sleep(self.writer.backoff_seconds)
        return True

    # ------------------------------------------------------------------ entities

    def _plan_entities(self, kind: str, sightings_by_id: dict[str, list[Any]], new_pages: dict[str, int],
                       stored: dict[tuple[str, str], dict[str, Any]], outcome: BatchOutcome,
                       ) -> tuple[list[_EntityWrite], set[str]]:
        """The conditional write of each entity, merged on what the batch's read found.

        Returns (the writes, the ids whose read failed: they are read again by
        :meth:`~pipelines.bulk_writer.BulkWriter.merge_write`).  A merge that
        raises is a bug: logged, counted and its sightings spooled.
        """
        index = alias_name(self.index_prefix, kind)
        writes: list[_EntityWrite] = []
        to_read: set[str] = set()
        for entity_id, sightings in sightings_by_id.items():
            answer = stored.get((kind, entity_id)) or {}
            if answer.get("error") or "found" not in answer:
                to_read.add(entity_id)
                continue
            existing = answer.get("_source") if answer.get("found") else None
            try:
                document = _merged(kind, existing, sightings, new_pages.get(entity_id, 0))
            except Exception as exc:
                outcome.unexpected_errors += 1
                logger.error("unexpected error merging %s %s; its sightings are spooled", kind, entity_id,
                             exc_info=exc)
                self.entity_writer.spool_failure(
                    kind, entity_id, sightings, new_pages.get(entity_id, 0),
                    f"unexpected error in merging {kind} {entity_id}: {type(exc).__name__}: {exc}"[:1000], 1, outcome)
                continue
            from_cache = bool(answer.get("cached"))
            if existing is not None and document == existing:
                operation = None  # nothing new: no write
            elif existing is None:
                operation = Operation(kind, "create", entity_id, document, index)
            else:
                # A cached version holds only in the index it was read from (see pipelines.entity_cache).
                operation = Operation(kind, "index", entity_id, document, answer["_index"] if from_cache else index,
                                      meta={"if_seq_no": answer["_seq_no"], "if_primary_term": answer["_primary_term"]})
            writes.append(_EntityWrite(kind, entity_id, operation, from_cache, answer))
        return writes, to_read

    def _remember(self, writes: list[_EntityWrite], succeeded: list[tuple[Operation, dict[str, Any]]]) -> None:
        """Keep in the cache what each entity is now: the document written, or the one read when unchanged."""
        results = {(operation.kind, str(operation.doc_id)): (operation, result) for operation, result in succeeded}
        for write in writes:
            key = (write.kind, write.entity_id)
            if write.operation is None:
                answer = write.answer or {}
                if answer.get("found") and not answer.get("cached") and "_seq_no" in answer:
                    self.entity_cache.store(write.kind, write.entity_id, answer["_index"], answer["_source"],
                                            answer["_seq_no"], answer["_primary_term"])
            elif key in results:
                operation, result = results[key]
                if "_seq_no" in result and "_primary_term" in result and "_index" in result:
                    self.entity_cache.store(write.kind, write.entity_id, result["_index"], operation.body,
                                            result["_seq_no"], result["_primary_term"])
                else:
                    self.entity_cache.drop(*key)
            else:
                self.entity_cache.drop(*key)  # failed: settled by a fresh read

    def _settle_entities(self, kind: str, writes: list[_EntityWrite], written: set[tuple[str, str]],
                         failed: list[tuple[Operation, str, bool]], to_read: set[str],
                         sightings_by_id: dict[str, list[Any]], new_pages: dict[str, int], backed_off: bool,
                         outcome: BatchOutcome) -> None:
        """Count the entity writes that went through; read, merge and write again the rest, or spool them.

        A version conflict (another writer came first) and a failed read are
        read again at once; a transient failure after the backoff, counting
        as one attempt; anything else is final.
        """
        done = sum(1 for write in writes if write.operation is None or (kind, write.entity_id) in written)
        again = set(to_read)
        from_cache = {write.entity_id for write in writes if write.from_cache}
        transient = False
        for operation, error, retryable in failed:
            if operation.kind != kind:
                continue
            entity_id = str(operation.doc_id)
            if entity_id in from_cache:
                # The cached version is not the stored one any more (another writer, or the alias moved
                # and the old index refuses writes): read it through the alias and merge again.
                outcome.stats["elasticsearch/entity_cache_stale"] += 1
                again.add(entity_id)
            elif error.startswith("409"):
                outcome.entity_conflicts += 1
                again.add(entity_id)
            elif retryable and backed_off:
                transient = True
                again.add(entity_id)
            else:
                self.entity_writer.spool_failure(kind, entity_id, sightings_by_id[entity_id],
                                                 new_pages.get(entity_id, 0), error, 1, outcome)
        outcome.entities[kind] += done
        if not again:
            return

        def merge(entity_id: str, existing: dict[str, Any] | None) -> dict[str, Any] | None:
            document = _merged(kind, existing, sightings_by_id[entity_id], new_pages.get(entity_id, 0))
            return None if existing is not None and document == existing else document

        merges = {entity_id: functools.partial(merge, entity_id) for entity_id in sorted(again)}
        rewritten, failures = self.writer.merge_write(kind, alias_name(self.index_prefix, kind), merges, outcome,
                                                      tried=1 if transient else 0)
        outcome.entities[kind] += len(rewritten)
        for entity_id, (error, attempts) in sorted(failures.items()):
            self.entity_writer.spool_failure(kind, entity_id, sightings_by_id[entity_id], new_pages.get(entity_id, 0),
                                             error, attempts + (1 if transient else 0), outcome)


def item_record(item: Any, index_prefix: str, error: str) -> dict[str, Any]:
    """The spool record of a whole item, for a batch that failed before its operations could be spooled."""
    try:
        doc_id = str(item.doc_id())
    except Exception:  # a malformed item must still reach the spool
        doc_id = None
    fields = dataclasses.asdict(item) if dataclasses.is_dataclass(item) and not isinstance(item, type) else item
    return {"record": "item", "kind": str(getattr(item, "kind", type(item).__name__)), "index_prefix": index_prefix,
            "id": doc_id, "item": spool.json_safe(fields), "error": error, "attempts": 1}
