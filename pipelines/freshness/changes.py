"""Change records: what changed in a listing or a page between what was stored and what a crawl saw.

A change record (``<prefix>-changes``, ``_id`` =
:func:`config.schema.change_doc_id`) keeps the old and the new value of one
field of one document:

* listings: ``price`` (amount and currency, compared together), ``stock``,
  ``vendor``; ``removed`` when a run that crawled the market completely no
  longer finds the listing (:mod:`pipelines.freshness.removals`) and
  ``returned`` when a removed listing is seen again;
* pages: ``content_hash``.

A listing field is compared only when both sides hold a value: a card that
shows no stock says nothing about the stock.  Converted crypto prices
(``crypto_prices``) are not compared: they move with exchange rates, not
with the vendor.  Displayed values (``old_value``/``new_value``) are plain
strings capped at :data:`VALUE_MAX_CHARS`; the exact values sit in
``old``/``new`` (stored, not indexed).

Public API:

* :class:`Change` -- one record; :meth:`Change.to_doc`, :meth:`Change.doc_id`;
* :func:`listing_values` (document) -> the compared values of a stored or new listing;
* :func:`listing_changes` (before, after, ...) -> [Change];
* :func:`page_change` (before, after, ...) -> Change or None;
* :func:`removal_change` / :func:`return_change` (listing source, when, job_id) -> Change;
* :func:`run_change_counts` (stats) -> the crawl-run record's ``listings_new``,
  ``listings_changed``, ``listings_removed`` and ``pages_changed``;
* :data:`STATS` -- the stat names the pipelines count under.

Pure; nothing here talks to Elasticsearch.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any, Mapping

from config.schema import change_doc_id

VALUE_MAX_CHARS = 512
TITLE_MAX_CHARS = 1000
LISTING_FIELDS = ("price", "stock", "vendor")

# Stat names (Scrapy's stats, copied into the crawl-run record by run_change_counts).
STATS = {
    "listings_changed": "freshness/listings_changed",
    "listings_removed": "freshness/listings_removed",
    "listings_returned": "freshness/listings_returned",
    "pages_changed": "freshness/pages_changed",
}


@dataclass(frozen=True)
class Change:
    """One changed value of one document."""

    kind: str  # the changed document's kind: "listings" or "pages"
    doc_id: str
    field: str
    old: Any
    new: Any
    changed_at: str
    job_id: str
    previous_seen_at: str | None = None
    market: str | None = None
    listing_id: str | None = None
    onion_host: str | None = None
    url: str | None = None
    title: str | None = None

    def doc_id_of_record(self) -> str:
        """The record's ``_id`` (:func:`config.schema.change_doc_id`)."""
        return change_doc_id(self.kind, self.doc_id, self.field, self.changed_at,
                             json.dumps(self.new, sort_keys=True, default=str))

    def to_doc(self) -> dict[str, Any]:
        """The record as the changes mapping stores it."""
        document: dict[str, Any] = {
            "kind": self.kind, "doc_id": self.doc_id, "field": self.field,
            "old_value": _shown(self.field, self.old), "new_value": _shown(self.field, self.new),
            "old": _wrapped(self.old), "new": _wrapped(self.new),
            "changed_at": self.changed_at, "previous_seen_at": self.previous_seen_at, "job_id": self.job_id,
            "market": self.market, "listing_id": self.listing_id, "onion_host": self.onion_host, "url": self.url,
            "title": (self.title or "")[:TITLE_MAX_CHARS] or None,
        }
        for side, value in (("old", self.old), ("new", self.new)):
            if self.field == "price" and isinstance(value, dict):
                document[f"{side}_amount"] = value.get("amount")
                document[f"{side}_currency"] = value.get("currency")
            elif self.field == "stock" and isinstance(value, (int, float)) and not isinstance(value, bool):
                document[f"{side}_amount"] = float(value)
        return {key: value for key, value in document.items() if value is not None}


def _wrapped(value: Any) -> dict[str, Any] | None:
    if value is None:
        return None
    return value if isinstance(value, dict) else {"value": value}


def _number_text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value)) if abs(value) < 1e15 else repr(value)
    return str(value)


def _shown(field: str, value: Any) -> str | None:
    if value is None:
        return None
    if field == "price" and isinstance(value, dict):
        text = f"{_number_text(value.get('amount'))} {value.get('currency') or ''}".strip()
    else:
        text = _number_text(value) if isinstance(value, (int, float)) else str(value)
    return text[:VALUE_MAX_CHARS]


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return float(value)


