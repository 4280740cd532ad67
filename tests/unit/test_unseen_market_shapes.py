"""Profile-free extraction on shop and market layouts the real corpus does not have yet (issue 10).

Each page is a minimal hand-written fixture in the shape of common shop software or page
layouts (Easy Digital Downloads, Shopify-like grids, Bootstrap cards and list groups, tables
without a header row, prices printed in a button or beside the title link, vendor links of
every usual URL form, vendor profiles with label/value stats, Russian and German labels), and
pages that must give no listing at all (blogs quoting prices, link lists, a ransomware leak
site).  Expected values are written by hand.
"""

from __future__ import annotations

import pytest
from parsel import Selector

from crawler.extractors.document import extract_document
from crawler.extractors.generic_page import read_generic_page
from crawler.extractors.prices import Price

HOST = "e" * 56 + ".onion"
KEY = ("-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nmDMEY2Ic6xYJKwYBBAHaRw8BAQdAexample\n=abcd\n"
       "-----END PGP PUBLIC KEY BLOCK-----")


def read(html: str, path: str = "/page"):  # type: ignore[no-untyped-def]
    return read_generic_page(Selector(text=html), f"http://{HOST}{path}")


def page(body: str, title: str = "Shop") -> str:
    return (f"<html><head><title>{title}</title></head><body><nav><a href='/'>Home</a> <a href='/login'>Login</a>"
            f"</nav><h1>{title}</h1>{body}<footer>© 2024</footer></body></html>")


def titles_prices(result) -> list[tuple[str, Price | None]]:  # type: ignore[no-untyped-def]
    return [(card["title"], card.get("price")) for card in result.cards]


NAMES = ["Blue Dream 3.5g", "Lemon Haze 7g", "Gorilla Glue 14g", "Amnesia 28g"]


# --- listing cards of shop software and page layouts -------------------------------------


def test_easy_digital_downloads_grid() -> None:
    cards = "".join(
        f"<div class='edd_download' id='edd_download_{n}'><div class='edd_download_inner'>"
        f"<div class='edd_download_image'><a href='/downloads/item-{n}/'><img src='/i/{n}.jpg' alt=''></a></div>"
        f"<h3 class='edd_download_title'><a href='/downloads/item-{n}/'>{name}</a></h3>"
        f"<div class='edd_price'>${10 + n}.00</div>"
        f"<div class='edd_download_buy_button'><form method='post' action='/checkout/'>"
        f"<a href='/checkout/?edd_action=add_to_cart&amp;download_id={n}' class='button'>Purchase</a></form></div>"
        f"</div></div>" for n, name in enumerate(NAMES))
    result = read(page(f"<div class='edd_downloads_list'>{cards}</div>"), "/downloads/")
    assert titles_prices(result) == [(name, Price(10.0 + n, "USD")) for n, name in enumerate(NAMES)]
    assert result.cards[0]["url"] == f"http://{HOST}/downloads/item-0/"


def test_shopify_like_grid_with_a_screen_reader_label_in_the_price() -> None:
    cards = "".join(
        f"<div class='grid__item'><a href='/products/item-{n}' class='grid-product__link'>"
        f"<div class='grid-product__image-wrap'><img src='/i/{n}.jpg' alt='{name}'></div>"
        f"<div class='grid-product__meta'><div class='grid-product__title'>{name}</div>"
        f"<div class='grid-product__price'><span class='visually-hidden'>Regular price</span>"
        f"<s class='grid-product__price--original'>€{50 + n},00</s> "
        f"<span class='visually-hidden'>Sale price</span>€{40 + n},00</div></div></a></div>"
        for n, name in enumerate(NAMES))
    result = read(page(f"<div class='grid grid--uniform'>{cards}</div>"), "/collections/all")
    assert titles_prices(result) == [(name, Price(40.0 + n, "EUR")) for n, name in enumerate(NAMES)]


