"""A flat, capped view of a parsed page that the profile-free extractors share.

Public API:

* :func:`build_page_tree` ``(root, max_nodes=MAX_NODES) -> PageTree``: one walk
  over the lxml tree that records, per visible element in document order, its
  parent, depth, tag-path shape, whether it sits inside a link, its text when
  the text is short, and the prices printed in it (a price holder is the smallest
  element that prints a price; a range whose two ends are two holders,
  "<b>$5</b> – <b>$9</b>", is held whole by the element around them; a price
  tag in an element's own text beside a long child, "<li><a>Long title</a> -
  $5</li>", is held by that element; a short sentence that quotes an amount,
  "Vendors lost $100,000 in coins.", holds none; an empty element whose data
  attributes hold an amount and a currency prints that price).
* :class:`PageTree` -- those arrays plus helpers (:meth:`PageTree.text_chunks`,
  :meth:`PageTree.subtree`, :meth:`PageTree.element_text`).
* :func:`is_shown` ``(element, rules) -> bool`` says whether one element is
  shown by the rules below (what a market profile's listing cards use), with
  ``rules`` from :func:`crawler.extractors.visibility.page_hiding_rules`
  ``(root, at_rest=True)``.

What counts as not shown: ``script``, ``style``, ``noscript``, ``template``,
``head``, ``select``/``option`` (shipping-option lists carry prices that are
not the item's), ``svg``, ``textarea``; and whatever
:mod:`crawler.extractors.visibility` says the browser does not show when the
page is first drawn (its "at rest" reading: the ``hidden`` attribute, inline
``display:none`` / ``visibility:hidden``, the page's own ``<style>`` rules,
hover pop-ups that repeat a card, scraper traps).

Cost: every element is visited once (at most ``max_nodes``; the rest of a
larger page is ignored) and a text is kept only for elements with at most
``MAX_SMALL_DESCENDANTS`` descendants and ``MAX_SMALL_TEXT`` characters, so
building texts costs at most a constant per element.  Never raises on
malformed or hostile markup.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Any, Iterator

from lxml import etree

from config.coins import TICKER_OF_NAME
from crawler.extractors.price_spans import DOLLAR_CODES, PriceSpan, find_price_spans, split_by_amounts
from crawler.extractors.visibility import SHOWN, HidingRules, element_shown, element_visibility, page_hiding_rules

# Elements read per page: four times the largest real page in tests/data/real (4,500), forty per
# card at record mining's 500 cards.  A megabyte of small cards is 40,000 or more elements.
MAX_NODES = 20_000
MAX_SMALL_TEXT = 240
MAX_SMALL_DESCENDANTS = 40

_SKIPPED_TAGS = frozenset({"script", "style", "noscript", "template", "head", "select", "option", "svg",
                           "textarea", "iframe", "object", "math"})
_DIGIT = re.compile(r"\d")
_DOLLAR_CODE_HINT = re.compile(r"(?:CAD|AUD|NZD|HKD|SGD|MXN) ?\$|\$ ?[\d.,]{1,20} ?(?:CAD|AUD|NZD|HKD|SGD|MXN)")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_ICON_CURRENCY = re.compile(
    r"(?i)(?:^|\s)(?:fa|fas|fab|cc|cf|icon|coin)[- ](btc|bitcoin|xmr|monero|ltc|litecoin|eth|usd|dollar|eur|euro|gbp|rub|ruble)(?:\s|$)")
# Icon names of coins are the wallet names of the one coin table (config.coins).
_ICON_CODES = {"dollar": "USD", "euro": "EUR", "ruble": "RUB",
               **{name: ticker.upper() for name, ticker in TICKER_OF_NAME.items()}}


def clean_text(text: str | None) -> str:
    """Whitespace collapsed, control characters (terminal escapes) dropped."""
    if not text:
        return ""
    collapsed = " ".join(text.split())
    if collapsed.isprintable():  # the common case, checked in C
        return collapsed
    return " ".join(_CONTROL.sub("", collapsed).split())


def is_shown(element: Any, rules: HidingRules) -> bool:
    """False when ``element`` or one of its ancestors is not shown (see the module docstring)."""
    current = element
    for _ in range(256):
        if current is None:
            break
        tag = current.tag.lower() if isinstance(current.tag, str) else ""
        if tag in _SKIPPED_TAGS:
            return False
        current = current.getparent()
    return element_shown(element, rules)


@dataclass
class PageTree:
    """Elements in document order (index 0 is the root) with what the extractors ask of them."""

    elements: list[Any] = field(default_factory=list)
    parent: list[int] = field(default_factory=list)
    depth: list[int] = field(default_factory=list)
    tag: list[str] = field(default_factory=list)
    shape: list[int] = field(default_factory=list)  # hash of the tag path from the root
    end: list[int] = field(default_factory=list)  # one past the last descendant's index
    hidden: list[bool] = field(default_factory=list)  # not shown: skipped tag or hidden, itself or an ancestor
    link: list[int] = field(default_factory=list)  # index of the nearest <a href> ancestor-or-self, or -1
    small_text: list[str | None] = field(default_factory=list)  # visible text when short, else None
    prices: dict[int, list[PriceSpan]] = field(default_factory=dict)  # price holder -> its prices
    truncated: bool = False

    def __len__(self) -> int:
        return len(self.elements)

    def subtree(self, index: int) -> range:
        """Indices of ``index`` and its descendants."""
        return range(index, self.end[index])

    def children(self, index: int) -> Iterator[int]:
        child = index + 1
        while child < self.end[index]:
            yield child
            child = self.end[child]

    def ancestors(self, index: int, limit: int = 64) -> Iterator[int]:
        current = self.parent[index]
        while current >= 0 and limit > 0:
            yield current
            current = self.parent[current]
            limit -= 1

    def contains(self, ancestor: int, index: int) -> bool:
        return ancestor <= index < self.end[ancestor]

    def is_column_header(self, index: int) -> bool:
        """True for a ``th`` (or text inside one) in a row of two or more ``th``: it names a
        column, not the text that follows it."""
        cell = index
        for _ in range(3):
            if cell < 0 or self.tag[cell] == "th":
                break
            cell = self.parent[cell]
        if cell < 0 or self.tag[cell] != "th":
            return False
        row = self.parent[cell]
        return row >= 0 and sum(1 for child in self.children(row) if self.tag[child] == "th") >= 2

    def element_text(self, index: int, limit: int = 2_000) -> str:
        """The visible text of one element (collapsed), at most ``limit`` characters."""
        small = self.small_text[index]
        if small is not None:
            return small[:limit]
        return clean_text(" ".join(chunk for _, chunk in self.text_chunks(index, limit=limit)))[:limit]

    def text_chunks(self, index: int, skip: frozenset[int] = frozenset(), limit: int = 20_000) -> Iterator[tuple[int, str]]:
        """(owner element, text) of every non-empty visible text node under ``index``, in order.

        A tail is owned by the element's parent.  Hidden subtrees and subtrees
        rooted at an index in ``skip`` give their tails only.  Stops after
        ``limit`` characters.
        """
        if self.hidden[index]:
            return
        total = 0
        stop = self.end[index]
        position = index + 1
        text = clean_text(self.elements[index].text)
        if text:
            total += len(text)
            yield index, text
        open_elements: list[int] = []
        while position < stop and total < limit:
            while open_elements and self.end[open_elements[-1]] <= position:
                closed = open_elements.pop()
                tail = clean_text(self.elements[closed].tail)
                if tail:
                    total += len(tail)
                    yield self.parent[closed], tail
            open_elements.append(position)
            if self.hidden[position] or position in skip:
                position = self.end[position]
                continue
            text = clean_text(self.elements[position].text)
            if text:
                total += len(text)
                yield position, text
            position += 1
        while open_elements and total < limit:
            closed = open_elements.pop()
            tail = clean_text(self.elements[closed].tail)
            if tail:
                total += len(tail)
                yield self.parent[closed], tail


def build_page_tree(root: Any, max_nodes: int = MAX_NODES) -> PageTree:
    """Walk ``root`` (an lxml element) once; see the module docstring."""
    tree = PageTree()
    if root is None or not isinstance(getattr(root, "tag", None), str):
        return tree
    rules = page_hiding_rules(root, at_rest=True)

    # lxml's own iterative walk (deep hostile nesting must not hit the recursion limit): an element's
    # index, path shape, link and visibility are pushed when it opens and popped when it closes.
    elements, parents, depths, tags, shapes = tree.elements, tree.parent, tree.depth, tree.tag, tree.shape
    ends, hiddens, links, small_texts = tree.end, tree.hidden, tree.link, tree.small_text
    open_elements: list[tuple[int, int, int, bool, Any]] = []
    outside: tuple[int, int, int, bool, Any] = (-1, 0, -1, False, SHOWN)
    for event, element in etree.iterwalk(root, events=("start", "end")):
        tag = element.tag
        if not isinstance(tag, str):  # comments and processing instructions
            continue
        if event == "end":
            ends[open_elements.pop()[0]] = len(elements)
            continue
        if len(elements) >= max_nodes:
            tree.truncated = True
            break
        parent_index, parent_shape, parent_link, parent_skipped, parent_shown = (
            open_elements[-1] if open_elements else outside)
        tag = tag.lower()
        index = len(elements)
        skipped = parent_skipped or tag in _SKIPPED_TAGS
        shown = element_visibility(element, tag, parent_shown, rules)
        shape = hash((parent_shape, tag))
        link = index if tag == "a" and element.get("href") else parent_link
        elements.append(element)
        parents.append(parent_index)
        depths.append(len(open_elements))
        tags.append(tag)
        shapes.append(shape)
        ends.append(index + 1)
        hiddens.append(skipped or shown.hidden)
        links.append(link)
        small_texts.append(None)
        open_elements.append((index, shape, link, skipped, shown))
    # A walk cut short leaves elements open: they end where the walk stopped.
    for entry in open_elements:
        ends[entry[0]] = len(elements)
    _fill_small_texts(tree)
    return tree


_WORD = re.compile(r"[^\W\d_]{2,}")


def _sentence(text: str, spans: list[PriceSpan]) -> bool:
    """A short sentence that quotes an amount ("Vendors lost $100,000 in coins."): it ends in a
    full stop, "!" or "?" after a word, and four or more words stand outside its prices ("Only $5
    per gram." is still a price tag)."""
    stripped = text.rstrip()
    if len(stripped) < 2 or stripped[-1] not in ".!?" or not stripped[-2].isalpha():
        return False
    outside, last = [], 0
    for span in spans:
        outside.append(text[last:span.start])
        last = span.end
    outside.append(text[last:])
    return len(_WORD.findall(" ".join(outside))) >= 4


def _prominent(text: str, spans: list[PriceSpan]) -> bool:
    """True when the prices are most of the text: a price tag, maybe with a short label (not a
    short sentence that quotes an amount)."""
    priced = sum(span.end - span.start for span in spans)
    return (len(text) <= 32 or priced >= 0.4 * len(text)) and not _sentence(text, spans)


def _own_prices(text: str, spans: list[PriceSpan], own_text: str) -> list[PriceSpan]:
    """The prices of ``text`` that the element prints in its own text (not its children's), where
    they stand out there: "<li><a>Blue Dream Premium 3.5g</a> - $25.00</li>" prints a price tag
    beside a long title link, "<div><s>€50</s> €40</div>" a sale price beside the old one."""
    own_spans = [span for span in find_price_spans(own_text, limit=6) if span.amount > 0]
    if not own_spans or not _prominent(own_text, own_spans):
        return []
    return split_by_amounts(spans, [(span.amount, span.currency) for span in own_spans])[0]


def _inner_price_count(tree: PageTree, index: int) -> int:
    """Prices printed by the price holders below ``index`` (a small subtree: its text is short)."""
    return sum(len(tree.prices.get(inner, ())) for inner in range(index + 1, tree.end[index]))


def _name_inner_dollars(tree: PageTree, index: int, spans: list[PriceSpan]) -> None:
    """"CAD <a>$89.25</a>": the code in the element's own text says which dollar the sign of the
    price holder below it is; the holder's price takes that currency (same amount only)."""
    named = {span.amount: span.currency for span in spans if span.currency != "USD" and span.currency in DOLLAR_CODES}
    if not named:
        return
    for inner in range(index + 1, tree.end[index]):
        inner_spans = tree.prices.get(inner)
        if inner_spans:
            tree.prices[inner] = [replace(span, currency=named[span.amount])
                                  if span.currency == "USD" and span.amount in named else span for span in inner_spans]


_RANGE_DASHES = frozenset("-–—~")


def _dash_between_children(tree: PageTree, index: int, tails: list[str | None]) -> bool:
    """A dash in the text between the element's children: maybe a range of two prices below it
    (``tails``: the children's tails where already read)."""
    for child in tree.children(index):
        tail = tails[child]
        if tail is None:
            tail = tree.elements[child].tail
        if tail and not _RANGE_DASHES.isdisjoint(tail[:20]):
            return True
    return False


_DATA_AMOUNT = ("data-price", "data-amount", "data-price-amount", "data-product-price")
_DATA_CURRENCY = ("data-currency", "data-price-currency", "data-currency-code")
_DATA_NUMBER = re.compile(r"\d{1,12}(?:\.\d{1,12})?")


def _data_price(element: Any) -> str:
    """" 0.0042 BTC " for an empty element whose data attributes hold a plain amount and a currency
    code (a script prints them in the browser), else ""."""
    amount = next((element.get(name) for name in _DATA_AMOUNT if element.get(name)), None)
    currency = next((element.get(name) for name in _DATA_CURRENCY if element.get(name)), None)
    if not amount or not currency or len(currency) > 5 or not currency.isalpha():
        return ""
    if not _DATA_NUMBER.fullmatch(amount.strip()):
        return ""
    return f" {amount.strip()} {currency.strip().upper()} "


def _own_text(tree: PageTree, index: int, own: str, tails: list[str | None]) -> str:
    """The element's own text and its children's tails, without the children's texts."""
    pieces = [own]
    for child in tree.children(index):
        tail = tails[child]
        pieces.append(" " + (tree.elements[child].tail or "" if tail is None else tail))
    return clean_text("".join(pieces))


def _fill_small_texts(tree: PageTree) -> None:
    """Short texts bottom-up, and the price holders: the smallest elements whose text prints a price."""
    count = len(tree.elements)
    elements, parents, hiddens, ends, small_texts = tree.elements, tree.parent, tree.hidden, tree.end, tree.small_text
    descendants = [0] * count
    has_digit = [False] * count
    holds_price = [False] * count  # the element or a descendant is a price holder
    # Each tail is read from lxml once: by its element (for the parent's digit) and by its parent's text.
    tails: list[str | None] = [None] * count
    # A grid prints the same price text on many cards ("$9.50"): each text is read once.
    spans_of_text: dict[str, list[PriceSpan]] = {}
    for index in range(count - 1, -1, -1):
        parent = parents[index]
        if parent >= 0:
            descendants[parent] += descendants[index] + 1
        if hiddens[index]:
            continue
        element = elements[index]
        own = element.text or ""
        if not own and not descendants[index]:
            # An icon-font currency sign (<i class="fa fa-btc">) prints the currency of the amount beside it.
            classes = element.get("class")
            if classes and len(classes) < 200:
                icon = _ICON_CURRENCY.search(classes)
                if icon:
                    own = " " + _ICON_CODES.get(icon.group(1).lower(), icon.group(1).upper()) + " "
            if not own and element.attrib:
                own = _data_price(element)
        own_digit = bool(own) and _DIGIT.search(own) is not None  # in its own text or its children's tails
        digit = has_digit[index] or own_digit
        text: str | None = None
        if descendants[index] <= MAX_SMALL_DESCENDANTS:
            pieces = [own]
            child, stop = index + 1, ends[index]
            while child < stop:
                if not hiddens[child]:
                    child_text = small_texts[child]
                    if child_text is None:
                        pieces = []
                        break
                    pieces.append(" " + child_text + " ")
                tail = tails[child]
                if tail is None:
                    tail = elements[child].tail or ""
                pieces.append(tail)
                if not own_digit and tail:
                    own_digit = _DIGIT.search(tail) is not None
                if len(pieces) > 4 * MAX_SMALL_DESCENDANTS:
                    pieces = []
                    break
                child = ends[child]
            if pieces:
                joined = "".join(pieces)
                if len(joined) <= MAX_SMALL_TEXT * 4:
                    text = clean_text(joined)
                    if len(text) > MAX_SMALL_TEXT:
                        text = None
        tree.small_text[index] = text
        # The smallest elements that print a price hold it; an element around a price holder
        # holds prices too when its own text prints one more ("95,50 € <span>(0.0104 BTC)</span>").
        if text is not None and digit and (not holds_price[index] or own_digit or _dash_between_children(tree, index, tails)):
            # A zero amount is a balance or an empty cart, never what a listing costs; a price
            # inside a longer sentence ("SALE $9.99gram TOP SHELF...") is a title's, not a price tag.
            found = spans_of_text.get(text)
            if found is None:
                found = spans_of_text[text] = find_price_spans(text, limit=6)
            spans = [span for span in found if span.amount > 0]
            own_only = False
            if spans and not _prominent(text, spans):
                spans = _own_prices(text, spans, _own_text(tree, index, own, tails)) if own_digit else []
                own_only = True
            # A range whose two ends are two holders below ("<b>$235.00</b> – <b>$2,000.00</b>") is
            # one price that only this element prints whole, so it holds it (before its ends).
            if spans and holds_price[index] and not own_only and len(spans) <= _inner_price_count(tree, index) and not (
                    len(spans) == 1 and spans[0].amount_max is not None):
                _name_inner_dollars(tree, index, spans)
                spans = []  # nothing beyond what its descendants print
            if spans:
                tree.prices[index] = spans
                holds_price[index] = True
        elif text is not None and holds_price[index] and "$" in text and _DOLLAR_CODE_HINT.search(text):
            # "CAD <a>$89.25</a>": only a code around the holder, no price of its own.
            _name_inner_dollars(tree, index, find_price_spans(text, limit=6))
        if parent >= 0:
            tail = tails[index] = element.tail or ""
            if digit or (tail and _DIGIT.search(tail) is not None):
                has_digit[parent] = True
            if holds_price[index]:
                holds_price[parent] = True
