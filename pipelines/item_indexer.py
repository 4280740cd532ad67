"""Indexes a batch of crawled items: their documents, then the wallet and onion entities they name.

Pages, listings and vendors go to their alias (``<prefix>-<kind>``) as bulk
``update`` actions with ``_id = item.doc_id()`` (``doc`` + ``upsert``: a
re-crawl updates and moves last_seen, first_seen stays).  WalletMention items
and each Page's ``wallets`` fold into one wallet document per address; pages
fold into one onion document per host (:mod:`pipelines.entity_writer`).
Everything goes through one :class:`pipelines.bulk_writer.BulkWriter`, which
retries and spools what finally fails.

Public API:

* :class:`BulkIndexer` (client, index_prefix, spool, ..., track_changes=True) --
  :meth:`~BulkIndexer.index_items` (items) -> :class:`~pipelines.bulk_writer.BatchOutcome`;
  before each batch is written its pages and listings are compared with what is stored
  (:class:`pipelines.freshness.change_tracker.ChangeTracker`: one ``mget``), and the change
  records go into the same bulk request; with ``discovery`` set (a
  :class:`pipelines.discovery.DiscoveryRecorder`) the onions its pages name are queued after them;
* :func:`item_record` (item, index_prefix, error) -> the spool record of a whole item;
* :data:`ITEM_TYPES` -- item kind -> item class (a replay rebuilds items from records).
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections import Counter
from typing import Any, Callable, Iterable

from config.settings import DEFAULTS
from crawler.items import Listing, Page, Vendor, WalletMention
from pipelines import entities, spool
from pipelines.bulk_writer import BatchOutcome, BulkWriter, Operation, SpoolTarget
from pipelines.discovery import DiscoveryRecorder
from pipelines.documents import DOCUMENT_KINDS, upsert_action
from pipelines.entity_writer import EntityWriter
from pipelines.freshness.change_tracker import ChangeTracker
from pipelines.indices import alias_name

ITEM_TYPES: dict[str, type] = {item_type.kind: item_type for item_type in (Page, Listing, Vendor, WalletMention)}


class BulkIndexer:
    """Synchronous indexer of item batches, with retries, entity merging and a spool.

    Cost: holds one batch in memory; entity merging reads each touched wallet
    and onion document once per batch.  Blocks while it backs off, so call it
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
    ):
        self.writer = BulkWriter(client, index_prefix, spool_writer, max_retries=max_retries,
                                 backoff_seconds=backoff_seconds, sleep=sleep)
        self.entity_writer = EntityWriter(self.writer)
        self.index_prefix = index_prefix
        # One mget per batch: change records, content_changed_at, removed listings seen again.
        self.change_tracker: ChangeTracker | None = ChangeTracker(client, index_prefix) if track_changes else None
        # Queues the onions the pages name (pipelines.discovery); None: discover is off.
        self.discovery: DiscoveryRecorder | None = None

    def index_items(self, items: Iterable[Any]) -> BatchOutcome:
        """Index one batch: documents, and meanwhile the wallets they name; then their onions.

        Wallet entities do not depend on the document results, so they are
        written in a second thread while the document bulk runs; onion
        documents wait for it, because they count the pages it created.
        Raises what the wallet thread raised, and OSError when the spool
        cannot be written.
        """
        outcome = BatchOutcome()
        items = list(items)
        wallet_sightings, onion_sightings = entities.sightings_by_entity(items)
        wallet_outcome = BatchOutcome()
        wallet_errors: list[BaseException] = []

        def write_wallets() -> None:
            try:
                self.entity_writer.write("wallets", wallet_sightings, {}, wallet_outcome)
            except BaseException as exc:  # handed to the caller below: a thread must not swallow it
                wallet_errors.append(exc)

        wallet_thread: threading.Thread | None = None
        if wallet_sightings:
            wallet_thread = threading.Thread(target=write_wallets, name="onionscope-wallet-entities")
            wallet_thread.start()
        try:
            new_pages_per_host = self._index_documents(items, outcome)
            if onion_sightings:
                new_pages = {entities.onion_doc_id(host): count for host, count in new_pages_per_host.items() if host}
                self.entity_writer.write("onions", onion_sightings, new_pages, outcome)
            if self.discovery is not None:
                self.discovery.write(self.writer, items, outcome)
        finally:
            if wallet_thread is not None:
                wallet_thread.join()
                outcome.add(wallet_outcome)
        if wallet_errors:
            raise wallet_errors[0]
        return outcome

    def _index_documents(self, items: list[Any], outcome: BatchOutcome) -> Counter:
        """Bulk-upsert the pages, listings and vendors, and their change records; returns new pages per onion host."""
        operations: list[Operation] = []
        changes = self.change_tracker.batch(items, outcome) if self.change_tracker is not None else None
        for item in items:
            if item.kind in DOCUMENT_KINDS:
                action = upsert_action(item, alias_name(self.index_prefix, item.kind))
                doc, upsert = action["doc"], action["upsert"]
                if changes is not None:
                    key = (item.kind, action["_id"])
                    doc = {**doc, **changes.doc_fields.get(key, {})}
                    upsert = {**upsert, **changes.upsert_fields.get(key, {})}
                operations.append(Operation(
                    kind=item.kind, op_type="update", doc_id=action["_id"], index=action["_index"],
                    body={"doc": doc, "upsert": upsert},
                    meta={"retry_on_conflict": action["retry_on_conflict"]},
                ))
        if changes is not None:
            operations += changes.operations(self.index_prefix)
        new_pages_per_host: Counter = Counter()
        if not operations:
            return new_pages_per_host
        succeeded, failures = self.writer.send(operations, outcome)
        for operation, result in succeeded:
            outcome.indexed[operation.kind] += 1
            if result.get("result") == "created":
                outcome.created[operation.kind] += 1
                if operation.kind == "pages":
                    new_pages_per_host[operation.body["upsert"].get("onion_host")] += 1
        for failure in failures:
            self.writer.spool_document(failure, outcome)
        return new_pages_per_host


def item_record(item: Any, index_prefix: str, error: str) -> dict[str, Any]:
    """The spool record of a whole item, for a batch that failed before its operations could be spooled."""
    try:
        doc_id = str(item.doc_id())
    except Exception:  # a malformed item must still reach the spool
        doc_id = None
    fields = dataclasses.asdict(item) if dataclasses.is_dataclass(item) and not isinstance(item, type) else item
    return {"record": "item", "kind": str(getattr(item, "kind", type(item).__name__)), "index_prefix": index_prefix,
            "id": doc_id, "item": spool.json_safe(fields), "error": error, "attempts": 1}