def test_bootstrap_cards_with_the_price_in_the_buy_button() -> None:
    cards = "".join(
        f"<div class='col-md-4'><div class='card mb-4'><img class='card-img-top' src='/i/{n}.png' alt='Card image'>"
        f"<div class='card-body'><h5 class='card-title'>{name}</h5>"
        f"<p class='card-text'>Top quality, ships worldwide in stealth.</p>"
        f"<a href='/listing/{n}' class='btn btn-primary'>Buy ${20 + n}.00</a></div></div></div>"
        for n, name in enumerate(NAMES))
    result = read(page(f"<div class='container'><div class='row'>{cards}</div></div>"), "/")
    assert titles_prices(result) == [(name, Price(20.0 + n, "USD")) for n, name in enumerate(NAMES)]
    assert result.cards[2]["url"] == f"http://{HOST}/listing/2"


def test_bootstrap_list_group_rows() -> None:
    rows = "".join(
        f"<a href='/item/{n}' class='list-group-item list-group-item-action'>"
        f"<div class='d-flex w-100 justify-content-between'><h5 class='mb-1'>{name}</h5>"
        f"<small>{0.001 * (n + 1):.3f} BTC</small></div>"
        f"<p class='mb-1'>Vendor: seller{n}</p><small>Ships from: Germany</small></a>"
        for n, name in enumerate(NAMES))
    result = read(page(f"<div class='list-group'>{rows}</div>"), "/search?q=x")
    assert titles_prices(result) == [(name, Price(round(0.001 * (n + 1), 3), "BTC")) for n, name in enumerate(NAMES)]
    assert [card.get("vendor") for card in result.cards] == [f"seller{n}" for n in range(4)]
    assert result.cards[0].get("ships_from")


def test_table_rows_without_a_header_row() -> None:
    rows = "".join(
        f"<tr><td><img src='/i/{n}.jpg'></td><td><a href='/listing/{n}'>{name}</a><br>"
        f"<small>by <a href='/user/vendor{n}'>vendor{n}</a></small></td>"
        f"<td>Digital</td><td>{12 + n}.50 USD</td><td><a href='/listing/{n}'>View</a></td></tr>"
        for n, name in enumerate(NAMES))
    result = read(page(f"<table class='table'>{rows}</table>"), "/category/3")
    assert titles_prices(result) == [(name, Price(12.5 + n, "USD")) for n, name in enumerate(NAMES)]
    assert [card.get("vendor") for card in result.cards] == [f"vendor{n}" for n in range(4)]


def test_plain_list_with_the_price_beside_the_title_link() -> None:
    """<li><a>Title</a> - $5.00</li>: the price is the card's own text, beside the title link."""
    rows = "".join(f"<li><a href='/item/{n}'>{name}</a> - ${5 + n}.00</li>" for n, name in enumerate(NAMES))
    result = read(page(f"<ul class='items'>{rows}</ul>"), "/all")
    assert titles_prices(result) == [(name, Price(5.0 + n, "USD")) for n, name in enumerate(NAMES)]


@pytest.mark.parametrize("vendor_path", ["/user/{}", "/profile/{}", "/store/{}", "/seller/{}", "/v/{}",
                                         "/vendor.php?id={}", "/u/{}"])
def test_vendor_link_forms(vendor_path: str) -> None:
    cards = "".join(
        f"<div class='item'><a href='/listing/{n}'><img src='/i/{n}.jpg'></a>"
        f"<div class='name'><a href='/listing/{n}'>{name}</a></div>"
        f"<div class='seller'><a href='{vendor_path.format(f'shop{n}')}'>shop{n}</a> (97%)</div>"
        f"<div class='cost'>{100 + n} USD</div></div>" for n, name in enumerate(NAMES))
    result = read(page(f"<div class='items'>{cards}</div>"), "/browse")
    assert titles_prices(result) == [(name, Price(100.0 + n, "USD")) for n, name in enumerate(NAMES)]
    assert [card.get("vendor") for card in result.cards] == [f"shop{n}" for n in range(4)]
    assert [card["url"] for card in result.cards] == [f"http://{HOST}/listing/{n}" for n in range(4)]


