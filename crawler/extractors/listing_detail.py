"""Listing detail pages without a profile: the one listing a page is about.

Public API:

* :func:`read_listing_detail` ``(selector, tree, url, cards, chunks) ->
  DetailReading``: the listing's values keyed like a market profile's fields
  (``title``, ``price``, ``crypto_prices``, ``price_unit``, ``vendor``,
  ``vendor_url``, ``ships_from``, ``ships_to``...), how sure the reading is
  (``strong``: a title, a price, and an order form, vendor or shipping
  labels beside them) and the evidence.
* :func:`add_older_reading` -- the same reading completed by the older
  generic reader (JSON-LD, microdata, its labels, free-text vendor facts).
* :data:`DETAIL_LABELS` -- label -> field, English, Russian and German.
* :class:`CardMask` -- which elements lie inside the page's listing cards.

Where the values come from, outside every listing card the page shows (a
"more from this vendor" strip is not the listing):

* title: the heading or titled element whose text the page's ``<title>``
  repeats (the longest one), else the heading nearest above the first price
  label, else the first ``h1``/``h2``/``h3`` or element whose class says
  title -- never a section heading such as "Item info" or "Description";
* price: the first printed price after the title whose label says price
  ("Price", "Sale Price :", "Purchase price:", "Цена", "Preis"), else the first
  printed price after the title -- exchange-rate tickers above the title are
  never the price, nor a sale's struck-through old price right before the
  current one; the crypto price is the next coin price printed with it;
* labelled values: a label and its value in one text ("Ships from: x"), in
  two neighbouring texts (``<dt>``/``<dd>``, ``<th>``/``<td>``, ``<b>x:</b>
  y``, ``<label>`` and ``<span>``), or an element's ``title`` attribute naming
  its own text (icons and counters) or, on an icon with no text, the text
  right after it (``<i title="Ships from"></i> Netherlands``);
* vendor: the "Vendor"/"Sold by"/"Продавец" value, else the first link to a
  vendor or user page after the title;
* JSON-LD and microdata (``Product``) through
  :func:`crawler.extractors.generic_listing.extract_generic` fill what is
  still missing (:func:`add_older_reading`), and stand alone on pages that
  have nothing else.

Cost: linear in the page's text chunks and tree.  Never raises.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Mapping
from urllib.parse import urljoin, urlsplit

from parsel import Selector

from crawler.extractors.countries import parse_countries
from crawler.extractors.generic_listing import extract_generic
from crawler.extractors.page_tree import PageTree, clean_text
from crawler.extractors.prices import Price
from crawler.extractors.price_spans import PriceSpan, find_price_spans
from crawler.extractors.record_mining import (ARROWS, Card, clean_vendor_name, is_action_text, is_old_or_unseen_price,
                                              is_vendor_href, vendor_link_name)
from crawler.extractors.vendor_profile import label_of

MAX_TITLE_CHARS = 400
MAX_PRICE_DISTANCE = 150  # elements between a title and an unlabelled price
MAX_OLD_PRICES = 4  # struck-through or screen-reader-only prices skipped before the current one
MAX_PRICE_HOLDERS = 300
MAX_PRICE_LABELS = 20

DETAIL_LABELS: dict[str, str] = {
    **{label: "price" for label in (
        "price", "sale price", "purchase price", "buy price", "our price", "unit price", "item price", "cost",
        "цена", "стоимость", "цена за", "preis", "kaufpreis", "prix")},
    **{label: "vendor" for label in (
        "vendor", "seller", "sold by", "merchant", "posted by", "shop", "store", "brought to you by", "offered by",
        "listed by", "provided by", "продавец", "магазин",
        "verkäufer", "anbieter", "händler")},
    **{label: "ships_from" for label in (
        "ships from", "ship from", "shipping from", "shipped from", "sent from", "origin", "origin country",
        "country of origin", "location", "отправка из", "откуда", "страна отправки", "отправка",
        "versand aus", "versand von", "versandland", "herkunft", "herkunftsland")},
    **{label: "ships_to" for label in (
        "ships to", "ship to", "shipping to", "destination", "destinations", "delivers to", "delivery to",
        "доставка в", "куда", "доставка", "регион доставки", "versand nach", "lieferung nach", "liefert nach",
        "versand in")},
}
# Buttons and links that order the item; counted outside cards only.
_BUY_WORDS = re.compile(
    r"(?i)^(?:buy|buy now|purchase|purchase with \w+|order|order now|place order|add to cart|add to basket|"
    r"checkout|купить|заказать|оформить заказ|в корзину|kaufen|jetzt kaufen|bestellen|in den warenkorb)\b")
_QUANTITY_INPUT = re.compile(r"(?i)^(?:qty|quantity|amount|count|кол-?во|количество|menge|anzahl)")
_TITLE_CLASS = re.compile(r"(?i)(?:^|[\s_-])(?:title|product-?name|item-?name|listing-?name|heading)(?:$|[\s_-])")
_HEADINGS = ("h1", "h2", "h3")
# Headings that name a section of an item page, never the item.
_SECTION_HEADINGS = frozenset({
    "item info", "item information", "item details", "product info", "product information", "product details",
    "details", "description", "product description", "item description", "information", "info", "overview",
    "shipping", "shipping options", "shipping information", "feedback", "reviews", "ratings", "product ratings",
    "vendor", "seller", "vendor info", "seller info", "about", "about the vendor", "price", "options", "terms",
    "terms and conditions", "refund policy", "описание", "информация", "доставка", "отзывы", "продавец",
    "beschreibung", "versand", "bewertungen", "verkäufer", "artikelinfo"})


@dataclass
class DetailReading:
    values: dict[str, Any] = field(default_factory=dict)
    strong: bool = False
    evidence: list[str] = field(default_factory=list)
    vendor_values: dict[str, Any] | None = None  # the older reader took the page for a vendor profile


class CardMask:
    """Which elements lie inside a listing card: one flag per element, so a test costs O(1)."""

    def __init__(self, tree: PageTree, cards: list[Card]):
        self.inside = bytearray(len(tree))
        for card in cards:
            if 0 <= card.element < len(tree):
                for index in tree.subtree(card.element):
                    self.inside[index] = 1

    def __contains__(self, index: int) -> bool:
        return 0 <= index < len(self.inside) and self.inside[index] == 1


def page_title_text(selector: Selector) -> str:
    """The page's ``<title>`` text, case-folded and collapsed ('' when there is none)."""
    try:
        texts = selector.xpath("//title//text()").getall()[:5]
    except ValueError:
        return ""
    return clean_text(" ".join(texts))[:1_000].casefold()


