"""Second item pipeline: one document per ``_id`` per crawl.

Within one crawl, the same page can be reached twice (two links, a retry) and
the same wallet can be mentioned twice on one page.  This pipeline lets the
first through and drops repeats whose content did not change (stat
``deduplicate/dropped/<kind>``, logged at DEBUG).  A repeat whose content
changed goes through: the bulk pipeline updates the document in place.
Across crawls nothing is dropped: the ``_id`` makes a re-crawl update the
same document and move ``last_seen``, even when ``content_hash`` is unchanged.

Public API:

* :func:`dedup_key` (item) -> (key, fingerprint): the key names the document
  (or, for a WalletMention, the wallet on that page); the fingerprint is
  its content;
* :class:`SeenDocuments` -- the in-memory record (16+8 bytes per document);
* :class:`DeduplicatePipeline` -- the Scrapy pipeline.
"""

from __future__ import annotations

import dataclasses
import hashlib
from typing import Any

import orjson
from scrapy.exceptions import DropItem

from crawler.items import Page, WalletMention


# Never content: when and by which job an item was read.
_NOT_CONTENT = frozenset({"fetched_at", "job_id"})
# Item class -> the names of its content fields, in order.
_CONTENT_FIELDS: dict[type, tuple[str, ...]] = {}


def _digest(text: str | bytes, size: int) -> bytes:
    data = text.encode("utf-8") if isinstance(text, str) else text
    return hashlib.blake2b(data, digest_size=size).digest()


def _content(item: Any) -> bytes:
    """The item's fields but fetched_at and job_id, as JSON with sorted keys.

    orjson straight from the fields: ``to_doc()`` (``dataclasses.asdict``, a deep
    copy) and the standard library's ``json`` cost about ten times more per
    listing, on the reactor thread.  Non-finite numbers never get here (the
    validate pipeline drops them), so orjson's ``null`` for them loses nothing.
    """
    names = _CONTENT_FIELDS.get(type(item))
    if names is None:
        names = _CONTENT_FIELDS[type(item)] = tuple(
            field.name for field in dataclasses.fields(item) if field.name not in _NOT_CONTENT)
    fields = {name: getattr(item, name) for name in names}
    try:
        return orjson.dumps(fields, default=str, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS)
    except (orjson.JSONEncodeError, TypeError):  # a lone surrogate, an integer beyond 64 bits
        return repr(sorted(fields.items(), key=lambda pair: pair[0])).encode("utf-8", "surrogatepass")


def dedup_key(item: Any) -> tuple[bytes, bytes]:
    """(key, content fingerprint) of an item; fetched_at and job_id never count as content."""
    if isinstance(item, WalletMention):
        key = f"wallets\0{item.doc_id()}\0{item.page_url}"
        content = f"{item.listing_id}\0{item.vendor}\0{item.market}"
    elif isinstance(item, Page):
        key = f"pages\0{item.doc_id()}"
        content = item.content_hash
    else:
        key = f"{item.kind}\0{item.doc_id()}"
        return _digest(key, 16), _digest(_content(item), 8)
    return _digest(key, 16), _digest(content, 8)


class SeenDocuments:
    """What this crawl has already passed on: key -> content fingerprint."""

    def __init__(self) -> None:
        self._seen: dict[bytes, bytes] = {}

    def is_repeat(self, item: Any) -> bool:
        """True when the same document with the same content already went through; records it otherwise."""
        key, fingerprint = dedup_key(item)
        if self._seen.get(key) == fingerprint:
            return True
        self._seen[key] = fingerprint
        return False

    def __len__(self) -> int:
        return len(self._seen)


class DeduplicatePipeline:
    def __init__(self, stats: Any = None):
        self.seen = SeenDocuments()
        self.stats = stats

    @classmethod
    def from_crawler(cls, crawler: Any) -> "DeduplicatePipeline":
        return cls(stats=crawler.stats)

    def process_item(self, item: Any) -> Any:
        kind = getattr(item, "kind", type(item).__name__)
        if self.seen.is_repeat(item):
            if self.stats is not None:
                self.stats.inc_value(f"deduplicate/dropped/{kind}")
            raise DropItem(f"duplicate {kind} document {item.doc_id()} in this crawl", log_level="DEBUG")
        return item