def test_russian_cards_with_labels() -> None:
    cards = "".join(
        f"<div class='tovar'><a class='nazv' href='/tovar/{n}'>{name}</a>"
        f"<div>Цена: {1500 + n} ₽</div><div>Продавец: <a href='/magazin/shop{n}'>shop{n}</a></div>"
        f"<div>Город: Москва</div></div>" for n, name in enumerate(["Шишки 1г", "Гашиш 2г", "Мефедрон 1г"]))
    result = read(page(f"<div class='tovary'>{cards}</div>", "Магазин"), "/catalog")
    assert [card["title"] for card in result.cards] == ["Шишки 1г", "Гашиш 2г", "Мефедрон 1г"]
    assert [card["price"] for card in result.cards] == [Price(1500.0 + n, "RUB") for n in range(3)]
    assert [card.get("vendor") for card in result.cards] == [f"shop{n}" for n in range(3)]


def test_german_cards_with_labels() -> None:
    cards = "".join(
        f"<div class='angebot'><h4><a href='/angebot/{n}'>{name}</a></h4>"
        f"<p>Preis: {12 + n},50 €</p><p>Verkäufer: <a href='/haendler/h{n}'>h{n}</a></p>"
        f"<p>Versand aus: Deutschland</p></div>" for n, name in enumerate(["Speed 5g", "Gras 10g", "Haze 1g"]))
    result = read(page(f"<div class='angebote'>{cards}</div>", "Marktplatz"), "/kategorie/1")
    assert titles_prices(result) == [(name, Price(12.5 + n, "EUR")) for n, name in enumerate(["Speed 5g", "Gras 10g", "Haze 1g"])]
    assert [card.get("vendor") for card in result.cards] == [f"h{n}" for n in range(3)]
    assert [card.get("ships_from") for card in result.cards] == ["DE"] * 3 or all(
        card.get("ships_from") for card in result.cards)


# --- vendor profiles ----------------------------------------------------------------------------


def test_vendor_profile_with_a_definition_list_of_stats_and_key_in_a_textarea() -> None:
    html = page(
        "<div class='profile'><h2>darkchem</h2><dl class='stats'><dt>Sales</dt><dd>1,234</dd>"
        "<dt>Rating</dt><dd>4.87</dd><dt>Member since</dt><dd>2021-03-04</dd></dl>"
        f"<h3>PGP key</h3><textarea readonly>{KEY}</textarea></div>", "darkchem - Vendor profile")
    result = read(html, "/profile/darkchem")
    assert result.page_type == "vendor"
    assert result.vendor["name"] == "darkchem"
    assert result.vendor.get("sales") == 1234
    assert result.vendor.get("rating") == 4.87


def test_vendor_profile_with_a_stats_table_and_key_in_pre() -> None:
    html = page(
        "<h2>Vendor: nordicplug</h2><table class='table'><tr><th>Total sales</th><td>312</td></tr>"
        "<tr><th>Feedback</th><td>98.5%</td></tr><tr><th>Joined</th><td>2022-11-02</td></tr></table>"
        f"<pre>{KEY}</pre>", "nordicplug")
    result = read(html, "/store/nordicplug")
    assert result.page_type == "vendor"
    assert result.vendor["name"] == "nordicplug"
    assert result.vendor.get("sales") == 312


def test_russian_vendor_profile() -> None:
    html = page(
        "<div class='magazin'><h2>Магазин: ХимПром</h2><div>Продажи: 540</div><div>Рейтинг: 4.9</div>"
        "<div>Дата регистрации: 2020-05-01</div></div>", "ХимПром")
    result = read(html, "/shop/himprom")
    assert result.page_type == "vendor"
    assert result.vendor["name"] == "ХимПром"
    assert result.vendor.get("sales") == 540


def test_german_vendor_profile() -> None:
    html = page(
        "<div class='profil'><h2>Verkäufer: gruenfee</h2><ul><li>Verkäufe: 77</li><li>Bewertung: 4.5</li>"
        "<li>Mitglied seit: 2023-01-09</li></ul></div>", "gruenfee")
    result = read(html, "/haendler/gruenfee")
    assert result.page_type == "vendor"
    assert result.vendor["name"] == "gruenfee"
    assert result.vendor.get("sales") == 77


