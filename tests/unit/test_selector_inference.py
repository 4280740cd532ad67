"""Selectors inferred from elements: stable names only, exact card selectors, fields that reproduce values."""

from __future__ import annotations

from lxml import html as lxml_html

from crawler.extractors.market_profiles import NormaliseContext
from crawler.extractors.page_tree import build_page_tree
from crawler.extractors.prices import Price
from crawler.extractors.selector_inference import (
    CardPage,
    MarkerPage,
    Sample,
    card_field,
    card_selector,
    locate,
    marker,
    page_field,
    stable_classes,
)

CONTEXT = NormaliseContext("http://x.onion/", None)


def parse(text: str):  # type: ignore[no-untyped-def]
    return lxml_html.fromstring(text)


def test_generated_and_unsafe_class_names_are_never_used() -> None:
    element = parse('<div class="card shopItem_576552 css-1x2y3z a1b2c3d4e5 x\'y col-md-4 -bad ok_name"></div>')
    assert stable_classes(element) == ["card", "col-md-4", "ok_name"]


def test_the_card_selector_is_exact_or_reports_what_else_it_matches() -> None:
    root = parse("""<html><body>
      <div class="grid"><div class="card">a</div><div class="card">b</div></div>
      <div class="sidebar"><div class="card">promo</div></div></body></html>""")
    cards = root.xpath("//div[@class='grid']/div")
    chosen = card_selector([CardPage(root, cards)])
    assert chosen is not None and chosen.exact
    assert chosen.css == "div.grid > div.card"  # the bare class would catch the sidebar's promo too
    loose = card_selector([CardPage(root, cards[:1])])
    assert loose is not None and loose.hits == 1


def test_a_card_field_reproduces_every_card_and_reads_past_a_label() -> None:
    root = parse("""<html><body>
      <div class="c"><b>HOT!</b><p>Vendor: alice (12)</p><b class="p">Price: $5</b></div>
      <div class="c"><p>Vendor: bob</p><b class="p">Price: $7.50</b></div></body></html>""")
    cards = root.xpath("//div[@class='c']")
    vendors = [Sample(card, card.xpath(".//p")[0], name, CONTEXT) for card, name in zip(cards, ["alice", "bob"])]
    chosen = card_field("vendor", ("strip",), vendors)
    assert chosen is not None and chosen.hits == chosen.total == 2
    assert chosen.regex is not None and chosen.regex.startswith("^Vendor:")
    prices = [Sample(card, card.xpath(".//b[@class='p']")[0], Price(amount, "USD"), CONTEXT)
              for card, amount in zip(cards, [5.0, 7.5])]
    price = card_field("price", ("price",), prices)
    assert price is not None and price.css == "b.p"  # the first <b> of a card is a badge, not its price


def test_a_page_field_found_by_its_label_and_located_by_its_value() -> None:
    root = parse("""<html><body><h1>Market</h1><table>
      <tr><td>Name</td><td>Blue Dream</td></tr><tr><td>Price:</td><td>0.5 XMR</td></tr></table></body></html>""")
    tree = build_page_tree(root)
    located = locate(tree, "price", Price(0.5, "XMR"))
    assert [element.text for element in located] == ["0.5 XMR"]
    chosen = page_field("price", ("price",), [Sample(root, element, Price(0.5, "XMR"), CONTEXT) for element in located])
    assert chosen is not None and chosen.hits == 1
    assert chosen.xpath == "//td[normalize-space(.)='Price:']/following-sibling::td[1]"


def test_a_marker_is_on_every_page_of_its_type_and_on_no_other() -> None:
    listing = [parse('<html><body><div class="wrap"><div id="buy">x</div></div></body></html>'),
               parse('<html><body><div class="wrap"><div id="buy">y</div></div></body></html>')]
    category = [parse('<html><body><div class="wrap"><ul id="results"></ul></div></body></html>')]
    chosen = marker([MarkerPage(root) for root in listing], [MarkerPage(root) for root in category])
    assert chosen is not None and chosen.css == "div#buy"
    assert marker([MarkerPage(root) for root in listing], [MarkerPage(root) for root in listing]) is None
