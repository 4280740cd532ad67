"""The demo world's entities and how they are drawn from the seed.

This module owns *what exists* in the demo world -- markets, vendors,
listings, wallets, PGP keys, forum users and posts -- independent of any HTML.
The renderers in :mod:`harness.demo.markets` decide how each site shows it;
:mod:`harness.demo.generator` writes the pages and the ground truth.

Public API:

* :data:`SITE_NAMES`, :data:`MARKET_NAMES`, :data:`FORUM_NAME`;
* :func:`build_world` ``(seed, onion_hosts) -> World`` -- deterministic: the
  same arguments give equal worlds (every random choice comes from
  :func:`seeded_random` keyed by the seed and a label, never from global state);
* the dataclasses :class:`World`, :class:`MarketWorld`, :class:`ForumWorld`,
  :class:`Vendor`, :class:`Listing`, :class:`Wallet`, :class:`ForumUser`,
  :class:`ForumThread`, :class:`ForumPost`.

Raises :class:`config.errors.UserError` if the data files in
``<config_dir>/demo/`` (:func:`config.paths.demo_data_dir`) are missing or
malformed.  Reads those files when a world is built; no network.
"""

from __future__ import annotations

import datetime
import hashlib
import random
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from crawler.extractors import wallet_codecs
from harness.demo.hosts import derived_onion_host
from harness.demo import paths
from harness.demo.openpgp import DemoPgpKey, make_public_key
from harness.demo.site_names import FORUM_NAME, MARKET_NAMES, NEBULA, OLD_BAZAAR, SITE_NAMES, TUNDRA
from config.paths import demo_data_dir
from config.errors import UserError


# Fixed exchange rates: prices in the ground truth are exactly what pages show.
EUR_PER_USD = 0.92
USD_PER_BTC = 65_000.0
USD_PER_XMR = 160.0

# The world's "today": dates on pages are before it, never the wall clock.
WORLD_EPOCH = 1_764_547_200  # 2025-12-01T00:00:00Z


# --------------------------------------------------------------------------- data files


@dataclass(frozen=True)
class Substance:
    name: str
    display: str
    substance_class: str
    nps: bool
    synonyms: tuple[str, ...]
    cyrillic: tuple[str, ...]
    forms: tuple[str, ...]
    unit: str
    quantities: tuple[float, ...]
    usd_per_unit: tuple[float, float]


@dataclass(frozen=True)
class Country:
    alpha2: str
    alpha3: str
    name: str
    ru: str


@dataclass(frozen=True)
class DemoData:
    substances: tuple[Substance, ...]
    countries: dict[str, Country]
    names: dict[str, tuple[str, ...]]


def load_demo_data(data_dir: Path | None = None) -> DemoData:
    """Read ``substances.yml``, ``countries.yml`` and ``names.yml`` from a ``<config_dir>/demo`` folder.

    ``data_dir`` defaults to the config package's.  Raises UserError naming the
    file when one is missing or malformed.
    """
    data_dir = data_dir if data_dir is not None else demo_data_dir()

    def read(file_name: str) -> dict[str, Any]:
        path = data_dir / file_name
        try:
            loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError) as error:
            raise UserError(f"cannot read demo data file {path}: {error}") from error
        if not isinstance(loaded, dict):
            raise UserError(f"demo data file {path} must hold a mapping at the top level")
        return loaded

    try:
        substances = tuple(
            Substance(
                name=entry["name"],
                display=entry["display"],
                substance_class=entry["class"],
                nps=bool(entry["nps"]),
                synonyms=tuple(entry["synonyms"]),
                cyrillic=tuple(entry["cyrillic"]),
                forms=tuple(entry["forms"]),
                unit=entry["unit"],
                quantities=tuple(entry["quantities"]),
                usd_per_unit=(float(entry["usd_per_unit"][0]), float(entry["usd_per_unit"][1])),
            )
            for entry in read("substances.yml")["substances"]
        )
        country_file = read("countries.yml")
        countries = {
            entry["alpha2"]: Country(entry["alpha2"], entry["alpha3"], entry["name"], entry["ru"])
            for entry in [*country_file["countries"], *country_file["regions"]]
        }
        names = {key: tuple(values) for key, values in read("names.yml").items()}
    except (KeyError, TypeError, IndexError, ValueError) as error:
        raise UserError(f"demo data in {data_dir} is malformed ({error!r}); restore it from config/demo/") from error
    return DemoData(substances=substances, countries=countries, names=names)


# --------------------------------------------------------------------------- randomness


def seeded_random(seed: int, *labels: object) -> random.Random:
    """A private RNG for one purpose; str seeds hash with SHA-512, stable across runs."""
    return random.Random("/".join(["onionscope-demo", str(seed), *map(str, labels)]))


def seeded_bytes(seed: int, size: int, *labels: object) -> bytes:
    """``size`` bytes derived from the seed and labels (SHA-256 in counter mode)."""
    stem = "/".join(["onionscope-demo-bytes", str(seed), *map(str, labels)]).encode("utf-8")
    out = b""
    counter = 0
    while len(out) < size:
        out += hashlib.sha256(stem + counter.to_bytes(4, "big")).digest()
        counter += 1
    return out[:size]