# --- pages that are no market: no listing is invented ---------------------------------------------


def _listings(html: str, path: str) -> list:  # type: ignore[type-arg]
    return extract_document(html, f"http://{HOST}{path}", "2025-01-01T00:00:00Z", "test").listings


def test_blog_with_prices_in_its_posts_gives_no_listing() -> None:
    posts = "".join(
        f"<article class='post'><h2 class='entry-title'><a href='/2024/0{n + 1}/post-{n}/'>Market news week {n}</a></h2>"
        f"<div class='entry-meta'>Posted on <time datetime='2024-0{n + 1}-02'>2024-0{n + 1}-02</time> by "
        f"<a href='/author/admin/'>admin</a></div><div class='entry-summary'><p>Bitcoin fell to $6{n},000 "
        f"this week; a gram now sells for €{10 + n} on average.</p></div>"
        f"<a class='more-link' href='/2024/0{n + 1}/post-{n}/'>Continue reading</a></article>" for n in range(5))
    assert _listings(page(f"<main>{posts}</main>", "Darknet Blog"), "/") == []


def test_link_list_with_many_rows_gives_no_listing() -> None:
    rows = "".join(
        f"<tr><td><a href='http://{chr(102 + n % 20) * 56}.onion/'>Market {n}</a></td>"
        f"<td>Escrow, fee 4%, from $10</td><td>Online</td></tr>" for n in range(40))
    assert _listings(page(f"<table>{rows}</table>", "Onion Links"), "/links") == []


def test_link_directory_list_gives_no_listing() -> None:
    rows = "".join(
        f"<li><a href='http://{chr(102 + n % 20) * 56}.onion/'>Shop {n}</a> - cards from $5, uptime 99%</li>"
        for n in range(30))
    assert _listings(page(f"<ul class='links'>{rows}</ul>", "Hidden Wiki"), "/") == []


def test_ransomware_leak_site_gives_no_listing() -> None:
    rows = "".join(
        f"<div class='card victim'><div class='card-body'><h5 class='card-title'>Acme Corp {n}</h5>"
        f"<p class='card-text'>Revenue: ${n + 2}M. Industry: Manufacturing. Data: 120 GB.</p>"
        f"<div class='timer'>Published in 3d 4h</div><p>Ransom: ${n + 1},000,000</p>"
        f"<a href='/post/{n}' class='btn'>Read more</a></div></div>" for n in range(12))
    assert _listings(page(f"<div class='row'>{rows}</div>", "LockBit Blog"), "/") == []


def test_news_list_gives_no_listing() -> None:
    items = "".join(
        f"<div class='news-item'><a href='/news/{n}'>Police seize market #{n}</a>"
        f"<span class='date'>2024-02-0{n + 1}</span><p>Vendors lost $1{n}0,000 in coins.</p></div>"
        for n in range(6))
    assert _listings(page(f"<section>{items}</section>", "News"), "/news") == []


def test_forum_topic_list_with_prices_in_topic_titles_gives_no_listing() -> None:
    """A phpBB-like forum index: topic titles quote prices ("[WTS] Fullz $15 each"), each row names
    its author, reply count and last post; a forum sells nothing by itself."""
    rows = "".join(
        f"<li class='row'><dl class='row-item topic_read'><dt><div class='list-inner'>"
        f"<a href='./viewtopic.php?t={100 + n}' class='topictitle'>[WTS] Fullz ${15 + n} each, fresh</a><br>"
        f"by <a href='./memberlist.php?mode=viewprofile&amp;u={n}' class='username'>user{n}</a> » "
        f"Mon Jan 0{n + 1}, 2024 1:00 pm</div></dt><dd class='posts'>{n + 3} <dfn>Replies</dfn></dd>"
        f"<dd class='views'>{n * 40} <dfn>Views</dfn></dd><dd class='lastpost'><span>by "
        f"<a href='./memberlist.php?mode=viewprofile&amp;u={n + 9}'>buyer{n}</a> "
        f"<a href='./viewtopic.php?p={900 + n}#p{900 + n}'>Go to last post</a><br>Tue Jan 0{n + 2}, 2024 2:00 pm"
        f"</span></dd></dl></li>" for n in range(8))
    html = page(f"<div class='forumbg'><ul class='topiclist topics'>{rows}</ul></div>", "Marketplace - Forum")
    assert _listings(html, "/viewforum.php?f=4") == []