def listing_values(document: Mapping[str, Any]) -> dict[str, Any]:
    """The compared values of a listing document: price ({amount, currency} or None), stock, vendor."""
    amount = _number(document.get("price_amount"))
    currency = document.get("price_currency")
    price = None
    if amount is not None:
        price = {"amount": amount, "currency": str(currency).strip().upper() if currency else None}
    stock = _number(document.get("stock"))
    vendor = document.get("vendor")
    return {
        "price": price,
        "stock": int(stock) if stock is not None else None,
        "vendor": vendor.strip() if isinstance(vendor, str) and vendor.strip() else None,
    }


def _same(field: str, old: Any, new: Any) -> bool:
    if field == "price":
        return (old["currency"] == new["currency"]
                and math.isclose(old["amount"], new["amount"], rel_tol=1e-9, abs_tol=1e-12))
    return bool(old == new)


def _context(source: Mapping[str, Any]) -> dict[str, Any]:
    def text(key: str) -> str | None:
        value = source.get(key)
        return str(value) if value not in (None, "") else None

    return {"market": text("market"), "listing_id": text("listing_id"), "onion_host": text("onion_host"),
            "url": text("url"), "title": text("title")}


def listing_changes(
    before: Mapping[str, Any], after: Mapping[str, Any], *, doc_id: str, changed_at: str, job_id: str,
) -> list[Change]:
    """The price, stock and vendor changes from ``before`` (stored source) to ``after`` (the new document).

    A field changes when both sides hold a value and the values differ
    (prices: the same currency and amounts equal to 1e-9 relative are the same).
    """
    old_values, new_values = listing_values(before), listing_values(after)
    context = _context({**before, **{k: v for k, v in after.items() if v not in (None, "")}})
    changes = []
    for field in LISTING_FIELDS:
        old, new = old_values[field], new_values[field]
        if old is None or new is None or _same(field, old, new):
            continue
        changes.append(Change("listings", doc_id, field, old, new, changed_at, job_id,
                              previous_seen_at=before.get("last_seen"), **context))
    return changes


def page_change(
    before: Mapping[str, Any], after: Mapping[str, Any], *, doc_id: str, changed_at: str, job_id: str,
) -> Change | None:
    """The content_hash change from ``before`` to ``after``, or None when it is the same (or either is missing)."""
    old, new = before.get("content_hash"), after.get("content_hash")
    if not old or not new or old == new:
        return None
    return Change("pages", doc_id, "content_hash", str(old), str(new), changed_at, job_id,
                  previous_seen_at=before.get("last_seen"), onion_host=after.get("onion_host") or None,
                  url=after.get("canonical_url") or after.get("url") or None, title=after.get("title") or None)


def removal_change(source: Mapping[str, Any], doc_id: str, removed_at: str, job_id: str) -> Change:
    """The record of listing ``doc_id`` marked removed at ``removed_at`` (old value: when it was last seen)."""
    return Change("listings", doc_id, "removed", source.get("last_seen"), removed_at, removed_at, job_id,
                  previous_seen_at=source.get("last_seen"), **_context(source))


def return_change(source: Mapping[str, Any], doc_id: str, seen_at: str, job_id: str) -> Change:
    """The record of removed listing ``doc_id`` seen again at ``seen_at`` (old value: when it was removed)."""
    return Change("listings", doc_id, "returned", source.get("removed_at"), seen_at, seen_at, job_id,
                  previous_seen_at=source.get("last_seen"), **_context(source))


def _stat(stats: Mapping[str, Any], key: str) -> int:
    value = stats.get(key, 0)
    return int(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else 0


def run_change_counts(stats: Mapping[str, Any]) -> dict[str, int]:
    """What changed in a run, from its stats: ``listings_new`` (created), ``listings_changed`` (price, stock or
    vendor; each listing once), ``listings_removed`` and ``pages_changed`` (content hash)."""
    return {
        "listings_new": _stat(stats, "elasticsearch/created/listings"),
        "listings_changed": _stat(stats, STATS["listings_changed"]),
        "listings_removed": _stat(stats, STATS["listings_removed"]),
        "pages_changed": _stat(stats, STATS["pages_changed"]),
    }