# --------------------------------------------------------------------------- entities


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


@dataclass(frozen=True)
class MarketSpec:
    """How one market differs from the others (the renderers read it too)."""

    site: str
    display_name: str
    vendor_count: int
    listing_count: int
    price_currencies: tuple[str, ...]  # the first is the usual one
    crypto_quote: str | None  # crypto equivalent shown beside a fiat price
    vendor_wallet_kinds: tuple[tuple[str, str], ...]
    market_wallet_kinds: tuple[tuple[str, str], ...]
    ships_from_pool: tuple[str, ...]
    categories: dict[str, str]  # substance class -> category label shown
    cyrillic_share: float
    shows: frozenset[str]  # which optional listing fields the pages show
    listings_per_page: int


MARKET_SPECS: dict[str, MarketSpec] = {
    OLD_BAZAAR: MarketSpec(
        site=OLD_BAZAAR,
        display_name="Old Bazaar",
        vendor_count=12,
        listing_count=64,
        price_currencies=("USD",),
        crypto_quote="BTC",
        vendor_wallet_kinds=(
            ("bitcoin", "p2pkh"), ("bitcoin", "p2sh"), ("litecoin", "p2pkh"), ("litecoin", "p2sh"),
            ("litecoin", "p2wpkh"), ("bitcoin-cash", "cashaddr-p2pkh"), ("dogecoin", "p2pkh"),
        ),
        market_wallet_kinds=(("bitcoin", "p2sh"), ("bitcoin-cash", "cashaddr-p2pkh"), ("dogecoin", "p2sh")),
        ships_from_pool=("NL", "DE", "GB", "US", "CA", "AU", "ES", "CN"),
        categories={
            "synthetic cathinone": "Research Chemicals", "fentanyl analogue": "Opioids",
            "nitazene": "Opioids", "opioid": "Opioids", "synthetic cannabinoid": "Research Chemicals",
            "stimulant": "Stimulants", "entactogen": "Ecstasy", "psychedelic": "Psychedelics",
            "dissociative": "Dissociatives", "benzodiazepine": "Benzos", "cannabis": "Cannabis",
        },
        cyrillic_share=0.0,
        shows=frozenset({"stock", "sales", "rating", "escrow", "finalize_early", "crypto_prices"}),
        listings_per_page=6,
    ),
    NEBULA: MarketSpec(
        site=NEBULA,
        display_name="Nebula Market",
        vendor_count=10,
        listing_count=56,
        price_currencies=("EUR",),
        crypto_quote="XMR",
        vendor_wallet_kinds=(("bitcoin", "p2wpkh"), ("bitcoin", "p2tr"), ("ethereum", "eoa"), ("tron", "p2pkh")),
        market_wallet_kinds=(("bitcoin", "p2tr"), ("ethereum", "eoa"), ("tron", "p2pkh")),
        ships_from_pool=("NL", "DE", "BE", "FR", "PL", "CZ", "ES", "IT"),
        categories={
            "synthetic cathinone": "NPS & Research", "fentanyl analogue": "Opioids",
            "nitazene": "NPS & Research", "opioid": "Opioids", "synthetic cannabinoid": "NPS & Research",
            "stimulant": "Stimulants", "entactogen": "Stimulants", "psychedelic": "Psychedelics",
            "dissociative": "Psychedelics", "benzodiazepine": "Prescription", "cannabis": "Cannabis",
        },
        cyrillic_share=0.05,
        shows=frozenset({"stock", "sales", "rating", "escrow", "crypto_prices"}),
        listings_per_page=8,
    ),
    TUNDRA: MarketSpec(
        site=TUNDRA,
        display_name="Tundra",
        vendor_count=9,
        listing_count=48,
        price_currencies=("XMR", "BTC"),
        crypto_quote=None,
        vendor_wallet_kinds=(
            ("monero", "subaddress"), ("monero", "standard"), ("zcash", "p2pkh"), ("zcash", "p2sh"),
            ("dash", "p2pkh"),
        ),
        market_wallet_kinds=(("monero", "standard"), ("zcash", "p2sh"), ("dash", "p2sh")),
        ships_from_pool=("RU", "UA", "KZ", "BY", "PL", "NL", "CN", "IN"),
        categories={
            "synthetic cathinone": "Стимуляторы", "fentanyl analogue": "Опиоиды", "nitazene": "Опиоиды",
            "opioid": "Опиоиды", "synthetic cannabinoid": "Синтетика", "stimulant": "Стимуляторы",
            "entactogen": "Стимуляторы", "psychedelic": "Психоделики", "dissociative": "Психоделики",
            "benzodiazepine": "Разное", "cannabis": "Разное",
        },
        cyrillic_share=0.55,
        shows=frozenset({"stock", "sales", "escrow", "finalize_early"}),
        listings_per_page=5,
    ),
}

