"""The items the crawl yields and the pipelines index: one dataclass per document kind.

Every item is a plain dataclass (Scrapy accepts dataclass items).  Each has a
``kind`` class attribute naming the index alias it belongs to and a
:meth:`doc_id` that makes re-crawls update rather than duplicate.  The ``_id``
rules are the index schema's (:mod:`config.schema.kinds`); the items only
apply them:

* :class:`Page` -- one fetched URL; ``_id`` = sha256 of the canonical URL.
* :class:`Listing` -- one market listing; ``_id`` = :func:`market_item_id` of
  market, onion host and listing id.
* :class:`Vendor` -- one vendor on one market; ``_id`` = :func:`market_item_id`
  of market, onion host and name (case-folded).
* :class:`WalletMention` -- one wallet address seen on one page; the pipeline
  folds mentions into the per-address wallet entity, whose ``_id`` is the
  mention's :meth:`WalletMention.doc_id`.

``market_host_known`` says whether an item's onion host is one of its
market's known hosts (the profile lists or patterns the host, the operator
confirmed it, or the market *is* the host); it picks the id rule.  It
defaults to False: an item that does not say its host is known gets the
host-qualified id.

Fields that hold dates are ISO-8601 strings in UTC (``2026-11-28T23:25:18Z``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, ClassVar

from config.schema import (
    listing_doc_id,
    market_item_id,
    page_doc_id,
    stable_id,
    vendor_doc_id,
    wallet_doc_id,
)

__all__ = ["Listing", "Page", "Vendor", "WalletMention", "market_item_id", "stable_id"]


@dataclass
class Page:
    kind: ClassVar[str] = "pages"

    url: str
    canonical_url: str
    onion_host: str
    status: int
    content_type: str
    content_hash: str
    fetched_at: str
    job_id: str
    title: str = ""
    text: str = ""
    links: list[str] = field(default_factory=list)
    onion_links: list[str] = field(default_factory=list)
    depth: int = 0
    language: str | None = None
    # Identifiers found on the page (filled by crawler.extractors), hidden ones included.
    wallets: list[dict[str, Any]] = field(default_factory=list)
    emails: list[str] = field(default_factory=list)
    pgp_fingerprints: list[str] = field(default_factory=list)
    contacts: list[dict[str, Any]] = field(default_factory=list)
    # Every other onion named on the page: {host, version, where: link|text, obfuscated, hidden}.
    onion_mentions: list[dict[str, Any]] = field(default_factory=list)
    # The shown v3 hosts among them, in page order: what the page offers to discovery.
    discovery_onions: list[str] = field(default_factory=list)
    # Values found only in elements the browser does not show (scraper traps): never attributed.
    hidden_identifiers: list[str] = field(default_factory=list)
    market: str | None = None
    page_type: str | None = None
    # The profiled market whose site marker this page carries while its host is
    # not one of that market's hosts: recorded, never trusted (see the id rule).
    looks_like_market: str | None = None
    # A forum thread's posts: author, posted_at (UTC ISO or None), posted_local, posted_text, text.
    posts: list[dict[str, Any]] = field(default_factory=list)
    # What kind of site the page shows (config.site_types), how sure, and why (crawler.extractors.site_type).
    site_type: str | None = None
    site_type_confidence: float | None = None
    site_type_evidence: list[str] = field(default_factory=list)
    # The response's validators, for conditional requests next time (well-formed ones only).
    etag: str | None = None
    last_modified: str | None = None
    # The WARC record of the response this page was read from (crawler.evidence.chain.EvidenceRef.to_doc).
    evidence: dict[str, Any] | None = None

    def doc_id(self) -> str:
        return page_doc_id(self.canonical_url)

    def to_doc(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Listing:
    kind: ClassVar[str] = "listings"

    market: str
    listing_id: str
    url: str
    title: str
    fetched_at: str
    job_id: str
    onion_host: str = ""
    description: str = ""
    price_amount: float | None = None
    price_currency: str | None = None
    crypto_prices: dict[str, float] = field(default_factory=dict)
    vendor: str | None = None
    category: str | None = None
    ships_from: list[str] = field(default_factory=list)
    ships_to: list[str] = field(default_factory=list)
    escrow: bool | None = None
    finalize_early: bool | None = None
    stock: int | None = None
    sales: int | None = None
    rating: float | None = None
    substances: list[str] = field(default_factory=list)
    substance_classes: list[str] = field(default_factory=list)
    wallets: list[str] = field(default_factory=list)
    language: str | None = None
    extractor: str = "profile"  # "profile", "generic" (a detail page) or "card" (a result page's card)
    market_host_known: bool = False
    looks_like_market: str | None = None
    price_unit: str | None = None  # "1LB" in "1795.00 USD/1LB": the price is per this unit
    # The WARC record of the page the listing was read from (crawler.evidence.chain.EvidenceRef.to_doc).
    evidence: dict[str, Any] | None = None

    def doc_id(self) -> str:
        return listing_doc_id(self.market, self.listing_id, self.onion_host, self.market_host_known)

    def to_doc(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Vendor:
    kind: ClassVar[str] = "vendors"

    market: str
    name: str
    fetched_at: str
    job_id: str
    profile_url: str | None = None
    onion_host: str = ""
    pgp_fingerprints: list[str] = field(default_factory=list)
    wallets: list[str] = field(default_factory=list)
    contacts: list[dict[str, Any]] = field(default_factory=list)
    rating: float | None = None
    sales: int | None = None
    joined: str | None = None
    extractor: str = "profile"
    market_host_known: bool = False
    looks_like_market: str | None = None

    def doc_id(self) -> str:
        return vendor_doc_id(self.market, self.name, self.onion_host, self.market_host_known)

    def to_doc(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class WalletMention:
    kind: ClassVar[str] = "wallets"

    address: str
    coin: str
    network: str
    address_type: str
    page_url: str
    onion_host: str
    fetched_at: str
    job_id: str
    market: str | None = None
    listing_id: str | None = None
    vendor: str | None = None
    source: str = "text"
    # Whether onion_host is a known host of market: the listing's id rule needs it.
    market_host_known: bool = False
    # Seen only in elements the browser does not show: then no listing or vendor is named.
    hidden: bool = False

    def doc_id(self) -> str:
        """The ``_id`` of the wallet entity this mention folds into."""
        return wallet_doc_id(self.coin, self.address)

    def listing_doc_id(self) -> str | None:
        """The ``_id`` of the listing this mention was seen on, or None without one."""
        if not self.market or not self.listing_id:
            return None
        return listing_doc_id(self.market, self.listing_id, self.onion_host, self.market_host_known)

    def to_doc(self) -> dict[str, Any]:
        return asdict(self)
