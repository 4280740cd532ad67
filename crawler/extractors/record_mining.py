"""Listing cards on category, search-result and vendor pages, found by data-record mining.

Public API:

* :func:`mine_cards` ``(tree, page_url) -> list[Card]``: one :class:`Card` per
  repeated listing card, in page order.
* :class:`Card` -- title, detail-page URL, price (amount, currency, unit,
  range), the crypto price printed beside it, vendor, rating, ships from/to.
* :func:`find_repeated_units` ``(tree, marks) -> list[int]``: the mining step
  alone, for any set of marks (forum posts use member links and times);
  :func:`marked_counts` and :func:`alike_units` are its parts.
* :func:`clean_vendor_name`, :func:`vendor_link_name`, :func:`strip_bracket_notes`, :data:`ARROWS`,
  :func:`is_action_text`, :func:`is_vendor_href` and :data:`VENDOR_HREF` -- the name and link rules
  shared with detail and vendor pages; :func:`is_old_or_unseen_price` -- a sale's struck-through
  (or screen-reader-only) old price, which is never the price.

How cards are found (no profile, no per-site rule):

1. A *record candidate* is an element that holds a printed price (see
   :mod:`crawler.extractors.page_tree`) and a link.  Elements are grouped by
   their tag path from the root; a group is a *record group* when at least
   two of its members are candidates -- the repeated, same-shaped sibling
   subtrees of a result list or grid, even when a grid splits them over rows.
2. Bottom-up, an element of a record group is a record when it still holds a
   price and a link once the records inside it are taken away: the finest
   repeated unit wins, and a main card that contains a small "also from this
   vendor" strip keeps its own price.
3. A record grows to its parent while the parent holds no other record and is
   itself one of a repeated group: the title above the price box, the vendor
   line below it join their card.
4. Inside a card: the title is a heading, an element whose class says title
   (the innermost one: a "title-wrapper" around a category line is not it),
   or the longest link text to the card's main URL (action words such as "Buy
   now" or "Select options" never); the main URL is the href linked most often,
   not a vendor's page nor a cart action -- but "/shop/<slug>/" links of a shop
   engine are the card's own where a "Store:"-style label names another link
   as the vendor's, or where the title sits in one, and a page filed under a
   vendor's path ("/vendor/x/item-1" beside "/vendor/x") is the card's own;
   without a heading, titled element or linked title, a bold name is the
   title ("View"-style button phrases never are); the price is the first
   printed price outside the title that is not a sale's old price (struck
   through, classed "old-price", or screen-reader-only text), and a range of
   two amount elements is one price; the crypto price is the next price in a
   coin; the vendor is a link to a user/vendor/profile URL or the text after a
   "Vendor:"/"Store:"-style label.

   A link to a media file or an archive (``.jpg``, ``.mp4``, ``.zip``: the crawl's own
   :func:`crawler.urls.is_media_url`, whose files are never fetched)
   is never the card's URL nor its title, and a photo link's text ("(more photo)", "Enlarge")
   is never a title: an order form's card whose only link is its photo has no URL, and its
   element classed "name" is the title.  A title cut short with dots ("Glock G30...") is read
   whole from its link's ``title`` attribute when that starts with the shown text.

   A price printed beside the title link in the card's own text ("<li><a>Title</a> - $5</li>")
   counts; an amount a label says is no price ("Revenue:", "Ransom:", "Balance:") never does.
5. Rows that link other sites -- three or more other sites' pages, or their front pages -- are
   a search engine's results or a link list, not listings: they are dropped.

Cards without a title are dropped.  Cost: linear in the elements of the page
tree (capped there), with per-card work capped by ``MAX_CARD_CHUNKS`` and at
most ``MAX_CARDS`` cards.  Never raises.
"""

from __future__ import annotations

import bisect
import re
from collections import Counter
from dataclasses import dataclass
from typing import Iterable
from urllib.parse import urljoin, urlsplit

from crawler.extractors.page_tree import PageTree, clean_text
from crawler.urls import is_media_url, onion_service_host
from crawler.extractors.price_spans import PriceSpan, find_price_spans, split_by_amounts
from crawler.extractors.prices import normalise_currency

MAX_CARDS = 500
MAX_CARD_CHUNKS = 200
MAX_GROWTH_LEVELS = 8
MAX_CARD_ELEMENTS = 3_000  # a card grows into no ancestor larger than this
MIN_SIMILARITY = 0.5  # shared share of child/grandchild tags for two units to be one template
MAX_TITLE_CHARS = 400

_HEADINGS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6"})
# Link texts that are buttons, never a title.
_ACTION_WORDS = frozenset({
    "buy", "buy now", "order", "order now", "purchase", "view", "view listing", "view item", "view product",
    "details", "more", "more info", "read more", "add to cart", "add to basket", "show", "open", "go",
    "купить", "заказать", "подробнее", "kaufen", "details anzeigen", "ansehen", "see more", "info",
    # Shop engines' grid buttons (WooCommerce and its themes).
    "select options", "choose options", "quick view", "add to wishlist", "add to compare", "view details",
    "выбрать", "в корзину", "in den warenkorb",
})
VENDOR_HREF = re.compile(
    r"(?i)(?:/(?:vendor|vendors|seller|sellers|user|users|profile|profiles|member|members|shop|store|u|v)(?:/|$|\?)"
    r"|[?&](?:vendor|seller|user|u_id|uid|member|profile|shop|store|username)=|user\.php|vendor\.php|profile\.php|contactmember"
    r"|/@[\w.-]{1,40}(?:/|$|\?)"  # a handle path ("/@name/...")
    r"|/market/\d{1,12}(?:/|$|\?|#))"  # one shop of a multi-shop site ("/market/2535": its "магазин")
)
# A listing filed under its vendor ("/store/john-doe/item/3b85ab6a", "/shop/x/product/12") is a
# detail page, not the vendor's page, though its path starts like one.
_LISTING_UNDER_VENDOR = re.compile(
    r"(?i)/(?:vendor|vendors|seller|sellers|user|users|shop|store|u|v)/[^/?#]{1,200}/"
    r"(?:item|items|product|products|listing|listings|offer|offers|p)(?:/|$|\?)"
)