# Classes whose substances every market must carry (the NPS the issue asks for).
_NPS_FOCUS = ("synthetic cathinone", "fentanyl analogue", "nitazene", "synthetic cannabinoid")

# Cyrillic street names that must appear on Tundra whatever the seed: (substance, term).
_FORCED_CYRILLIC = {
    TUNDRA: (("mephedrone", "мефедрон"), ("alpha-pvp", "соль"), ("mdmb-4en-pinaca", "спайс"),
             ("isotonitazene", "изотонитазен")),
}

# Listing titles that are HTML-injection attempts: pages must escape them and the UI
# must show them as text.
HTML_TRAP_TITLES = {
    OLD_BAZAAR: "<script>alert(1)</script> 3-MMC 5g crystal",
    NEBULA: '"><img src=x onerror=alert(1)> Ketamine needles 10g',
}


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


# --------------------------------------------------------------------------- builders


class _WalletMaker:
    """Makes each wallet once; payloads come from the seed and a running label."""

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self.count = 0

    def make(self, coin: str, kind: str, owner: str, network: str = "mainnet") -> Wallet:
        self.count += 1
        size = {"p2wsh": 32, "p2tr": 32, "standard": 64, "subaddress": 64, "integrated": 72}.get(kind, 20)
        payload = seeded_bytes(self.seed, size, "wallet", self.count, coin, kind)
        address = wallet_codecs.make_address(coin, kind, payload, network)
        checksummed = True if coin == "ethereum" else None
        return Wallet(address, coin, network, kind, [address], checksummed, owner)


def _iso_date(seed_random: random.Random, earliest_days: int, latest_days: int) -> str:
    moment = WORLD_EPOCH - seed_random.randint(latest_days, earliest_days) * 86_400
    return datetime.datetime.fromtimestamp(moment, datetime.timezone.utc).strftime("%Y-%m-%d")


def _handle(rand: random.Random, names: dict[str, tuple[str, ...]], taken: set[str]) -> str:
    while True:
        handle = rand.choice(names["handle_first"]) + rand.choice(names["handle_second"])
        if rand.random() < 0.3:
            handle += str(rand.randint(2, 99))
        if handle.casefold() not in taken:
            taken.add(handle.casefold())
            return handle


def _pgp_for(seed: int, name: str, email: str, rand: random.Random) -> DemoPgpKey:
    created = WORLD_EPOCH - rand.randint(200, 1400) * 86_400 - rand.randint(0, 86_399)
    return make_public_key(seeded_bytes(seed, 32, "pgp", name), f"{name} <{email}>", created)


def _contacts(rand: random.Random, handle: str, names: dict[str, tuple[str, ...]]) -> list[dict[str, str]]:
    user = handle.lower()
    contacts = [{"type": "email", "value": f"{user}@{rand.choice(names['mail_domains'])}"}]
    if rand.random() < 0.6:
        contacts.append({"type": "jabber", "value": f"{user}@{rand.choice(names['jabber_domains'])}"})
    if rand.random() < 0.5:
        contacts.append({"type": "telegram", "value": f"@{user}_shop"})
    return contacts


def _make_vendor(
    seed: int, spec: MarketSpec, handle: str, wallets: _WalletMaker, data: DemoData,
    pgp: DemoPgpKey | None = None, contacts: list[dict[str, str]] | None = None,
    extra_wallets: list[Wallet] | None = None,
) -> Vendor:
    rand = seeded_random(seed, "vendor", spec.site, handle)
    contacts = contacts if contacts is not None else _contacts(rand, handle, data.names)
    if pgp is None:
        pgp = _pgp_for(seed, handle, contacts[0]["value"], rand)
    own_wallets = list(extra_wallets or [])
    for coin, kind in rand.sample(spec.vendor_wallet_kinds, k=2 - min(len(own_wallets), 1)):
        own_wallets.append(wallets.make(coin, kind, owner=f"vendor:{spec.site}:{handle}"))
    decimals = 2 if spec.site == NEBULA else 1
    bio_lines = [
        f"{handle} - trusted since {rand.randint(2019, 2024)}.",
        rand.choice([
            "Stealth shipping, vacuum sealed, no signature required.",
            "We reship once if your parcel is lost. Tracking on request.",
            "Lab tested batches, reagent test photos on request.",
            "Orders before 14:00 ship the same day.",
        ]),
        "Always encrypt your address with our PGP key.",
    ]
    return Vendor(
        site=spec.site,
        name=handle,
        slug=handle.lower(),
        joined=_iso_date(rand, 1500, 120),
        rating=round(rand.uniform(4.2, 5.0), decimals),
        sales=rand.randint(40, 4000),
        bio=" ".join(bio_lines),
        pgp=pgp,
        wallets=own_wallets,
        contacts=contacts,
    )


