"""The entity documents a bulk indexer last wrote or read, so the next batch need not read them again.

A crawl touches the same wallet and onion documents batch after batch (every
page of a host names its onion).  :class:`pipelines.item_indexer.BulkIndexer`
used to read each one before each merge; with this cache it reads only those
it does not hold.  What it holds for a document is what a read would have
answered: the concrete index, the ``_source`` (as the JSON Elasticsearch
stores, decoded again), ``_seq_no`` and ``_primary_term``.

It never risks an update.  A write planned from the cache is conditional on
that ``_seq_no``/``_primary_term`` *in that concrete index* (not the alias):

* another writer changed the document since (another crawl worker, a spool
  replay): Elasticsearch answers 409 and the document is read and merged again,
  as after any conflict;
* a migration moved the alias to a new index: the old one is write-blocked or
  deleted, so the write fails and the document is read again through the
  alias.  (On the alias, the new index's copy could carry the same sequence
  number by chance and be overwritten; on the old index it cannot.)

A concrete index *name* is not enough, though: an index deleted and created
again under the same name (by hand, or by another process's set-up) starts its
sequence numbers again, so a held version can match a document another writer
put there since, and the write would overwrite it.  So the cache holds versions
of one *incarnation* of each index: before a batch uses it, the indexer asks
the uuid of every index behind the entity aliases and :meth:`EntityCache.confirm`
drops what was held in any other index, or in the same name with another uuid
(which also keeps a write from auto-creating an index a migration deleted).
What is stored during a batch is kept only for the indices confirmed at its
start.  The one window left is the batch's own, between that check and its
write, the same as between a read and its write without the cache.

Cost: bounded memory, at most ``max_bytes`` of encoded documents (the least
recently used ones leave first; a document bigger than an eighth of it is not
kept).

Public API: :class:`EntityCache` -- :meth:`~EntityCache.answer` (kind, id) -> the
``mget``-like answer or None; :meth:`~EntityCache.store` (kind, id, index,
source, seq_no, primary_term); :meth:`~EntityCache.confirm` (index uuids now)
-> how many entries it dropped; :meth:`~EntityCache.drop` (kind, id);
:meth:`~EntityCache.clear`; ``(kind, id) in cache``.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

import orjson

# Encoded documents kept at most (16 MiB): a crawl's hot wallets and onions fit many times over.
DEFAULT_MAX_BYTES = 16 * 1024 * 1024


class EntityCache:
    """Least-recently-used store of entity documents with the version each was read or written at."""

    def __init__(self, max_bytes: int = DEFAULT_MAX_BYTES):
        self.max_bytes = max_bytes
        self.bytes = 0
        self._entries: OrderedDict[tuple[str, str], tuple[bytes, str, int, int]] = OrderedDict()
        # Concrete index -> the uuid it had at the last confirm(): versions are kept only for these.
        self._index_uuids: dict[str, str] = {}

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, key: object) -> bool:
        return key in self._entries

    def confirm(self, index_uuids: dict[str, str]) -> int:
        """Keep only the versions held in ``index_uuids`` (concrete index -> uuid: the indices behind the
        entity aliases now), and only if the index has the uuid it had when they were stored; returns how many
        entries were dropped.  Until the next call, :meth:`store` keeps versions of these indices only."""
        doomed = [key for key, (_, index, _, _) in self._entries.items()
                  if index not in index_uuids or self._index_uuids.get(index) != index_uuids[index]]
        for key in doomed:
            self.drop(*key)
        self._index_uuids = dict(index_uuids)
        return len(doomed)

    def answer(self, kind: str, entity_id: str) -> dict[str, Any] | None:
        """What an ``mget`` would answer for the document, marked ``"cached": True``; None when not held.

        The ``_source`` is decoded afresh each time, so a caller may change it freely.
        """
        entry = self._entries.get((kind, entity_id))
        if entry is None:
            return None
        self._entries.move_to_end((kind, entity_id))
        encoded, index, seq_no, primary_term = entry
        return {"_index": index, "_id": entity_id, "found": True, "_source": orjson.loads(encoded),
                "_seq_no": seq_no, "_primary_term": primary_term, "cached": True}

    def store(self, kind: str, entity_id: str, index: str, source: dict[str, Any], seq_no: int,
              primary_term: int) -> None:
        """Hold ``source`` as stored in ``index`` at (``seq_no``, ``primary_term``); a document that does
        not encode, is too big to keep, or is in an index the last :meth:`confirm` did not name (an alias that
        moved since: its incarnation is unknown) is dropped instead."""
        self.drop(kind, entity_id)
        if index not in self._index_uuids:
            return
        try:
            encoded = orjson.dumps(source)
        except (orjson.JSONEncodeError, TypeError):
            return  # what orjson refuses is read back next time
        if len(encoded) > self.max_bytes // 8:
            return
        self._entries[(kind, entity_id)] = (encoded, index, int(seq_no), int(primary_term))
        self.bytes += len(encoded)
        while self.bytes > self.max_bytes:
            _, (old, *_rest) = self._entries.popitem(last=False)
            self.bytes -= len(old)

    def drop(self, kind: str, entity_id: str) -> None:
        """Forget the document (it is read again next time)."""
        entry = self._entries.pop((kind, entity_id), None)
        if entry is not None:
            self.bytes -= len(entry[0])

    def clear(self) -> None:
        """Forget everything, the confirmed indices too (nothing is kept until the next :meth:`confirm`)."""
        self._entries.clear()
        self._index_uuids = {}
        self.bytes = 0
