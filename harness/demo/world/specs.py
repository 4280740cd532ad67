"""How each demo market differs from the others: the table the builders and the renderers read.

Public API:

* :class:`MarketSpec` and :data:`MARKET_SPECS` (one per market site);
* :data:`EUR_PER_USD`, :data:`USD_PER_BTC`, :data:`USD_PER_XMR` -- fixed exchange rates;
* :data:`NPS_FOCUS` -- the substance classes every market carries;
* :data:`FORCED_CYRILLIC` -- street names that appear on a market whatever the seed;
* :data:`HTML_TRAP_TITLES` -- listing titles that try HTML injection.

Constants only.
"""

from __future__ import annotations

from dataclasses import dataclass

from harness.demo.site_names import NEBULA, OLD_BAZAAR, TUNDRA

# Fixed exchange rates: prices in the ground truth are exactly what pages show.
EUR_PER_USD = 0.92
USD_PER_BTC = 65_000.0
USD_PER_XMR = 160.0


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
NPS_FOCUS = ("synthetic cathinone", "fentanyl analogue", "nitazene", "synthetic cannabinoid")

# Cyrillic street names that must appear on Tundra whatever the seed: (substance, term).
FORCED_CYRILLIC = {
    TUNDRA: (("mephedrone", "мефедрон"), ("alpha-pvp", "соль"), ("mdmb-4en-pinaca", "спайс"),
             ("isotonitazene", "изотонитазен")),
}

# Listing titles that are HTML-injection attempts: pages must escape them and the UI
# must show them as text.
HTML_TRAP_TITLES = {
    OLD_BAZAAR: "<script>alert(1)</script> 3-MMC 5g crystal",
    NEBULA: '"><img src=x onerror=alert(1)> Ketamine needles 10g',
}
