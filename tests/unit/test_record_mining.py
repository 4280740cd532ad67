"""Listing cards by data-record mining, on small hand-written pages; and the page tree under them."""

from __future__ import annotations

import time

from parsel import Selector

from crawler.extractors.page_tree import MAX_NODES, build_page_tree
from crawler.extractors.visibility import hiding_rules
from crawler.extractors.record_mining import MAX_CARDS, mine_cards

URL = "http://" + "b" * 56 + ".onion/category/7"


def cards_of(html: str):  # type: ignore[no-untyped-def]
    return mine_cards(build_page_tree(Selector(text=html).root), URL)


def card(title: str, price: str, vendor: str, extra: str = "") -> str:
    return (f'<div class="item"><h4><a href="/item/{abs(hash(title)) % 10_000}">{title}</a></h4>'
            f'<p class="price">{price}</p><p>Vendor: <a href="/u/{vendor}">{vendor}</a></p>{extra}</div>')


GRID = ("<html><body><div class='nav'><a href='/'>Home</a> <a href='/wallet'>Balance 0.00 USD</a></div>"
        "<div class='row'>" + card("MDMA 1g", "$20.00", "alice") + card("LSD 10 tabs", "$45.50", "bob") + "</div>"
        "<div class='row'>" + card("Ketamine 5g", "€1.234,56", "carol", "<p>Ships from Germany</p>")
        + card("Speed 10g", "฿0.0012", "dave") + "</div></body></html>")


def test_grid_split_over_rows_gives_one_card_each() -> None:
    cards = cards_of(GRID)
    assert [card.title for card in cards] == ["MDMA 1g", "LSD 10 tabs", "Ketamine 5g", "Speed 10g"]
    assert [(card.price.amount, card.price.currency) for card in cards] == [
        (20.0, "USD"), (45.5, "USD"), (1234.56, "EUR"), (0.0012, "BTC")]
    assert [card.vendor for card in cards] == ["alice", "bob", "carol", "dave"]
    assert cards[2].ships_from == "Germany"
    assert all(card.url and card.url.startswith("http://" + "b" * 56 + ".onion/item/") for card in cards)


def test_table_rows_with_a_header_row_and_per_unit_prices() -> None:
    rows = "".join(
        f"<tr><td><a href='/listing/{number}'>Weed {number}</a></td><td>by <a href='/vendor/v{number}'>v{number}</a></td>"
        f"<td>{price} USD/1LB</td><td>US → US, CA</td></tr>"
        for number, price in ((1, "1795.00"), (2, "1650.00"), (3, "980.00")))
    html = f"<html><body><table><tr><th>Item</th><th>Vendor</th><th>Price</th><th>Route</th></tr>{rows}</table></body></html>"
    cards = cards_of(html)
    assert [(card.title, card.price.amount, card.price.unit, card.vendor) for card in cards] == [
        ("Weed 1", 1795.0, "1LB", "v1"), ("Weed 2", 1650.0, "1LB", "v2"), ("Weed 3", 980.0, "1LB", "v3")]
    assert (cards[0].ships_from, cards[0].ships_to) == ("US", "US, CA")


def test_a_strip_of_small_cards_inside_a_main_card_keeps_the_main_price() -> None:
    strip = "".join(f"<a class='mini' href='/l/{n}'><h5>Other {n}</h5><span>{n}.00 USD</span></a>" for n in (7, 8))
    main = ("<li class='listing'><a href='/l/{n}'><h3>Main {n}</h3><span>{n}9.99 USD</span></a>"
            "<span class='seller'><a href='/profile/zed'>zed(12)</a></span>"
            "<div class='also'>Also from this vendor" + strip + "</div></li>")
    html = "<html><body><ul>" + main.format(n=1) + main.format(n=2) + "</ul></body></html>"
    by_title = {card.title: card for card in cards_of(html)}
    assert by_title["Main 1"].price.amount == 19.99 and by_title["Main 1"].vendor == "zed"
    assert by_title["Other 7"].price.amount == 7.0