def _title(tree: PageTree, selector: Selector, ranges: CardMask, price_labels: list[int]) -> tuple[str | None, int]:
    """The item's title: the longest text the <title> repeats, else the heading nearest above the
    first price label, else the first heading (section headings such as "Item info" never)."""
    page_title = page_title_text(selector)
    in_title: tuple[int, str, int] | None = None
    headings: list[tuple[str, int]] = []
    for index in range(len(tree)):
        if tree.hidden[index] or index in ranges:
            continue
        tag = tree.tag[index]
        classes = tree.elements[index].get("class") or ""
        is_heading = tag in _HEADINGS or bool(_TITLE_CLASS.search(classes))
        text = tree.small_text[index]
        if not text or len(text) < 3 or len(text) > MAX_TITLE_CHARS or is_action_text(text):
            continue
        spans = tree.prices.get(index)
        if spans and spans[0].end - spans[0].start >= len(text) - 3:
            continue  # a price tag, not a title
        folded = text.casefold()
        if tag == "a" and (len(text) < 8 or " " not in text):
            continue  # a menu link ("Home"); an item's own link carries its whole name
        if page_title and len(folded) >= 4 and folded in page_title and (is_heading or tag in ("a", "b", "strong", "span", "div", "td")):
            # The longest text the <title> repeats: the item, not the market's name beside it.
            if in_title is None or len(text) > in_title[0]:
                in_title = (len(text), text, index)
        if (is_heading and not tree.elements[index].get("href") and folded.strip(" :") not in _SECTION_HEADINGS
                and index not in tree.prices and label_of(text, DETAIL_LABELS) is None):
            headings.append((text, index))
    if in_title is not None:
        # A heading between the <title>'s text and the price is the item's; the <title> may be
        # just the market's name, repeated in its banner.
        if price_labels and in_title[2] < price_labels[0]:
            between = [heading for heading in headings if in_title[2] < heading[1] < price_labels[0]]
            if between:
                return between[-1]
        return in_title[1], in_title[2]
    if headings and price_labels:
        above = [heading for heading in headings if heading[1] < price_labels[0]]
        if above:
            return above[-1]
    if headings:
        return headings[0]
    return None, -1