def _country_list(rand: random.Random, spec: MarketSpec, ships_from: str) -> list[str]:
    roll = rand.random()
    if roll < 0.3:
        return ["WW"]
    if roll < 0.5 and spec.site != TUNDRA:
        return ["EU"]
    pool = [code for code in spec.ships_from_pool if code != ships_from]
    return sorted({ships_from, *rand.sample(pool, k=rand.randint(1, 3))})


def _format_quantity(quantity: float) -> str:
    return f"{quantity:g}"


def _listing_text(
    rand: random.Random, spec: MarketSpec, substance: Substance, quantity: float, form: str,
    ships_from: Country, use_cyrillic: bool, forced_term: str | None = None,
) -> tuple[str, str, list[str]]:
    """Title, description and the substance terms they use."""
    amount = _format_quantity(quantity)
    unit = substance.unit
    terms: list[str] = []
    if use_cyrillic:
        term = forced_term or rand.choice(substance.cyrillic)
        unit_ru = {"g": "г", "tab": " таб", "blotter": " марок"}.get(unit, unit)
        title = rand.choice([
            f"{term.capitalize()} {amount}{unit_ru} ({form})",
            f"{term.upper()} {amount}{unit_ru} — качество",
            f"{term.capitalize()} {amount}{unit_ru}, {substance.display}",
        ])
        terms.append(term)
        if substance.display in title:
            terms.append(substance.display)
        description = (
            f"Чистый {term}, {rand.randint(80, 99)}% ({substance.display}). "
            f"Отправка из: {ships_from.ru}. Упаковка вакуум, трек-номер после оплаты. "
            f"Fresh batch of {substance.display}, {form}."
        )
        if substance.display not in terms:
            terms.append(substance.display)
        return title, description, terms
    synonym = rand.choice(substance.synonyms)
    unit_label = {"g": "g", "tab": " tabs", "blotter": " blotters"}.get(unit, unit)
    title = rand.choice([
        f"{amount}{unit_label} {substance.display} {form}",
        f"{substance.display} ({synonym}) {amount}{unit_label} | {ships_from.name} stock",
        f"{substance.display} {form} - {amount}{unit_label} - top quality",
        f"{amount}{unit_label} {substance.display} {form}, free reship",
    ])
    terms.append(substance.display)
    if synonym in title:
        terms.append(synonym)
    purity = rand.randint(78, 99)
    description = " ".join([
        f"{substance.display} {form}, {purity}% purity (lab tested).",
        rand.choice([
            f"Also known as {synonym}.",
            f"Customers call it {synonym}.",
            "Same batch as last month, feedback speaks for itself.",
        ]),
        f"Ships from {ships_from.name} in vacuum-sealed stealth packaging.",
        rand.choice([
            "Please read my terms before ordering.",
            "No refunds for wrong addresses.",
            "Start low, go slow. Test your product.",
        ]),
    ])
    if synonym in description and synonym not in terms:
        terms.append(synonym)
    return title, description, terms


def _price(
    rand: random.Random, spec: MarketSpec, substance: Substance, quantity: float
) -> tuple[float, str, dict[str, float]]:
    low, high = substance.usd_per_unit
    discount = 1.0 if quantity <= 1 else 0.85 if quantity < 20 else 0.7
    usd = rand.uniform(low, high) * quantity * discount
    currency = spec.price_currencies[0]
    if len(spec.price_currencies) > 1 and rand.random() < 0.35:
        currency = spec.price_currencies[1]
    crypto: dict[str, float] = {}
    if currency == "USD":
        amount = round(usd, 2)
    elif currency == "EUR":
        amount = round(usd * EUR_PER_USD, 2)
    elif currency == "XMR":
        amount = round(usd / USD_PER_XMR, 4)
    else:
        amount = round(usd / USD_PER_BTC, 6)
    if spec.crypto_quote == "BTC":
        crypto["BTC"] = round(usd / USD_PER_BTC, 6)
    elif spec.crypto_quote == "XMR":
        crypto["XMR"] = round(usd / USD_PER_XMR, 4)
    return amount, currency, crypto


def _listing_ids(rand: random.Random, site: str, count: int) -> list[str]:
    if site == OLD_BAZAAR:
        return [str(number) for number in sorted(rand.sample(range(1000, 9999), count))]
    if site == NEBULA:
        ids: set[str] = set()
        while len(ids) < count:
            ids.add(f"{rand.getrandbits(24):06x}")
        return sorted(ids)
    return [f"T{number:04d}" for number in sorted(rand.sample(range(1, 9999), count))]


def _reviews(rand: random.Random, names: dict[str, tuple[str, ...]], count: int) -> list[Review]:
    texts = [
        "Arrived in 3 days, great stealth.", "Good quality, will order again.",
        "Took two weeks but vendor kept me updated.", "As described. 5/5.",
        "Slightly under weight, vendor made it right.", "Best on the market.",
    ]
    return [
        Review(
            buyer=f"{rand.choice(names['forum_user_first'])[0]}***{rand.randint(1, 9)}",
            stars=rand.randint(3, 5),
            text=rand.choice(texts),
            date=_iso_date(rand, 300, 2),
        )
        for _ in range(count)
    ]


