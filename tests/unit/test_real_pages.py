"""Extraction without a profile on real saved pages (tests/data/real), per page type.

Specific assertions use DEVELOPMENT pages only.  The held-out markets
(tests/data/real/split.json) appear here in one coarse test -- no listing
invented on their forum threads and login page -- and otherwise only in
bench/extraction_real.py, so nothing is tuned on them.  Expected values are
the hand-read truth files (tests/data/real/truth), never the extractor's output.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from crawler.extractors.document import ExtractedDocument, extract_document
from crawler.items import Listing

REAL = Path(__file__).resolve().parents[1] / "data" / "real"
SPLIT = json.loads((REAL / "split.json").read_text(encoding="utf-8"))
FETCHED_AT = "2025-12-01T00:00:00Z"
HOST = "a" * 52 + "aaad.onion"


def url_of(market: str, page: str) -> str:
    return f"http://{HOST}/{market}/{page}"


def truth_of(market: str, page: str) -> dict[str, Any]:
    assert market in SPLIT["development"], "specific assertions use development markets only"
    return json.loads((REAL / "truth" / market / page.replace(".html", ".json")).read_text(encoding="utf-8"))


def extract(market: str, page: str) -> ExtractedDocument:
    html = (REAL / "pages" / market / page).read_bytes()
    return extract_document(html, url_of(market, page), FETCHED_AT, "test-real", profiles=None)


def norm(text: str | None) -> str:
    return " ".join((text or "").split()).casefold()


def matched(truth: list[dict[str, Any]], listings: list[Listing]) -> int:
    """Truth cards found with the same title and a price within 0.5% in the same currency."""
    left = list(listings)
    found = 0
    for card in truth:
        for listing in left:
            if (norm(listing.title) == norm(card["title"]) and listing.price_currency == card["currency"]
                    and listing.price_amount is not None and abs(listing.price_amount - card["price"]) <= 0.005 * card["price"]):
                left.remove(listing)
                found += 1
                break
    return found


# --- category and search-result pages ----------------------------------------------------


@pytest.mark.parametrize("market, page", [
    ("apollon", "category-1.html"), ("blackry", "category-1.html"), ("cypher", "category-2.html"),
    ("dream", "category-1.html"), ("empire", "category-1.html"), ("europa", "category-1.html"), ("pax-romana", "category-1.html"),
    ("square-market", "category-1.html"), ("yellow-brick", "category-1.html"), ("yellow-brick", "category-2.html"),
])
def test_category_page_gives_one_listing_per_card(market: str, page: str) -> None:
    truth = truth_of(market, page)
    document = extract(market, page)
    assert document.page_type == "category"
    primary = [card for card in truth["listings"] if not card.get("secondary")]
    assert matched(primary, document.listings) == len(primary)
    # Nothing invented, one listing per detail page (a card repeated in "also from this vendor"
    # strips links to the same page: one document, one _id).
    assert len(document.listings) == len({card["url"] for card in truth["listings"]})
    assert all(listing.extractor == "card" for listing in document.listings)


def test_cards_carry_vendor_crypto_price_ships_and_detail_url() -> None:
    document = extract("empire", "category-1.html")
    first = document.listings[0]
    assert first.title == "2g. Pure Peruvian Cocaine Flake"
    assert (first.price_amount, first.price_currency) == (75.0, "USD")
    assert first.crypto_prices == {"BTC": 0.009444}
    assert first.vendor == "TheCircuit"
    assert first.url == "http://empiremktxgjovhm.onion/product/35791/105/186765"
    dream = extract("dream", "category-1.html").listings[0]
    assert (dream.price_amount, dream.price_currency) == (0.000523, "BTC")  # "฿0.000523"
    assert dream.ships_from == ["WW"] and dream.ships_to == ["WW"]  # "WW → WW"
    assert dream.url == f"http://{HOST}/dream/viewProduct?offer=178049.523731"


def test_title_prices_are_not_card_prices() -> None:
    """Empire titles such as "... $35-$47.50 each" keep the card's own "USD 47.50"."""
    document = extract("empire", "category-1.html")
    oxy = next(listing for listing in document.listings if listing.title.startswith("Oxycontin"))
    assert (oxy.price_amount, oxy.price_currency) == (47.5, "USD")


def test_card_and_detail_page_share_the_listing_id() -> None:
    """A card's listing and the detail page it links to are one document (same _id)."""
    category = extract("empire", "category-1.html")
    card = category.listings[0]
    html = (REAL / "pages" / "empire" / "listing-1.html").read_bytes()
    detail = extract_document(html, card.url, FETCHED_AT, "test-real", profiles=None)
    assert detail.page_type == "listing"
    (listing,) = [item for item in detail.listings if item.url == card.url]
    assert listing.doc_id() == card.doc_id()


def test_empty_result_page_gives_no_listing() -> None:
    assert extract("empire", "category-3.html").listings == []


# --- listing detail pages --------------------------------------------------------------------


@pytest.mark.parametrize("market, page", [
    ("apollon", "listing-1.html"), ("apollon", "listing-2.html"), ("berlusconi", "listing-1.html"),
    ("dream", "listing-1.html"), ("dream", "listing-2.html"), ("empire", "listing-1.html"), ("empire", "listing-2.html"),
])
def test_detail_page_title_price_vendor_and_shipping(market: str, page: str) -> None:
    (truth,) = truth_of(market, page)["listings"]
    document = extract(market, page)
    assert document.page_type == "listing"
    (listing,) = [item for item in document.listings if item.url == url_of(market, page)]
    assert norm(listing.title) == norm(truth["title"])
    assert listing.price_currency == truth["currency"]
    assert listing.price_amount == pytest.approx(truth["price"], rel=0.005)
    assert norm(listing.vendor) == norm(truth["vendor"])
    assert listing.ships_from and listing.ships_to