def is_vendor_href(href: str) -> bool:
    """True when ``href`` points at a vendor's or user's page (:data:`VENDOR_HREF`), not at a
    listing filed under its vendor's path ("/store/name/item/id")."""
    return bool(VENDOR_HREF.search(href)) and not _LISTING_UNDER_VENDOR.search(href)
# "Vendor: x" needs its colon ("Seller Level 3" is a badge); "by x" / "sold by x" do not.
_VENDOR_LABELS = ("vendor:", "seller:", "merchant:", "shop:", "store:", "продавец:", "магазин:", "verkäufer:",
                  "anbieter:", "händler:", "vendor :", "seller :", "sold by", "verkauft von", "angeboten von", "posted by",
                  "by", "от", "von")
_TITLE_LABELS = ("title:", "product:", "item:", "listing:", "product name:", "item name:", "название:",
                 "наименование:", "товар:", "titel:", "produkt:", "artikel:", "title :", "product :")
LINKED_NAME_WORDS = 10  # words of a name printed as a link to the vendor's page
_AT_NAME = re.compile(r"^@([\w.-]{2,40})$")
# A bare "From:"/"To:" needs its colon (a price range "from 5 to 9" is no place).
_SHIPS_FROM_LABELS = ("ships from", "ship from", "shipping from", "shipped from", "sent from", "origin country", "origin",
                      "country of origin", "location", "from country", "from:", "source", "отправка из", "откуда", "versand aus",
                      "versand von", "herkunft")
_SHIPS_TO_LABELS = ("ships to", "ship to", "shipping to", "shipped to", "destination", "destinations", "delivers to",
                    "to:", "доставка в", "куда", "versand nach", "lieferung nach")
ARROWS = ("→", "⟶", "->", "=>", "➜", "➡", "⇒", "⟹")
_RATING_TEXT = re.compile(r"(?<![\d.])([0-5](?:\.\d{1,2})?)\s*(?:/\s*5|★|stars?)?(?![\d.])")


@dataclass
class Card:
    """One listing card as printed on a result page."""

    title: str
    url: str | None = None
    price: PriceSpan | None = None
    price_text: str | None = None
    crypto_price: PriceSpan | None = None
    vendor: str | None = None
    vendor_url: str | None = None
    ships_from: str | None = None
    ships_to: str | None = None
    rating: float | None = None
    element: int = -1  # the card's element in the page tree
    # Where each value came from (page-tree indices, -1 when none): what `profile suggest`
    # turns into selectors.
    title_element: int = -1
    price_element: int = -1
    vendor_element: int = -1
    url_element: int = -1


def marked_counts(tree: PageTree, marks: list[set[int]]) -> list[list[int]]:
    """Per mark set and element: how many marked elements its visible subtree holds."""
    count = len(tree)
    totals = [[0] * count for _ in marks]
    for index in range(count - 1, -1, -1):
        if tree.hidden[index]:
            continue
        parent = tree.parent[index]
        for marked, total in zip(marks, totals):
            if index in marked:
                total[index] += 1
            if parent >= 0:
                total[parent] += total[index]
    return totals


def _units_for(tree: PageTree, marks: list[set[int]], unit_shapes: set[int]) -> list[int]:
    """Bottom-up: an element is a unit when it holds every mark once the units below it are taken away."""
    count = len(tree)
    residual = [[0] * count for _ in marks]
    is_unit = [False] * count
    for index in range(count - 1, -1, -1):
        if tree.hidden[index]:
            continue
        for marked, counts in zip(marks, residual):
            if index in marked:
                counts[index] += 1
        if (tree.shape[index] in unit_shapes and tree.tag[index] not in ("body", "html")
                and all(counts[index] for counts in residual)):
            is_unit[index] = True
        parent = tree.parent[index]
        if parent >= 0 and not is_unit[index]:
            for counts in residual:
                counts[parent] += counts[index]
    return [index for index in range(count) if is_unit[index]]


def _outline(tree: PageTree, index: int) -> Counter[str]:
    """Tags of the children and grandchildren: what a card template looks like, cheaply."""
    outline: Counter[str] = Counter()
    for child in tree.children(index):
        outline[tree.tag[child]] += 1
        for grandchild in tree.children(child):
            outline["/" + tree.tag[grandchild]] += 1
            if sum(outline.values()) > 200:
                return outline
    return outline


def _similar(left: Counter[str], right: Counter[str]) -> bool:
    if left == right:  # the common case on a grid of one template
        return True
    shared = sum((left & right).values())
    total = sum((left | right).values())
    return total == 0 or shared >= MIN_SIMILARITY * total


def alike_units(tree: PageTree, units: list[int], outlines_of: dict[int, Counter[str]] | None = None) -> list[int]:
    """Units that look like a neighbour of their own shape: two page columns that both hold a
    price and a link share a tag path but not a template, so they are no cards.

    ``outlines_of`` keeps each unit's outline between calls on the same tree.
    """
    by_shape: dict[int, list[int]] = {}
    for index in units:
        by_shape.setdefault(tree.shape[index], []).append(index)
    if outlines_of is None:
        outlines_of = {}
    kept: set[int] = set()
    for members in by_shape.values():
        outlines = []
        for index in members:
            outline = outlines_of.get(index)
            if outline is None:
                outline = outlines_of[index] = _outline(tree, index)
            outlines.append(outline)
        for position, index in enumerate(members):
            neighbours = outlines[max(0, position - 2):position] + outlines[position + 1:position + 3]
            if any(_similar(outlines[position], other) for other in neighbours):
                kept.add(index)
    return [index for index in units if index in kept]