def test_login_page_with_amounts_gives_no_listing() -> None:
    html = page(
        "<form method='post' action='/login'><label>Username <input name='u'></label>"
        "<label>Password <input type='password' name='p'></label><img src='/captcha.png' alt='captcha'>"
        "<button type='submit'>Login</button></form><p>Minimum deposit: 0.001 BTC. Vendor bond $100.</p>"
        "<ul><li><a href='/register'>Register</a> — free</li><li><a href='/faq'>FAQ</a></li></ul>", "Login")
    assert _listings(html, "/login") == []


def test_price_printed_from_data_attributes() -> None:
    """A grid whose price element is empty text with the amount and currency in data attributes
    (a script prints it in the browser; the attributes are what the page holds)."""
    cards = "".join(
        f"<div class='product-card'><a href='/product/{n}' class='title'>{name}</a>"
        f"<span class='price' data-price='{0.001 * (n + 2):.4f}' data-currency='BTC'></span>"
        f"<a href='/vendor/v{n}' class='vendor'>v{n}</a></div>" for n, name in enumerate(NAMES))
    result = read(page(f"<div class='products'>{cards}</div>"), "/c/1")
    assert titles_prices(result) == [(name, Price(round(0.001 * (n + 2), 4), "BTC")) for n, name in enumerate(NAMES)]
    assert [card.get("vendor") for card in result.cards] == [f"v{n}" for n in range(4)]


def test_top_vendors_table_gives_no_listing() -> None:
    rows = "".join(
        f"<tr><td>{n + 1}</td><td><a href='/user/seller{n}'>seller{n}</a></td><td>Sales: {1000 - n * 50}</td>"
        f"<td>Volume: ${120 - n},000</td><td>4.{9 - n}★</td></tr>" for n in range(8))
    assert _listings(page(f"<table class='top-vendors'>{rows}</table>", "Top vendors"), "/vendors") == []


def test_cards_with_a_bold_title_and_a_view_button() -> None:
    cards = "".join(
        f"<div class='it'><strong>{name}</strong><p>{n + 5}.00 USD</p><a href='/listing/{n}'>View</a></div>"
        for n, name in enumerate(NAMES))
    result = read(page(f"<div class='items'>{cards}</div>"), "/browse")
    assert titles_prices(result) == [(name, Price(5.0 + n, "USD")) for n, name in enumerate(NAMES)]
    assert result.cards[3]["url"] == f"http://{HOST}/listing/3"


def test_detail_page_with_icons_whose_title_labels_the_text_after_them() -> None:
    html = page("<h2>Lemon Haze 7g</h2><div class='price'>$60.00</div>"
                "<div><i class='fa fa-user' title='Vendor'></i> <a href='/user/bob'>bob</a></div>"
                "<div><i class='fa fa-truck' title='Ships from'></i> Netherlands</div>"
                "<div><i class='fa fa-globe' title='Ships to'></i> Europe</div>", "Lemon Haze 7g")
    result = read(html, "/item/55")
    assert result.page_type == "listing"
    assert result.listing["title"] == "Lemon Haze 7g"
    assert result.listing["price"] == Price(60.0, "USD")
    assert result.listing["vendor"] == "bob"
    assert result.listing["ships_from"] == ["NL"]
    assert result.listing["ships_to"] == ["EU"]


def test_guide_list_with_bold_names_and_prices_in_sentences_gives_no_listing() -> None:
    items = "".join(
        f"<div class='entry'><b>Tip {n}</b><p>Never pay more than ${n + 5} for a test.</p>"
        f"<a href='/guides/{n}'>Read more</a></div>" for n in range(6))
    assert _listings(page(f"<section>{items}</section>", "Guides"), "/guides") == []


