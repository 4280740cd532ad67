"""What exists in the demo world -- markets, vendors, listings, wallets, forum users and posts -- as plain data.

Independent of any HTML: the renderers in :mod:`harness.demo.markets` decide
how each site shows an entity, the builders in this package draw them from
the seed.

Public API: the dataclasses :class:`World`, :class:`MarketWorld`,
:class:`ForumWorld`, :class:`ForumBoard`, :class:`ForumThread`,
:class:`ForumPost`, :class:`ForumUser`, :class:`Vendor`, :class:`Listing`,
:class:`Review`, :class:`Wallet`, :class:`Decoy`, and :data:`Segment` (one
piece of a forum post body).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from harness.demo.openpgp import DemoPgpKey
from harness.demo.world.lexicon import DemoData
from harness.demo.world.specs import MarketSpec


@dataclass
class Wallet:
    """One payment address.  ``address`` is the normalised form; ``written_as``
    lists every exact spelling pages use (the normalised form first when used)."""

    address: str
    coin: str
    network: str
    address_type: str
    written_as: list[str] = field(default_factory=list)
    checksummed: bool | None = None  # EVM only: False when written all lower-case
    owner: str = ""


@dataclass
class Vendor:
    site: str
    name: str
    slug: str
    joined: str
    rating: float
    sales: int
    bio: str
    pgp: DemoPgpKey
    wallets: list[Wallet]
    contacts: list[dict[str, str]]
    profile_url: str = ""


@dataclass
class Review:
    buyer: str
    stars: int
    text: str
    date: str


@dataclass
class Listing:
    site: str
    listing_id: str
    title: str
    description: str
    price_amount: float
    price_currency: str
    crypto_prices: dict[str, float]
    vendor: Vendor
    category: str
    ships_from: list[str]
    ships_to: list[str]
    escrow: bool | None
    finalize_early: bool | None
    stock: int | None
    sales: int | None
    rating: float | None
    substances: list[str]
    substance_classes: list[str]
    substance_terms: list[str]
    wallets: list[Wallet]
    quantity: float
    unit: str
    form: str
    reviews: list[Review] = field(default_factory=list)
    url: str = ""


@dataclass
class MarketWorld:
    spec: MarketSpec
    onion_host: str
    vendors: list[Vendor]
    listings: list[Listing]
    market_wallets: list[Wallet]
    categories: list[str]

    @property
    def site(self) -> str:
        return self.spec.site


@dataclass
class ForumUser:
    name: str
    joined: str
    signature: str
    pgp: DemoPgpKey | None = None
    wallets: list[Wallet] = field(default_factory=list)
    contacts: list[dict[str, str]] = field(default_factory=list)
    profile_url: str = ""


# A post body is a list of segments: ("text", str), ("link", href, label),
# ("pre", str) or ("break",).  Renderers escape every string.
Segment = tuple[str, ...]


@dataclass
class ForumPost:
    author: ForumUser
    posted: str
    body: list[Segment]


@dataclass
class ForumThread:
    thread_id: int
    slug: str
    title: str
    board: str
    posts: list[ForumPost]


@dataclass
class ForumBoard:
    slug: str
    title: str
    description: str
    threads: list[ForumThread] = field(default_factory=list)


@dataclass
class ForumWorld:
    onion_host: str
    users: list[ForumUser]
    boards: list[ForumBoard]


@dataclass
class Decoy:
    """A wallet-shaped string with a broken checksum: extractors must not report it."""

    text: str
    looks_like: str
    address_type: str
    corrupted_from: str


@dataclass
class World:
    seed: int
    onion_hosts: dict[str, str]
    markets: dict[str, MarketWorld]
    forum: ForumWorld
    decoys: list[Decoy]
    dead_onion_hosts: list[str]
    legacy_onion_hosts: list[str]
    malformed_pgp_block: str
    cross_market: list[dict[str, Any]]
    data: DemoData
