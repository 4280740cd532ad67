"""Spool replay: write spooled records again, to the prefix they were spooled for, never over newer data.

``onionscope index replay-spool`` runs :func:`replay_spool`.  Each record goes
into the index prefix it was spooled for, merged with what is stored so that
the newer values win (an old record never moves last_seen back), written
with ``if_seq_no`` (:meth:`pipelines.bulk_writer.BulkWriter.merge_write`), so
a crawl writing between the replay's read and write is kept.  Entity records
merge their sightings as a crawl would; an ``item`` record (a whole batch
that failed unexpectedly) is indexed again as an item.  What still fails
stays in its spool file, with its error.

Public API:

* :func:`replay_spool` (client, spool_dir, index_prefix, ...) -> :class:`ReplayReport`;
* :func:`replay_records` (client, records, index_prefix, ...) -> (how many went
  in, the records still failing);
* :data:`REPLAYED_DOCUMENT_KINDS` -- what a replay may write.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from config.schema import prefix_pattern
from config.settings import DEFAULTS
from pipelines import entities, spool
from pipelines.bulk_writer import BatchOutcome
from pipelines.documents import DOCUMENT_KINDS, replayed_document
from pipelines.indices import alias_name
from pipelines.item_indexer import ITEM_TYPES, BulkIndexer

logger = logging.getLogger(__name__)

# What a replay may write: the kinds the pipeline itself writes, nothing else
# (a spool record cannot reach the audit or token indices).
REPLAYED_DOCUMENT_KINDS = (*DOCUMENT_KINDS, "crawl-runs")


@dataclass
class ReplayReport:
    files: int = 0
    busy_files: int = 0
    records: int = 0
    replayed: int = 0
    still_failing: int = 0


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


def replay_records(
    client: Any, records: list[dict[str, Any]], index_prefix: str, *, max_retries: int = 2,
    backoff_seconds: float = 0.5, sleep: Callable[[float], None] = time.sleep,
) -> tuple[int, list[dict[str, Any]]]:
    """Try spooled records again; returns (how many went in, the records still failing).

    Each record goes to its own ``index_prefix`` (``index_prefix`` for a
    record without one).  A document is merged with what is stored
    (:func:`~pipelines.documents.replayed_document`: the newer values win,
    first_seen is the earliest) and written only if nobody changed it since
    the read, so an old record never undoes a newer crawl.  Entity sightings
    merge as in a crawl.  An ``item`` record is indexed again as an item;
    what of it still fails comes back as document or entity records.  Raises
    nothing for a failing record: it comes back in the second list, with its
    error.
    """
    replayed = 0
    still_failing: list[dict[str, Any]] = []
    by_prefix: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for record in records:
        prefix = _record_prefix(record, index_prefix)
        if prefix is None:
            still_failing.append({**record, "error": f"invalid index_prefix {record.get('index_prefix')!r}"})
        else:
            by_prefix[prefix].append(record)
    for prefix, group in by_prefix.items():
        replayer = _PrefixReplay(BulkIndexer(client, prefix, _KeptRecords(), max_retries=max_retries,
                                             backoff_seconds=backoff_seconds, sleep=sleep))
        count, failing = replayer.replay(group)
        replayed += count
        still_failing.extend(failing)
    return replayed, still_failing


class _PrefixReplay:
    """The replay of the records of one index prefix; what fails is kept by the indexer's spool stand-in."""

    def __init__(self, indexer: BulkIndexer):
        self.indexer = indexer
        self.writer = indexer.writer
        self.entity_writer = indexer.entity_writer
        self.index_prefix = indexer.index_prefix

    def _kept(self) -> _KeptRecords:
        assert isinstance(self.writer.spool_writer, _KeptRecords)
        return self.writer.spool_writer

    def replay(self, records: list[dict[str, Any]]) -> tuple[int, list[dict[str, Any]]]:
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
            written, failures = self.writer.merge_write(kind, alias_name(self.index_prefix, kind), merges, outcome)
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
        self.entity_writer.write(kind, {entity_id: sightings}, {entity_id: int(record.get("new_pages") or 0)}, outcome)
        if outcome.entities[kind]:
            return 1
        for kept in self._kept().take():
            still_failing.append({**record, "error": kept.get("error"),
                                  "attempts": int(record.get("attempts") or 0) + int(kept.get("attempts") or 0)})
        return 0

    def _replay_item(self, record: dict[str, Any], still_failing: list[dict[str, Any]]) -> int:
        try:
            item = ITEM_TYPES[str(record["kind"])](**record["item"])
            outcome = self.indexer.index_items([item])
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
            sighting = entities.onion_sighting_from_document(page)
            sightings[sighting.onion_host].append(sighting)
            new_pages[sighting.onion_host] += 1
        if sightings:
            self.entity_writer.write("onions", sightings, dict(new_pages), BatchOutcome())


def replay_spool(
    client: Any, spool_dir: Path, index_prefix: str, *, max_retries: int = 2, backoff_seconds: float = 0.5,
) -> ReplayReport:
    """Replay every spool file no crawl or other replay holds; files shrink to what still fails.

    Each record goes to the index prefix it was spooled for (``index_prefix``
    only for records that name none), and never undoes a newer write (see
    :func:`replay_records`).  What was replayed is searchable when this
    returns (the prefixes' indices are refreshed), so ``index status`` and
    searches right after count it.  Raises OSError when a spool file cannot
    be rewritten.
    """
    report = ReplayReport()
    prefixes: set[str] = set()
    for path in spool.spool_files(spool_dir):
        with spool.claim(path) as records:
            if records is None:
                report.busy_files += 1
                continue
            report.files += 1
            report.records += len(records)
            prefixes.update(p for p in (_record_prefix(r, index_prefix) for r in records) if p is not None)
            replayed, still_failing = replay_records(client, records, index_prefix, max_retries=max_retries,
                                                     backoff_seconds=backoff_seconds)
            report.replayed += replayed
            report.still_failing += len(still_failing)
            spool.rewrite(path, still_failing)
    if report.replayed:
        for prefix in sorted(prefixes):
            client.indices.refresh(index=prefix_pattern(prefix), ignore_unavailable=True, allow_no_indices=True)
    return report
