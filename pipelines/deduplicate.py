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

import hashlib
import json
from typing import Any

from scrapy.exceptions import DropItem

from crawler.items import Page, WalletMention


def _digest(text: str, size: int) -> bytes:
    return hashlib.blake2b(text.encode("utf-8"), digest_size=size).digest()


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
        document = {k: v for k, v in item.to_doc().items() if k not in ("fetched_at", "job_id")}
        content = json.dumps(document, sort_keys=True, default=str)
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
