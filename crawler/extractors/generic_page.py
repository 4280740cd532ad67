"""What a page of a site without a market profile holds: its type, listings, vendor and posts.

Public API:

* :func:`read_generic_page` ``(selector, url) -> GenericPage``: the page type
  (``"category"``, ``"listing"``, ``"vendor"``, ``"thread"`` or None for a
  page that is none of these -- news, link lists, login and CAPTCHA pages),
  the listing of a detail page, the listing cards of a result page (or of a
  vendor's shop window), the vendor of a profile page and the posts of a
  forum thread.
* :class:`GenericPage` -- those, with listing values keyed like a market
  profile's fields (``title``, ``price``, ``vendor``...).
* :func:`listing_id_for_url` -- the listing id of a detail-page URL, the one
  rule for cards and detail pages so that a card and its detail page are one
  document (same ``_id``).

Order of the decisions, each from :mod:`crawler.extractors.page_tree`'s one
walk over the page:

1. a forum thread (:mod:`crawler.extractors.forum_thread`) is a thread and
   nothing else: prices quoted in posts are talk, not offers;
2. a vendor profile (:mod:`crawler.extractors.vendor_profile`), with the
   vendor's listing cards when the page shows them;
3. a listing detail page (:mod:`crawler.extractors.listing_detail`), whose
   title and price sit outside any repeated card (beside three or more cards only with a
   labelled price, or as a shop's product page: the page's one ``<h1>`` is the title and an
   order form stands outside the cards, whatever cart or "same category" strips surround it);
   a card with no page of its own (no URL) gets an id from the page's and what it prints;
4. a result page: repeated listing cards (:mod:`crawler.extractors.record_mining`);
5. otherwise nothing: no listing is invented.

Never raises on hostile or malformed HTML; the cost is linear in the page
(see the modules above for their caps).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Mapping

from parsel import Selector

from crawler.extractors.countries import parse_countries
from crawler.extractors.forum_thread import ForumPost, read_thread
from crawler.extractors.generic_listing import listing_id_from_url
from crawler.extractors.listing_detail import CardMask, add_older_reading, page_title_text, read_listing_detail
from crawler.extractors.page_tree import build_page_tree
from crawler.extractors.prices import Price
from crawler.extractors.record_mining import Card, mine_cards
from crawler.extractors.vendor_profile import read_vendor_profile
from crawler.items import stable_id
from crawler.urls import canonical_url, onion_host

@dataclass
class GenericPage:
    page_type: str | None = None
    listing: dict[str, Any] | None = None
    cards: list[dict[str, Any]] = field(default_factory=list)
    vendor: dict[str, Any] | None = None
    posts: list[ForumPost] = field(default_factory=list)
    evidence: list[str] = field(default_factory=list)


def listing_id_for_url(url: str) -> str:
    """The id of the listing at ``url`` (see :func:`~crawler.extractors.generic_listing.listing_id_from_url`),
    else a hash of the canonical URL -- the same fallback as a detail page's."""
    return listing_id_from_url(url) or "url-" + stable_id(canonical_url(url))[:16]


def _price(span: Any) -> Price | None:
    return Price(span.amount, span.currency) if span is not None else None


