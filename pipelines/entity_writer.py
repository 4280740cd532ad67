"""Writes entity documents (wallets, onions): read, merge the sightings, write back conditionally.

The local node has no painless for scripted upserts, so each touched entity
document is read (``mget``), merged in Python by :mod:`pipelines.entities`
and written back with ``if_seq_no``/``if_primary_term``
(:meth:`pipelines.bulk_writer.BulkWriter.merge_write`); a version conflict
re-reads and merges again.  An entity that still fails is spooled as an
``entity`` record holding its sightings, so a replay merges them as a crawl
would.

Public API:

* :class:`EntityWriter` (writer) -- :meth:`~EntityWriter.write` (kind,
  sightings_by_id, new_pages_by_id, outcome); raises OSError only when the
  spool cannot be written.  :meth:`~EntityWriter.spool_failure` spools one
  entity's sightings (for :mod:`pipelines.item_indexer`, which writes entities
  in the bulk request of its documents).
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Any

from pipelines import entities
from pipelines.bulk_writer import BatchOutcome, BulkWriter
from pipelines.indices import alias_name


class EntityWriter:
    """Entity documents of one index prefix, through one :class:`BulkWriter`.

    Cost: one ``mget`` and one bulk request per round, one round unless
    another writer changed a document in between.
    """

    def __init__(self, writer: BulkWriter):
        self.writer = writer

    @staticmethod
    def _merge(kind: str, existing: dict[str, Any] | None, *, sightings: list[Any], new_pages: int) -> dict[str, Any]:
        if kind == "wallets":
            return entities.merge_wallet(existing, sightings)
        return entities.merge_onion(existing, sightings, new_pages)

    def write(
        self, kind: str, sightings_by_id: dict[str, list[Any]], new_pages_by_id: dict[str, int],
        outcome: BatchOutcome,
    ) -> None:
        """Read, merge and conditionally write ``kind`` documents; counts them in ``outcome``, spools failures.

        ``new_pages_by_id`` counts page documents just created per onion (0 for
        wallets).
        """
        merges = {
            entity_id: functools.partial(self._merge, kind, sightings=sightings,
                                         new_pages=new_pages_by_id.get(entity_id, 0))
            for entity_id, sightings in sightings_by_id.items()
        }
        written, failures = self.writer.merge_write(kind, alias_name(self.writer.index_prefix, kind), merges, outcome)
        outcome.entities[kind] += len(written)
        for entity_id, (error, attempts) in sorted(failures.items()):
            self.spool_failure(kind, entity_id, sightings_by_id[entity_id], new_pages_by_id.get(entity_id, 0),
                               error, attempts, outcome)

    def spool_failure(self, kind: str, entity_id: str, sightings: list[Any], new_pages: int, error: str,
                      attempts: int, outcome: BatchOutcome) -> None:
        """Spool the sightings of an entity that could not be written, as an ``entity`` record a replay merges.

        Raises OSError when the spool cannot be written.
        """
        self.writer.spool({
            "record": "entity", "kind": kind, "index_prefix": self.writer.index_prefix, "id": entity_id,
            "sightings": [dataclasses.asdict(s) for s in sightings],
            "new_pages": new_pages, "error": error, "attempts": attempts,
        }, outcome)
