"""The items the crawl yields and the pipelines index: one dataclass per document kind.

Every item is a plain dataclass (Scrapy accepts dataclass items).  Each has a
``kind`` class attribute naming the index alias it belongs to and a
:meth:`doc_id` that makes re-crawls update rather than duplicate.

* :class:`Page` -- one fetched URL; ``_id`` = sha256 of the canonical URL.
* :class:`Listing` -- one market listing; ``_id`` = sha256 of market + listing id.
* :class:`Vendor` -- one vendor on one market; ``_id`` = sha256 of market + name (case-folded).
* :class:`WalletMention` -- one wallet address seen on one page; the pipeline
  folds mentions into the per-address wallet entity.

Fields that hold dates are ISO-8601 strings in UTC (``2026-11-28T23:25:18Z``).
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field
from typing import Any, ClassVar


def stable_id(*parts: str) -> str:
    """sha256 hex of the parts joined by NUL; the ``_id`` of a document."""
    return hashlib.sha256("\0".join(parts).encode("utf-8")).hexdigest()


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
    # Identifiers found on the page (filled by crawler.extractors).
    wallets: list[dict[str, Any]] = field(default_factory=list)
    emails: list[str] = field(default_factory=list)
    pgp_fingerprints: list[str] = field(default_factory=list)
    contacts: list[dict[str, Any]] = field(default_factory=list)
    market: str | None = None
    page_type: str | None = None
    # A forum thread's posts: author, posted_at (UTC ISO or None), posted_local, posted_text, text.
    posts: list[dict[str, Any]] = field(default_factory=list)

    def doc_id(self) -> str:
        return stable_id(self.canonical_url)

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
    price_unit: str | None = None  # "1LB" in "1795.00 USD/1LB": the price is per this unit

    def doc_id(self) -> str:
        return stable_id(self.market, self.listing_id)

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

    def doc_id(self) -> str:
        return stable_id(self.market, self.name.casefold())

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

    def doc_id(self) -> str:
        return stable_id(self.coin, self.address)

    def to_doc(self) -> dict[str, Any]:
        return asdict(self)
