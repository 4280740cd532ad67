"""Tundra: a Russian-leaning shop built on definition lists with bilingual, unusual labels.

Structure the extractors meet here: ``<dl class="spec">`` with labels such as
``Цена / Cost``, ``Откуда / Origin``, ``Куда / Destinations``, ``Продавец /
Merchant``; prices only in XMR or BTC; countries as ISO alpha-3 codes; Cyrillic
titles and street names; relative links (``../../item/T0042.html``,
``?page=2``); a per-order integrated Monero address on every item page.
``render(world)`` returns a :class:`~harness.demo.markets.markup.RenderedSite`.
"""

from __future__ import annotations

from harness.demo import paths
from harness.demo.markets.markup import RenderedSite, document, esc, format_amount, paginate
from harness.demo.site_names import FORUM_NAME, TUNDRA
from harness.demo.world.entities import Listing, MarketWorld, Vendor, World

_STYLE = "body{background:#f4f6f8;font-family:'PT Sans',sans-serif}dl.spec dt{font-weight:bold;float:left;width:14em}"
_COIN_LABELS = {"monero": "XMR", "zcash": "ZEC", "dash": "DASH"}


def _frame(world: World, title: str, main: str) -> str:
    body = (
        '<div id="top"><a href="/">ТУНДРА</a> <span>— магазин / shop</span></div>'
        '<ul class="menu"><li><a href="/">Витрина</a></li><li><a href="/shops/">Магазины</a></li>'
        '<li><a href="/pay/">Оплата</a></li><li><a href="/rules.html">Правила</a></li></ul>'
        f'<div class="content">{main}</div>'
        f'<div class="foot">Форум: <a href="http://{esc(world.onion_hosts[FORUM_NAME])}/">hush</a></div>'
    )
    return document(f"{title} — Тундра", body, lang="ru", style=_STYLE)


def _alpha3(world: World, codes: list[str]) -> str:
    if codes == ["WW"]:
        return "Весь мир / Worldwide"
    return ", ".join(world.data.countries[code].alpha3 for code in codes)


def _price(listing: Listing) -> str:
    decimals = 4 if listing.price_currency == "XMR" else 6
    return f"{format_amount(listing.price_amount, decimals)} {listing.price_currency}"


def _item_page(world: World, market: MarketWorld, listing: Listing, site: RenderedSite) -> str:
    image = paths.listing_image_path(TUNDRA, listing.listing_id)
    site.media.add(image)
    protection = "FE (ранняя финализация)" if listing.finalize_early else "Мультисиг-гарант / Multisig escrow"
    section_link = "../section/" + paths.category_slug(listing.category) + "/"
    rows = [
        ("Товар / Item", esc(listing.title)),
        ("Продавец / Merchant", f'<a href="../shop/{esc(listing.vendor.slug)}/">{esc(listing.vendor.name)}</a>'),
        ("Цена / Cost", esc(_price(listing))),
        ("Раздел / Section", f'<a href="{esc(section_link)}">{esc(listing.category)}</a>'),
        ("Откуда / Origin", esc(_alpha3(world, listing.ships_from))),
        ("Куда / Destinations", esc(_alpha3(world, listing.ships_to))),
        ("Остаток / Left", str(listing.stock)),
        ("Сделок / Deals", str(listing.sales)),
        ("Защита / Protection", protection),
        ("Оплата / Pay to", f'<code class="xmr">{esc(listing.wallets[0].address)}</code>'),
    ]
    spec = "".join(f"<dt>{label}</dt><dd>{value}</dd>" for label, value in rows)
    main = (
        f'<h1 class="item">{esc(listing.title)}</h1><img class="photo" src="{esc(image)}" alt="фото">'
        f'<dl class="spec">{spec}</dl><div class="opis"><h2>Описание</h2><p>{esc(listing.description)}</p></div>'
        "<p><small>Адрес оплаты уникален для каждого заказа (integrated address).</small></p>"
    )
    return _frame(world, listing.title, main)