def test_russian_shop_page_with_its_key_in_a_textarea_and_since_without_a_colon() -> None:
    """"На сайте с 01.05.2020" (on the site since) needs no colon; the key sits in a read-only box."""
    goods = "".join(f"<div class='t'><a href='/tovar/{n}'>Товар {n} 1г</a><span>{1500 + n} ₽</span></div>"
                    for n in range(4))
    html = page("<div class='shop'><h1 class='shop-name'>ХимПром</h1><p>Сделок: 540</p>"
                f"<p>На сайте с 01.05.2020</p><textarea readonly>{KEY}</textarea></div><h3>Товары магазина</h3>{goods}",
                "ХимПром")
    result = read(html, "/shop/himprom")
    assert result.page_type == "vendor"
    assert result.vendor["name"] == "ХимПром"
    assert result.vendor.get("sales") == 540
    assert result.vendor.get("joined") == "2020-05-01"
    assert [card.get("vendor") for card in result.cards] == ["ХимПром"] * 4


def test_german_cards_verkauft_von() -> None:
    cards = "".join(f"<div class='it'><a href='/artikel/{n}'>{name}</a><span>Verkauft von: h{n}</span>"
                    f"<span>{n + 5},00 EUR</span></div>" for n, name in enumerate(NAMES))
    result = read(page(f"<div class='liste'>{cards}</div>", "Angebote"), "/kategorie/2")
    assert titles_prices(result) == [(name, Price(5.0 + n, "EUR")) for n, name in enumerate(NAMES)]
    assert [card.get("vendor") for card in result.cards] == [f"h{n}" for n in range(4)]


def test_search_engine_results_linking_other_sites_give_no_listing() -> None:
    """Each result links a page of a different onion site and quotes its price: the results are those
    sites' pages, not listings of the search engine."""
    results = "".join(f"<li class='result'><a href='http://{chr(102 + n % 20) * 56}.onion/p/{n}'>Shop {n}</a>"
                      f"<span>from ${80 + n}</span></li>" for n in range(10))
    assert _listings(page(f"<ol>{results}</ol>", "Search"), "/search?q=x") == []


def test_transaction_history_gives_no_listing() -> None:
    rows = "".join(f"<tr><td>2024-01-0{n + 1}</td><td>Deposit</td><td>0.0{n + 1} BTC</td>"
                   f"<td><a href='/tx/{n}abcdef'>View transaction</a></td></tr>" for n in range(6))
    assert _listings(page(f"<table>{rows}</table>", "Wallet"), "/wallet") == []


def test_cards_linking_the_markets_own_mirror_host_are_kept() -> None:
    """A market whose links name its own (other) address keeps its cards: one host, not a directory."""
    mirror = "m" * 56 + ".onion"
    cards = "".join(f"<div class='it'><a href='http://{mirror}/listing/{n}'>{name}</a><b>${n + 5}.00</b></div>"
                    for n, name in enumerate(NAMES))
    result = read(page(f"<div class='items'>{cards}</div>"), "/browse")
    assert titles_prices(result) == [(name, Price(5.0 + n, "USD")) for n, name in enumerate(NAMES)]


def test_listing_filed_under_its_vendors_path_beside_the_vendor_link() -> None:
    """"/vendor/s0/blue-dream" (the listing) beside "/vendor/s0" (its vendor): both look like vendor
    links; the one below the other is the card's own page."""
    cards = "".join(f"<div class='it'><a href='/vendor/s{n}/item-{n}'>{name}</a> <a href='/vendor/s{n}'>s{n}</a>"
                    f"<b>${n + 5}.00</b></div>" for n, name in enumerate(NAMES))
    result = read(page(f"<div class='items'>{cards}</div>"), "/browse")
    assert titles_prices(result) == [(name, Price(5.0 + n, "USD")) for n, name in enumerate(NAMES)]
    assert [card["url"] for card in result.cards] == [f"http://{HOST}/vendor/s{n}/item-{n}" for n in range(4)]
    assert [card.get("vendor") for card in result.cards] == [f"s{n}" for n in range(4)]