def _build_market(
    seed: int, spec: MarketSpec, onion_host: str, data: DemoData, wallets: _WalletMaker,
    taken_handles: set[str], shared_vendors: list[Vendor],
) -> MarketWorld:
    rand = seeded_random(seed, "market", spec.site)
    vendors = list(shared_vendors)
    while len(vendors) < spec.vendor_count:
        vendors.append(_make_vendor(seed, spec, _handle(rand, data.names, taken_handles), wallets, data))
    market_wallets = [
        wallets.make(coin, kind, owner=f"market:{spec.site}") for coin, kind in spec.market_wallet_kinds
    ]

    substances_by_class: dict[str, list[Substance]] = {}
    for substance in data.substances:
        substances_by_class.setdefault(substance.substance_class, []).append(substance)
    # Every market carries each NPS class; the rest of the catalogue is drawn at random.
    picks: list[Substance] = []
    for substance_class in _NPS_FOCUS:
        picks.extend(rand.sample(substances_by_class[substance_class], k=min(2, len(substances_by_class[substance_class]))))
    while len(picks) < spec.listing_count - len(_FORCED_CYRILLIC.get(spec.site, ())):
        picks.append(rand.choice(data.substances))
    rand.shuffle(picks)
    # Street names the substance lexicon must know appear on every seed.
    by_name = {substance.name: substance for substance in data.substances}
    forced_terms: dict[int, str] = {}
    for substance_name, term in _FORCED_CYRILLIC.get(spec.site, ()):
        forced_terms[len(picks)] = term
        picks.append(by_name[substance_name])

    listing_ids = _listing_ids(rand, spec.site, spec.listing_count)
    trap_title = HTML_TRAP_TITLES.get(spec.site)
    listings: list[Listing] = []
    for index, (listing_id, substance) in enumerate(zip(listing_ids, picks)):
        vendor = vendors[index % len(vendors)] if index < len(vendors) else rand.choice(vendors)
        ships_from = data.countries[rand.choice(spec.ships_from_pool)]
        quantity = rand.choice(substance.quantities)
        form = rand.choice(substance.forms)
        use_cyrillic = rand.random() < spec.cyrillic_share or index in forced_terms
        title, description, terms = _listing_text(
            rand, spec, substance, quantity, form, ships_from, use_cyrillic, forced_terms.get(index)
        )
        amount, currency, crypto = _price(rand, spec, substance, quantity)
        shows = spec.shows
        escrow: bool | None = None
        finalize_early: bool | None = None
        listing_wallets: list[Wallet] = []
        if spec.site == NEBULA:
            escrow = True  # every Nebula order is escrowed; the page says so
        else:
            finalize_early = rand.random() < 0.3
            escrow = not finalize_early
        if spec.site == OLD_BAZAAR and finalize_early:
            listing_wallets.append(vendor.wallets[0])
        if spec.site == TUNDRA:
            listing_wallets.append(wallets.make("monero", "integrated", owner=f"listing:{spec.site}:{listing_id}"))
        listings.append(
            Listing(
                site=spec.site,
                listing_id=listing_id,
                title=title,
                description=description,
                price_amount=amount,
                price_currency=currency,
                crypto_prices=crypto if "crypto_prices" in shows else {},
                vendor=vendor,
                category=spec.categories[substance.substance_class],
                ships_from=[ships_from.alpha2],
                ships_to=_country_list(rand, spec, ships_from.alpha2),
                escrow=escrow if "escrow" in shows else None,
                finalize_early=finalize_early if "finalize_early" in shows else None,
                stock=rand.randint(1, 250) if "stock" in shows else None,
                sales=rand.randint(0, 900) if "sales" in shows else None,
                rating=round(rand.uniform(3.8, 5.0), 1) if "rating" in shows else None,
                substances=[substance.name],
                substance_classes=[substance.substance_class],
                substance_terms=terms,
                wallets=listing_wallets,
                quantity=quantity,
                unit=substance.unit,
                form=form,
                reviews=_reviews(rand, data.names, rand.randint(0, 4)),
            )
        )
    if trap_title:
        # The trap replaces the title of a 3-MMC or ketamine listing so that its
        # substance stays true to the text.
        wanted = "3-mmc" if "3-MMC" in trap_title else "ketamine"
        target = next((listing for listing in listings if listing.substances == [wanted]), None)
        if target is None:
            target = listings[-1]
            substance = next(item for item in data.substances if item.name == wanted)
            target.substances = [substance.name]
            target.substance_classes = [substance.substance_class]
            target.category = spec.categories[substance.substance_class]
            target.description = f"{substance.display} {substance.forms[0]}, lab tested."
        target.title = trap_title
        target.substance_terms = ["3-MMC" if wanted == "3-mmc" else "Ketamine"]
    categories = sorted({listing.category for listing in listings})
    for listing in listings:
        listing.url = paths.absolute_url(onion_host, paths.listing_path(spec.site, listing.listing_id))
    for vendor in vendors:
        vendor.profile_url = paths.absolute_url(onion_host, paths.vendor_path(spec.site, vendor.slug))
    return MarketWorld(spec, onion_host, vendors, listings, market_wallets, categories)


