"""Listings missing from a market crawled completely: marked removed (``removed_at``), never deleted.

At the end of a run, for each onion host the run crawled completely
(:func:`crawler.freshness.completeness.incomplete_reason` is None), the
listings of that host that the run did not see -- ``last_seen`` before the
run started and no ``removed_at`` -- are the candidates (found with
``search_after``, at most :data:`MAX_CANDIDATES`).  Of those:

* a listing whose page the run saw unchanged (a 304, or not due under the
  recrawl policy) was seen: its ``last_seen`` moves to that moment;
* every other one is marked: ``removed_at`` is set (the document stays, and
  stays searchable) and a ``removed`` change record is written;
* unless the marking looks like a broken extraction rather than a market that
  removed listings: when at least :data:`GUARD_MIN_REMOVALS` listings would go
  and they are more than :data:`GUARD_MAX_FRACTION` of the host's listings,
  nothing is marked, the run logs a warning and counts
  ``freshness/removals_refused``.

For a host the run did not crawl completely only the first rule applies.  A
listing seen again later loses ``removed_at`` and gets a ``returned`` record
(:mod:`pipelines.freshness.change_tracker`).

Public API: :func:`plan_removals` (candidates, unchanged_pages, total) -> :class:`RemovalPlan` (pure);
:func:`sweep_host` (writer, host, ...) -> (:class:`RemovalPlan`, :class:`~pipelines.bulk_writer.BatchOutcome`);
:func:`mark_pages_seen` (writer, unchanged_pages) -> :class:`~pipelines.bulk_writer.BatchOutcome`.
Failed ``removed_at`` and ``last_seen`` updates are counted and logged, not spooled (an update of a
document that vanished must not create a stub; the next complete run marks again); failed change
records are spooled like any document.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Mapping

from config.schema import alias_name, page_doc_id
from crawler.urls import canonical_url
from pipelines.bulk_writer import BatchOutcome, BulkWriter, Operation
from pipelines.freshness.changes import STATS, removal_change

logger = logging.getLogger(__name__)

MAX_CANDIDATES = 10_000
PAGE_SIZE = 500
GUARD_MIN_REMOVALS = 10
GUARD_MAX_FRACTION = 0.5
CANDIDATE_FIELDS = ["market", "listing_id", "url", "title", "onion_host", "last_seen"]


@dataclass
class RemovalPlan:
    """What a sweep of one host does: listings to mark removed, listings seen unchanged, or why it refused."""

    removed: list[tuple[str, dict[str, Any]]] = field(default_factory=list)  # (_id, source)
    seen: list[tuple[str, str]] = field(default_factory=list)  # (_id, seen_at)
    refused: str | None = None


def plan_removals(candidates: list[tuple[str, dict[str, Any]]], unchanged_pages: Mapping[str, str], total: int,
                  mark_removed: bool = True) -> RemovalPlan:
    """Sort ``candidates`` (listings the run did not see) into seen-unchanged and removed; see the module docstring.

    ``unchanged_pages`` maps page ``_id`` -> when the run saw it unchanged;
    ``total`` is the host's listings not already removed.  With
    ``mark_removed`` False nothing is marked (the run did not crawl the host
    completely).
    """
    plan = RemovalPlan()
    removed = []
    for doc_id, source in candidates:
        url = source.get("url")
        seen_at = unchanged_pages.get(page_doc_id(canonical_url(url))) if isinstance(url, str) and url else None
        if seen_at:
            plan.seen.append((doc_id, seen_at))
        else:
            removed.append((doc_id, source))
    if not mark_removed:
        return plan
    if len(removed) >= GUARD_MIN_REMOVALS and len(removed) > GUARD_MAX_FRACTION * max(total, 1):
        plan.refused = (f"{len(removed)} of the host's {total} listings were not seen; that looks like a broken "
                        "extraction or a changed site rather than removals, so none is marked removed")
        return plan
    plan.removed = removed
    return plan


def _body(response: Any) -> dict[str, Any]:
    return getattr(response, "body", response)


def _candidates(client: Any, index: str, host: str, started_at: str) -> tuple[list[tuple[str, dict[str, Any]]], int]:
    """(listings of ``host`` not seen since ``started_at`` and not removed, the host's listings not removed)."""
    live = {"bool": {"filter": [{"term": {"onion_host": host}}], "must_not": [{"exists": {"field": "removed_at"}}]}}
    total = int(_body(client.count(index=index, query=live))["count"])
    query = {"bool": {"filter": [{"term": {"onion_host": host}}, {"range": {"last_seen": {"lt": started_at}}}],
                      "must_not": [{"exists": {"field": "removed_at"}}]}}
    found: list[tuple[str, dict[str, Any]]] = []
    after: list[Any] | None = None
    while len(found) < MAX_CANDIDATES:
        body: dict[str, Any] = {"query": query, "size": min(PAGE_SIZE, MAX_CANDIDATES - len(found)),
                                "_source": CANDIDATE_FIELDS, "sort": [{"market": "asc"}, {"listing_id": "asc"}],
                                "track_total_hits": False}
        if after is not None:
            body["search_after"] = after
        hits = _body(client.search(index=index, **body))["hits"]["hits"]
        found += [(str(hit["_id"]), hit.get("_source") or {}) for hit in hits]
        if len(hits) < body["size"]:
            break
        after = hits[-1]["sort"]
    return found, total


def _send_updates(writer: BulkWriter, operations: list[Operation], outcome: BatchOutcome, what: str) -> list[str]:
    """Send document-only updates; returns the ``_id`` of each that succeeded.  Failures are logged and counted,
    not spooled."""
    if not operations:
        return []
    succeeded, failures = writer.send(operations, outcome)
    for failure in failures:
        outcome.stats[f"freshness/{what}_failed"] += 1
        logger.warning("%s of %s %s failed: %s", what, failure.operation.kind, failure.operation.doc_id, failure.error)
    return [str(operation.doc_id) for operation, _ in succeeded]


def sweep_host(writer: BulkWriter, host: str, *, started_at: str, removed_at: str, job_id: str,
               unchanged_pages: Mapping[str, str], mark_removed: bool) -> tuple[RemovalPlan, BatchOutcome]:
    """Mark ``host``'s listings the run did not see as removed (or seen unchanged); see the module docstring.

    Raises what the client raises for the refresh, count and search (the caller logs it: nothing is marked).
    """
    outcome = BatchOutcome()
    index = alias_name(writer.index_prefix, "listings")
    writer.client.indices.refresh(index=index)
    candidates, total = _candidates(writer.client, index, host, started_at)
    plan = plan_removals(candidates, unchanged_pages, total, mark_removed)
    if plan.refused:
        outcome.stats["freshness/removals_refused"] += 1
        logger.warning("%s: %s", host, plan.refused)
    seen_ops = [Operation("listings", "update", doc_id, {"doc": {"last_seen": seen_at}}, index)
                for doc_id, seen_at in plan.seen]
    outcome.stats["freshness/listings_seen_unchanged"] += len(
        _send_updates(writer, seen_ops, outcome, "last_seen_update"))
    removed_ops = [Operation("listings", "update", doc_id, {"doc": {"removed_at": removed_at}}, index)
                   for doc_id, _ in plan.removed]
    marked = _send_updates(writer, removed_ops, outcome, "removal")
    outcome.stats[STATS["listings_removed"]] += len(marked)
    if marked:
        sources = dict(plan.removed)
        records = [removal_change({**sources[doc_id], "onion_host": host}, doc_id, removed_at, job_id)
                   for doc_id in marked]
        change_index = alias_name(writer.index_prefix, "changes")
        operations = [Operation("changes", "index", record.doc_id_of_record(), record.to_doc(), change_index)
                      for record in records]
        succeeded, failures = writer.send(operations, outcome)
        outcome.indexed["changes"] += len(succeeded)
        for failure in failures:
            writer.spool_document(failure, outcome)
        logger.info("%s was crawled completely: %d listings not seen are marked removed", host, len(marked))
    return plan, outcome


def mark_pages_seen(writer: BulkWriter, unchanged_pages: Mapping[str, str]) -> BatchOutcome:
    """Move ``last_seen`` of each page the run saw unchanged (page ``_id`` -> when)."""
    outcome = BatchOutcome()
    index = alias_name(writer.index_prefix, "pages")
    operations = [Operation("pages", "update", doc_id, {"doc": {"last_seen": seen_at}}, index)
                  for doc_id, seen_at in sorted(unchanged_pages.items())]
    for start in range(0, len(operations), 1000):
        outcome.stats["freshness/pages_seen_unchanged"] += len(_send_updates(
            writer, operations[start:start + 1000], outcome, "last_seen_update"))
    return outcome