def test_listings_filed_under_their_vendors_path_and_a_price_button_linking_the_listing() -> None:
    # Europa's grid: the detail page is /store/<vendor>/item/<id> (a path that starts like a vendor's
    # page), the title link is short, and a longer button linking the same page holds the price.
    def card_html(vendor: str, item: str, title: str, low: str, high: str) -> str:
        link = f"/store/{vendor}/item/{item}"
        return (f"<div class='four wide column'><div class='ui card'><div class='content card-header'>"
                f"<a class='header' href='{link}'>{title}</a></div><div class='image'><a href='{link}'><img src='x.jpg'></a></div>"
                f"<div class='content'><a class='header' href='/store/{vendor}'>@{vendor}</a></div>"
                f"<div class='extra content'><a class='ui button' href='{link}'><span class='item-price'>{low} - \n {high}\n EUR</span>"
                f"<span class='ui button'>Physical</span></a></div></div></div>")
    html = ("<html><body><div class='ui grid'>" + card_html("john-doe", "3b85ab6a", "MDMA HQ", "20.00", "2000.00")
            + card_html("john-doe", "963f20db", "Speed", "100.00", "1700.00")
            + card_html("bluemagic", "77aa01", "Valium 10mg", "9.00", "90.00") + "</div></body></html>")
    cards = cards_of(html)
    assert [(card.title, card.price.amount, card.price.amount_max, card.price.currency, card.vendor) for card in cards] == [
        ("MDMA HQ", 20.0, 2000.0, "EUR", "john-doe"), ("Speed", 100.0, 1700.0, "EUR", "john-doe"),
        ("Valium 10mg", 9.0, 90.0, "EUR", "bluemagic")]
    assert [card.url for card in cards] == [
        "http://" + "b" * 56 + ".onion/store/john-doe/item/3b85ab6a", "http://" + "b" * 56 + ".onion/store/john-doe/item/963f20db",
        "http://" + "b" * 56 + ".onion/store/bluemagic/item/77aa01"]


def test_page_columns_exchange_rates_and_balances_are_not_cards() -> None:
    rates = "".join(f"<tr><td><a href='/rate/{code}'>{code}</a></td><td>{code} {value}</td></tr>"
                    for code, value in (("USD", "5261.1"), ("EUR", "4603.8"), ("GBP", "4014.5")))
    html = ("<html><body><div class='side'><table>" + rates + "</table><a href='/wallet'>Balance: $0</a></div>"
            "<div class='main'><h1>Welcome</h1><p>Our prices start at $10. <a href='/rules'>Rules</a></p></div></body></html>")
    assert cards_of(html) == []


def test_prices_inside_titles_do_not_make_cards() -> None:
    links = "".join(f"<li><a href='/t/{n}'>SALE $9.99 gram TOP SHELF INDOOR GRAPE APE number {n}</a></li>" for n in range(5))
    assert cards_of(f"<html><body><ul>{links}</ul></body></html>") == []


def test_hidden_pop_ups_and_hidden_cards_are_left_out() -> None:
    style = "<style>.pop {display: none} .card:hover .pop {display: block} a.trap[href*='x'] {display:none}</style>"
    item = ("<div class='card'><a href='/i/{n}'>Item {n}</a><span>{n}.50 EUR</span>"
            "<div class='pop'><a href='/i/{n}'>Item {n} big picture</a><span>{n}.50 EUR</span></div></div>")
    hidden = "<div class='card' style='display: none'><a href='/i/9'>Trap item</a><span>1.00 EUR</span></div>"
    html = f"<html><head>{style}</head><body>" + item.format(n=1) + item.format(n=2) + hidden + "</body></html>"
    cards = cards_of(html)
    assert [(card.title, card.price.amount) for card in cards] == [("Item 1", 1.5), ("Item 2", 2.5)]
    # The :hover and attribute rules are conditional: at rest .pop stays hidden and a.trap is shown.
    rules = hiding_rules([style.removeprefix("<style>").removesuffix("</style>")], at_rest=True)
    assert rules.decide("div", None, "pop") == ("hide", None)
    assert rules.decide("a", None, "trap") == (None, None)


def test_at_names_title_labels_and_icon_currencies() -> None:
    row = ("<div class='row'><div>Title: {title}</div><div>Vendor: <b>@{vendor}</b></div>"
           "<div><i class='fa fa-btc'></i> {price}</div><a href='/p/{n}'>View</a></div>")
    html = "<html><body>" + "".join(row.format(title=f"Hash {n}g", vendor=f"hv{n}", price=f"0.00{n}", n=n)
                                    for n in (1, 2, 3)) + "</body></html>"
    cards = cards_of(html)
    assert [(card.title, card.vendor, card.price.amount, card.price.currency) for card in cards] == [
        ("Hash 1g", "hv1", 0.001, "BTC"), ("Hash 2g", "hv2", 0.002, "BTC"), ("Hash 3g", "hv3", 0.003, "BTC")]


def test_hostile_pages_stay_bounded() -> None:
    many = "".join(f"<div><a href='/i/{n}'>Item number {n}</a><span>{n}.00 USD</span></div>" for n in range(30_000))
    deep = "<div>" * 5_000 + "<a href='/x'>x</a> 5 USD" + "</div>" * 5_000
    for html in (f"<html><body>{many}</body></html>", f"<html><body>{deep}{deep}</body></html>"):
        started = time.perf_counter()
        tree = build_page_tree(Selector(text=html).root)
        cards = mine_cards(tree, URL)
        assert len(tree) <= MAX_NODES and len(cards) <= MAX_CARDS
        assert time.perf_counter() - started < 30  # generous: linear work, a loaded CI machine
    assert build_page_tree(Selector(text=f"<html><body>{many}</body></html>").root).truncated
