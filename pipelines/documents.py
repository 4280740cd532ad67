"""How a crawled item becomes an Elasticsearch document and a bulk action.

Public API:

* :func:`document_for` (item) -> dict: the item's fields, each in the stored
  form the index schema gives it (:func:`config.schema.normalise_document`:
  onion hosts, coins, e-mails lower-case; PGP fingerprints upper-case without
  spaces) plus derived fields (``coins``, ``quantity_grams`` and ``price_per_gram`` on
  listings, ``name_folded`` on vendors);
* :func:`price_per_gram_fields` (listing document) -> ``quantity_grams`` and
  ``price_per_gram`` (also filled in by a migration to listings schema 5);
* :func:`upsert_action` (item, index) -> one bulk ``update`` action whose
  ``doc`` moves ``last_seen`` and whose ``upsert`` also sets ``first_seen``,
  so re-crawls keep first_seen without a script;
* :func:`replayed_document` (stored or None, op_type, body) -> the document a
  spooled write leaves when it is replayed later: the newer values win and
  first_seen is the earliest, so an old record never moves last_seen back;
* :data:`DOCUMENT_KINDS` -- the item kinds stored as documents of their own
  (WalletMention is folded into the wallet entity instead).

Pure functions; nothing here talks to Elasticsearch.
"""

from __future__ import annotations

import copy
import dataclasses
from datetime import datetime
from typing import Any

from config.schema import CRYPTO_TICKERS, normalise_coin, normalise_document, normalise_fingerprint
from crawler.extractors.quantities import grams_sold
from crawler.freshness.instants import parse_instant
from crawler.items import Listing, Page, Vendor

__all__ = ["DOCUMENT_KINDS", "document_for", "normalise_fingerprint", "price_per_gram_fields", "replayed_document",
           "upsert_action"]

DOCUMENT_KINDS = ("pages", "listings", "vendors")
# A concurrent update of the same _id (two pipelines, or a crawl and a replay)
# is retried inside Elasticsearch; a partial doc needs no script for that.
RETRY_ON_CONFLICT = 3


# Field names of each item class, in declaration order (what dataclasses.asdict walks).
_FIELD_NAMES = {item_type: tuple(field.name for field in dataclasses.fields(item_type))
                for item_type in (Page, Listing, Vendor)}
_SCALARS = (str, int, float, bool, type(None))