def _corrupt(rand: random.Random, wallet: Wallet) -> Decoy:
    """Change one character so the checksum fails but the shape stays plausible."""
    address = wallet.address
    if wallet.coin == "ethereum":
        letters = [index for index, char in enumerate(address) if index > 1 and char.isalpha()]
        while True:
            index = rand.choice(letters)
            text = address[:index] + address[index].swapcase() + address[index + 1 :]
            body = text[2:]
            if body != body.lower() and body != body.upper():
                break
    else:
        if wallet.coin == "bitcoin-cash" or address.lower().startswith(("bc1", "ltc1", "tb1")):
            alphabet = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
        else:
            alphabet = wallet_codecs.BASE58_ALPHABET
        start = address.index(":") + 1 if ":" in address else (address.index("1") + 1 if address[:3] in ("bc1", "ltc") else 0)
        index = rand.randrange(max(start, 4), len(address) - 1)
        replacement = rand.choice([char for char in alphabet if char != address[index]])
        text = address[:index] + replacement + address[index + 1 :]
    return Decoy(text=text, looks_like=wallet.coin, address_type=wallet.address_type, corrupted_from=address)


_DECOY_KINDS = (
    ("bitcoin", "p2pkh"), ("bitcoin", "p2wpkh"), ("monero", "standard"), ("ethereum", "eoa"),
    ("litecoin", "p2pkh"), ("tron", "p2pkh"), ("bitcoin-cash", "cashaddr-p2pkh"),
)


def _malformed_pgp_block(key: DemoPgpKey) -> str:
    """The key's armor with one base64 character changed, so its CRC24 fails."""
    lines = key.armored.split("\n")
    body_line = lines[2]
    swapped = "B" if body_line[10] != "B" else "C"
    lines[2] = body_line[:10] + swapped + body_line[11:]
    return "\n".join(lines)


def build_world(seed: int, onion_hosts: dict[str, str], data: DemoData | None = None) -> World:
    """Draw the whole world from ``seed``; ``onion_hosts`` maps each site to its host."""
    data = data or load_demo_data()
    wallets = _WalletMaker(seed)
    rand = seeded_random(seed, "world")
    taken_handles: set[str] = set()

    # The vendor who sells on Old Bazaar and on Nebula: same name, same PGP key,
    # one shared bech32 wallet (the cross-market link investigators look for).
    shared_handle = _handle(rand, data.names, taken_handles)
    shared_rand = seeded_random(seed, "shared-vendor")
    shared_contacts = _contacts(shared_rand, shared_handle, data.names)
    shared_key = _pgp_for(seed, shared_handle, shared_contacts[0]["value"], shared_rand)
    shared_wallet = wallets.make("bitcoin", "p2wpkh", owner=f"vendor:*:{shared_handle}")
    shared_on = {
        market: _make_vendor(
            seed, MARKET_SPECS[market], shared_handle, wallets, data,
            pgp=shared_key, contacts=shared_contacts, extra_wallets=[shared_wallet],
        )
        for market in (OLD_BAZAAR, NEBULA)
    }

    markets: dict[str, MarketWorld] = {}
    for market in MARKET_NAMES:
        shared = [shared_on[market]] if market in shared_on else []
        markets[market] = _build_market(
            seed, MARKET_SPECS[market], onion_hosts[market], data, wallets, taken_handles, shared
        )

    decoy_rand = seeded_random(seed, "decoys")
    decoys = [
        _corrupt(decoy_rand, wallets.make(coin, kind, owner="decoy-source")) for coin, kind in _DECOY_KINDS
    ]
    dead_onion_hosts = [derived_onion_host(seed, f"dead-{index}") for index in range(3)]
    legacy_onion_hosts = [
        "".join(decoy_rand.choice("abcdefghijklmnopqrstuvwxyz234567") for _ in range(16)) + ".onion"
    ]
    malformed_pgp_block = _malformed_pgp_block(markets[NEBULA].vendors[2].pgp)
    forum = _build_forum(
        seed, onion_hosts, markets, data, wallets, decoys, dead_onion_hosts, legacy_onion_hosts, malformed_pgp_block
    )
    tundra_alias = markets[TUNDRA].vendors[1]
    forum_alias = next(user for user in forum.users if user.name == tundra_alias.name)
    cross_market = [
        {
            "name": shared_handle,
            "pgp_fingerprint": shared_key.fingerprint,
            "shared_wallets": [shared_wallet.address],
            "appearances": [
                {"site": market, "name": shared_on[market].name} for market in (OLD_BAZAAR, NEBULA)
            ],
        },
        {
            "name": tundra_alias.name,
            "pgp_fingerprint": tundra_alias.pgp.fingerprint,
            "shared_wallets": [tundra_alias.wallets[0].address],
            "appearances": [
                {"site": TUNDRA, "name": tundra_alias.name},
                {"site": FORUM_NAME, "name": forum_alias.name},
            ],
        },
    ]
    return World(
        seed=seed,
        onion_hosts=dict(onion_hosts),
        markets=markets,
        forum=forum,
        decoys=decoys,
        dead_onion_hosts=dead_onion_hosts,
        legacy_onion_hosts=legacy_onion_hosts,
        malformed_pgp_block=malformed_pgp_block,
        cross_market=cross_market,
        data=data,
    )