def test_grid_table_of_cells_with_numbered_titles() -> None:
    """Two cards per row, "Title #3" then "$8" after a line break: "#3" is a number, not the price."""
    rows = "".join("<tr>" + "".join(f"<td><a href='/l/{r * 2 + c}'>{NAMES[(r * 2 + c) % 4]} #{r * 2 + c}</a><br>"
                                     f"${r * 2 + c + 5}</td>" for c in range(2)) + "</tr>" for r in range(3))
    result = read(page(f"<table>{rows}</table>"), "/all")
    assert [card["price"] for card in result.cards] == [Price(5.0 + n, "USD") for n in range(6)]
    assert [card["title"] for card in result.cards] == [f"{NAMES[n % 4]} #{n}" for n in range(6)]


def test_a_short_price_tag_ending_in_a_full_stop_is_still_a_price() -> None:
    cards = "".join(f"<div class='it'><a href='/listing/{n}'>{name}</a><p>Only ${n + 5} per gram.</p></div>"
                    for n, name in enumerate(NAMES))
    result = read(page(f"<div class='items'>{cards}</div>"), "/browse")
    assert titles_prices(result) == [(name, Price(5.0 + n, "USD")) for n, name in enumerate(NAMES)]


def test_exchange_rate_table_gives_no_listing() -> None:
    rows = "".join(f"<tr><td><a href='/rates/{coin}'>{coin} rate</a></td><td>${price}</td></tr>"
                   for coin, price in [("Bitcoin", "43,000"), ("Monero", "160"), ("Litecoin", "70"), ("Ethereum", "2,300")])
    pairs = "".join(f"<li><a href='/chart/{pair}'>{pair}</a> {price} USD</li>"
                    for pair, price in [("BTC/USD", "43000"), ("XMR/USD", "160"), ("LTC/USD", "70")])
    assert _listings(page(f"<table>{rows}</table><ul>{pairs}</ul>", "Exchange rates"), "/rates") == []


# --- a one-seller shop's order form (issue 10, fifth held-out set) ------------------------------

ORDER_FORM_ITEMS = [("CZ Pistol 9mm", "$475 (1.9187 BTC)", 475.0, 1.9187, "p07.jpg"),
                    ("Colt Pocket .380", "$570 (2.3025 BTC)", 570.0, 2.3025, "colt.png"),
                    ("Mossberg Shotgun", "$320 (1.2926 BTC)", 320.0, 1.2926, "moss.JPG")]


def order_form_page() -> str:
    cells = "".join(
        f"<td><div class='tn'><img src='tn/{image}'><br/><a class='enlarge' href='{image}'>(more photo)</a></div>"
        f"<div class='name'>{name}</div><div class='spec'><strong>Caliber</strong>: 9mm<br/>"
        f"<strong>Weight</strong>: 1.7 pounds</div><div class='order'>{price}<br/>"
        f"amount <input min='0' type='number' name='{number}' value='0'></div></td>"
        for number, (name, price, _, _, image) in enumerate(ORDER_FORM_ITEMS, 1))
    return page(f"<form action='payment.php' method='post'><table><tr>{cells}</tr></table>"
                "<input type='submit' value='ORDER'></form>", title="Guns shop")


def test_order_form_cards_whose_only_link_is_a_photo_take_their_title_from_the_name() -> None:
    result = read(order_form_page(), "/index.php")
    assert result.page_type == "category"
    assert [(card["title"], card["price"]) for card in result.cards] == [
        (name, Price(amount, "USD")) for name, _, amount, _, _ in ORDER_FORM_ITEMS]
    assert [card["crypto_prices"] for card in result.cards] == [
        [Price(crypto, "BTC")] for _, _, _, crypto, _ in ORDER_FORM_ITEMS]
    # A photo is no detail page: the cards link nowhere of their own, yet stay three listings.
    for card in result.cards:
        assert not card["url"].lower().endswith((".jpg", ".png"))
    assert len({card["listing_id"] for card in result.cards}) == 3


def test_a_photo_link_text_is_never_a_title() -> None:
    from crawler.extractors.record_mining import is_action_text

    for text in ("(more photo)", "More photos", "Enlarge", "click to enlarge", "[zoom]", "View larger image"):
        assert is_action_text(text), text
    assert not is_action_text("Photo Paper A4 pack")