def find_repeated_units(tree: PageTree, marks: list[set[int]], limit: int = MAX_CARDS) -> list[int]:
    """Repeated same-shaped subtrees that each hold at least one element of every set in ``marks``.

    Returns the unit elements in document order, each grown to the widest
    repeated ancestor that holds no other unit (see the module docstring).
    """
    count = len(tree)
    if count == 0 or not marks:
        return []
    totals = marked_counts(tree, marks)
    members: Counter[int] = Counter()
    for index in range(count):
        if not tree.hidden[index] and all(total[index] for total in totals):
            members[tree.shape[index]] += 1
    unit_shapes = {shape for shape, number in members.items() if number >= 2}
    units: list[int] = []
    outlines: dict[int, Counter[str]] = {}
    # A shape whose members are units only once (a sidebar beside the result list) is not
    # repeated; dropping it can change what its ancestors hold, so settle in a few rounds.
    for _ in range(3):
        if not unit_shapes:
            return []
        units = alike_units(tree, _units_for(tree, marks, unit_shapes), outlines)
        per_shape = Counter(tree.shape[index] for index in units)
        repeated = {shape for shape in unit_shapes if per_shape[shape] >= 2}
        if repeated == unit_shapes:
            break
        unit_shapes = repeated
    units = [index for index in units if tree.shape[index] in unit_shapes]
    return _grow(tree, units)[:limit]


def find_records(tree: PageTree) -> list[int]:
    """Indices of the listing-card elements, in document order (see the module docstring)."""
    links = {index for index in range(len(tree)) if tree.tag[index] == "a" and tree.link[index] == index}
    return find_repeated_units(tree, [set(tree.prices), links])


def _grow(tree: PageTree, records: list[int]) -> list[int]:
    """Each record widened to the largest repeated ancestor that holds no other record of its shape.

    Records of another shape may sit inside (a main card's "also from this
    vendor" strip): the card grows around them and its fields skip them.
    """
    count = len(tree)
    records_under = [0] * count
    for index in records:
        records_under[index] += 1
    for index in range(count - 1, 0, -1):
        records_under[tree.parent[index]] += records_under[index]
    # Shapes that repeat with a record inside each: the units a card may grow into.
    shape_with_record: Counter[int] = Counter(tree.shape[index] for index in range(count) if records_under[index])
    by_shape: dict[int, list[int]] = {}
    for index in records:  # records are in document order, so each list is sorted
        by_shape.setdefault(tree.shape[index], []).append(index)
    grown = []
    for index in records:
        same_shape = by_shape[tree.shape[index]]
        current = index
        for _ in range(MAX_GROWTH_LEVELS):
            parent = tree.parent[current]
            if parent <= 0 or tree.tag[parent] in ("body", "html", "form") or shape_with_record[tree.shape[parent]] < 2:
                break
            if tree.end[parent] - parent > MAX_CARD_ELEMENTS:
                break  # a card is not thousands of elements; and the checks below stay cheap
            alike_under = bisect.bisect_left(same_shape, tree.end[parent]) - bisect.bisect_left(same_shape, parent)
            if alike_under != 1:
                break
            # Other records may sit in one sibling subtree (the card's strip), not spread beside it.
            if records_under[parent] > records_under[current] and sum(
                    1 for child in tree.children(parent) if child != current and records_under[child]) > 1:
                break
            current = parent
        grown.append(current)
    return grown


# --- inside one card -------------------------------------------------------------------


# A button's verb and one or two words: "View transaction", "Show all offers", "Read the post".
_ACTION_PHRASE = re.compile(r"(?i)^(?:view|show|see|read|click|подробнее|смотреть|показать|anzeigen|ansehen)"
                            r"(?: [^\W\d_]+){1,2}$")


# A photo link's text: "(more photo)", "Enlarge", "click to enlarge", "View larger image", "[zoom]".
_PHOTO_LINK_TEXT = re.compile(
    r"(?i)^(?:(?:click )?(?:here )?(?:to )?(?:enlarge|zoom(?: in)?)(?: (?:photo|image|picture)s?)?"
    r"|(?:more|all|other|view|see|show)(?: more| larger| full(?:-size)?| bigger)? (?:photos?|images?|pictures?|pics?)"
    r"|view larger|full ?size|larger (?:photo|image|picture)|увеличить|больше фото|ещё фото|еще фото)$")


def is_action_text(text: str) -> bool:
    """True for button words ("Buy now", "View listing", "View transaction", "Купить") and photo
    links' texts ("(more photo)", "Enlarge") that are never a title or a name."""
    folded = text.casefold().strip(" .!»›>→")
    if folded in _ACTION_WORDS or _ACTION_PHRASE.match(folded) is not None:
        return True
    return _PHOTO_LINK_TEXT.match(folded.strip(" ()[]")) is not None


def _label_value(text: str, labels: Iterable[str]) -> tuple[str, str] | None:
    """(label, rest) when ``text`` starts with one of ``labels`` followed by ':' or a space."""
    folded = text.casefold()
    for label in labels:
        if folded.startswith(label):
            rest = text[len(label):]
            if not rest or label.endswith(":") or rest[0] in " :：-–\u00a0":
                return label, rest.lstrip(" :：-–\u00a0")
    return None


