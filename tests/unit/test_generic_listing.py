"""Generic listing extraction: JSON-LD, microdata, labels; plain pages stay plain."""

from __future__ import annotations

import json

from hypothesis import given, settings, strategies as st
from parsel import Selector

from crawler.extractors.generic_listing import extract_generic
from crawler.extractors.prices import Price

URL = "http://" + "a" * 56 + ".onion/item/17"


def run(html: str, url: str = URL):  # type: ignore[no-untyped-def]
    return extract_generic(Selector(text=html), url)


def test_json_ld_product_with_offer() -> None:
    data = {
        "@context": "https://schema.org",
        "@graph": [
            {"@type": "WebSite", "name": "Shop"},
            {
                "@type": "Product",
                "name": "MDMA crystals 5g",
                "sku": "A-99",
                "category": "Stimulants",
                "aggregateRating": {"@type": "AggregateRating", "ratingValue": "4.7"},
                "offers": [
                    {"@type": "Offer", "price": "95.00", "priceCurrency": "EUR",
                     "seller": {"@type": "Organization", "name": "CandyMan"},
                     "eligibleRegion": [{"@type": "Country", "name": "Germany"}, "Austria"],
                     "availableAtOrFrom": {"@type": "Place", "name": "Netherlands"}},
                    {"@type": "Offer", "price": 0.0015, "priceCurrency": "BTC"},
                ],
            },
        ],
    }
    html = f'<html><head><script type="application/ld+json">{json.dumps(data)}</script></head><body><h1>other</h1></body></html>'
    result = run(html)
    assert result.page_type == "listing"
    assert "json-ld" in result.evidence
    values = result.values
    assert values["title"] == "MDMA crystals 5g"
    assert values["listing_id"] == "A-99"
    assert values["price"] == Price(95.0, "EUR")
    assert values["crypto_prices"] == [Price(0.0015, "BTC")]
    assert values["vendor"] == "CandyMan"
    assert values["ships_to"] == ["DE", "AT"]
    assert values["ships_from"] == ["NL"]
    assert values["rating"] == 4.7
    assert values["category"] == "Stimulants"


def test_microdata_product() -> None:
    html = """<html><body><div itemscope itemtype="https://schema.org/Product">
      <h2 itemprop="name">Ketamine 1g</h2><span itemprop="sku">K1</span>
      <div itemprop="offers" itemscope itemtype="https://schema.org/Offer">
        <span itemprop="price" content="0.01">0.01</span><meta itemprop="priceCurrency" content="BTC">
        <div itemprop="seller" itemscope itemtype="https://schema.org/Person"><span itemprop="name">kman</span></div>
      </div></div></body></html>"""
    result = run(html)
    assert result.page_type == "listing"
    assert result.values["title"] == "Ketamine 1g"
    assert result.values["price"] == Price(0.01, "BTC")
    assert result.values["vendor"] == "kman"
    assert result.values["listing_id"] == "K1"


def test_labels_in_definition_lists_tables_and_bold_text() -> None:
    html = """<html><body><h1>Cocaine 1g</h1>
      <dl><dt>Sold by</dt><dd><a href="/v/bob">bob</a></dd><dt>Price:</dt><dd>$95.00</dd></dl>
      <table><tr><th>Ships from</th><td>Netherlands</td></tr><tr><th>Stock</th><td>12 left</td></tr></table>
      <p><b>Ships to:</b> Worldwide</p><div>Escrow: yes</div></body></html>"""
    values = run(html).values
    assert values["title"] == "Cocaine 1g"
    assert values["vendor"] == "bob"
    assert values["vendor_url"] == "http://" + "a" * 56 + ".onion/v/bob"
    assert values["price"] == Price(95.0, "USD")
    assert values["ships_from"] == ["NL"]
    assert values["ships_to"] == ["WW"]
    assert values["stock"] == 12
    assert values["escrow"] is True
    assert values["listing_id"] == "17"


def test_cyrillic_labels() -> None:
    html = """<html><body><h1>Мефедрон 1г</h1><dl><dt>Продавец</dt><dd>ХимикДилер</dd>
      <dt>Цена</dt><dd>3 500 ₽</dd><dt>Отправка из</dt><dd>Россия</dd></dl></body></html>"""
    values = run(html).values
    assert values["vendor"] == "ХимикДилер"
    assert values["price"] == Price(3500.0, "RUB")
    assert values["ships_from"] == ["RU"]


def test_price_element_without_label() -> None:
    html = """<html><body><h1>Xanax bars x10</h1><span class="item-price">€ 40</span>
      <span>Vendor: benzoqueen</span></body></html>"""
    values = run(html).values
    assert values["price"] == Price(40.0, "EUR")
    assert values["vendor"] == "benzoqueen"


def test_plain_pages_are_not_listings() -> None:
    for html in (
        "<html><body><h1>Welcome to the forum</h1><p>Read the rules.</p></body></html>",
        "<html><body><h1>Prices went up</h1><p>Everything costs $20 more now.</p></body></html>",
        "<html><head><script type='application/ld+json'>{not json</script></head><body>x</body></html>",
        "",
    ):
        assert run(html).page_type is None


def test_vendor_profile_page() -> None:
    html = """<html><body><h1>Vendor: DutchMagic</h1><p>Member since: 2023-04-05</p>
      <p>Sales: 1,204</p><p>Rating: 4.9</p></body></html>"""
    result = run(html, "http://" + "a" * 56 + ".onion/vendor/dutchmagic")
    assert result.page_type == "vendor"
    assert result.values["name"] == "DutchMagic"
    assert result.values["joined"] == "2023-04-05"
    assert result.values["sales"] == 1204
    assert result.values["rating"] == 4.9


