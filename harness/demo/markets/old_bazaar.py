"""Old Bazaar: an old-school, table-based market with PHP-style query URLs.

Structure the extractors meet here: layout tables, ``<td><b>Label:</b></td><td>value</td>``
rows on listing pages, prices as ``$66.46`` with ``~ 0.001022 BTC`` beside
them, countries as English names ("United Kingdom", "Worldwide"), escrow or
"Finalize Early", and ``category.php?id=N&page=M`` pagination.  ``render(world)``
returns a :class:`~harness.demo.markets.markup.RenderedSite`.
"""

from __future__ import annotations

from harness.demo import paths
from harness.demo.markets.markup import RenderedSite, document, esc, format_amount, paginate
from harness.demo.site_names import FORUM_NAME, NEBULA, OLD_BAZAAR
from harness.demo.world.entities import Listing, MarketWorld, Vendor, World

_STYLE = "body{background:#d8d0c0;font-family:Verdana,sans-serif;font-size:12px}td.lbl{width:130px}"
_COIN_LABELS = {
    "bitcoin": "BTC", "litecoin": "LTC", "bitcoin-cash": "BCH", "dogecoin": "DOGE",
}


def _frame(market: MarketWorld, title: str, content: str) -> str:
    nav = "".join(
        f'<tr><td><a href="{esc(paths.category_path(OLD_BAZAAR, market.categories, label))}">{esc(label)}</a>'
        f" ({sum(1 for listing in market.listings if listing.category == label)})</td></tr>"
        for label in market.categories
    )
    body = (
        '<table width="100%" border="0" cellpadding="4" cellspacing="0">'
        '<tr><td colspan="2" bgcolor="#4a3b2a"><font color="#ffffff" size="5"><b>Old Bazaar</b></font>'
        ' <font color="#ddccaa">- since 2019 -</font></td></tr>'
        '<tr><td colspan="2" bgcolor="#b8a888"><a href="/">Home</a> | <a href="/vendors.php">Vendors</a> | '
        '<a href="/news.php">News</a> | <a href="/faq.php">FAQ</a> | <a href="/wallet.php">Deposit</a></td></tr>'
        '<tr><td valign="top" width="180"><table class="cats" border="1" cellpadding="3">'
        f"<tr><th>Categories</th></tr>{nav}</table></td>"
        f'<td valign="top">{content}</td></tr></table>'
    )
    return document(f"{title} - Old Bazaar", body, style=_STYLE)


def _countries(world: World, codes: list[str]) -> str:
    return ", ".join(world.data.countries[code].name for code in codes)


def _listing_rows(listings: list[Listing]) -> str:
    rows = "".join(
        f'<tr><td><a href="{esc(paths.listing_path(OLD_BAZAAR, listing.listing_id))}">{esc(listing.title)}</a></td>'
        f'<td><a href="{esc(paths.vendor_path(OLD_BAZAAR, listing.vendor.slug))}">{esc(listing.vendor.name)}</a></td>'
        f"<td>${format_amount(listing.price_amount, 2)}</td></tr>"
        for listing in listings
    )
    return f'<table class="listings" border="1" cellpadding="3"><tr><th>Item</th><th>Vendor</th><th>Price</th></tr>{rows}</table>'


def _home(world: World, market: MarketWorld) -> str:
    forum_host = world.onion_hosts[FORUM_NAME]
    content = (
        "<h2>Featured listings</h2>" + _listing_rows(market.listings[:8])
        + "<p>Top vendors: "
        + ", ".join(
            f'<a href="{esc(paths.vendor_path(OLD_BAZAAR, vendor.slug))}">{esc(vendor.name)}</a>'
            for vendor in market.vendors[:5]
        )
        + "</p><hr><p><small>Official address: "
        f'<a href="http://{esc(market.onion_host)}/">{esc(market.onion_host)}</a><br>'
        f'Old mirror (offline): <a href="http://{esc(world.dead_onion_hosts[0])}/">{esc(world.dead_onion_hosts[0])}</a><br>'
        f'Community: <a href="http://{esc(forum_host)}/">Hush forum</a> | '
        f'Friends: <a href="http://{esc(world.onion_hosts[NEBULA])}/">Nebula</a></small></p>'
    )
    return _frame(market, "Home", content)