def strip_bracket_notes(text: str, limit: int = 3) -> str:
    """Trailing bracketed notes dropped: "Sankhara(21)" and "dutch-skills (100%)" -> the name."""
    for _ in range(limit):
        text = text.rstrip()
        if not text.endswith((")", "]")):
            break
        start = text.rfind("(" if text[-1] == ")" else "[")
        note = text[start + 1:-1]
        if start <= 0 or len(note) > 20 or any(bracket in note for bracket in "()[]"):
            break
        text = text[:start]
    return text.strip()


def clean_vendor_name(text: str, max_words: int = 4) -> str | None:
    """A vendor name from a link or label text: counts and ratings in brackets and a leading @ dropped;
    None for text that is no name (too long, more than ``max_words`` words, a button word)."""
    if len(text) > 400:
        return None
    name = strip_bracket_notes(clean_text(text).lstrip("@").strip())
    name = name.strip(" ,;:|-–")
    if not name or len(name) > 60 or len(name.split()) > max_words or is_action_text(name):
        return None
    return name


@dataclass
class _CardText:
    chunks: list[tuple[int, str]]
    skip: frozenset[int]


def _card_chunks(tree: PageTree, card: int, records: list[int]) -> _CardText:
    # Records are in document order: the ones inside this card follow it up to its subtree's end.
    first = bisect.bisect_right(records, card)
    last = bisect.bisect_left(records, tree.end[card])
    skip = frozenset(records[first:last])
    chunks: list[tuple[int, str]] = []
    for owner, text in tree.text_chunks(card, skip=skip, limit=8_000):
        chunks.append((owner, text))
        if len(chunks) >= MAX_CARD_CHUNKS:
            break
    return _CardText(chunks, skip)


def _inside_skip(tree: PageTree, index: int, skip: frozenset[int]) -> bool:
    return any(tree.contains(root, index) for root in skip)


# A button's href that puts the item in the cart or a wish list ("?add-to-cart=12"): an action, no page.
_CART_ACTIONS = ("add-to-cart", "add_to_cart", "addtocart", "add-to-wishlist", "add_to_wishlist")


def _is_cart_action(href: str) -> bool:
    folded = href[:300].casefold()
    return any(action in folded for action in _CART_ACTIONS)


def _title_link(tree: PageTree, title_element: int) -> int:
    """The link around the title element, or the first link inside it; -1 when none."""
    if title_element < 0:
        return -1
    if tree.link[title_element] >= 0:
        return tree.link[title_element]
    return next((index for index in range(title_element + 1, min(tree.end[title_element], title_element + 50))
                 if tree.tag[index] == "a" and tree.link[index] == index), -1)


def _labelled_vendor_hrefs(tree: PageTree, chunks: list[tuple[int, str]]) -> set[str]:
    """Hrefs of the links that a "Store:"/"Vendor:"/"Sold by" label in the card introduces."""
    found: set[str] = set()
    for position, (owner, text) in enumerate(chunks):
        label = _label_value(text, _VENDOR_LABELS)
        if label is None:
            continue
        source = owner if label[1] or position + 1 >= len(chunks) else chunks[position + 1][0]
        link = tree.link[source]
        if link >= 0:
            found.add((tree.elements[link].get("href") or "").strip())
    return found


def _under_another(href: str, others: Iterable[str]) -> bool:
    """True when ``href`` is a path below another of ``others`` ("/vendor/bob/item-1" below "/vendor/bob")."""
    path = href.split("?", 1)[0].split("#", 1)[0]
    for other in others:
        base = other.split("?", 1)[0].split("#", 1)[0].rstrip("/")
        if base and other != href and path.startswith(base + "/") and path[len(base) + 1:].strip("/"):
            return True
    return False


def _main_url(tree: PageTree, card: int, skip: frozenset[int],
              chunks: Iterable[tuple[int, str]] = ()) -> tuple[str | None, int]:
    """(the card's detail-page href, its first link element): the href linked most often.

    Links that look like a vendor's page ("/shop/x", "/store/x") are left out, except where a
    vendor label in the card introduces another link: then that one is the vendor's, and the
    shop engine's "/shop/<product>/" links (image and title) are the card's own.
    """
    hrefs: Counter[str] = Counter()
    vendorish: Counter[str] = Counter()
    first_seen: dict[str, int] = {}
    for index in tree.subtree(card):
        if tree.tag[index] != "a" or tree.link[index] != index or tree.hidden[index] or _inside_skip(tree, index, skip):
            continue
        href = (tree.elements[index].get("href") or "").strip()
        if not href or href.startswith(("#", "javascript:", "mailto:")) or _is_cart_action(href) or is_media_url(href):
            continue
        (vendorish if is_vendor_href(href) else hrefs)[href] += 1
        first_seen.setdefault(href, index)
    if not hrefs and len(vendorish) >= 2:
        labelled = _labelled_vendor_hrefs(tree, list(chunks))
        if labelled & set(vendorish):
            hrefs = Counter({href: number for href, number in vendorish.items() if href not in labelled})
        else:
            # "/vendor/bob/blue-dream" beside "/vendor/bob": the page filed under the vendor's is the card's.
            hrefs = Counter({href: number for href, number in vendorish.items() if _under_another(href, vendorish)})
    if not hrefs:
        return None, -1
    best = max(hrefs.items(), key=lambda item: (item[1], -first_seen[item[0]]))
    return best[0], first_seen[best[0]]


def _labelled_title(chunks: list[tuple[int, str]]) -> tuple[str | None, int]:
    """A "Title: x" line in a list view of label/value rows."""
    for position, (owner, text) in enumerate(chunks):
        found = _label_value(text, _TITLE_LABELS)
        if found is None:
            continue
        if found[1]:
            return found[1][:MAX_TITLE_CHARS], owner
        if position + 1 < len(chunks) and _label_value(chunks[position + 1][1], _TITLE_LABELS) is None:
            return chunks[position + 1][1][:MAX_TITLE_CHARS], chunks[position + 1][0]
    return None, -1


