"""Draws each demo market's entities: its vendors, listings, prices and wallets.

(The HTML of each market is :mod:`harness.demo.markets`; this module only
decides what the market holds.)

Public API:

* :func:`build_market` ``(seed, spec, onion_host, data, wallets, taken_handles,
  shared_vendors) -> MarketWorld``;
* :func:`make_vendor` ``(seed, spec, handle, wallets, data, ...) -> Vendor``.

Deterministic: every choice comes from :func:`~harness.demo.world.seeding.seeded_random`.
"""

from __future__ import annotations

import random

from harness.demo import paths
from harness.demo.openpgp import DemoPgpKey
from harness.demo.site_names import NEBULA, OLD_BAZAAR, TUNDRA
from harness.demo.world.entities import Listing, MarketWorld, Review, Vendor, Wallet
from harness.demo.world.identities import WalletMaker, draw_contacts, draw_handle, pgp_key_for
from harness.demo.world.lexicon import Country, DemoData, Substance
from harness.demo.world.seeding import iso_date, seeded_random
from harness.demo.world.specs import (
    EUR_PER_USD, FORCED_CYRILLIC, HTML_TRAP_TITLES, NPS_FOCUS, USD_PER_BTC, USD_PER_XMR, MarketSpec,
)


def make_vendor(
    seed: int, spec: MarketSpec, handle: str, wallets: WalletMaker, data: DemoData,
    pgp: DemoPgpKey | None = None, contacts: list[dict[str, str]] | None = None,
    extra_wallets: list[Wallet] | None = None,
) -> Vendor:
    rand = seeded_random(seed, "vendor", spec.site, handle)
    contacts = contacts if contacts is not None else draw_contacts(rand, handle, data.names)
    if pgp is None:
        pgp = pgp_key_for(seed, handle, contacts[0]["value"], rand)
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
        joined=iso_date(rand, 1500, 120),
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
            date=iso_date(rand, 300, 2),
        )
        for _ in range(count)
    ]


def build_market(
    seed: int, spec: MarketSpec, onion_host: str, data: DemoData, wallets: WalletMaker,
    taken_handles: set[str], shared_vendors: list[Vendor],
) -> MarketWorld:
    rand = seeded_random(seed, "market", spec.site)
    vendors = list(shared_vendors)
    while len(vendors) < spec.vendor_count:
        vendors.append(make_vendor(seed, spec, draw_handle(rand, data.names, taken_handles), wallets, data))
    market_wallets = [
        wallets.make(coin, kind, owner=f"market:{spec.site}") for coin, kind in spec.market_wallet_kinds
    ]

    substances_by_class: dict[str, list[Substance]] = {}
    for substance in data.substances:
        substances_by_class.setdefault(substance.substance_class, []).append(substance)
    # Every market carries each NPS class; the rest of the catalogue is drawn at random.
    picks: list[Substance] = []
    for substance_class in NPS_FOCUS:
        picks.extend(rand.sample(substances_by_class[substance_class], k=min(2, len(substances_by_class[substance_class]))))
    while len(picks) < spec.listing_count - len(FORCED_CYRILLIC.get(spec.site, ())):
        picks.append(rand.choice(data.substances))
    rand.shuffle(picks)
    # Street names the substance lexicon must know appear on every seed.
    by_name = {substance.name: substance for substance in data.substances}
    forced_terms: dict[int, str] = {}
    for substance_name, term in FORCED_CYRILLIC.get(spec.site, ()):
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