def _category_page(market: MarketWorld, label: str, page_listings: list[Listing], page: int, page_count: int) -> str:
    pager = " ".join(
        f"[{number}]" if number == page
        else f'<a href="{esc(paths.category_path(OLD_BAZAAR, market.categories, label, number))}">{number}</a>'
        for number in range(1, page_count + 1)
    )
    content = f"<h2>{esc(label)}</h2>{_listing_rows(page_listings)}<p>Pages: {pager}</p>"
    return _frame(market, f"{label} (page {page})", content)


def _listing_page(world: World, market: MarketWorld, listing: Listing, site: RenderedSite) -> str:
    vendor = listing.vendor
    image = paths.listing_image_path(OLD_BAZAAR, listing.listing_id)
    site.media.add(image)
    ships_to = _countries(world, listing.ships_to)
    payment = "Finalize Early (FE) - 100%" if listing.finalize_early else "Escrow"
    rows = [
        ("Vendor", f'<a href="{esc(paths.vendor_path(OLD_BAZAAR, vendor.slug))}">{esc(vendor.name)}</a>'
                   f" ({vendor.rating}/5, {vendor.sales} sales)"),
        ("Price", f"${format_amount(listing.price_amount, 2)} USD"
                  f" (~ {format_amount(listing.crypto_prices['BTC'], 6)} BTC)"),
        ("Category", esc(listing.category)),
        ("Ships from", esc(_countries(world, listing.ships_from))),
        ("Ships to", esc(ships_to)),
        ("Payment", payment),
        ("In stock", str(listing.stock)),
        ("Sold", str(listing.sales)),
        ("Rating", f"{listing.rating}/5"),
    ]
    if listing.wallets:
        rows.append(("FE payment address", f"<code>{esc(listing.wallets[0].written_as[0])}</code>"))
    table = "".join(f'<tr><td class="lbl"><b>{label}:</b></td><td>{value}</td></tr>' for label, value in rows)
    content = (
        f"<h2>{esc(listing.title)}</h2>"
        f'<table width="100%"><tr><td valign="top" width="220"><img src="{esc(image)}" width="200" alt="product">'
        f'<br><a href="{esc(image)}">view full image</a></td>'
        f'<td valign="top"><table class="details" border="0">{table}</table></td></tr>'
        f'<tr><td colspan="2"><b>Description</b><br><div class="desc">{esc(listing.description)}</div></td></tr></table>'
        f'<p><a href="{esc(paths.listing_reviews_path(OLD_BAZAAR, listing.listing_id))}">Reviews ({len(listing.reviews)})</a>'
        f' | <a href="{esc(paths.category_path(OLD_BAZAAR, market.categories, listing.category))}#top">Back to {esc(listing.category)}</a></p>'
    )
    return _frame(market, listing.title, content)


def _reviews_page(market: MarketWorld, listing: Listing) -> str:
    rows = "".join(
        f"<tr><td>{esc(review.date)}</td><td>{esc(review.buyer)}</td><td>{review.stars}/5</td><td>{esc(review.text)}</td></tr>"
        for review in listing.reviews
    ) or '<tr><td colspan="4">No reviews yet.</td></tr>'
    content = (
        f'<h2>Reviews: <a href="{esc(paths.listing_path(OLD_BAZAAR, listing.listing_id))}">{esc(listing.title)}</a></h2>'
        f'<table border="1" cellpadding="3"><tr><th>Date</th><th>Buyer</th><th>Stars</th><th>Comment</th></tr>{rows}</table>'
    )
    return _frame(market, f"Reviews - {listing.title}", content)


def _vendor_page(market: MarketWorld, vendor: Vendor) -> str:
    contact_labels = {"email": "E-mail", "jabber": "Jabber", "telegram": "Telegram"}
    contacts = "".join(
        f"<tr><td><b>{contact_labels[contact['type']]}:</b></td><td>{esc(contact['value'])}</td></tr>"
        for contact in vendor.contacts
    )
    wallets = "".join(
        f"<tr><td><b>{_COIN_LABELS[wallet.coin]}:</b></td><td><code>{esc(wallet.written_as[0])}</code></td></tr>"
        for wallet in vendor.wallets
    )
    listings = [listing for listing in market.listings if listing.vendor is vendor]
    content = (
        f"<h2>Vendor: {esc(vendor.name)}</h2>"
        '<table class="vendor" border="0" cellpadding="2">'
        f"<tr><td><b>Member since:</b></td><td>{esc(vendor.joined)}</td></tr>"
        f"<tr><td><b>Rating:</b></td><td>{vendor.rating}/5</td></tr>"
        f"<tr><td><b>Sales:</b></td><td>{vendor.sales}</td></tr>{contacts}</table>"
        f"<p>{esc(vendor.bio)}</p>"
        f"<h3>Direct deal / refund addresses</h3><table>{wallets}</table>"
        f'<h3>PGP public key</h3><pre class="pgp">{esc(vendor.pgp.armored)}</pre>'
        f"<h3>Listings by {esc(vendor.name)}</h3>{_listing_rows(listings)}"
    )
    return _frame(market, f"Vendor {vendor.name}", content)