_RATE_WORDS = re.compile(r"(?i)\s*(?:exchange rate|rate|price|курс|kurs|wechselkurs)\s*$")


def _is_rate_name(text: str) -> bool:
    """A currency's name with "rate"/"price" after it, or a currency pair ("BTC/USD", "XMR - EUR")."""
    if len(text) > 40:
        return False
    name = _RATE_WORDS.sub("", text).strip()
    if name != text.strip() and normalise_currency(name):
        return True
    left, sep, right = name.partition("/") if "/" in name else name.partition(" - ")
    return bool(sep) and bool(normalise_currency(left.strip())) and bool(normalise_currency(right.strip()))


# Classes of the element that holds a product's name ("<div class='name'>"); a vendor's or
# user's name ("vendor-name", "username") is none of them.
_NAME_CLASSES = frozenset({"name", "product-name", "product_name", "productname", "item-name", "item_name",
                           "itemname", "listing-name", "listing_name", "offer-name", "goods-name"})


def _title(tree: PageTree, card: int, skip: frozenset[int], main_url: str | None) -> tuple[str | None, int]:
    """(title, the element it came from)."""
    headings: list[int] = []
    titled: list[int] = []
    main_links: list[int] = []
    named: list[int] = []
    for index in tree.subtree(card):
        if tree.hidden[index] or _inside_skip(tree, index, skip):
            continue
        tag = tree.tag[index]
        if tag in _HEADINGS:
            headings.append(index)
        classes = (tree.elements[index].get("class") or "").casefold()
        if "title" in classes and "subtitle" not in classes:
            titled.append(index)
        if classes and _NAME_CLASSES.intersection(classes.split()):
            named.append(index)
        if tag == "a" and tree.link[index] == index and main_url is not None and (
                (tree.elements[index].get("href") or "").strip() == main_url):
            main_links.append(index)

    def usable(index: int) -> str | None:
        text = tree.element_text(index, limit=MAX_TITLE_CHARS + 1)
        if not text or len(text) > MAX_TITLE_CHARS or is_action_text(text):
            return None
        # An exchange-rate row ("mBCH 15347.0") links a currency code, not a listing.
        if len(text) < 3 or normalise_currency(text) or text.casefold() in ("mbtc", "mbch", "ubtc", "sat", "sats"):
            return None
        # "Bitcoin rate", "BTC/USD", "Monero price": a row of an exchange-rate table, no listing.
        if _is_rate_name(text):
            return None
        # A heading that is only the price ("£13.00 GBP") is the price box, not the title.
        spans = find_price_spans(text, limit=2)
        if spans and spans[0].end - spans[0].start >= len(text) - 2:
            return None
        return text

    # A wrapper whose class says title ("title-wrapper") around the category line and the title
    # element is not the title: the innermost title-classed elements come first.
    wrappers = [index for position, index in enumerate(titled)
                if position + 1 < len(titled) and tree.contains(index, titled[position + 1])]
    innermost = [index for index in titled if index not in wrappers]
    for group in (headings, innermost, wrappers):
        for index in group:
            text = usable(index)
            if text:
                return text, index
    # The longest text among the links to the detail page, but a link that holds the price (a
    # "50.00 - 39000.00 EUR  Physical" button) only when no other link carries a text.
    best: tuple[bool, int, str, int] | None = None
    for index in main_links:
        text = usable(index)
        if not text:
            continue
        rank = (not any(tree.prices.get(inner) for inner in tree.subtree(index)), len(text), text, index)
        if best is None or rank[:2] > best[:2]:
            best = rank
    if best:
        return best[2], best[3]
    # No usable link (a card whose only link is its photo): an element whose class says name.
    for index in named:
        text = usable(index)
        if text:
            return text, index
    # No heading, no titled element and no link text: a bold name above a "View" button.
    for index in tree.subtree(card):
        if tree.tag[index] in ("strong", "b") and not tree.hidden[index] and not _inside_skip(tree, index, skip):
            text = usable(index)
            if text and not _label_value(text, _VENDOR_LABELS) and not text.endswith(":"):
                return text, index
    for index in tree.subtree(card):  # an image's alt or title as the last resort
        if tree.tag[index] == "img" and not tree.hidden[index]:
            alt = clean_text(tree.elements[index].get("title") or tree.elements[index].get("alt"))
            if alt and len(alt) <= MAX_TITLE_CHARS and len(alt) > 3:
                return alt, index
    return None, -1


MAX_CARD_PRICE_HOLDERS = 40
_PRICE_BOX_CLASS = re.compile(r"(?i)price|цена|preis")


def _in_price_box(tree: PageTree, card: int, index: int) -> bool:
    """The holder or one of its three nearest ancestors inside the card has a price class."""
    block = index
    for _ in range(4):
        if block < card:
            return False
        if _PRICE_BOX_CLASS.search(tree.elements[block].get("class") or ""):
            return True
        block = tree.parent[block]
    return False


# Struck-through text: an old price beside the current one on a sale card.
_STRUCK_TAGS = frozenset({"del", "s", "strike"})
# Text for screen readers only ("Original price was: $250.00."), printed nowhere on the screen.
_SCREEN_READER_CLASSES = frozenset({"screen-reader-text", "sr-only", "visually-hidden", "visuallyhidden",
                                    "screen-reader-only", "a11y-hidden"})