# "From: USA" / "To: USA": a bare preposition labels a place only with its colon.
_BARE_PLACE_LABELS = {"from": "ships_from", "to": "ships_to"}


def _bare_place_label(text: str) -> tuple[str, str] | None:
    head, colon, tail = text[:120].partition(":")
    name = _BARE_PLACE_LABELS.get(head.strip().casefold()) if colon else None
    return (name, tail.strip()) if name else None


def _labelled(tree: PageTree, chunks: list[tuple[int, str]], ranges: CardMask) -> dict[str, list[tuple[int, str]]]:
    """Field -> [(owner element, value)] for labels outside cards, in page order."""
    found: dict[str, list[tuple[int, str]]] = {}
    for position, (owner, text) in enumerate(chunks):
        # A label is plain text; a menu link "Shop" is not the label of what follows it.
        if owner in ranges or tree.link[owner] >= 0 or tree.is_column_header(owner):
            continue
        hit = label_of(text, DETAIL_LABELS) or _bare_place_label(text)
        if hit is not None:
            name, value = hit
            value_owner = owner
            next_position = position + 1
            if not value and next_position < len(chunks):
                following_owner, following = chunks[next_position]
                if label_of(following, DETAIL_LABELS) is None:
                    value, value_owner = following, following_owner
                    next_position += 1
            # A list printed one item per element: "World Wide", ", United Kingdom", ", Australia".
            while value and next_position < len(chunks) and next_position - position <= 20:
                following = chunks[next_position][1]
                if not (following.startswith((",", ";", "&")) or value.endswith(",")):
                    break
                value = value + " " + following
                next_position += 1
            if value:
                found.setdefault(name, []).append((value_owner, value[:300]))
        title = tree.elements[owner].get("title")
        if title and len(title) <= 80:
            hit = label_of(title, DETAIL_LABELS)
            if hit is not None:
                found.setdefault(hit[0], []).append((owner, text[:300]))
    # An icon with no text whose title names the text after it ("<i class='fa fa-truck'
    # title='Ships from'></i> Netherlands"): the label is the icon's, the value its tail.
    added = False
    for index in range(1, len(tree)):  # the tree is already capped (page_tree.MAX_NODES)
        if tree.small_text[index] != "" or tree.end[index] != index + 1 or index in ranges:
            continue
        element = tree.elements[index]
        label = element.get("title") or element.get("aria-label")
        if not label or len(label) > 80:
            continue
        hit = label_of(label.strip().rstrip(":") + ":", DETAIL_LABELS)
        value = clean_text((element.tail or "")[:300])
        if hit is not None and not hit[1] and value and label_of(value, DETAIL_LABELS) is None:
            found.setdefault(hit[0], []).append((tree.parent[index], value))
            added = True
    if added:
        for values in found.values():
            values.sort(key=lambda entry: entry[0])
    return found


