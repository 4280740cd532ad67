"""Nebula Market: a modern card/grid market with schema.org JSON-LD and microdata.

Structure the extractors meet here: product cards with ``itemprop`` microdata,
a ``<script type="application/ld+json">`` Product on every product page
(offers, seller, aggregateRating), prices written the European way
(``176,02 €``, the machine value in ``content="176.02"``), countries as ISO
alpha-2 codes, and ``/c/<slug>/page/N/`` pagination.  ``render(world)``
returns a :class:`~harness.demo.markets.markup.RenderedSite`.
"""

from __future__ import annotations

from harness.demo import paths
from harness.demo.markets.markup import (
    RenderedSite, document, esc, format_amount, json_for_script, paginate,
)
from harness.demo.site_names import FORUM_NAME, NEBULA, OLD_BAZAAR
from harness.demo.world.entities import Listing, MarketWorld, Vendor, World

_STYLE = (
    ":root{--bg:#0b0e1a;--fg:#e6e8f0}body{background:var(--bg);color:var(--fg);font-family:system-ui}"
    ".grid{display:grid;grid-template-columns:repeat(4,1fr);gap:1rem}.card{border-radius:12px;padding:1rem}"
)
_COIN_LABELS = {"bitcoin": "Bitcoin", "ethereum": "Ethereum (ERC-20 USDT ok)", "tron": "TRON (USDT TRC-20)"}


def _euros(amount: float) -> str:
    return format_amount(amount, 2).replace(".", ",") + "\u00a0€"


def _frame(world: World, market: MarketWorld, title: str, main: str, head: str = "") -> str:
    nav = "".join(
        f'<li><a href="{esc(paths.category_path(NEBULA, market.categories, label))}">{esc(label)}</a></li>'
        for label in market.categories
    )
    body = (
        '<header class="topbar"><a class="brand" href="/">✦ Nebula</a>'
        f'<nav><ul class="cats">{nav}</ul></nav>'
        '<a class="btn" href="/vendors/">Vendors</a></header>'
        f"<main>{main}</main>"
        '<footer><a href="/about/">About &amp; canary</a> · <a href="/support/">Support</a> · '
        f'<a href="http://{esc(world.onion_hosts[FORUM_NAME])}/forum/reviews/">Reviews on Hush</a> · '
        f'Also trusted: <a href="http://{esc(world.onion_hosts[OLD_BAZAAR])}/">Old Bazaar</a></footer>'
    )
    return document(f"{title} | Nebula Market", body, head=head, style=_STYLE)


def _card(listing: Listing) -> str:
    url = paths.listing_path(NEBULA, listing.listing_id)
    image = paths.listing_image_path(NEBULA, listing.listing_id)
    return (
        '<article class="card" itemscope itemtype="https://schema.org/Product">'
        f'<a href="{esc(url)}" itemprop="url"><img src="{esc(image)}" alt="" loading="lazy">'
        f'<h3 itemprop="name">{esc(listing.title)}</h3></a>'
        '<div itemprop="offers" itemscope itemtype="https://schema.org/Offer">'
        f'<span class="price">{_euros(listing.price_amount)}</span>'
        f'<meta itemprop="price" content="{format_amount(listing.price_amount, 2)}">'
        '<meta itemprop="priceCurrency" content="EUR"></div>'
        f'<span class="seller">by <a href="{esc(paths.vendor_path(NEBULA, listing.vendor.slug))}">{esc(listing.vendor.name)}</a></span>'
        "</article>"
    )


def _grid(listings: list[Listing]) -> str:
    return '<section class="grid">' + "".join(_card(listing) for listing in listings) + "</section>"


def _ships(codes: list[str]) -> str:
    names = {"WW": "Worldwide", "EU": "EU"}
    return "".join(f'<li data-code="{esc(code)}">{esc(names.get(code, code))}</li>' for code in codes)


