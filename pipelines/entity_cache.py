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

Cost: bounded memory, at most ``max_bytes`` of encoded documents (the least
recently used ones leave first; a document bigger than an eighth of it is not
kept).

Public API: :class:`EntityCache` -- :meth:`~EntityCache.answer` (kind, id) -> the
``mget``-like answer or None; :meth:`~EntityCache.store` (kind, id, index,
source, seq_no, primary_term); :meth:`~EntityCache.drop` (kind, id);
:meth:`~EntityCache.clear`.
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

    def __len__(self) -> int:
        return len(self._entries)

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
        not encode, or is too big to keep, is dropped instead."""
        self.drop(kind, entity_id)
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
        self._entries.clear()
        self.bytes = 0