# --------------------------------------------------------------------------- forum

_BOARDS = (
    ("announcements", "Vendor announcements", "Vendors post news, keys and restocks."),
    ("reviews", "Market reviews", "Buyers review markets and vendors."),
    ("harm-reduction", "Harm reduction", "Dosing, testing kits, NPS warnings."),
    ("scams", "Scam reports", "Exit scams, fake vendors, phishing mirrors."),
    ("links", "Links directory", "Verified onion links. Check PGP-signed mirrors."),
)


def _build_forum(
    seed: int, onion_hosts: dict[str, str], markets: dict[str, MarketWorld], data: DemoData,
    wallets: _WalletMaker, decoys: list[Decoy], dead_onion_hosts: list[str], legacy_onion_hosts: list[str],
    malformed_pgp_block: str,
) -> ForumWorld:
    rand = seeded_random(seed, "forum")
    names = data.names
    users: list[ForumUser] = []
    taken: set[str] = set()
    while len(users) < 22:
        name = f"{rand.choice(names['forum_user_first'])}_{rand.choice(names['forum_user_second'])}{rand.randint(1, 999)}"
        if name in taken:
            continue
        taken.add(name)
        users.append(ForumUser(name=name, joined=_iso_date(rand, 1200, 10), signature=""))
    # Donation signatures: a handful of coins, one written all lower-case (EVM,
    # unchecksummed) and one testnet address.
    donation_kinds = [("bitcoin", "p2wpkh"), ("litecoin", "p2wpkh"), ("ethereum", "eoa"), ("dogecoin", "p2pkh"),
                      ("bitcoin", "p2tr"), ("monero", "subaddress")]
    for user, (coin, kind) in zip(users[:6], donation_kinds):
        wallet = wallets.make(coin, kind, owner=f"forum-user:{user.name}")
        if coin == "ethereum":
            wallet.written_as = [wallet.address.lower()]
            wallet.checksummed = False
        user.wallets.append(wallet)
        user.signature = f"Donations welcome: {wallet.written_as[0]}"
    testnet_wallet = wallets.make("bitcoin", "p2wpkh", owner=f"forum-user:{users[6].name}", network="testnet")
    users[6].wallets.append(testnet_wallet)
    users[6].signature = f"Testing my node, testnet faucet: {testnet_wallet.address}"
    for user in users[7:10]:
        user.contacts = _contacts(rand, user.name, names)
        user.signature = f"PM me or mail {user.contacts[0]['value']}"

    # The Tundra vendor who also posts on the forum, with the same key and wallet.
    tundra_vendor = markets[TUNDRA].vendors[1]
    alias = ForumUser(
        name=tundra_vendor.name,
        joined=_iso_date(rand, 900, 100),
        signature=f"Official account of {tundra_vendor.name} (Tundra). Direct deals: {tundra_vendor.wallets[0].address}",
        pgp=tundra_vendor.pgp,
        wallets=[tundra_vendor.wallets[0]],
        contacts=list(tundra_vendor.contacts),
    )
    users.append(alias)
    shared_vendor = markets[OLD_BAZAAR].vendors[0]

    def host_of(site: str) -> str:
        return onion_hosts[site]

    boards = [ForumBoard(slug, title, description) for slug, title, description in _BOARDS]
    board_by_slug = {board.slug: board for board in boards}
    thread_id = 100
    chatter = [
        "Anyone else waiting on an order this week?", "Thanks for the heads up.",
        "Can confirm, received mine yesterday.", "Use a reagent kit, always.",
        "Stay safe out there.", "Bump.", "Mods, please pin this.",
        "Prices went up again since the last exit scam.",
        "Careful with nitazenes, they are far stronger than heroin.",
        "Fentanyl test strips saved my friend, buy them.",
    ]

    def new_thread(board_slug: str, title: str, first_posts: list[tuple[ForumUser, list[Segment]]], replies: int) -> None:
        nonlocal thread_id
        thread_id += rand.randint(1, 17)
        posts = [ForumPost(author, _iso_date(rand, 400, 1), body) for author, body in first_posts]
        for _ in range(replies):
            posts.append(ForumPost(rand.choice(users), _iso_date(rand, 400, 1), [("text", rand.choice(chatter))]))
        # URLs stay ASCII so their canonical form is unambiguous.
        slug = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")[:40].strip("-") or "thread"
        board_by_slug[board_slug].threads.append(ForumThread(thread_id, slug, title, board_slug, posts))

    market_titles = {market: MARKET_SPECS[market].display_name for market in MARKET_NAMES}
    # Links directory: bare onion addresses in text, hrefs, dead mirrors, a legacy v2 address.
    link_lines: list[Segment] = [("text", "Verified links (updated weekly):"), ("break",)]
    for market in MARKET_NAMES:
        link_lines += [("text", f"{market_titles[market]}: {host_of(market)}"), ("break",)]
    link_lines += [("text", f"Old Bazaar mirror (down since spring): {dead_onion_hosts[0]}"), ("break",),
                   ("text", f"Ancient v2 link, dead forever: {legacy_onion_hosts[0]}"), ("break",)]
    new_thread("links", "Market links - verified onion addresses", [(users[10], link_lines)], 6)
    clickable: list[Segment] = [("text", "Clickable versions:"), ("break",)]
    for market in MARKET_NAMES:
        clickable += [("link", f"http://{host_of(market)}/", market_titles[market]), ("break",)]
    clickable += [("link", f"http://{dead_onion_hosts[1]}/", "Nebula backup mirror (offline)")]
    new_thread("links", "Clickable market list", [(users[11], clickable)], 3)
    new_thread("links", "How to spot phishing mirrors",
               [(users[12], [("text", f"Phishing clone of Tundra seen at {dead_onion_hosts[2]} - it steals your XMR. "
                                      f"The real one is {host_of(TUNDRA)}.")])], 4)

    # Vendor announcements, incl. the cross-market vendor and the Tundra alias posting keys.
    new_thread("announcements", f"{alias.name} - new PGP key and XMR address",
               [(alias, [("text", "Our key, verify before ordering:"), ("pre", alias.pgp.armored if alias.pgp else ""),
                         ("text", f"Direct deals only, pay to: {tundra_vendor.wallets[0].address}")])], 5)
    new_thread("announcements", f"{shared_vendor.name} now also on Nebula",
               [(users[13], [("text", f"Saw {shared_vendor.name} opened a shop on Nebula too, same PGP "
                                      f"({shared_vendor.pgp.fingerprint}). Legit? "),
                             ("link", markets[NEBULA].vendors[0].profile_url, "their Nebula shop")])], 7)
    for market in MARKET_NAMES:
        vendor = markets[market].vendors[3]
        new_thread("announcements", f"Restock at {vendor.name} ({market_titles[market]})",
                   [(users[14], [("text", f"{vendor.name} restocked. Contact: {vendor.contacts[0]['value']}. Shop: "),
                                 ("link", vendor.profile_url, vendor.name)])], rand.randint(2, 9))

    # Scam reports: decoy addresses (bad checksums) and a malformed PGP block.
    decoy_lines: list[Segment] = [("text", "Fake vendor collected payments at these addresses, DO NOT PAY:"), ("break",)]
    for decoy in [*decoys[:4], *decoys[6:]]:
        decoy_lines += [("text", f"{decoy.looks_like}: {decoy.text}"), ("break",)]
    new_thread("scams", "Fake vendor impersonating real ones - addresses inside", [(users[15], decoy_lines)], 8)
    new_thread("scams", "Exit scam at a closed market",
               [(users[16], [("text", f"They kept our coins. Their last deposit address was {decoys[4].text} "
                                      f"(typo'd on purpose by the mods). Also {decoys[5].text}.")])], 6)
    new_thread("scams", "Forged PGP key posted by impersonator",
               [(users[17], [("text", "This key block was posted by the impersonator, it does not even parse:"),
                             ("pre", malformed_pgp_block)])], 3)

    # Harm reduction and reviews: plain chatter, some Cyrillic, some NPS names.
    harm_titles = [
        "Nitazene warning: isotonitazene and protonitazene in fake oxy",
        "Синтетические катиноны: мефедрон и соль - дозировка",
        "Spice (MDMB-4en-PINACA) is not weed", "Reagent kits: which one for 3-MMC vs 4-CMC",
        "Fentanyl test strips - where to get", "Kratom vs opioids", "Ketamine bladder issues",
        "Alpha-PVP psychosis stories", "Safe dosing for ADB-BUTINACA? (there is none)",
    ]
    for title in harm_titles:
        new_thread("harm-reduction", title, [(rand.choice(users), [("text", title + ". " + rand.choice(chatter))])],
                   rand.randint(1, 15))
    for market in MARKET_NAMES:
        for number in range(4):
            vendor = rand.choice(markets[market].vendors)
            new_thread("reviews", f"{market_titles[market]} review #{number + 1}: {vendor.name}",
                       [(rand.choice(users), [("text", f"Ordered from {vendor.name} on {market_titles[market]}. "
                                                        + rand.choice(chatter))])], rand.randint(0, 13))
    for board in boards:
        board.threads.sort(key=lambda thread: -thread.thread_id)
    users.sort(key=lambda user: user.name.casefold())
    return ForumWorld(onion_host=host_of(FORUM_NAME), users=users, boards=boards)