def _one_per_listing(cards: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One card per listing id: two cards linking to the same detail page would be one document
    anyway (same ``_id``); the first keeps its values and takes what only the later ones show."""
    merged: dict[tuple[Any, Any], dict[str, Any]] = {}
    for values in cards:
        key = (values.get("market_host"), values.get("listing_id"))
        if key in merged:
            for name, value in values.items():
                merged[key].setdefault(name, value)
        else:
            merged[key] = values
    return list(merged.values())


def card_values(card: Card, page_url: str, vendor_name: str | None = None,
                countries: Mapping[str, str] | None = None) -> dict[str, Any]:
    """A card as listing values (profile field keys), ready for the item builder.

    ``countries`` is the country table for ships from/to (default: the config package's).
    """
    url = card.url or page_url
    listing_id = listing_id_for_url(url)
    if not card.url:
        # A card with no page of its own (an order form's row, whose only link is its photo) is
        # told apart from the page's other such cards by what it prints.
        listing_id += "-" + stable_id(f"{card.title}\n{card.price_text or ''}")[:12]
    values: dict[str, Any] = {
        "title": card.title,
        "url": url,
        "listing_id": listing_id,
        "market_host": onion_host(url) or onion_host(page_url),
    }
    if card.price is not None:
        values["price"] = _price(card.price)
        if card.price.unit:
            values["price_unit"] = card.price.unit
    if card.crypto_price is not None:
        values["crypto_prices"] = [_price(card.crypto_price)]
    vendor = card.vendor or vendor_name
    if vendor:
        values["vendor"] = vendor
    if card.vendor_url:
        values["vendor_url"] = card.vendor_url
    if card.ships_from:
        values["ships_from"] = parse_countries(card.ships_from, table=countries)
    if card.ships_to:
        values["ships_to"] = parse_countries(card.ships_to, table=countries)
    if card.rating is not None:
        values["rating"] = card.rating
    return values


def _several_vendors(cards: list[Card]) -> bool:
    """True when the cards name two or more different vendors: a result page, not a vendor's own page."""
    return len({card.vendor.casefold() for card in cards if card.vendor}) >= 2


_VENDOR_FACT = re.compile(r"(?i)\b(?:joined|member since|since|registered)\b")


def _may_need_older_reader(selector: Selector, chunks: list[tuple[int, str]]) -> bool:
    """Structured product data, or a join date in the text (a vendor's page of cards)."""
    root = selector.root
    try:
        if root.xpath("boolean(//script[@type='application/ld+json'] | //*[@itemtype]"
                      " | //meta[@property='product:price:amount' or @property='og:price:amount'])"):
            return True
    except Exception:  # a broken tree: read it the old way too
        return True
    return any(_VENDOR_FACT.search(text) for _, text in chunks[:5_000] if len(text) < 300)


_PGP_ARMOR = "-----BEGIN PGP PUBLIC KEY BLOCK-----"


def _has_armored_key(selector: Selector, chunks: list[tuple[int, str]]) -> bool:
    """True when the page prints an armored PGP public key (in its text or a read-only textarea)."""
    if any(_PGP_ARMOR in text for _, text in chunks):
        return True
    try:
        return bool(selector.root.xpath(f"boolean(//textarea[contains(., '{_PGP_ARMOR}')])"))
    except Exception:  # a broken tree has no key we can read
        return False


def _listing_page(values: dict[str, Any], evidence: list[str], cards: list[Card], url: str,
                  countries: Mapping[str, str] | None = None) -> GenericPage:
    values = dict(values)
    values["listing_id"] = listing_id_for_url(url)
    values.pop("url", None)
    others = _one_per_listing(
        [card_values(card, url, countries=countries) for card in cards if card.url and canonical_url(card.url) != canonical_url(url)])
    return GenericPage("listing", listing=values, cards=others, evidence=evidence)


def _one_main_product(tree: Any, cards: list[Card], detail: Any, detail_title: str) -> bool:
    """True when the page's one ``<h1>`` (outside every card) is the detail reading's title and an
    order form (quantity field, "Add to cart") stands outside the cards: a shop's product page,
    whatever strips of other products (cart block, "same category", "viewed products") surround it."""
    if "order-form" not in detail.evidence or not detail_title:
        return False
    inside = CardMask(tree, cards)
    headings = [index for index in range(len(tree))
                if tree.tag[index] == "h1" and not tree.hidden[index] and index not in inside]
    return len(headings) == 1 and (tree.small_text[headings[0]] or "").casefold() == detail_title


def read_generic_page(selector: Selector, url: str, countries: Mapping[str, str] | None = None) -> GenericPage:
    """The page's type and items (see the module docstring).

    ``countries`` is the country table for ships from/to (default: the config package's).
    """
    tree = build_page_tree(selector.root)
    thread = read_thread(tree, url)
    if thread.is_thread:
        return GenericPage("thread", posts=thread.posts, evidence=["forum-posts"])
    cards = mine_cards(tree, url)
    chunks = list(tree.text_chunks(0, limit=400_000))
    detail = read_listing_detail(selector, tree, url, cards, chunks, countries=countries)
    card_titles = {card.title.casefold() for card in cards}
    detail_title = str(detail.values.get("title", "")).casefold()
    # Beside a grid of three or more cards, only a labelled price makes the page one listing's
    # (a results header "962 results" over a rates ticker is not a listing).
    page_title = page_title_text(selector)
    vendor = None
    if detail.strong and detail_title not in card_titles and (
            len(cards) < 3 or "price-label" in detail.evidence or _one_main_product(tree, cards, detail, detail_title)):
        # An unlabelled price after a heading is weak: on a vendor's profile (a join date and the
        # vendor's armored key) it is the header's balance under the site's name, not an offer.
        if "price-label" not in detail.evidence and _has_armored_key(selector, chunks):
            vendor = read_vendor_profile(tree, url, chunks, page_title, countries=countries)
        if vendor is None or "joined" not in vendor.evidence:
            add_older_reading(detail, selector, url, countries=countries)
            return _listing_page(detail.values, detail.evidence, cards, url, countries=countries)
    if vendor is None:
        vendor = read_vendor_profile(tree, url, chunks, page_title, countries=countries)
        if vendor is not None and _several_vendors(cards):
            # Cards of several vendors: the profile must stand outside them (a vendor's join date
            # or key printed in each card, or quoted in a description, is not the page's profile).
            outside = CardMask(tree, cards)
            vendor = read_vendor_profile(tree, url, [chunk for chunk in chunks if chunk[0] not in outside],
                                         page_title, countries=countries)
    if vendor is not None:
        return GenericPage(
            "vendor", vendor=vendor.values,
            cards=_one_per_listing([card_values(card, url, vendor.name, countries=countries) for card in cards]),
            evidence=["vendor-labels", *(["cards"] if cards else [])],
        )
    # The older reader (structured data, free-text vendor facts) is as costly as all of the
    # above; on a page of cards it can only turn the page into a vendor's or a product's.
    if not cards or _may_need_older_reader(selector, chunks):
        add_older_reading(detail, selector, url, countries=countries)
        # Structured data (JSON-LD, microdata) naming the product the page's own heading names
        # makes it that product's page, even where a widget of cards repeats it ("Top rated").
        structured = any(source in detail.evidence
                         for source in ("older-reader:json-ld", "older-reader:microdata", "older-reader:open-graph"))
        named = structured and bool(detail_title) and str(detail.values.get("title", "")).casefold() == detail_title
        if detail.strong and (detail_title not in card_titles or named):
            return _listing_page(detail.values, detail.evidence, cards, url, countries=countries)
    if detail.vendor_values and not _several_vendors(cards):
        # The older reader's free-text facts ("★ 4.78 · 1902 sales · joined 2022-01-17"); cards
        # of several vendors make the page a result page, never one vendor's.
        name = str(detail.vendor_values.get("name") or "") or None
        return GenericPage("vendor", vendor=detail.vendor_values,
                           cards=_one_per_listing([card_values(card, url, name, countries=countries) for card in cards]),
                           evidence=["vendor-facts"])
    if cards:
        return GenericPage("category", cards=_one_per_listing([card_values(card, url, countries=countries) for card in cards]),
                           evidence=["cards"])
    # The older reader's weaker evidence (a heading, a price element, one label) still counts
    # where nothing else claims the page, as it did before cards and threads were read.
    if detail.values.get("title") and detail.values.get("price") and "older-reader:labels" in detail.evidence:
        return _listing_page(detail.values, detail.evidence, cards, url, countries=countries)
    return GenericPage(None)
