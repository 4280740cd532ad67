"""Listings and vendors on sites that have no market profile.

Public API:

* :func:`extract_generic` -> :class:`GenericExtraction`: the page type it
  guessed (``"listing"``, ``"vendor"`` or None) and field values keyed like a
  profile's (``title``, ``price``, ``vendor``, ``ships_to``... for listings;
  ``name``, ``pgp``, ``rating``, ``sales``, ``joined`` for vendors).

Evidence, strongest first (a later source only fills fields still empty):

1. schema.org JSON-LD (``Product`` with ``offers``), the way shops publish
   structured data;
2. schema.org microdata (``itemtype=".../Product"`` with ``itemprop``), then Open Graph
   product meta (``og:type`` product, ``product:price:amount``/``currency``, ``og:title``);
3. labelled values: ``<dt>Vendor</dt><dd>x</dd>``, ``<th>Price</th><td>x</td>``,
   ``<b>Sold by:</b> x``, ``Ships from: x`` lines -- English and Russian labels;
4. the page's ``<h1>`` (or ``<title>``) as the title, and the first price in an
   element whose class or id says "price".

A page counts as a listing only when it has a title and a price or a vendor
(structured data or labels), and as a vendor profile only when it has a name
heading, a join date or PGP key, and a sales count (a forum member page has
the first two); anything less is a plain page, because guessing listings on
forum posts and link lists costs investigators more than a miss.
Never raises on malformed HTML or JSON.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, Iterator, Mapping
from urllib.parse import urljoin, urlsplit

from parsel import Selector

from crawler.extractors.market_profiles import NormaliseContext, apply_normalisers
from crawler.extractors.page_tree import MAX_NODES
from crawler.extractors.pgp import armored_blocks
from crawler.extractors.prices import Price, find_prices, normalise_currency, parse_amount
from crawler.urls import canonical_url

_WHITESPACE = re.compile(r"\s+")
_MAX_JSON_CHARS = 200_000
# Deepest nesting of lists and objects turned into text from JSON-LD (schema.org data is a
# few levels deep).
_MAX_JSON_DEPTH = 32
# Elements the label reader walks: as many as the page tree reads.
_MAX_LABEL_WALK = MAX_NODES

# Field -> labels that introduce it (compared case-folded, without a trailing colon).
LISTING_LABELS: dict[str, tuple[str, ...]] = {
    "vendor": ("vendor", "sold by", "seller", "merchant", "продавец", "verkäufer"),
    "price": ("price", "cost", "цена", "стоимость", "preis", "prix"),
    "ships_from": ("ships from", "shipping from", "ship from", "origin", "sent from", "country of origin",
                   "отправка из", "откуда", "страна отправки", "versand aus"),
    "ships_to": ("ships to", "shipping to", "ship to", "destination", "destinations", "delivers to",
                 "доставка в", "куда", "доставка", "versand nach"),
    "category": ("category", "categories", "section", "категория", "раздел", "kategorie"),
    "escrow": ("escrow", "эскроу", "гарант"),
    "finalize_early": ("finalize early", "finalise early", "fe", "early finalization", "early finalisation"),
    # "Payment: Escrow" / "Protection: FE" name the payment model; escrow and FE are read from it.
    "payment": ("payment", "payment type", "protection", "оплата заказа", "защита", "тип оплаты"),
    "stock": ("stock", "in stock", "quantity", "quantity available", "available", "left", "в наличии",
              "наличие", "остаток"),
    "sales": ("sales", "sold", "orders", "deals", "продажи", "продаж", "сделок", "сделки"),
    "rating": ("rating", "vendor rating", "score", "рейтинг", "оценка"),
    "description": ("description", "описание", "beschreibung"),
}
VENDOR_LABELS: dict[str, tuple[str, ...]] = {
    "joined": ("joined", "member since", "registered", "since", "дата регистрации", "на сайте с", "с нами с"),
    "rating": ("rating", "feedback", "score", "рейтинг", "оценка"),
    "sales": ("sales", "total sales", "orders", "deals", "продажи", "продаж", "сделок", "сделки"),
}
_ALL_LABELS: dict[str, tuple[str, ...]] = {
    name: tuple(dict.fromkeys(LISTING_LABELS.get(name, ()) + VENDOR_LABELS.get(name, ())))
    for name in (*LISTING_LABELS, *VENDOR_LABELS)
}
_LISTING_NORMALISERS: dict[str, tuple[str, ...]] = {
    "vendor": ("strip",), "price": ("price",), "ships_from": ("countries",), "ships_to": ("countries",),
    "category": ("strip",), "escrow": ("bool",), "finalize_early": ("bool",), "stock": ("int",),
    "sales": ("int",), "rating": ("float",), "joined": ("date",), "description": ("strip",),
}
# A count in free text: the first digit at a word boundary in a run of digits and commas,
# to the end of the run.  The match starts at the run's first character and the atomic
# group commits to that first digit, so a run is scanned once; "\b(\d[\d,]*)" alone
# retried the run from each of its digits and was quadratic on "1,1,1,...".
_COUNT = r"(?<![\d,])(?>[\d,]*?\b(\d[\d,]*+))"
# Free-text facts for pages that state them without labels ("142 in stock · 882 sold").
_FREE_TEXT_FACTS: dict[str, re.Pattern[str]] = {
    "stock": re.compile(rf"{_COUNT}\s++(?:in stock|left|available)\b", re.I),
    "sales": re.compile(rf"{_COUNT}\s++(?:sold|sales)\b", re.I),
    "joined": re.compile(r"\b(?:joined|member since|since)\s*+:?\s*+(\d{4}-\d{2}-\d{2}|\d{1,2}\.\d{1,2}\.\d{4})", re.I),
    "rating": re.compile(r"(?:★|rating:?)\s*+(\d(?:\.\d{1,2})?)\b", re.I),
}
# "≈ 0.0012 BTC" / "(~ 0.001 BTC)": the crypto equivalent markets show beside a fiat price.
_APPROXIMATE_PRICE = re.compile(r"[≈~]\s*+(\d[\d.,]*+\s*+(?:BTC|XMR|LTC|ETH|BCH))\b")
_VENDOR_NAME_PREFIX = re.compile(r"^(?:vendor|seller|shop|store|продавец|магазин)\s*[:\-]?\s+", re.I)
_LABEL_TAGS = {"dt", "th", "td", "b", "strong", "label", "span", "div", "li", "p", "em", "h2", "h3", "h4", "h5", "h6", "small"}


@dataclass
class GenericExtraction:
    page_type: str | None
    values: dict[str, Any] = field(default_factory=dict)
    evidence: list[str] = field(default_factory=list)


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
# Text of a page read for vendor facts (join date, sales, PGP key): they sit near the top.
_VENDOR_TEXT_MAX_CHARS = 200_000


def _clean(text: str | None) -> str:
    """Whitespace collapsed and control characters (terminal escapes in hostile pages) dropped."""
    return _WHITESPACE.sub(" ", _CONTROL.sub("", text or "")).strip()


# --- JSON-LD --------------------------------------------------------------------------


def _nesting_within(data: Any, limit: int) -> bool:
    """True if no list or object in ``data`` is nested more than ``limit`` deep (iterative)."""
    stack: list[tuple[Any, int]] = [(data, 0)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict):
            children: Any = value.values()
        elif isinstance(value, list):
            children = value
        else:
            continue
        if depth >= limit:
            return False
        stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
    return True


def _json_text(value: Any) -> str:
    """``str(value)`` for a JSON value; "" for a list or object nested deeper than
    :data:`_MAX_JSON_DEPTH` (``str()`` recurses once per level and would raise
    RecursionError out of the extraction)."""
    if isinstance(value, (dict, list)) and not _nesting_within(value, _MAX_JSON_DEPTH):
        return ""
    return str(value)


def _json_ld_objects(selector: Selector) -> Iterator[dict[str, Any]]:
    """The objects of the page's JSON-LD scripts (``@graph`` and top-level lists flattened).

    A script that is not JSON is skipped, and so is one nested too deep for
    the parser (it recurses once per level and raises RecursionError near
    Python's limit).  Nothing below recurses into the values: the walk here is
    iterative and bounded, and values become text through :func:`_json_text`.
    """
    for raw in selector.xpath('//script[@type="application/ld+json"]/text()').getall()[:20]:
        try:
            data = json.loads(raw[:_MAX_JSON_CHARS])
        except (ValueError, RecursionError):
            continue
        stack = [data]
        seen = 0
        while stack and seen < 500:
            item = stack.pop()
            seen += 1
            if isinstance(item, list):
                stack.extend(item)
            elif isinstance(item, dict):
                yield item
                graph = item.get("@graph")
                if isinstance(graph, list):
                    stack.extend(graph)


def _types(item: dict[str, Any]) -> set[str]:
    raw = item.get("@type")
    values = raw if isinstance(raw, list) else [raw]
    return {_json_text(value).rsplit("/", 1)[-1] for value in values if value}


def _name_of(value: Any) -> str | None:
    if isinstance(value, dict):
        value = value.get("name")
    if isinstance(value, list):
        value = value[0] if value else None
    return _clean(str(value)) if isinstance(value, (str, int, float)) and str(value).strip() else None


def _offers(product: dict[str, Any]) -> list[dict[str, Any]]:
    offers = product.get("offers")
    if isinstance(offers, dict):
        nested = offers.get("offers")
        return [offers] + ([o for o in nested if isinstance(o, dict)] if isinstance(nested, list) else [])
    if isinstance(offers, list):
        return [offer for offer in offers if isinstance(offer, dict)]
    return []


def _regions(value: Any) -> str | None:
    if value is None:
        return None
    items = value if isinstance(value, list) else [value]
    names = [_name_of(item) for item in items]
    return ", ".join(name for name in names if name) or None


def _from_json_ld(selector: Selector) -> dict[str, Any]:
    products = [item for item in _json_ld_objects(selector) if "Product" in _types(item)]
    if len(products) != 1:  # an ItemList of products is a category page
        return {}
    for item in products:
        values: dict[str, Any] = {}
        if _name_of(item.get("name")):
            values["title"] = _name_of(item.get("name"))
        if isinstance(item.get("description"), str):
            values["description"] = _clean(item["description"])[:20_000]
        for key in ("sku", "productID", "mpn"):
            if _name_of(item.get(key)):
                values["listing_id"] = _name_of(item.get(key))
                break
        if _name_of(item.get("category")):
            values["category"] = _name_of(item.get("category"))
        rating = item.get("aggregateRating")
        if isinstance(rating, dict) and rating.get("ratingValue") is not None:
            values["rating"] = _json_text(rating["ratingValue"])
        crypto: list[Price] = []
        for offer in _offers(item):
            amount = offer.get("price", offer.get("lowPrice"))
            currency = normalise_currency(_json_text(offer.get("priceCurrency") or ""))
            number = amount if isinstance(amount, (int, float)) and not isinstance(amount, bool) else parse_amount(_json_text(amount or ""))
            if number is not None and currency:
                price = Price(float(number), currency)
                if "price" not in values:
                    values["price"] = price
                elif price.is_crypto:
                    crypto.append(price)
            for seller_key in ("seller", "offeredBy"):
                if "vendor" not in values and _name_of(offer.get(seller_key)):
                    values["vendor"] = _name_of(offer.get(seller_key))
                    seller = offer.get(seller_key)
                    if isinstance(seller, dict) and isinstance(seller.get("url"), str) and len(seller["url"]) <= 1_000:
                        values["vendor_url"] = seller["url"]
            if "ships_to" not in values and _regions(offer.get("eligibleRegion") or offer.get("areaServed")):
                values["ships_to"] = _regions(offer.get("eligibleRegion") or offer.get("areaServed"))
            if "ships_from" not in values and _regions(offer.get("availableAtOrFrom")):
                values["ships_from"] = _regions(offer.get("availableAtOrFrom"))
            level = offer.get("inventoryLevel")
            if "stock" not in values and level is not None:
                values["stock"] = _json_text(level.get("value") if isinstance(level, dict) else level)
        if crypto:
            values["crypto_prices"] = crypto
        if "vendor" not in values:
            for key in ("brand", "manufacturer"):
                if _name_of(item.get(key)):
                    values["vendor"] = _name_of(item.get(key))
                    break
        return values
    return {}


# --- Open Graph ------------------------------------------------------------------------


def _from_open_graph(selector: Selector) -> dict[str, Any]:
    """Open Graph product meta: ``og:type`` "product" with ``product:price:amount`` and
    ``product:price:currency`` (or the ``og:price:*`` spelling) and ``og:title``."""
    meta: dict[str, str] = {}
    for node in selector.xpath("//meta[@property and @content]")[:200]:
        name = (node.attrib.get("property") or "").strip().casefold()
        if name in ("og:type", "og:title", "product:price:amount", "product:price:currency",
                    "og:price:amount", "og:price:currency") and name not in meta:
            meta[name] = _clean(node.attrib.get("content"))[:300]
    amount = parse_amount(meta.get("product:price:amount") or meta.get("og:price:amount") or "")
    currency = normalise_currency(meta.get("product:price:currency") or meta.get("og:price:currency") or "")
    if "product" not in meta.get("og:type", "product").casefold() or amount is None or not currency:
        return {}
    values: dict[str, Any] = {"price": Price(float(amount), currency)}
    if meta.get("og:title"):
        values["title"] = meta["og:title"]
    return values


# --- microdata ------------------------------------------------------------------------


def _from_microdata(selector: Selector) -> dict[str, Any]:
    products = selector.xpath('//*[@itemscope and contains(@itemtype, "schema.org/Product")]')
    # Several products are a category grid or a vendor's shop window, not one listing;
    # so is one product card beside a page heading it does not contain.
    if len(products) != 1:
        return {}
    scope = products[0]
    if selector.xpath("//h1") and not scope.xpath(".//h1"):
        return {}

    def prop(name: str, within: Selector = scope) -> str | None:
        for node in within.xpath(f'.//*[@itemprop="{name}"]'):
            value = node.attrib.get("content") or node.attrib.get("value")
            if value is None:
                value = " ".join(node.xpath(".//text()").getall())
            if _clean(value):
                return _clean(value)
        return None

    values: dict[str, Any] = {}
    for key, name in (("title", "name"), ("description", "description"), ("category", "category"),
                      ("listing_id", "sku"), ("rating", "ratingValue")):
        found = prop(name)
        if found:
            values[key] = found
    if "listing_id" not in values and prop("productID"):
        values["listing_id"] = prop("productID")
    amount, currency = prop("price"), prop("priceCurrency")
    if amount:
        number = parse_amount(amount)
        code = normalise_currency(currency or "")
        if number is not None and code:
            values["price"] = Price(number, code)
        elif find_prices(amount):
            values["price"] = find_prices(amount)[0]
    seller = scope.xpath('.//*[@itemprop="seller" or @itemprop="offeredBy"]')
    if seller:
        name = prop("name", seller[0]) or _clean(" ".join(seller[0].xpath(".//text()").getall()))
        if name:
            values["vendor"] = name
    return values


# --- labels ---------------------------------------------------------------------------


def _label_key(text: str) -> str:
    return _clean(text).rstrip(":：").strip().casefold()


def _field_for_label(label_to_field: dict[str, str], text: str) -> str | None:
    """The field a label names; bilingual labels ("Продавец / Merchant") try each half."""
    key = _label_key(text)
    if not key or len(key) > 60:
        return None
    if key in label_to_field:
        return label_to_field[key]
    for part in re.split(r"\s*/\s*", key):
        if part in label_to_field:
            return label_to_field[part]
    return None


def _sibling_value(element: Any, field_name: str) -> str:
    """The text of the element after a label, skipping <br>; a link's text for a vendor."""
    sibling = element.getnext()
    while sibling is not None and (not isinstance(sibling.tag, str) or sibling.tag == "br"):
        sibling = sibling.getnext()
    if sibling is None:
        return ""
    if field_name == "vendor":
        links = [_clean(" ".join(link.itertext())) for link in sibling.iter("a")]
        if links and links[0]:
            return links[0]
    parts = [_clean(text) for text in sibling.itertext()]
    parts = [part for part in parts if part]
    # List items are separate values ("BE", "IT") that a space would glue together.
    separator = ", " if any(child.tag == "li" for child in sibling.iter() if isinstance(child.tag, str)) else " "
    return separator.join(parts)


_MAX_LABELLED_TEXT = 400
_BLOCK_TAGS = {"table", "tr", "td", "th", "div", "ul", "ol", "li", "dl", "dt", "dd", "p", "section", "article", "br"}


def _has_block_children(element: Any) -> bool:
    return any(isinstance(child.tag, str) and child.tag in _BLOCK_TAGS for child in element.iterdescendants())


def _labelled_values(selector: Selector, labels: dict[str, tuple[str, ...]]) -> dict[str, str]:
    """Field -> the text next to its label ("Vendor: x", dt/dd, th/td, <b>x:</b> y)."""
    label_to_field = {label: name for name, options in labels.items() for label in options}
    # Pages repeat their label texts (every card says "Vendor:"); each distinct text is read once.
    known: dict[str, str | None] = {}

    def field_for(text: str) -> str | None:
        if text in known:
            return known[text]
        field = _field_for_label(label_to_field, text)
        if len(known) < 20_000:
            known[text] = field
        return field

    found: dict[str, str] = {}
    root = selector.root
    if not hasattr(root, "iter"):
        return found
    for count, element in enumerate(root.iter()):
        if count > _MAX_LABEL_WALK:
            break
        tag = element.tag if isinstance(element.tag, str) else ""
        if tag not in _LABEL_TAGS:
            continue
        own_text = element.text or ""
        # A label and its inline value are a few short children at most; a container with
        # block children (a table, a list) is never one, and reading its whole text is costly.
        inline = len(element) <= 3 and not any(
            isinstance(child.tag, str) and child.tag in _BLOCK_TAGS for child in element
        )
        whole_text = "".join(element.itertext()) if inline else own_text
        if len(whole_text) > _MAX_LABELLED_TEXT:
            continue
        field_name = field_for(own_text if len(element) == 0 else whole_text)
        value: str | None = None
        if field_name is None and inline and not _has_block_children(element):
            # "Ships from: Germany" inside one element (not inside a table or list it contains).
            head, sep, tail = _clean(whole_text).partition(":")
            field_name = field_for(head) if sep else None
            if field_name and tail.strip():
                value = tail.strip()
        if field_name is None or field_name in found:
            continue
        if value is None:
            value = _clean(element.tail) or _sibling_value(element, field_name)
        if value and value.strip(":-– "):
            found[field_name] = value.strip(":-– ")[:2_000]
    return found


def _page_title(selector: Selector) -> str | None:
    """The first h1 (else h2), og:title, or <title> without its " - Site name" suffix."""
    for query in ("//h1", "//h2", "//meta[@property='og:title']/@content", "//title"):
        nodes = selector.xpath(query)
        if nodes:
            node = nodes[0]
            text = node.root if isinstance(node.root, str) else " ".join(node.xpath(".//text()").getall())
            text = _clean(text)
            if query == "//title":
                text = re.sub(r"\s+[-|–—]\s+[^-|–—]{1,40}$", "", text)
            if text:
                return text[:1_000]
    return None


def _price_from_price_elements(selector: Selector) -> Price | None:
    for node in selector.xpath(
        '//*[contains(translate(@class, "PRICE", "price"), "price") or contains(translate(@id, "PRICE", "price"), "price")]'
    )[:20]:
        prices = find_prices(_clean(" ".join(node.xpath(".//text()").getall())))
        if prices:
            return prices[0]
    return None


_QUERY_ID = re.compile(
    r"(?:^|&)(?:id|item|listing|product|pid|offer|ls_id|lid|item_id|product_id|listing_id)=([\w.-]{1,64})")


def listing_id_from_url(url: str) -> str | None:
    """A listing's id from its URL: an id parameter, else the last path segment with a digit; else None.

    The one rule for detail pages and the listing cards that link to them, so both get one ``_id``.
    """
    try:
        parts = urlsplit(canonical_url(url))
    except ValueError:
        return None
    query_id = _QUERY_ID.search(parts.query)
    if query_id:
        return query_id.group(1)
    segments = [segment for segment in parts.path.split("/") if segment]
    for segment in reversed(segments):
        if re.search(r"\d", segment) and len(segment) <= 80:
            return re.sub(r"\.(?:html?|php)$", "", segment)
    return None


def _first_texts(selector: Selector, text_path: str, limit: int) -> list[str]:
    """The first ``limit`` text nodes ``text_path`` selects, in document order.

    Asked of lxml with a position limit, so a page of 100,000 text nodes does
    not wrap each one in a parsel Selector to keep 5,000 of them.
    """
    root = selector.root
    if not hasattr(root, "xpath"):
        return []
    try:
        nodes = root.xpath(f"({text_path})[position() <= {int(limit)}]", smart_strings=False)
    except Exception:  # lxml raises odd errors on broken trees; no text then
        return []
    return [str(node) for node in nodes if isinstance(node, str)]


def _page_text(selector: Selector) -> str:
    return _clean(" ".join(_first_texts(selector, "//body//text()[not(ancestor::script or ancestor::style)]", 5_000)))


def extract_generic(selector: Selector, url: str, countries: Mapping[str, str] | None = None) -> GenericExtraction:
    """Guess whether the page is a listing or a vendor profile, and read its fields.

    ``countries`` is the country table for ships_from/ships_to (default: the config package's).
    """
    context = NormaliseContext(page_url=url, default_currency=None, countries=countries)
    evidence: list[str] = []
    values: dict[str, Any] = {}
    for name, source in (("json-ld", _from_json_ld), ("microdata", _from_microdata), ("open-graph", _from_open_graph)):
        found = source(selector)
        if found:
            evidence.append(name)
            for key, value in found.items():
                values.setdefault(key, value)
    # One pass over the page finds the labels of both item kinds.
    all_labelled = _labelled_values(selector, _ALL_LABELS)
    labelled = {key: value for key, value in all_labelled.items() if key in LISTING_LABELS}
    if labelled:
        evidence.append("labels")
        payment = labelled.pop("payment", None)
        if payment is not None:
            labelled.setdefault("escrow", "yes" if re.search(r"(?i)escrow|гарант", payment) else "no")
            labelled.setdefault(
                "finalize_early", "yes" if re.search(r"(?i)finali[sz]e early|\bFE\b|финализ", payment) else "no"
            )
        price_text = labelled.pop("price", None)
        if price_text is not None and "price" not in values:
            prices = find_prices(price_text)
            if prices:
                values["price"] = prices[0]
                extra = [price for price in prices[1:] if price.is_crypto and price.currency != prices[0].currency]
                if extra and "crypto_prices" not in values:
                    values["crypto_prices"] = extra
        for key, value in labelled.items():
            values.setdefault(key, value)

    normalised: dict[str, Any] = {}
    for key, value in values.items():
        chain = _LISTING_NORMALISERS.get(key, ("strip",))
        if key == "crypto_prices" or isinstance(value, Price):
            normalised[key] = value
            continue
        result = apply_normalisers(value, chain, context)
        if result is not None:
            normalised[key] = result
    if "price" not in normalised:
        price = _price_from_price_elements(selector)
        if price is not None:
            normalised["price"] = price
            evidence.append("price-element")
    if "title" not in normalised:
        title = _page_title(selector)
        if title:
            normalised["title"] = title
    if "vendor_url" in normalised:  # structured data's seller URL, maybe relative
        normalised["vendor_url"] = urljoin(url, str(normalised["vendor_url"]))
    if "vendor" in normalised:
        # Compared in Python: an XPath variable rejects the control characters hostile pages carry.
        for anchor in selector.xpath("//a[@href]")[:2_000]:
            if _clean(" ".join(anchor.xpath(".//text()").getall())) == normalised["vendor"]:
                normalised["vendor_url"] = urljoin(url, anchor.attrib["href"])
                break

    structured = any(source in evidence for source in ("json-ld", "microdata", "open-graph"))
    has_trade_facts = "price" in normalised and ("vendor" in normalised or "labels" in evidence)
    if normalised.get("title") and (structured or has_trade_facts) and ("vendor" in normalised or "price" in normalised):
        text = _page_text(selector)
        primary = normalised.get("price")
        if "crypto_prices" not in normalised:
            approximate = [price for price in find_prices(" ".join(_APPROXIMATE_PRICE.findall(text)))
                           if price.is_crypto and not (isinstance(primary, Price) and price.currency == primary.currency)]
            if approximate:
                normalised["crypto_prices"] = approximate[:1]
        for key in ("stock", "sales", "rating"):
            if key not in normalised:
                match = _FREE_TEXT_FACTS[key].search(text)
                if match:
                    value = apply_normalisers(match.group(1), _LISTING_NORMALISERS[key], context)
                    if value is not None:
                        normalised[key] = value
        if "escrow" not in normalised and selector.xpath('//*[contains(@class, "escrow")]'):
            normalised["escrow"] = True
        normalised.setdefault("listing_id", listing_id_from_url(url))
        return GenericExtraction("listing", normalised, evidence)

    vendor = _generic_vendor(selector, url, context, all_labelled)
    if vendor is not None:
        return GenericExtraction("vendor", vendor, ["vendor-labels"])
    return GenericExtraction(None, {}, evidence)


def _generic_vendor(
    selector: Selector, url: str, context: NormaliseContext, all_labelled: dict[str, str]
) -> dict[str, Any] | None:
    """A vendor profile: a name heading, a join date or a PGP key, and a sales count."""
    labelled = {key: value for key, value in all_labelled.items() if key in VENDOR_LABELS}
    # Nodes and characters capped: one 10 MB text node took seconds to clean and search.
    raw_text = "\n".join(_first_texts(selector, "//body//text()", 5_000))[:_VENDOR_TEXT_MAX_CHARS]
    pgp = next(armored_blocks(raw_text), None)
    text = _clean(raw_text)
    joined_in_text = _FREE_TEXT_FACTS["joined"].search(text)
    if "joined" not in labelled and pgp is None and joined_in_text is None:
        return None
    # A forum member page also has a join date and a key; a vendor is someone with sales.
    if "sales" not in labelled and _FREE_TEXT_FACTS["sales"].search(text) is None:
        return None
    name = _page_title(selector)
    if not name:
        return None
    values: dict[str, Any] = {"name": _VENDOR_NAME_PREFIX.sub("", name).strip() or name}
    for key, value in labelled.items():
        result = apply_normalisers(value, _LISTING_NORMALISERS.get(key, ("strip",)), context)
        if result is not None:
            values[key] = result
    for key in ("joined", "sales", "rating"):
        if key not in values:
            match = _FREE_TEXT_FACTS[key].search(text)
            if match:
                result = apply_normalisers(match.group(1), _LISTING_NORMALISERS[key], context)
                if result is not None:
                    values[key] = result
    if pgp is not None:
        values["pgp"] = raw_text[pgp[0] : pgp[1]]
    return values
