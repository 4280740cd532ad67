"""Listing cards in market profiles: the ``cards:`` rule, its validation, and one listing per card.

A card and the detail page it links to must be one document (same ``_id``),
so these tests compare the card's listing with the detail page's listing as
the extraction gives them, never with an id computed here.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from crawler.extractors.document import extract_document
from crawler.extractors.generic_page import listing_id_for_url
from crawler.extractors.market_profiles import (
    MarketProfiles,
    NormaliseContext,
    ProfileError,
    apply_normalisers,
    load_profile,
)
from crawler.extractors.prices import Price

HOST = "c" * 56 + ".onion"
FETCHED_AT = "2025-12-01T00:00:00Z"

PROFILE = """\
name: cardmarket
match:
  hosts: [{host}]
pages:
  listing:
    url_pattern: '^/item\\.php\\?(?:[^#]*&)?id=(?P<listing_id>[^&#]+)'
    fields:
      title: {{css: 'h1'}}
      price: {{css: 'span.price'}}
  category:
    url_pattern: '^/cat/'
    cards:
      css: 'table.items > tr.row'
      fields:
        title: {{css: 'a.name'}}
        price: {{xpath: './td[3]'}}
        vendor: {{css: 'a.seller', optional: true}}
        url: {{css: 'a.name', attr: href}}
"""

CATEGORY = """\
<html><body><table class="items">
<tr><th>Item</th><th>Seller</th><th>Price</th></tr>
<tr class="row"><td><a class="name" href="/item.php?id=101">Blue Dream 7g</a></td>
  <td><a class="seller" href="/u/greenleaf">greenleaf</a></td><td>฿0.000523</td></tr>
<tr class="row"><td><a class="name" href="/item.php?cat=4&amp;id=102">MDMA 1g</a></td>
  <td></td><td>46.00 - 275.00 EUR</td></tr>
<tr class="row"><td><a class="name" href="/item.php?id=101">Blue Dream 7g</a></td>
  <td><a class="seller" href="/u/greenleaf">greenleaf</a></td><td>฿0.000523</td></tr>