def _shop_page(world: World, market: MarketWorld, vendor: Vendor) -> str:
    labels = {"email": "Почта / E-mail", "jabber": "Jabber", "telegram": "Telegram"}
    contacts = "".join(
        f"<dt>{labels[contact['type']]}</dt><dd>{esc(contact['value'])}</dd>" for contact in vendor.contacts
    )
    wallets = "".join(
        f"<dt>{_COIN_LABELS[wallet.coin]}</dt><dd><code>{esc(wallet.written_as[0])}</code></dd>" for wallet in vendor.wallets
    )
    items = "".join(
        f'<li><a href="../../item/{esc(listing.listing_id)}.html">{esc(listing.title)}</a> — {esc(_price(listing))}</li>'
        for listing in market.listings if listing.vendor is vendor
    )
    main = (
        f'<h1 class="shop">Магазин {esc(vendor.name)}</h1>'
        f'<dl class="shop-info"><dt>С нами с / Since</dt><dd>{esc(vendor.joined)}</dd>'
        f"<dt>Оценка / Score</dt><dd>{vendor.rating} / 5</dd><dt>Сделок / Deals</dt><dd>{vendor.sales}</dd>"
        f"{contacts}{wallets}</dl><p>{esc(vendor.bio)}</p>"
        f'<h2>PGP</h2><pre>{esc(vendor.pgp.armored)}</pre><h2>Товары / Items</h2><ul>{items}</ul>'
    )
    return _frame(world, f"Магазин {vendor.name}", main)


def render(world: World) -> RenderedSite:
    market = world.markets[TUNDRA]
    site = RenderedSite()
    sections = "".join(
        f'<li><a href="section/{esc(paths.category_slug(label))}/">{esc(label)}</a> '
        f"({sum(1 for listing in market.listings if listing.category == label)})</li>"
        for label in market.categories
    )
    site.add("/", "home", _frame(
        world, "Витрина",
        f'<h1>Витрина / Showcase</h1><ul class="sections">{sections}</ul>'
        "<p>Только XMR и BTC. Гарант или FE по выбору продавца.</p>",
    ))
    for label in market.categories:
        in_category = [listing for listing in market.listings if listing.category == label]
        pages = paginate(in_category, market.spec.listings_per_page)
        for number, page_listings in enumerate(pages, start=1):
            items = "".join(
                f'<li><a href="../../item/{esc(listing.listing_id)}.html">{esc(listing.title)}</a>'
                f" — {esc(_price(listing))} — {esc(listing.vendor.name)}</li>"
                for listing in page_listings
            )
            # Relative query-only links: "?page=2" resolves against the section path.
            pager = " ".join(
                f"<b>{other}</b>" if other == number
                else f'<a href="{"./" if other == 1 else f"?page={other}"}">{other}</a>'
                for other in range(1, len(pages) + 1)
            )
            site.add(
                paths.category_path(TUNDRA, market.categories, label, number),
                "category",
                _frame(world, f"{label}, стр. {number}", f'<h1>{esc(label)}</h1><ul class="items">{items}</ul>'
                       f'<div class="pages">Страницы: {pager}</div>'),
            )
    for listing in market.listings:
        site.add(paths.listing_path(TUNDRA, listing.listing_id), "listing", _item_page(world, market, listing, site))
    for vendor in market.vendors:
        site.add(paths.vendor_path(TUNDRA, vendor.slug), "vendor", _shop_page(world, market, vendor))
    shops = "".join(
        f'<li><a href="/shop/{esc(vendor.slug)}/">{esc(vendor.name)}</a> — {vendor.rating} / 5</li>'
        for vendor in market.vendors
    )
    site.add("/shops/", "vendor-directory", _frame(world, "Магазины", f"<h1>Магазины / Shops</h1><ul>{shops}</ul>"))
    pay_rows = "".join(
        f"<dt>{_COIN_LABELS[wallet.coin]}</dt><dd>"
        + (f'<a href="monero:{esc(wallet.address)}">{esc(wallet.address)}</a>' if wallet.coin == "monero"
           else f"<code>{esc(wallet.address)}</code>")
        + "</dd>"
        for wallet in market.market_wallets
    )
    site.add("/pay/", "info", _frame(
        world, "Оплата", f"<h1>Пополнение баланса / Deposit</h1><dl>{pay_rows}</dl>",
    ))
    decoy = next(decoy for decoy in world.decoys if decoy.looks_like == "monero")
    site.add("/rules.html", "info", _frame(
        world, "Правила",
        "<h1>Правила</h1><ol><li>Без гаранта — на свой риск (FE).</li>"
        "<li>Спайс, соль и нитазены — только с предупреждением о дозировке.</li>"
        f"<li>Фейковый адрес в чатах: <code>{esc(decoy.text)}</code> — это не мы!</li></ol>",
    ))
    return site