def test_detail_page_labels_in_a_list_printed_one_item_per_element() -> None:
    """Apollon's "Ship to :" value is four <small> elements: "World Wide", ", United Kingdom", ..."""
    (listing,) = extract("apollon", "listing-2.html").listings
    assert listing.ships_from == ["US"]
    assert set(listing.ships_to) == {"WW", "GB", "AU", "NZ"}
    assert listing.crypto_prices == {"BTC": 0.0041914}


def test_bitcoin_sign_price_on_a_page_declared_latin1() -> None:
    """Dream declares ISO-8859-1 but is UTF-8: "฿0.000787 (€7.28)" is a bitcoin price."""
    (listing,) = extract("dream", "listing-2.html").listings
    assert (listing.price_amount, listing.price_currency) == (0.000787, "BTC")


def test_icon_font_currency_beside_a_fiat_price() -> None:
    """Berlusconi prints the BTC amount after <i class="fa fa-btc">, with no BTC text."""
    (listing,) = extract("berlusconi", "listing-1.html").listings
    assert (listing.price_amount, listing.price_currency) == (35.0, "EUR")
    assert listing.crypto_prices == {"BTC": 0.003834}


# --- vendor profiles ---------------------------------------------------------------------------


@pytest.mark.parametrize("market, page", [
    ("apollon", "vendor-1.html"), ("apollon", "vendor-2.html"), ("dream", "vendor-1.html"), ("dream", "vendor-2.html"),
    ("empire", "vendor-1.html"), ("empire", "vendor-2.html"), ("empire", "vendor-3.html"),
])
def test_vendor_profile_name_fingerprints_and_join_date(market: str, page: str) -> None:
    truth = truth_of(market, page)["vendor"]
    document = extract(market, page)
    assert document.page_type == "vendor"
    (vendor,) = document.vendors
    assert vendor.name == truth["name"]
    assert sorted(vendor.pgp_fingerprints) == sorted(truth["pgp_fingerprints"])
    assert vendor.joined == truth["joined_iso"]
    if truth["sales"] is not None:
        assert vendor.sales == truth["sales"]


@pytest.mark.parametrize("market, page", [
    ("cryptonia", "vendor-1.html"), ("cryptonia", "vendor-2.html"), ("drugmarket", "vendor-1.html"),
])
def test_vendor_profile_under_a_price_in_the_site_header(market: str, page: str) -> None:
    """Cryptonia's profile prints the site's name, then the visitor's balance (a BTC amount):
    a heading then a price, which alone read as a listing page.  The join date and the
    vendor's armored key (in a read-only textarea) make it the vendor's page."""
    truth = truth_of(market, page)["vendor"]
    document = extract(market, page)
    assert document.page_type == "vendor"
    (vendor,) = document.vendors
    assert vendor.name == truth["name"]
    assert sorted(vendor.pgp_fingerprints) == sorted(truth["pgp_fingerprints"]) != []
    if truth["joined_iso"] is not None:
        assert truth["joined_iso"].startswith(vendor.joined)
    assert not any(listing.title == "CRYPTONIA MARKET" for listing in document.listings)


def test_vendor_page_cards_take_the_vendor_of_the_page() -> None:
    truth = truth_of("dream", "vendor-1.html")
    document = extract("dream", "vendor-1.html")
    assert matched(truth["listings"], document.listings) == len(truth["listings"]) == 17
    assert {listing.vendor for listing in document.listings} == {"JoyInc"}


# --- forum threads and other pages ---------------------------------------------------------------


@pytest.mark.parametrize("page", ["thread-1.html", "thread-2.html"])
def test_forum_thread_gives_posts_and_no_listing(page: str) -> None:
    truth = truth_of("sinister-ly", page)
    document = extract("sinister-ly", page)
    assert document.page_type == "thread"
    assert document.listings == [] and document.vendors == []
    assert [post.author for post in document.posts] == [post["author"] for post in truth["posts"]]
    first, expected = document.posts[0], truth["posts"][0]
    assert first.posted_at is None  # the board prints no time zone
    assert first.posted_local == expected["posted_local"]
    assert norm(first.text).replace(" ", "").startswith(norm(expected["text_start"]).replace(" ", "")[:40])
    assert document.page.posts[0]["author"] == expected["author"]


@pytest.mark.parametrize("market, page", [
    ("darkfail", "other-1.html"), ("darkfail", "other-2.html"), ("darkfail", "other-3.html"),
    ("dream", "other-1.html"), ("dream", "other-2.html"), ("empire", "other-1.html"),
])
def test_link_lists_login_captcha_and_anti_ddos_pages_give_nothing(market: str, page: str) -> None:
    truth_of(market, page)
    document = extract(market, page)
    assert document.listings == [] and document.vendors == []
    assert document.page_type is None


def test_held_out_forum_threads_and_login_page_invent_no_listing() -> None:
    """The one coarse use of held-out pages outside the benchmark: nothing invented."""
    pages = [(market, path.name) for market in SPLIT["held_out"] for path in sorted((REAL / "pages" / market).glob("*.html"))
             if path.name.startswith(("thread-", "other-"))]
    assert len(pages) >= 2
    for market, page in pages:
        document = extract_document((REAL / "pages" / market / page).read_bytes(), url_of(market, page), FETCHED_AT,
                                    "test-real", profiles=None)
        assert document.listings == [], (market, page)