def _product_page(world: World, market: MarketWorld, listing: Listing, site: RenderedSite) -> str:
    vendor = listing.vendor
    image = paths.listing_image_path(NEBULA, listing.listing_id)
    site.media.add(image)
    structured = {
        "@context": "https://schema.org",
        "@type": "Product",
        "name": listing.title,
        "description": listing.description,
        "sku": listing.listing_id,
        "category": listing.category,
        "image": image,
        "offers": {
            "@type": "Offer",
            "price": format_amount(listing.price_amount, 2),
            "priceCurrency": "EUR",
            "availability": "https://schema.org/InStock",
            "inventoryLevel": {"@type": "QuantitativeValue", "value": listing.stock},
            "seller": {"@type": "Organization", "name": vendor.name},
        },
        "aggregateRating": {
            "@type": "AggregateRating", "ratingValue": listing.rating, "reviewCount": len(listing.reviews),
        },
    }
    head = f'<script type="application/ld+json">{json_for_script(structured)}</script>'
    reviews = "".join(
        f'<li><b>{"★" * review.stars}</b> {esc(review.text)} <small>{esc(review.buyer)}, {esc(review.date)}</small></li>'
        for review in listing.reviews
    )
    main = (
        '<div class="product" itemscope itemtype="https://schema.org/Product">'
        f'<nav class="crumbs"><a href="/">Home</a> › <a href="{esc(paths.category_path(NEBULA, market.categories, listing.category))}">'
        f'<span itemprop="category">{esc(listing.category)}</span></a></nav>'
        f'<h1 itemprop="name">{esc(listing.title)}</h1>'
        f'<figure><img src="{esc(image)}" alt="{esc(listing.title)}"><figcaption>'
        f'<a href="{esc(image)}" target="_blank">Open image</a></figcaption></figure>'
        '<div class="buybox" itemprop="offers" itemscope itemtype="https://schema.org/Offer">'
        f'<div class="price">{_euros(listing.price_amount)}</div>'
        f'<meta itemprop="price" content="{format_amount(listing.price_amount, 2)}"><meta itemprop="priceCurrency" content="EUR">'
        f'<div class="crypto">≈ {format_amount(listing.crypto_prices["XMR"], 4)} XMR</div>'
        f'<div class="stock">{listing.stock} in stock · {listing.sales} sold</div>'
        '<span class="badge escrow">Escrow protected</span>'
        f'<div class="seller" itemprop="seller" itemscope itemtype="https://schema.org/Organization">Sold by '
        f'<a href="{esc(paths.vendor_path(NEBULA, vendor.slug))}"><span itemprop="name">{esc(vendor.name)}</span></a></div></div>'
        f'<div class="rating">★ {listing.rating} ({len(listing.reviews)} reviews)</div>'
        '<dl class="shipping">'
        f'<dt>Ships from</dt><dd><ul class="ship-from">{_ships(listing.ships_from)}</ul></dd>'
        f'<dt>Ships to</dt><dd><ul class="ship-to">{_ships(listing.ships_to)}</ul></dd></dl>'
        f'<section class="description" itemprop="description">{esc(listing.description)}</section>'
        f'<section class="reviews"><h2>Reviews</h2><ul>{reviews}</ul></section></div>'
    )
    return _frame(world, market, listing.title, main, head)


def _vendor_page(world: World, market: MarketWorld, vendor: Vendor) -> str:
    listings = [listing for listing in market.listings if listing.vendor is vendor]
    contacts = "".join(
        f'<li class="contact-{esc(contact["type"])}">{esc(contact["type"].title())}: {esc(contact["value"])}</li>'
        for contact in vendor.contacts
    )
    wallets = "".join(
        f'<li><span class="coin">{esc(_COIN_LABELS[wallet.coin])}</span> <code>{esc(wallet.written_as[0])}</code></li>'
        for wallet in vendor.wallets
    )
    main = (
        f'<section class="vendor-card"><h1>{esc(vendor.name)}</h1>'
        f'<p class="stats">★ {vendor.rating:.2f} · {vendor.sales} sales · joined {esc(vendor.joined)}</p>'
        f'<p class="bio">{esc(vendor.bio)}</p><ul class="contacts">{contacts}</ul>'
        f'<h2>Custom orders - pay to</h2><ul class="wallets">{wallets}</ul>'
        f'<details open><summary>PGP key</summary><pre>{esc(vendor.pgp.armored)}</pre></details>'
        f'<a href="{esc(paths.vendor_path(NEBULA, vendor.slug))}reviews/">Feedback</a></section>'
        f"<h2>Products</h2>{_grid(listings)}"
    )
    return _frame(world, market, vendor.name, main)