# Classes that name the old price of a sale ("old-price" beside "special-price", "price-old" beside "price-new").
_OLD_PRICE_CLASSES = frozenset({"old-price", "price-old", "oldprice", "was-price", "price-was", "price--old",
                                "compare-at-price", "price-compare", "price--compare", "price-before-discount"})
MAX_OLD_PRICE_LEVELS = 6


def is_old_or_unseen_price(tree: PageTree, card: int, index: int) -> bool:
    """The holder is struck through (``<del>``, ``<s>``, ``<strike>``, an inline ``line-through``),
    sits in an element whose class names an old price, or in a screen-reader-only element, within a
    few levels inside ``card`` (0: anywhere on the page)."""
    block = index
    for _ in range(MAX_OLD_PRICE_LEVELS):
        if block < card:
            return False
        element = tree.elements[block]
        if tree.tag[block] in _STRUCK_TAGS or "line-through" in (element.get("style") or "")[:500]:
            return True
        classes = element.get("class") or ""
        if classes and len(classes) < 500:
            tokens = classes.casefold().split()
            if not (_SCREEN_READER_CLASSES.isdisjoint(tokens) and _OLD_PRICE_CLASSES.isdisjoint(tokens)):
                return True
        if block == card:
            return False
        block = tree.parent[block]
    return False


# Amounts that a label says are no price: a leak site's "Revenue: $5M" and "Ransom: $1,000,000",
# an account's "Balance: 0.5 BTC".
_NOT_AN_OFFER = re.compile(
    r"(?i)^\W{0,3}(?:annual |yearly )?(?:revenue|ransom|balance|deposit|turnover|income|market cap|damages"
    r"|выручка|доход|выкуп|баланс|депозит|оборот|umsatz|lösegeld|guthaben|einnahmen)\b")


def _not_an_offer(tree: PageTree, card: int, index: int) -> bool:
    """The price holder, or the element around it inside the card, starts with a label of an amount
    that is no price (:data:`_NOT_AN_OFFER`)."""
    for block in (index, tree.parent[index]):
        if block < card:
            break
        text = tree.small_text[block]
        if text and _NOT_AN_OFFER.search(text):
            return True
    return False


def _prices(tree: PageTree, card: int, skip: frozenset[int],
            title_element: int) -> tuple[PriceSpan | None, str | None, PriceSpan | None, int]:
    """(main price, its text, crypto price beside it, the main price's holder element)."""
    main: PriceSpan | None = None
    holder = -1
    main_text: str | None = None
    crypto: PriceSpan | None = None
    holders = []
    for index in tree.subtree(card):
        spans = tree.prices.get(index)
        if not spans or tree.hidden[index] or _inside_skip(tree, index, skip):
            continue
        if title_element >= 0 and tree.contains(title_element, index):
            continue
        if _not_an_offer(tree, card, index):
            continue
        holders.append(index)
        if len(holders) >= MAX_CARD_PRICE_HOLDERS:
            break
    # A sale card prints the old price struck through beside the current one: the current one counts.
    current = [index for index in holders if not is_old_or_unseen_price(tree, card, index)]
    old_prices: dict[int, list[tuple[float, str]]] = {}
    if current and len(current) < len(holders):
        # A holder around the struck-through old price prints it too ("<s>€50</s> €40"): not its price.
        for old in (index for index in holders if index not in current):
            for index in current:
                if tree.contains(index, old):
                    old_prices.setdefault(index, []).extend((span.amount, span.currency) for span in tree.prices[old])
        holders = current
    # "Bulk prices start at 5.00 USD" in a description above the price box: where the card marks
    # its price box (class "price"), a fiat price in it beats the ones before it.
    classed = next((position for position, index in enumerate(holders) if _in_price_box(tree, card, index)), 0)
    if classed and not tree.prices[holders[classed]][0].is_crypto:
        holders = holders[classed:]
    for index in holders:
        spans = tree.prices[index]
        if index in old_prices:
            spans = split_by_amounts(spans, old_prices[index])[1]
        if title_element >= 0 and tree.contains(index, title_element):
            # The price beside the title link ("<li><a>Title</a> - $5</li>"), not one in the title.
            in_title = tree.prices.get(title_element, ()) or find_price_spans(
                tree.element_text(title_element, limit=MAX_TITLE_CHARS), limit=6)
            spans = split_by_amounts(spans, [(span.amount, span.currency) for span in in_title])[1]
        text = tree.small_text[index] or ""
        for span in spans:
            if main is None:
                main, main_text, holder = span, text[span.start:span.end], index
            elif crypto is None and span.is_crypto and span.currency != main.currency and not main.is_crypto:
                crypto = span
        if main is not None and (crypto is not None or main.is_crypto):
            break
    return main, main_text, crypto, holder


def _vendor(tree: PageTree, card: int, chunks: list[tuple[int, str]], skip: frozenset[int], main_url: str | None,
            page_url: str) -> tuple[str | None, str | None, int]:
    """(vendor name, vendor URL, the element whose text gave the name)."""
    # "Vendor: name" / "Posted by name": the value is the rest of the chunk or the next chunk.
    for position, (owner, text) in enumerate(chunks):
        found = _label_value(text, _VENDOR_LABELS)
        if found is None:
            continue
        rest = found[1]
        candidates = [rest] if rest else []
        if not rest and position + 1 < len(chunks):
            # The value is the next text only when the label stands alone ("от 990 руб" is a price's prefix).
            candidates.append(chunks[position + 1][1])
        for candidate in candidates:
            name = clean_vendor_name(candidate.split(",")[0])
            if name and not find_price_spans(name, limit=1):
                url = None
                source = owner
                if position + 1 < len(chunks) and candidate == chunks[position + 1][1]:
                    source = chunks[position + 1][0]
                    link = tree.link[source]
                    if link >= 0:
                        url = urljoin(page_url, tree.elements[link].get("href") or "")
                return name, url, source
    for owner, text in chunks:  # "@name", the way some markets print who sells
        at_name = _AT_NAME.match(text)
        if at_name:
            link = tree.link[owner]
            return (at_name.group(1), urljoin(page_url, tree.elements[link].get("href") or "") if link >= 0 else None,
                    owner)
    for index in tree.subtree(card):
        if tree.tag[index] != "a" or tree.link[index] != index or tree.hidden[index] or _inside_skip(tree, index, skip):
            continue
        href = (tree.elements[index].get("href") or "").strip()
        if not href or href == main_url or not is_vendor_href(href):
            continue
        name = vendor_link_name(tree, index)
        if name:
            return name, urljoin(page_url, href), index
    return None, None, -1