def test_media_href_is_judged_by_its_path() -> None:
    from crawler.urls import is_media_url

    assert is_media_url("p07.jpg") and is_media_url("/img/a.PNG?size=2") and is_media_url("/f/s.zip#x")
    assert not is_media_url("/view.php?img=a.jpg") and not is_media_url("/item/jpg-converter")


def test_media_file_link_is_never_a_cards_url() -> None:
    cells = "".join(
        f"<li class='item'><b>{name}</b> <a href='/img/{number}.webp'>Photo {number}</a> <span class='price'>{amount} USD</span>"
        f" <a href='/files/sample{number}.zip'>Download sample</a></li>"
        for number, (name, _, amount, _, _) in enumerate(ORDER_FORM_ITEMS, 1))
    result = read(page(f"<ul>{cells}</ul>"))
    # Neither the photo's nor the download's link names or locates the card: the bold name does.
    assert [card["title"] for card in result.cards] == [name for name, *_ in ORDER_FORM_ITEMS]
    assert all(not card["url"].endswith((".webp", ".zip")) for card in result.cards)


# --- a shop engine's product page beside cart, "same category" and "viewed" strips --------------


def test_product_page_with_h1_price_and_cart_form_beside_product_strips_is_a_listing() -> None:
    strip = "".join(
        f"<li class='ajax_block_product'><a href='/index.php?id_product={number}&controller=product'"
        f" title='{name}'>{name[:10]}...</a><span class='price'>${price}</span></li>"
        for number, (name, price) in enumerate([("Ammo Can - 1000 Rounds .45", "445.95"),
                                                ("Glock G30 Gen4 .45ACP", "990.50"),
                                                ("Beretta Px4 Storm .45", "945.00"),
                                                ("Glock G21 Gen4 .45ACP", "990.50")], 10))
    body = (f"<div id='cart_block'><ul>{strip}</ul></div>"
            "<div id='primary_block'><h1>Ruger BSR45</h1><p>Reference: 12</p>"
            "<form id='buy_block' action='/cart' method='post'><p class='our_price_display'>"
            "<span id='our_price_display'>$787.00</span></p>"
            "<p id='quantity_wanted_p'><label>Quantity:</label><input name='qty' id='quantity_wanted' value='1'></p>"
            "<p id='add_to_cart'><input type='submit' name='Submit' value='Add to cart'></p></form>"
            "<ul><li>Caliber: .45 ACP</li><li>Capacity: 8 rounds</li></ul></div>"
            f"<div class='blockproductscategory'><h2>3 other products in the same category:</h2><ul>{strip}</ul></div>")
    html = ("<html><head><title>Ruger BSR45 - Executive Outcomes</title></head><body>"
            f"<nav><a href='/'>Home</a></nav>{body}</body></html>")
    result = read(html, "/index.php?id_product=1&controller=product")
    assert result.page_type == "listing"
    assert result.listing["title"] == "Ruger BSR45"
    assert result.listing["price"] == Price(787.0, "USD")


def test_a_weight_in_pounds_is_no_price() -> None:
    from crawler.extractors.price_spans import find_price_spans

    assert find_price_spans("Caliber: 9mm Weight: 1.7 pounds") == []
    assert find_price_spans("Weighs 7 pounds") == []
    assert [(span.amount, span.currency) for span in find_price_spans("Price: 17 pounds")] == [(17.0, "GBP")]


def test_a_title_cut_short_with_dots_is_read_whole_from_its_links_title_attribute() -> None:
    names = [("Ammo Can - 1000 Rounds .45 ACP", "445.95"), ("Glock G30 Gen 4", "990.50"), ("Beretta Px4 Storm", "945.00")]
    cells = "".join(
        f"<li><a href='/index.php?id_product={number}' title='{name}'>{name[:9].rstrip()}...</a>"
        f" <span class='price'>${price}</span></li>" for number, (name, price) in enumerate(names, 1))
    result = read(page(f"<ul>{cells}</ul>", title="Handguns"))
    assert [card["title"] for card in result.cards] == [name for name, _ in names]