def _copied(value: Any) -> Any:
    """A deep copy of a field value, as :func:`dataclasses.asdict` makes it, but quick for JSON-like values.

    ``asdict`` goes through :func:`copy.deepcopy` for every string in every
    list, which cost about half of a page's indexing time in Python; strings and
    numbers are immutable, so only the containers are copied here.
    """
    if isinstance(value, _SCALARS):
        return value
    value_type = type(value)
    if value_type is list:
        return [item if isinstance(item, _SCALARS) else _copied(item) for item in value]
    if value_type is dict:
        return {key: item if isinstance(item, _SCALARS) else _copied(item) for key, item in value.items()}
    if value_type is tuple:
        return tuple(_copied(item) for item in value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    return copy.deepcopy(value)


def _fields_of(item: Any) -> dict[str, Any]:
    """``dataclasses.asdict(item)`` for a Page, Listing or Vendor: every field, its containers copied."""
    return {name: _copied(getattr(item, name)) for name in _FIELD_NAMES[type(item)]}


def document_for(item: Any) -> dict[str, Any]:
    """The document stored for ``item`` (Page, Listing or Vendor); raises TypeError for others.

    The document shares no list or dict with the item: changing one later leaves the other as it is.
    """
    if type(item) not in _FIELD_NAMES:
        if not isinstance(item, (Page, Listing, Vendor)):
            raise TypeError(f"{type(item).__name__} is not stored as a document of its own")
        document = item.to_doc()  # a subclass: its own fields
    else:
        document = _fields_of(item)
    if isinstance(item, Page):
        wallets = []
        for wallet in document["wallets"]:
            wallet = dict(wallet)
            # wallets.address holds the normalised form, the same as the wallet entity's
            # address, so a pivot from the entity finds the page; the form as written is kept.
            if wallet.get("normalized") and wallet["normalized"] != wallet.get("address"):
                wallet["address_as_written"] = wallet.get("address")
                wallet["address"] = wallet["normalized"]
            wallets.append(wallet)
        document["wallets"] = wallets
    document = normalise_document(item.kind, document)
    if isinstance(item, Listing):
        # crypto_prices maps coins (their stored form) to amounts; a dynamic template maps each to a double.
        document["crypto_prices"] = {normalise_coin(str(coin)): float(price)
                                     for coin, price in document["crypto_prices"].items()}
        coins = set(document["crypto_prices"])
        currency = normalise_coin(document.get("price_currency") or "")
        if currency in CRYPTO_TICKERS:
            coins.add(currency)
        document["coins"] = sorted(coins)
        document.update(price_per_gram_fields(document))
    elif isinstance(item, Vendor):
        document["name_folded"] = item.name.casefold()
    return document


def price_per_gram_fields(listing: dict[str, Any]) -> dict[str, float | None]:
    """``quantity_grams`` and ``price_per_gram`` of a listing document (None when the weight is unknown).

    The price per gram is in the listing's own currency (``price_currency``),
    for the price charts; the weight comes from the price unit or the title
    (:func:`crawler.extractors.quantities.grams_sold`).
    """
    grams = grams_sold(listing.get("title"), listing.get("price_unit"))
    amount = listing.get("price_amount")
    # Not rounded: a price in BTC per gram is a few ten-thousandths.
    per_gram = float(amount) / grams if grams and isinstance(amount, (int, float)) and amount > 0 else None
    return {"quantity_grams": grams, "price_per_gram": per_gram}


def upsert_action(item: Any, index: str) -> dict[str, Any]:
    """A bulk update: ``doc`` refreshes every field and last_seen; ``upsert`` adds first_seen once.

    A listing card (``extractor == "card"``, from a result page) shares its
    ``_id`` with the detail page it links to; its ``doc`` holds only the fields
    the card shows, so it never blanks the description, category or other
    fields the detail page already gave the same document.
    """
    document = document_for(item)
    seen_at = document["fetched_at"]
    changes = {**document, "last_seen": seen_at}
    update = changes
    if isinstance(item, Listing) and item.extractor == "card":
        update = {key: value for key, value in changes.items() if value not in (None, "", [], {})}
        update.pop("extractor", None)  # a detail page's "generic" stays
        # The card's record is the result page's; a detail page's record (its fuller fields) stays.
        update.pop("evidence", None)
    return {
        "_op_type": "update",
        "_index": index,
        "_id": item.doc_id(),
        "retry_on_conflict": RETRY_ON_CONFLICT,
        "doc": update,
        "upsert": {**changes, "first_seen": seen_at},
    }


def _seen_at(document: dict[str, Any]) -> datetime | None:
    """When the data in ``document`` was fetched: last_seen, else finished_at (crawl runs), else fetched_at."""
    for key in ("last_seen", "finished_at", "fetched_at"):
        instant = parse_instant(document.get(key))
        if instant is not None:
            return instant
    return None


def replayed_document(stored: dict[str, Any] | None, op_type: str, body: dict[str, Any]) -> dict[str, Any]:
    """The document a spooled write leaves when it is replayed on top of ``stored``.

    ``body`` is the spooled bulk body: ``{"doc", "upsert"}`` for an ``update``,
    the whole document for ``index`` or ``create``.  With nothing stored, the
    write happens as it would have.  A write older than what is stored (by
    last_seen, else finished_at, else fetched_at; an undated write counts as
    older than a dated document) keeps every stored value; one as new or newer
    is applied as the original write would have been.  Either way first_seen
    becomes the earlier of the two.  Returns a new dict; raises nothing.
    """
    if op_type == "update":
        incoming = dict(body.get("doc") or {})
        created = dict(body.get("upsert") or incoming)
    else:
        incoming = dict(body)
        created = dict(body)
    if stored is None:
        return created
    stored_at, incoming_at = _seen_at(stored), _seen_at(incoming)
    if stored_at is not None and (incoming_at is None or incoming_at < stored_at):
        document = dict(stored)
    elif op_type == "update":
        document = {**stored, **incoming}
    else:
        document = incoming
    first_seens = [(instant, value) for value in (stored.get("first_seen"), created.get("first_seen"))
                   if (instant := parse_instant(value)) is not None]
    if first_seens:
        document["first_seen"] = min(first_seens)[1]
    return document