def vendor_link_name(tree: PageTree, index: int) -> str | None:
    """The vendor name a vendor link prints (see :func:`clean_vendor_name`); for an empty link that
    libxml2 closed at "/>" (``<a href='/vendor/x'/>x</a>``, which a browser reads as one link),
    the text right after it."""
    first_text = clean_text(tree.elements[index].text)
    if not first_text:
        first_text = tree.element_text(index, limit=80)
    if not first_text and tree.end[index] == index + 1:
        first_text = clean_text((tree.elements[index].tail or "")[:200])
    # The link says whose page it is, so a shop's longer name ("Pinky and the Brain drug store") counts.
    return clean_vendor_name(first_text, max_words=LINKED_NAME_WORDS) if first_text else None


def _ships(chunks: list[tuple[int, str]], title: str | None) -> tuple[str | None, str | None]:
    ships_from: str | None = None
    ships_to: str | None = None
    for position, (_, text) in enumerate(chunks):
        if title and text == title:
            continue
        following = chunks[position + 1][1] if position + 1 < len(chunks) else ""
        found_from = _label_value(text, _SHIPS_FROM_LABELS)
        if found_from is not None and ships_from is None:
            ships_from = found_from[1] or following or None
            continue
        found_to = _label_value(text, _SHIPS_TO_LABELS)
        if found_to is not None and ships_to is None:
            ships_to = found_to[1] or following or None
            continue
        if len(text) <= 80 and ships_from is None:
            for arrow in ARROWS:
                left, sep, right = text.partition(arrow)
                if sep and left.strip() and right.strip() and len(left.strip()) <= 40:
                    ships_from, ships_to = left.strip(), right.strip()
                    break
    return ships_from, ships_to


def _rating(tree: PageTree, card: int, skip: frozenset[int]) -> float | None:
    for index in tree.subtree(card):
        if tree.hidden[index] or _inside_skip(tree, index, skip):
            continue
        element = tree.elements[index]
        classes = (element.get("class") or "").casefold()
        title = (element.get("title") or "").casefold()
        if "rating" in classes or "rating" in title:
            match = _RATING_TEXT.search(tree.element_text(index, limit=40))
            if match:
                return float(match.group(1))
    return None


# Column headers of a table of listings (English, Russian, German) -> the field their cells hold.
_COLUMN_FIELDS: dict[str, str] = {
    **{name: "title" for name in ("title", "name", "product", "item", "listing", "product name", "item name",
                                  "название", "товар", "наименование", "titel", "artikel", "produkt")},
    **{name: "vendor" for name in ("vendor", "seller", "продавец", "магазин", "verkäufer", "händler")},
    **{name: "ships_from" for name in ("ship from", "ships from", "shipped from", "origin", "from", "отправка из",
                                       "откуда", "versand aus", "herkunft")},
    **{name: "ships_to" for name in ("ship to", "ships to", "shipped to", "destination", "to", "доставка в", "куда",
                                     "versand nach")},
}


def _table_columns(tree: PageTree, row: int, cache: dict[int, dict[str, int]]) -> dict[str, int]:
    """Field -> column position, from the header row (two or more ``th``) of the table ``row`` is in."""
    table = next((index for index in tree.ancestors(row, limit=3) if tree.tag[index] == "table"), -1)
    if table < 0:
        return {}
    if table not in cache:
        columns: dict[str, int] = {}
        for index in range(table + 1, min(tree.end[table], table + 2_000)):
            if tree.tag[index] != "tr":
                continue
            cells = [child for child in tree.children(index) if tree.tag[child] in ("td", "th")]
            if sum(1 for cell in cells if tree.tag[cell] == "th") >= 2:
                for position, cell in enumerate(cells):
                    name = _COLUMN_FIELDS.get((tree.small_text[cell] or "").strip(" :").casefold())
                    if name and name not in columns:
                        columns[name] = position
            break  # the first row is the header or there is none
        cache[table] = columns
    return cache[table]


def _cell(tree: PageTree, row: int, position: int) -> int:
    cells = [child for child in tree.children(row) if tree.tag[child] in ("td", "th")]
    return cells[position] if position < len(cells) else -1


def _other_host(url: str, page_url: str) -> str | None:
    """The host of ``url`` when it is not the page's (onion services compared by service), else None."""
    try:
        host, page_host = urlsplit(url).hostname, urlsplit(page_url).hostname
    except ValueError:
        return None
    if not host or not page_host or host == page_host:
        return None
    service, page_service = onion_service_host(host), onion_service_host(page_host)
    if service is not None and service == page_service:
        return None
    return service or host


def _is_other_site_root(url: str, page_url: str) -> bool:
    """True for the front page of another site ("http://x.onion/"): what a link list links, never a listing."""
    try:
        parts, page = urlsplit(url), urlsplit(page_url)
        return parts.path in ("", "/") and not parts.query and parts.hostname != page.hostname
    except ValueError:
        return False