def render(world: World) -> RenderedSite:
    market = world.markets[OLD_BAZAAR]
    site = RenderedSite()
    site.add("/", "home", _home(world, market))
    for label in market.categories:
        in_category = [listing for listing in market.listings if listing.category == label]
        pages = paginate(in_category, market.spec.listings_per_page)
        for number, page_listings in enumerate(pages, start=1):
            site.add(
                paths.category_path(OLD_BAZAAR, market.categories, label, number),
                "category",
                _category_page(market, label, page_listings, number, len(pages)),
            )
    for listing in market.listings:
        site.add(paths.listing_path(OLD_BAZAAR, listing.listing_id), "listing", _listing_page(world, market, listing, site))
        site.add(paths.listing_reviews_path(OLD_BAZAAR, listing.listing_id), "listing-reviews", _reviews_page(market, listing))
    for vendor in market.vendors:
        site.add(paths.vendor_path(OLD_BAZAAR, vendor.slug), "vendor", _vendor_page(market, vendor))
    vendor_rows = "".join(
        f'<tr><td><a href="{esc(paths.vendor_path(OLD_BAZAAR, vendor.slug))}">{esc(vendor.name)}</a></td>'
        f"<td>{vendor.rating}/5</td><td>{vendor.sales}</td><td>{esc(vendor.joined)}</td></tr>"
        for vendor in market.vendors
    )
    site.add("/vendors.php", "vendor-directory", _frame(
        market, "Vendors",
        f'<h2>Vendors</h2><table border="1" cellpadding="3"><tr><th>Vendor</th><th>Rating</th><th>Sales</th>'
        f"<th>Joined</th></tr>{vendor_rows}</table>",
    ))
    deposit_rows = "".join(
        f"<tr><td><b>{_COIN_LABELS[wallet.coin]}</b></td><td>"
        + (f'<a href="bitcoin:{esc(wallet.address)}">{esc(wallet.address)}</a>' if wallet.coin == "bitcoin"
           else f"<code>{esc(wallet.address)}</code>")
        + "</td></tr>"
        for wallet in market.market_wallets
    )
    site.add("/wallet.php", "info", _frame(
        market, "Deposit",
        "<h2>Deposit</h2><p>Send funds to the market wallet below; it is credited after 2 confirmations.</p>"
        f'<table border="1" cellpadding="3">{deposit_rows}</table>',
    ))
    cashaddr = next(wallet for wallet in market.market_wallets if wallet.coin == "bitcoin-cash")
    without_prefix = cashaddr.address.split(":", 1)[1]
    if without_prefix not in cashaddr.written_as:
        cashaddr.written_as.append(without_prefix)
    decoy = next(decoy for decoy in world.decoys if decoy.looks_like == "bitcoin" and decoy.address_type == "p2pkh")
    site.add("/faq.php", "info", _frame(
        market, "FAQ",
        "<h2>FAQ</h2><p><b>Which BCH address?</b> Our Bitcoin Cash deposit address, short form: "
        f"<code>{esc(without_prefix)}</code></p>"
        "<p><b>Phishing?</b> Scammers post fake deposit addresses such as "
        f"<code>{esc(decoy.text)}</code>. It is not ours. Only trust the Deposit page.</p>"
        "<p><b>FE?</b> Finalize Early releases escrow on shipping. Only for trusted vendors.</p>",
    ))
    site.media.add("/files/pricelist.zip")
    site.add("/news.php", "info", _frame(
        market, "News",
        "<h2>News</h2><p>2025-11-20: new vendor rules, wholesale price list: "
        '<a href="/files/pricelist.zip">pricelist.zip</a></p>'
        "<p>2025-10-02: nitazene warning. Pills sold as oxycodone tested positive for isotonitazene.</p>",
    ))
    return site