def _vendor_reviews_page(world: World, market: MarketWorld, vendor: Vendor) -> str:
    reviews = [review for listing in market.listings if listing.vendor is vendor for review in listing.reviews]
    items = "".join(f"<li>{'★' * review.stars} {esc(review.text)} - {esc(review.date)}</li>" for review in reviews)
    main = (
        f'<h1>Feedback for <a href="{esc(paths.vendor_path(NEBULA, vendor.slug))}">{esc(vendor.name)}</a></h1>'
        f"<ul>{items or '<li>No feedback yet.</li>'}</ul>"
    )
    return _frame(world, market, f"Feedback {vendor.name}", main)


def render(world: World) -> RenderedSite:
    market = world.markets[NEBULA]
    site = RenderedSite()
    tiles = "".join(
        f'<a class="tile" href="{esc(paths.category_path(NEBULA, market.categories, label))}">{esc(label)}</a>'
        for label in market.categories
    )
    site.add("/", "home", _frame(
        world, market, "Home",
        f'<section class="hero"><h1>Nebula Market</h1><p>Escrow on every order.</p></section>'
        f'<section class="tiles">{tiles}</section><h2>New arrivals</h2>{_grid(market.listings[-8:])}',
    ))
    for listing in market.listings:
        site.media.add(paths.listing_image_path(NEBULA, listing.listing_id))
    for label in market.categories:
        in_category = [listing for listing in market.listings if listing.category == label]
        pages = paginate(in_category, market.spec.listings_per_page)
        for number, page_listings in enumerate(pages, start=1):
            pager = "".join(
                f'<a class="page{" current" if other == number else ""}" '
                f'href="{esc(paths.category_path(NEBULA, market.categories, label, other))}">{other}</a>'
                for other in range(1, len(pages) + 1)
            )
            if number < len(pages):
                pager += f'<a rel="next" href="{esc(paths.category_path(NEBULA, market.categories, label, number + 1))}">Next ›</a>'
            site.add(
                paths.category_path(NEBULA, market.categories, label, number),
                "category",
                _frame(world, market, f"{label} - page {number}",
                       f'<h1>{esc(label)}</h1>{_grid(page_listings)}<nav class="pager">{pager}</nav>'),
            )
    for listing in market.listings:
        site.add(paths.listing_path(NEBULA, listing.listing_id), "listing", _product_page(world, market, listing, site))
    for vendor in market.vendors:
        site.add(paths.vendor_path(NEBULA, vendor.slug), "vendor", _vendor_page(world, market, vendor))
        site.add(paths.vendor_path(NEBULA, vendor.slug) + "reviews/", "vendor-reviews",
                 _vendor_reviews_page(world, market, vendor))
    vendor_cards = "".join(
        f'<li><a href="{esc(paths.vendor_path(NEBULA, vendor.slug))}">{esc(vendor.name)}</a> ★ {vendor.rating:.2f}</li>'
        for vendor in market.vendors
    )
    site.add("/vendors/", "vendor-directory", _frame(world, market, "Vendors", f"<h1>Vendors</h1><ul>{vendor_cards}</ul>"))
    canary = "".join(
        f"<li>{esc(_COIN_LABELS[wallet.coin])}: <code>{esc(wallet.address)}</code></li>" for wallet in market.market_wallets
    )
    site.add("/about/", "info", _frame(
        world, market, "About",
        "<h1>About Nebula</h1><p>Warrant canary: as of 2025-11-30 we have not received any legal requests.</p>"
        f"<h2>Market escrow wallets</h2><ul>{canary}</ul>",
    ))
    decoy = next(decoy for decoy in world.decoys if decoy.looks_like == "ethereum")
    site.add("/support/", "info", _frame(
        world, market, "Support",
        "<h1>Support</h1><p>Write to support@nebula-help.example (PGP required).</p>"
        f"<p>Warning: a phishing site asks for USDT at <code>{esc(decoy.text)}</code>. That is not us.</p>",
    ))
    return site