<tr class="row"><td><a class="name" href="/vendor-notice">   </a></td><td></td><td>n/a</td></tr>
</table></body></html>
"""

DETAIL = """\
<html><body><h1>Blue Dream 7g</h1><span class="price">0.000523 BTC</span></body></html>
"""


def write(tmp_path: Path, text: str, name: str = "cardmarket.yml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


@pytest.fixture()
def profiles(tmp_path: Path) -> MarketProfiles:
    write(tmp_path, PROFILE.format(host=HOST))
    return MarketProfiles.load(tmp_path)


def test_a_category_page_gives_one_listing_per_card(profiles: MarketProfiles) -> None:
    document = extract_document(CATEGORY, f"http://{HOST}/cat/4", FETCHED_AT, "t", profiles=profiles)
    assert (document.market, document.page_type, document.extractor) == ("cardmarket", "category", "profile")
    # The repeated card (same detail page) is one listing; the row without a title is none.
    got = [(item.title, item.price_amount, item.price_currency, item.vendor, item.url, item.extractor)
           for item in document.listings]
    assert got == [
        ("Blue Dream 7g", 0.000523, "BTC", "greenleaf", f"http://{HOST}/item.php?id=101", "card"),
        ("MDMA 1g", 46.0, "EUR", None, f"http://{HOST}/item.php?cat=4&id=102", "card"),
    ]
    assert [item.listing_id for item in document.listings] == ["101", "102"]
    assert document.drift == []


def test_a_card_and_its_detail_page_are_one_document(profiles: MarketProfiles) -> None:
    category = extract_document(CATEGORY, f"http://{HOST}/cat/4", FETCHED_AT, "t", profiles=profiles)
    detail = extract_document(DETAIL, f"http://{HOST}/item.php?id=101", FETCHED_AT, "t", profiles=profiles)
    (listing,) = detail.listings
    assert listing.extractor == "profile"
    assert category.listings[0].doc_id() == listing.doc_id()


def test_without_a_listing_rule_cards_take_the_generic_id_rule(tmp_path: Path) -> None:
    text = PROFILE.format(host=HOST)
    start, end = text.index("  listing:\n"), text.index("  category:\n")
    profiles = MarketProfiles.from_files([write(tmp_path, text[:start] + text[end:])])
    document = extract_document(CATEGORY, f"http://{HOST}/cat/4", FETCHED_AT, "t", profiles=profiles)
    assert [item.listing_id for item in document.listings] == [
        listing_id_for_url(f"http://{HOST}/item.php?id=101"), listing_id_for_url(f"http://{HOST}/item.php?cat=4&id=102")]


def test_a_page_without_cards_is_no_drift_but_cards_that_lost_a_field_are(profiles: MarketProfiles) -> None:
    empty = extract_document("<html><body><table class='items'></table></body></html>", f"http://{HOST}/cat/9",
                             FETCHED_AT, "t", profiles=profiles)
    assert (empty.page_type, empty.listings, empty.drift) == ("category", [], [])
    moved = CATEGORY.replace("<td>฿0.000523</td>", "<td></td>").replace("<td>46.00 - 275.00 EUR</td>", "<td></td>")
    document = extract_document(moved, f"http://{HOST}/cat/4", FETCHED_AT, "t", profiles=profiles)
    assert [event.field for event in document.drift] == ["cards.price"]
    assert document.stats()["extract/drift/cardmarket/cards.price"] == 1


def test_the_price_normaliser_reads_prices_as_markets_print_them() -> None:
    context = NormaliseContext("http://x.onion/", None)
    assert apply_normalisers("฿0.000523", ("price",), context) == Price(0.000523, "BTC")
    assert apply_normalisers("46.00 - 275.00 EUR", ("price",), context) == Price(46.0, "EUR")
    assert apply_normalisers("12 mBTC", ("price",), context) == Price(0.012, "BTC")


@pytest.mark.parametrize(
    "replace, new, message",
    [
        ("        url: {css: 'a.name', attr: href}\n", "",
         r"cardmarket\.yml:\d+: pages\.category\.cards\.fields: a card needs its detail-page 'url' field"),
        ("        title: {css: 'a.name'}\n", "", r"pages\.category\.cards\.fields: a card needs a 'title' field"),
        ("price: {xpath: './td[3]'}", "price: {xpath: '//td[3]'}",
         r"pages\.category\.cards\.fields\.price\.xpath: a card field is read inside its card: write a relative XPath"),
        ("vendor: {css: 'a.seller', optional: true}", "vendr: {css: 'a.seller'}",
         r"pages\.category\.cards\.fields\.vendr: unknown key 'vendr' \(did you mean 'vendor'\?\)"),
        ("      css: 'table.items > tr.row'\n", "",
         r"pages\.category\.cards: give exactly one of 'css' or 'xpath'"),
        ("      css: 'table.items > tr.row'", "      css: 'tr[['", r"pages\.category\.cards\.css: invalid CSS selector"),
        ("    cards:\n", "    card:\n", r"pages\.category\.card: unknown key 'card' \(did you mean 'cards'\?\)"),
    ],
)
def test_invalid_card_rules_name_file_line_and_key(tmp_path: Path, replace: str, new: str, message: str) -> None:
    text = PROFILE.format(host=HOST)
    assert replace in text
    with pytest.raises(ProfileError, match=message):
        load_profile(write(tmp_path, text.replace(replace, new)))


def test_a_card_error_points_at_its_line(tmp_path: Path) -> None:
    text = PROFILE.format(host=HOST).replace("price: {xpath: './td[3]'}", "price: {xpath: './td[3]', normalise: prcie}")
    line = next(number for number, row in enumerate(text.splitlines(), 1) if "prcie" in row)
    with pytest.raises(ProfileError, match=rf"cardmarket\.yml:{line}: pages\.category\.cards\.fields\.price: "
                                           r"unknown normaliser 'prcie'"):
        load_profile(write(tmp_path, text))


def test_a_listing_rule_told_by_its_marker_alone_takes_the_generic_id_rule(tmp_path: Path) -> None:
    path = write(tmp_path, """\
        name: markeronly
        match:
          hosts: [{host}]
        pages:
          listing:
            marker: {{css: 'span.price'}}
            fields:
              title: {{css: 'h1'}}
              price: {{css: 'span.price'}}
        """.format(host=HOST))
    profiles = MarketProfiles.from_files([path])
    url = f"http://{HOST}/offer/view.php?item=4711"
    (listing,) = extract_document(DETAIL, url, FETCHED_AT, "t", profiles=profiles).listings
    assert (listing.market, listing.extractor) == ("markeronly", "profile")
    assert listing.listing_id == listing_id_for_url(url)


def test_cards_the_page_does_not_show_are_no_listings(profiles: MarketProfiles) -> None:
    """A hover pop-up that repeats a card, or a trap row, hidden inline or by the page's own <style>."""
    trapped = CATEGORY.replace("<html><body>", "<html><head><style>.pop {display: none}</style></head><body>").replace(
        '<tr class="row"><td><a class="name" href="/item.php?cat=4',
        '<tr class="row pop"><td><a class="name" href="/item.php?id=666">Fake</a></td><td></td><td>$1</td></tr>'
        '<tr class="row" style="visibility: hidden"><td><a class="name" href="/item.php?id=667">Trap</a></td>'
        '<td></td><td>$1</td></tr>'
        '<tr class="row"><td><a class="name" href="/item.php?cat=4')
    document = extract_document(trapped, f"http://{HOST}/cat/4", FETCHED_AT, "t", profiles=profiles)
    assert [item.title for item in document.listings] == ["Blue Dream 7g", "MDMA 1g"]