@settings(max_examples=60, deadline=None)
@given(st.text(max_size=600))
def test_arbitrary_markup_never_crashes(body: str) -> None:
    result = run(f"<html><body>{body}</body></html>")
    assert result.page_type in (None, "listing", "vendor")


def test_forum_member_page_is_not_a_vendor() -> None:
    html = """<html><body><h1>dark_pilot</h1><p>joined 2023-11-27</p>
      <pre>-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nabc\n-----END PGP PUBLIC KEY BLOCK-----</pre></body></html>"""
    assert run(html, "http://" + "a" * 56 + ".onion/user/dark_pilot/").page_type is None


def test_control_characters_never_reach_values() -> None:
    html = "<html><body><h1>Coke \x1b[2J 1g</h1><dl><dt>Vendor</dt><dd><a href='/v/x'>ev\x1b[31mil</a></dd><dt>Price</dt><dd>$10</dd></dl></body></html>"
    values = run(html).values
    assert values["title"] == "Coke [2J 1g"
    assert values["vendor"] == "ev[31mil"
    assert values["vendor_url"].endswith("/v/x")


# --- free-text facts: linear patterns, same answers ------------------------------------

import re  # noqa: E402

import pytest  # noqa: E402

from crawler.extractors.document import extract_document  # noqa: E402
from crawler.extractors.generic_listing import _APPROXIMATE_PRICE, _FREE_TEXT_FACTS  # noqa: E402

# The patterns as they were before they were made linear: the oracle for the new ones.
_OLD_FACTS = {
    "stock": re.compile(r"\b(\d[\d,]*)\s+(?:in stock|left|available)\b", re.I),
    "sales": re.compile(r"\b(\d[\d,]*)\s+(?:sold|sales)\b", re.I),
    "joined": re.compile(r"\b(?:joined|member since|since)\s*:?\s*(\d{4}-\d{2}-\d{2}|\d{1,2}\.\d{1,2}\.\d{4})", re.I),
    "rating": re.compile(r"(?:★|rating:?)\s*(\d(?:\.\d{1,2})?)\b", re.I),
}
_OLD_APPROXIMATE_PRICE = re.compile(r"[≈~]\s*(\d[\d.,]*\s*(?:BTC|XMR|LTC|ETH|BCH))\b")
_FACT_PIECES = ["1", "23", ",", ".", " ", "  ", "a", "_", "x1", " sold", " sales", " in stock", " left", "Sold",
                "joined", "since", ":", "2024-01-02", "1.2.2024", "★", "rating", "4.5", "~", "≈", "BTC", " XMR"]


@settings(max_examples=400)
@given(st.lists(st.sampled_from(_FACT_PIECES), max_size=25))
def test_free_text_facts_find_what_the_old_patterns_found(pieces: list[str]) -> None:
    text = "".join(pieces)
    for key, old in _OLD_FACTS.items():
        new_match, old_match = _FREE_TEXT_FACTS[key].search(text), old.search(text)
        assert (new_match and new_match.group(1)) == (old_match and old_match.group(1)), key
    assert _APPROXIMATE_PRICE.findall(text) == _OLD_APPROXIMATE_PRICE.findall(text)


# --- deeply nested JSON-LD -------------------------------------------------------------


def _json_ld_page(script: str) -> str:
    return (
        f'<html><head><script type="application/ld+json">{script}</script></head>'
        "<body><h1>Deep</h1><p>Sold by: someone. Price: 5 USD</p></body></html>"
    )


@pytest.mark.parametrize("depth", [40, 990, 5_000, 100_000])
@pytest.mark.parametrize(
    "shape",
    [
        "{open}{close}",
        '{{"@type":{open}"Product"{close},"name":"x"}}',
        '{{"@type":"Product","name":"x","offers":{{"price":5,"priceCurrency":"USD","inventoryLevel":{open}1{close}}}}}',
        '{{"@type":"Product","name":"x","offers":{{"price":{open}5{close},"priceCurrency":"USD"}}}}',
    ],
    ids=["bare", "type", "inventory", "price"],
)
def test_deeply_nested_json_ld_never_raises_out_of_extract_document(depth: int, shape: str) -> None:
    """It raised RecursionError, so one script hid every page that carried it."""
    script = shape.format(open="[" * depth, close="]" * depth)
    document = extract_document(_json_ld_page(script), URL, "2025-12-01T00:00:00Z", "test")
    assert document.page.title == "" and "Deep" in document.page.text
    for listing in document.listings:
        assert listing.stock is None  # a value nested past the bound is not read


def test_json_ld_values_within_the_depth_bound_are_still_read() -> None:
    script = json.dumps({"@type": "Product", "name": "x", "offers": {
        "price": 5, "priceCurrency": "USD", "inventoryLevel": {"value": 7}}})
    assert run(_json_ld_page(script)).values["stock"] == 7


def test_a_page_of_one_huge_text_node_is_read_for_vendor_facts_only_up_to_a_cap(monkeypatch) -> None:
    from crawler.extractors import generic_listing

    read: list[int] = []
    original = generic_listing._clean

    def counting_clean(text):  # type: ignore[no-untyped-def]
        read.append(len(text or ""))
        return original(text)

    monkeypatch.setattr(generic_listing, "_clean", counting_clean)
    body = "Vendor Bob joined 2021-01-02, 40 sales. " + "lorem ipsum dolor sit amet " * 400_000
    result = extract_generic(Selector(text=f"<html><head><title>Bob</title></head><body><p>{body}</p></body></html>"),
                             "http://" + "v" * 56 + ".onion/u/bob")
    assert result.page_type == "vendor" and result.values["sales"] == 40
    # A single 10 MB text node was cleaned and searched whole (seconds, over the extraction budget).
    assert max(read) <= 200_000, max(read)
