"""Entity documents (one per wallet address, one per onion host) and how sightings merge into them.

Pure functions, no Elasticsearch: the bulk pipeline reads the current
documents, calls these, and writes the result back with optimistic
concurrency (``if_seq_no``/``if_primary_term``), because the local node has
no painless for scripted upserts.

Public API:

* :class:`WalletSighting`, :class:`OnionSighting` -- one observation each;
* :func:`wallet_sightings_from_item` (item) -> sightings from a
  :class:`~crawler.items.WalletMention` or from a Page's ``wallets``;
* :func:`onion_sighting_from_page` (page) -> :class:`OnionSighting`;
* :func:`onion_sighting_from_document` (stored page document) -> :class:`OnionSighting`
  (a replay counts the pages it created);
* :func:`sightings_by_entity` (items) -> the wallet and the onion sightings of a
  batch, each grouped by entity document id;
* :func:`merge_wallet` (existing or None, sightings) -> document;
* :func:`merge_onion` (existing or None, sightings, new_pages) -> document;
* :func:`wallet_doc_id`, :func:`onion_doc_id` -- the ``_id`` rules (the index
  schema's, :mod:`config.schema.kinds`).

Sightings carry their values in the stored form the schema gives them (coins,
networks and onion hosts lower case), so the merged documents do too.

Writing them is :mod:`pipelines.entity_writer`'s.  Merging is commutative in its sets and keeps first_seen as the minimum and
last_seen as the maximum, so replaying a sighting twice changes nothing but
``mention_count`` (which counts WalletMention items; a Page's own ``wallets``
list adds pages and dates but no mentions, since the spider also yields a
WalletMention for each).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any, Iterable

from config.schema import lower_case, normalise_coin, normalise_onion_host, onion_doc_id, wallet_doc_id
from crawler.items import Page, WalletMention

__all__ = [
    "OnionSighting", "WalletSighting", "merge_onion", "merge_wallet", "onion_doc_id", "onion_sighting_from_page",
    "wallet_doc_id", "wallet_sightings_from_item",
]

# Each reference list of a wallet is capped so a wallet pasted on every page
# of a forum cannot grow one document without bound.
MAX_REFERENCES = 1000
MAX_JOB_IDS = 50
REFERENCE_FIELDS = {
    "pages": "page_count",
    "listings": "listing_count",
    "vendors": "vendor_count",
    "markets": "market_count",
    "onion_hosts": "onion_count",
}


@dataclass(frozen=True)
class WalletSighting:
    address: str
    coin: str
    network: str
    address_type: str
    seen_at: str
    job_id: str
    page_url: str | None = None
    onion_host: str | None = None
    market: str | None = None
    listing_doc_id: str | None = None
    vendor: str | None = None
    source: str = "text"
    # A page's own wallets list repeats what its WalletMention items say;
    # only the mentions count, so each is counted once.
    counts_as_mention: bool = True


@dataclass(frozen=True)
class OnionSighting:
    onion_host: str
    seen_at: str
    status: int
    url: str
    title: str
    job_id: str
    market: str | None = None


def wallet_sightings_from_item(item: Any) -> list[WalletSighting]:
    """Sightings a WalletMention or a Page carries; other items carry none we can key.

    A Listing's or Vendor's ``wallets`` holds bare addresses without a coin, so
    it cannot name a wallet document; the spider's WalletMention items do.
    """
    if isinstance(item, WalletMention):
        # Listing.doc_id()'s rule, so the wallet links to the listing document.
        listing_doc_id = item.listing_doc_id()
        return [WalletSighting(
            address=item.address, coin=normalise_coin(item.coin), network=lower_case(item.network),
            address_type=item.address_type, seen_at=item.fetched_at, job_id=item.job_id,
            page_url=item.page_url, onion_host=normalise_onion_host(item.onion_host) or None, market=item.market,
            listing_doc_id=listing_doc_id, vendor=item.vendor, source=item.source,
        )]
    if isinstance(item, Page):
        sightings = []
        for wallet in item.wallets:
            # The extractor's normalised form is the wallet's identity (as in WalletMention.address).
            address = str(wallet.get("normalized") or wallet.get("address") or "")
            coin = normalise_coin(str(wallet.get("coin") or ""))
            if not address or not coin:
                continue
            sightings.append(WalletSighting(
                address=address, coin=coin, network=lower_case(str(wallet.get("network") or "mainnet")),
                address_type=str(wallet.get("address_type") or wallet.get("type") or ""),
                seen_at=item.fetched_at, job_id=item.job_id, page_url=item.canonical_url,
                onion_host=normalise_onion_host(item.onion_host) or None, market=item.market, source="page",
                counts_as_mention=False,
            ))
        return sightings
    return []


def onion_sighting_from_page(page: Page) -> OnionSighting:
    return OnionSighting(
        onion_host=normalise_onion_host(page.onion_host), seen_at=page.fetched_at, status=page.status,
        url=page.canonical_url, title=page.title, job_id=page.job_id, market=page.market,
    )


def onion_sighting_from_document(page: dict[str, Any]) -> OnionSighting:
    """The sighting a stored page document stands for (it must have an ``onion_host``)."""
    return OnionSighting(
        onion_host=onion_doc_id(str(page["onion_host"])), seen_at=str(page.get("fetched_at", "")),
        status=int(page.get("status", 0)), url=str(page.get("canonical_url", "")), title=str(page.get("title", "")),
        job_id=str(page.get("job_id", "")), market=page.get("market"),
    )


def sightings_by_entity(
    items: Iterable[Any],
) -> tuple[dict[str, list[WalletSighting]], dict[str, list[OnionSighting]]]:
    """(wallet sightings by wallet document id, onion sightings by onion document id) of a batch of items."""
    wallet_sightings: dict[str, list[WalletSighting]] = defaultdict(list)
    onion_sightings: dict[str, list[OnionSighting]] = defaultdict(list)
    for item in items:
        for sighting in wallet_sightings_from_item(item):
            wallet_sightings[wallet_doc_id(sighting.coin, sighting.address)].append(sighting)
        if isinstance(item, Page) and item.onion_host:
            onion = onion_sighting_from_page(item)
            onion_sightings[onion_doc_id(onion.onion_host)].append(onion)
    return wallet_sightings, onion_sightings


def _earliest(*dates: str | None) -> str | None:
    # ISO-8601 UTC strings of one format sort chronologically as text.
    present = [date for date in dates if date]
    return min(present) if present else None


def _latest(*dates: str | None) -> str | None:
    present = [date for date in dates if date]
    return max(present) if present else None


def _add_references(existing: list[str], new: Iterable[str | None], cap: int) -> tuple[list[str], bool]:
    merged = list(existing)
    seen = set(merged)
    truncated = False
    for value in new:
        if not value or value in seen:
            continue
        if len(merged) >= cap:
            truncated = True
            continue
        merged.append(value)
        seen.add(value)
    return merged, truncated


def _recent_jobs(existing: list[str], new: Iterable[str]) -> list[str]:
    jobs = [job for job in existing if job]
    for job in new:
        if job and job not in jobs:
            jobs.append(job)
    return jobs[-MAX_JOB_IDS:]


def merge_wallet(existing: dict[str, Any] | None, sightings: list[WalletSighting]) -> dict[str, Any]:
    """The wallet document after ``sightings`` (all of one coin and address)."""
    if not sightings:
        raise ValueError("merge_wallet needs at least one sighting")
    first = sightings[0]
    if any((s.coin, s.address) != (first.coin, first.address) for s in sightings):
        raise ValueError("sightings of different wallets cannot merge into one document")
    document = dict(existing or {})
    document["address"] = first.address
    document["coin"] = first.coin
    document["network"] = document.get("network") or first.network
    document["address_type"] = document.get("address_type") or next(
        (s.address_type for s in sightings if s.address_type), "")
    document["first_seen"] = _earliest(document.get("first_seen"), *(s.seen_at for s in sightings))
    document["last_seen"] = _latest(document.get("last_seen"), *(s.seen_at for s in sightings))
    truncated = bool(document.get("refs_truncated"))
    per_field = {
        "pages": [s.page_url for s in sightings],
        "listings": [s.listing_doc_id for s in sightings],
        "vendors": [s.vendor for s in sightings],
        "markets": [s.market for s in sightings],
        "onion_hosts": [s.onion_host for s in sightings],
    }
    for field_name, count_name in REFERENCE_FIELDS.items():
        merged, cut = _add_references(list(document.get(field_name) or []), per_field[field_name], MAX_REFERENCES)
        document[field_name] = merged
        document[count_name] = len(merged)
        truncated = truncated or cut
    document["refs_truncated"] = truncated
    document["sources"], _ = _add_references(list(document.get("sources") or []), (s.source for s in sightings), 32)
    document["mention_count"] = int(document.get("mention_count") or 0) + sum(s.counts_as_mention for s in sightings)
    document["job_ids"] = _recent_jobs(list(document.get("job_ids") or []), (s.job_id for s in sightings))
    return document


def merge_onion(existing: dict[str, Any] | None, sightings: list[OnionSighting], new_pages: int = 0) -> dict[str, Any]:
    """The onion document after ``sightings`` of one host; ``new_pages`` = page documents just created."""
    if not sightings:
        raise ValueError("merge_onion needs at least one sighting")
    host = sightings[0].onion_host
    if any(s.onion_host != host for s in sightings):
        raise ValueError("sightings of different onion hosts cannot merge into one document")
    document = dict(existing or {})
    document["onion_host"] = host
    document["first_seen"] = _earliest(document.get("first_seen"), *(s.seen_at for s in sightings))
    previous_last = document.get("last_seen")
    newest = max(sightings, key=lambda s: s.seen_at)
    if previous_last is None or newest.seen_at >= previous_last:
        # Liveness follows the latest fetch only; an older sighting replayed later must not revive a dead host.
        document["last_status"] = newest.status
        document["up"] = 0 < newest.status < 500
        document["last_url"] = newest.url
        document["last_title"] = newest.title
    document["last_seen"] = _latest(previous_last, newest.seen_at)
    document["page_count"] = int(document.get("page_count") or 0) + max(0, new_pages)
    document["markets"], _ = _add_references(list(document.get("markets") or []), (s.market for s in sightings), 100)
    document["job_ids"] = _recent_jobs(list(document.get("job_ids") or []), (s.job_id for s in sightings))
    return document