_CUT_SHORT = re.compile(r"(?:\.{3}|…)$")
_ABOUT_PREFIX = re.compile(r"(?i)^(?:about|more about|view|подробнее о)\s+")


def _whole_title(tree: PageTree, title: str, title_element: int) -> str:
    """A title cut short with dots ("Glock G30...") read whole from the ``title`` attribute of the
    element or its link ("Glock G30 Gen 4"), where that attribute starts with the shown text."""
    if not _CUT_SHORT.search(title) or title_element < 0:
        return title
    stem = _CUT_SHORT.sub("", title).rstrip().casefold()
    link = _title_link(tree, title_element)
    for index in (title_element, link):
        if index < 0:
            continue
        whole = _ABOUT_PREFIX.sub("", clean_text((tree.elements[index].get("title") or "")[:MAX_TITLE_CHARS + 20]))
        if stem and len(whole) > len(stem) and len(whole) <= MAX_TITLE_CHARS and whole.casefold().startswith(stem):
            return whole
    return title


def mine_cards(tree: PageTree, page_url: str) -> list[Card]:
    """The listing cards of a result page (see the module docstring); [] when there are none."""
    records = find_records(tree)
    ordered = sorted(set(records))
    cards: list[Card] = []
    column_cache: dict[int, dict[str, int]] = {}
    for card in records:
        card_text = _card_chunks(tree, card, ordered)
        main_url, url_element = _main_url(tree, card, card_text.skip, card_text.chunks)
        title, title_element = _labelled_title(card_text.chunks)
        columns = _table_columns(tree, card, column_cache) if tree.tag[card] == "tr" else {}
        if not title and "title" in columns:
            # A table row under a "Title" column: that cell's text and link, not the first link (a category).
            cell = _cell(tree, card, columns["title"])
            text = tree.element_text(cell, limit=MAX_TITLE_CHARS + 1) if cell >= 0 else ""
            if text and len(text) <= MAX_TITLE_CHARS:
                title, title_element = text, cell
                link = next((index for index in tree.subtree(cell) if tree.tag[index] == "a" and tree.link[index] == index), -1)
                if link >= 0 and tree.elements[link].get("href"):
                    main_url, url_element = tree.elements[link].get("href"), link
        if not title:
            title, title_element = _title(tree, card, card_text.skip, main_url)
        if not title:
            continue
        title = _whole_title(tree, title, title_element)
        if main_url is None:
            # Every link looks like a vendor's ("/shop/<slug>/" of a shop engine) and no label names
            # a vendor: the link around the title is the card's own, not a vendor's page.
            link = _title_link(tree, title_element)
            href = (tree.elements[link].get("href") or "").strip() if link >= 0 else ""
            if (href and not href.startswith(("#", "javascript:", "mailto:")) and not _is_cart_action(href)
                    and not is_media_url(href) and href not in _labelled_vendor_hrefs(tree, card_text.chunks)):
                main_url, url_element = href, link
        price, price_text, crypto, price_element = _prices(tree, card, card_text.skip, title_element)
        if price is None:
            continue
        vendor, vendor_url, vendor_element = _vendor(tree, card, card_text.chunks, card_text.skip, main_url, page_url)
        ships_from, ships_to = _ships(card_text.chunks, title)
        for name in ("ships_from", "ships_to", "vendor"):
            cell = _cell(tree, card, columns[name]) if name in columns else -1
            value = tree.element_text(cell, limit=200) if cell >= 0 else ""
            if value and name == "ships_from" and ships_from is None:
                ships_from = value
            elif value and name == "ships_to" and ships_to is None:
                ships_to = value
            elif value and name == "vendor" and vendor is None:
                vendor = clean_vendor_name(value, max_words=LINKED_NAME_WORDS)
        cards.append(Card(
            title=title,
            url=urljoin(page_url, main_url) if main_url else None,
            price=price,
            price_text=price_text,
            crypto_price=crypto,
            vendor=vendor,
            vendor_url=vendor_url,
            ships_from=ships_from,
            ships_to=ships_to,
            rating=_rating(tree, card, card_text.skip),
            element=card,
            title_element=title_element,
            price_element=price_element,
            vendor_element=vendor_element,
            url_element=url_element,
        ))
    # A link list's rows name other sites (their front pages), not listings; one such card among
    # listings is a site linking its own mirror.
    roots = [card for card in cards if card.url and _is_other_site_root(card.url, page_url)]
    if len(roots) >= 3 and 2 * len(roots) >= len(cards):
        dropped = {id(card) for card in roots}
        cards = [card for card in cards if id(card) not in dropped]
    # Rows that each link a different other site (a search engine's results, a directory) are
    # that site's pages, not this site's listings; a market's absolute links name one host, its own.
    elsewhere = [card for card in cards if card.url and _other_host(card.url, page_url)]
    if len({_other_host(card.url or "", page_url) for card in elsewhere}) >= 3 and 2 * len(elsewhere) >= len(cards):
        dropped = {id(card) for card in elsewhere}
        cards = [card for card in cards if id(card) not in dropped]
    _inherit_vendors(tree, cards)
    return cards


def _inherit_vendors(tree: PageTree, cards: list[Card]) -> None:
    """A card inside another card (a "more from this shop" strip) that names no vendor is the
    enclosing card's vendor's.  Cards come in document order, so the enclosing one is open."""
    open_cards: list[Card] = []
    for card in sorted(cards, key=lambda item: item.element):
        while open_cards and not tree.contains(open_cards[-1].element, card.element):
            open_cards.pop()
        if card.vendor is None and open_cards and open_cards[-1].vendor:
            card.vendor, card.vendor_url = open_cards[-1].vendor, open_cards[-1].vendor_url
        open_cards.append(card)