def _price(tree: PageTree, ranges: CardMask, title_index: int,
           labelled: dict[str, list[tuple[int, str]]]) -> tuple[PriceSpan | None, PriceSpan | None, str]:
    """(main price, crypto price beside it, evidence)."""
    holders = [index for index in sorted(tree.prices) if not tree.hidden[index] and index not in ranges]
    start = title_index if title_index >= 0 else 0
    # The price is near the title: a few hundred holders and labels after it are plenty to look at.
    after = [index for index in holders if index > start][:MAX_PRICE_HOLDERS]
    label_owners = [owner for owner, _ in labelled.get("price", []) if owner > start][:MAX_PRICE_LABELS]
    chosen_position = None
    evidence = "price-after-title"
    for position, index in enumerate(after):
        # A holder labelled "Price": the label is in it, or just before it.
        text = tree.small_text[index] or ""
        if label_of(text, DETAIL_LABELS) or any(0 <= index - owner <= 3 for owner in label_owners):
            chosen_position, evidence = position, "price-label"
            break
    if chosen_position is None:
        # "Price" label whose value chunk is a price holder's descendant or the holder itself.
        for position, index in enumerate(after):
            if any(tree.contains(index, owner) or tree.contains(owner, index) for owner in label_owners):
                chosen_position, evidence = position, "price-label"
                break
    if chosen_position is None:
        # Unlabelled, the price must sit close below the title (a rates ticker further down is not it).
        if not after or after[0] - start > MAX_PRICE_DISTANCE:
            return None, None, ""
        chosen_position = 0
    # On sale: the old price struck through (or read out to screen readers only) right before the
    # current one is not the price; the next holder close by that is neither is.
    for position in range(chosen_position, min(chosen_position + MAX_OLD_PRICES, len(after) - 1)):
        if not is_old_or_unseen_price(tree, 0, after[position]) or after[position + 1] - after[chosen_position] > 20:
            break
        if not is_old_or_unseen_price(tree, 0, after[position + 1]):
            chosen_position = position + 1
            break
    main_holder = after[chosen_position]
    spans = tree.prices[main_holder]
    main = spans[0]
    crypto = next((span for span in spans[1:] if span.is_crypto and span.currency != main.currency), None)
    if crypto is None and not main.is_crypto:
        for index in after[chosen_position + 1:chosen_position + 3]:
            if index - main_holder > 12:
                break
            crypto = next((span for span in tree.prices[index] if span.is_crypto), None)
            if crypto is not None:
                break
    return main, crypto, evidence


def _vendor(tree: PageTree, ranges: CardMask, title_index: int, labelled: dict[str, list[tuple[int, str]]],
            url: str) -> tuple[str | None, str | None]:
    for owner, value in labelled.get("vendor", []):
        if owner < title_index:
            continue
        name = clean_vendor_name(value.split(",")[0])
        if name and not find_price_spans(name, limit=1):
            link = tree.link[owner]
            return name, urljoin(url, tree.elements[link].get("href") or "") if link >= 0 else None
    for index in range(max(title_index, 0), len(tree)):
        if tree.tag[index] != "a" or tree.link[index] != index or tree.hidden[index] or index in ranges:
            continue
        href = tree.elements[index].get("href") or ""
        if len(href) > 1_000 or not is_vendor_href(href):
            continue
        name = vendor_link_name(tree, index)
        if name:
            return name, urljoin(url, href)
    return None, None


def _split_arrow(value: str) -> tuple[str, str, str]:
    """(origin, arrow, destination) of a route "A → B"; ('', '', '') without an arrow."""
    for arrow in ARROWS:
        origin, found, destination = value.partition(arrow)
        if found and origin.strip() and destination.strip():
            return origin.strip(), found, destination.strip()
    return "", "", ""


def _buy_action(tree: PageTree, ranges: CardMask) -> bool:
    for index in range(len(tree)):
        tag = tree.tag[index]
        if tag not in ("button", "input", "a", "form") or tree.hidden[index] or index in ranges:
            continue
        element = tree.elements[index]
        if tag == "input":
            name = element.get("name") or ""
            kind = (element.get("type") or "").lower()
            if _QUANTITY_INPUT.match(name) or (kind == "submit" and _BUY_WORDS.match(element.get("value") or "")):
                return True
            continue
        text = tree.small_text[index] or ""
        if text and _BUY_WORDS.match(text):
            return True
        if tag == "form" and _QUANTITY_INPUT.match(text):
            return True
    return False


