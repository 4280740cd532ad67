"""The read-before-write step of a batch: compare its pages and listings with what is stored, and record changes.

:class:`ChangeTracker` is called by :class:`pipelines.item_indexer.BulkIndexer`
for each batch before the documents are written.  It reads the stored pages
and listings of the batch with **one** ``mget`` (the listings a run already
read are remembered, so each listing is read once per run), and returns:

* the change records (:mod:`pipelines.freshness.changes`) as bulk operations
  for ``<prefix>-changes``, written in the same bulk request as the documents;
* fields to add to each document's update: ``content_changed_at`` on a page
  whose content hash changed (and in every page's upsert), ``removed_at:
  null`` on a removed listing seen again.

A listing is compared with what was stored *before this run* (its
baseline), so a card on a result page and the listing's own page, seen in one
run, are not compared with each other.  A card is the authority only for a
listing never seen on its own page: once a detail page has given the values,
a card's (often rounded or shortened) values are not compared.  The same
change is recorded once per run.  An item fetched before the stored
document was last seen (a spooled item replayed late) is not compared.

When the read fails, the batch is written without change records (stat
``freshness/change_reads_failed``, logged); a page whose stored state is not
known keeps its ``content_changed_at``.  Memory: the baselines of at most
:data:`MAX_BASELINES` listings per run (about 200 bytes each); beyond that a
listing is read again in each batch that holds it.

Public API: :class:`ChangeTracker` (client, index_prefix) --
:meth:`~ChangeTracker.batch` (items, outcome) -> :class:`BatchChanges` (reads and compares);
or, for a caller that sends this read in one ``mget`` with others (:mod:`pipelines.item_indexer`),
:meth:`~ChangeTracker.plan` (items) -> :class:`ChangeRead`, then
:meth:`~ChangeTracker.compare` (read, answers or None, outcome) -> :class:`BatchChanges`
(:meth:`~ChangeTracker.read_failed` counts a read that failed).  ``BatchChanges.absent`` names
what the read found not stored.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from typing import Any

from crawler.freshness.instants import parse_instant
from crawler.items import Listing, Page
from pipelines.bulk_writer import BatchOutcome, Operation
from pipelines.documents import document_for
from pipelines.freshness.changes import STATS, Change, listing_changes, page_change, return_change
from pipelines.indices import alias_name

logger = logging.getLogger(__name__)

MAX_BASELINES = 100_000
PAGE_SOURCE = ["content_hash", "content_changed_at", "last_seen"]
LISTING_SOURCE = ["price_amount", "price_currency", "stock", "vendor", "extractor", "removed_at", "last_seen",
                  "market", "listing_id", "onion_host", "url", "title"]
# What a baseline keeps of a stored listing (the rest comes from the new document).
_BASELINE_KEYS = ("price_amount", "price_currency", "stock", "vendor", "extractor", "removed_at", "last_seen")


@dataclass
class BatchChanges:
    """What :meth:`ChangeTracker.batch` found: extra fields per (kind, _id) and the change records."""

    doc_fields: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    upsert_fields: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    records: list[Change] = field(default_factory=list)
    # (kind, _id) read in this batch and not stored (the index answered "not found", no error):
    # the indexer may write these with ``create`` instead of an update (see pipelines.item_indexer).
    absent: set[tuple[str, str]] = field(default_factory=set)

    def operations(self, index_prefix: str) -> list[Operation]:
        """The change records as bulk ``index`` operations."""
        index = alias_name(index_prefix, "changes")
        return [Operation("changes", "index", record.doc_id_of_record(), record.to_doc(), index)
                for record in self.records]


@dataclass
class ChangeRead:
    """The read-before-write of one batch: its pages and listings, and the ``mget`` docs that read them."""

    pages: list[Page]
    listings: list[Listing]
    docs: list[dict[str, Any]]


class ChangeTracker:
    """Per-run state of the read-before-write step (see the module docstring)."""

    def __init__(self, client: Any, index_prefix: str):
        self.client = client
        self.index_prefix = index_prefix
        # listing _id -> its stored values before this run (None: it did not exist).
        self._baselines: dict[str, dict[str, Any] | None] = {}
        self._detail_seen: set[str] = set()
        self._returned: set[str] = set()
        self._recorded: dict[tuple[str, str], str] = {}
        self._changed_listings: set[str] = set()

    def plan(self, items: list[Any]) -> ChangeRead:
        """The read a batch needs: its pages, and its listings not read before in this run (``mget`` docs).

        The caller sends :attr:`ChangeRead.docs` alone (:meth:`batch`) or with other reads in one
        ``mget``, and hands the answers to :meth:`compare`.  Raises nothing.
        """
        pages = [item for item in items if isinstance(item, Page)]
        listings = [item for item in items if isinstance(item, Listing)]
        to_read = sorted({listing.doc_id() for listing in listings} - set(self._baselines))
        pages_index, listings_index = alias_name(self.index_prefix, "pages"), alias_name(self.index_prefix, "listings")
        docs = [{"_index": pages_index, "_id": page.doc_id(), "_source": PAGE_SOURCE} for page in pages]
        docs += [{"_index": listings_index, "_id": doc_id, "_source": LISTING_SOURCE} for doc_id in to_read]
        return ChangeRead(pages, listings, docs)

    def read_failed(self, exc: BaseException, outcome: BatchOutcome) -> None:
        """Count and log a failed read: the batch is still written, only without its change records."""
        outcome.stats["freshness/change_reads_failed"] += 1
        logger.warning("reading the stored pages and listings of a batch failed (%s: %.300s); this batch "
                       "is indexed without change records", type(exc).__name__, exc)

    def batch(self, items: list[Any], outcome: BatchOutcome) -> BatchChanges:
        """Read (one ``mget``) and compare the batch's pages and listings with what is stored; see the module
        docstring.  Raises nothing from Elasticsearch (a failed read is counted and logged)."""
        read = self.plan(items)
        answers: list[dict[str, Any]] | None = []
        if read.docs:
            try:
                response = self.client.mget(docs=read.docs)
                answers = list(getattr(response, "body", response)["docs"])
            except Exception as exc:  # the batch is still written; only its change records are lost
                self.read_failed(exc, outcome)
                answers = None
        return self.compare(read, answers, outcome)

    def compare(self, read: ChangeRead, answers: list[dict[str, Any]] | None, outcome: BatchOutcome) -> BatchChanges:
        """The changes of a batch, from the ``mget`` answers to :attr:`ChangeRead.docs` (in their order).

        ``answers`` None: the read failed (the caller counted it with :meth:`read_failed`); the
        batch's pages still get ``content_changed_at`` in their upserts.  Raises ValueError when
        the answers do not match the docs one for one.
        """
        found = BatchChanges()
        for page in read.pages:
            found.upsert_fields[("pages", page.doc_id())] = {"content_changed_at": page.fetched_at}
        if answers is None:
            return found
        if len(answers) != len(read.docs):
            raise ValueError(f"{len(answers)} answers for {len(read.docs)} reads")
        pages_index = alias_name(self.index_prefix, "pages")
        stored_pages: dict[str, dict[str, Any] | None] = {}
        stored_listings: dict[str, dict[str, Any] | None] = {}
        for request, answer in zip(read.docs, answers):
            kind = "pages" if request["_index"] == pages_index else "listings"
            if answer.get("error"):
                # Above all a missing index (a first crawl): nothing is stored yet.
                source = None
            else:
                source = answer.get("_source") if answer.get("found") else None
                if source is None:
                    found.absent.add((kind, str(request["_id"])))
            target = stored_pages if kind == "pages" else stored_listings
            target[str(request["_id"])] = source
        for page in read.pages:
            self._page(page, stored_pages.get(page.doc_id()), found, outcome)
        for doc_id, source in stored_listings.items():
            baseline = None if source is None else {key: source.get(key) for key in _BASELINE_KEYS}
            if len(self._baselines) < MAX_BASELINES:
                self._baselines[doc_id] = baseline
        for listing in read.listings:
            doc_id = listing.doc_id()
            baseline = self._baselines[doc_id] if doc_id in self._baselines else stored_listings.get(doc_id)
            if doc_id in stored_listings and stored_listings[doc_id] is not None:
                # Context (market, url, title...) from the stored source when it was read in this batch.
                baseline = {**stored_listings[doc_id], **(baseline or {})}  # type: ignore[dict-item]
            self._listing(listing, doc_id, baseline, found, outcome)
        return found

    def _page(self, page: Page, stored: dict[str, Any] | None, found: BatchChanges, outcome: BatchOutcome) -> None:
        if stored is None or _older(page.fetched_at, stored):
            return
        doc_id = page.doc_id()
        change = page_change(stored, {"content_hash": page.content_hash, "onion_host": page.onion_host,
                                      "canonical_url": page.canonical_url, "title": page.title},
                             doc_id=doc_id, changed_at=page.fetched_at, job_id=page.job_id)
        if change is not None:
            found.records.append(change)
            outcome.stats[STATS["pages_changed"]] += 1
        if change is not None or not stored.get("content_changed_at"):
            # Unknown (stored before changes were tracked) counts as changed now: fetched more often, never less.
            found.doc_fields[("pages", doc_id)] = {"content_changed_at": page.fetched_at}

    def _listing(self, listing: Listing, doc_id: str, baseline: dict[str, Any] | None, found: BatchChanges,
                 outcome: BatchOutcome) -> None:
        if baseline is None:
            return  # new in this run: created, not changed
        if _older(listing.fetched_at, baseline):
            return  # a late replay of an older fetch: it says nothing new
        document = document_for(listing)
        if baseline.get("removed_at") and doc_id not in self._returned:
            self._returned.add(doc_id)
            found.doc_fields.setdefault(("listings", doc_id), {})["removed_at"] = None
            found.records.append(return_change(baseline, doc_id, listing.fetched_at, listing.job_id))
            outcome.stats[STATS["listings_returned"]] += 1
        is_card = listing.extractor == "card"
        if not is_card:
            self._detail_seen.add(doc_id)
        elif doc_id in self._detail_seen or baseline.get("extractor") not in (None, "card"):
            return  # the listing's own page is the authority
        for change in listing_changes(baseline, document, doc_id=doc_id, changed_at=listing.fetched_at,
                                      job_id=listing.job_id):
            value = json.dumps(change.new, sort_keys=True, default=str)
            if self._recorded.get((doc_id, change.field)) == value:
                continue
            self._recorded[(doc_id, change.field)] = value
            found.records.append(change)
            outcome.stats[f"freshness/listing_changes/{change.field}"] += 1
            if doc_id not in self._changed_listings:
                self._changed_listings.add(doc_id)
                outcome.stats[STATS["listings_changed"]] += 1


def _older(fetched_at: str, stored: dict[str, Any]) -> bool:
    """True when ``fetched_at`` is before the stored document's ``last_seen`` (a spooled item replayed late)."""
    seen, fetched = parse_instant(stored.get("last_seen")), parse_instant(fetched_at)
    return seen is not None and fetched is not None and fetched < seen