def read_listing_detail(selector: Selector, tree: PageTree, url: str, cards: list[Card],
                        chunks: list[tuple[int, str]], countries: Mapping[str, str] | None = None) -> DetailReading:
    """The listing the page is about (see the module docstring); ``values`` is {} when there is none."""
    ranges = CardMask(tree, cards)
    reading = DetailReading()
    labelled = _labelled(tree, chunks, ranges)
    title, title_index = _title(tree, selector, ranges, [owner for owner, _ in labelled.get("price", [])])
    if title:
        price, crypto, price_evidence = _price(tree, ranges, title_index, labelled)
        values: dict[str, Any] = {"title": title}
        if price is not None:
            values["price"] = Price(price.amount, price.currency)
            if price.unit:
                values["price_unit"] = price.unit
            reading.evidence.append(price_evidence)
        if crypto is not None:
            values["crypto_prices"] = [Price(crypto.amount, crypto.currency)]
        vendor, vendor_url = _vendor(tree, ranges, title_index, labelled, url)
        if vendor:
            values["vendor"] = vendor
            if vendor_url:
                values["vendor_url"] = vendor_url
        for name in ("ships_from", "ships_to"):
            for owner, value in labelled.get(name, []):
                if owner < title_index:
                    continue  # a search form's filter labels above the item
                origin, arrow, destination = _split_arrow(value)
                if arrow:
                    # "Ships from: United States → Worldwide": the route, origin then destination.
                    value = origin if name == "ships_from" else destination
                    other = "ships_to" if name == "ships_from" else "ships_from"
                    other_places = parse_countries(destination if other == "ships_to" else origin, table=countries)
                    if other_places and other not in labelled:
                        values[other] = other_places
                places = parse_countries(value, table=countries)
                if places:
                    values[name] = places
                    break
        buy = _buy_action(tree, ranges)
        if buy:
            reading.evidence.append("order-form")
        ships = "ships_from" in values or "ships_to" in values
        reading.strong = price is not None and (price_evidence == "price-label" or buy or ("vendor" in values and ships))
        reading.values = values
    return reading


def _is_site_home(link: str, page_url: str, name: str, page_title: str) -> bool:
    """True when ``link`` is a site's home page ("/" or nothing) and that site is the page's own:
    the same host, or a seller ``name`` that ends the page's <title> ("Item – Shop Name")."""
    if not link:
        return False
    target, page = urlsplit(urljoin(page_url, link)), urlsplit(page_url)
    if target.path not in ("", "/") or target.query:
        return False
    folded = name.casefold().strip()
    return target.netloc.casefold() == page.netloc.casefold() or bool(folded and page_title.endswith(folded))


def add_older_reading(reading: DetailReading, selector: Selector, url: str,
                      countries: Mapping[str, str] | None = None) -> DetailReading:
    """``reading`` completed by :func:`~crawler.extractors.generic_listing.extract_generic`
    (JSON-LD, microdata, its label reader and free-text vendor facts); returns ``reading``.

    It costs about as much as the rest of the generic reading together, so
    :func:`~crawler.extractors.generic_page.read_generic_page` calls it only
    where it can change the outcome.
    """
    legacy = extract_generic(selector, url, countries=countries)
    if legacy.page_type == "listing" and _is_site_home(str(legacy.values.get("vendor_url") or ""), url,
                                                       str(legacy.values.get("vendor") or ""), page_title_text(selector)):
        # A seller whose page is the site's home page is the site itself (a one-seller shop's
        # JSON-LD "seller": its Organization): no vendor of a market.
        legacy.values.pop("vendor", None)
        legacy.values.pop("vendor_url", None)
    if legacy.page_type == "listing":
        structured = any(source in legacy.evidence for source in ("json-ld", "microdata", "open-graph"))
        if structured or not reading.values.get("price"):
            # Structured data names the product for sure; without a price of our own the
            # older reader's labelled values are the better reading.
            for key, value in legacy.values.items():
                if structured or key != "title" or "title" not in reading.values:
                    reading.values[key] = value
        else:
            for key, value in legacy.values.items():
                if key not in ("title", "price", "vendor", "listing_id"):
                    reading.values.setdefault(key, value)
        reading.strong = reading.strong or structured
        reading.evidence.extend(f"older-reader:{source}" for source in legacy.evidence)
    elif legacy.page_type == "vendor":
        reading.vendor_values = legacy.values
    return reading
