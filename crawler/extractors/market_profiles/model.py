"""The market profile model: a profile's page rules, field selectors and site markers, applied to a page.

Built by :mod:`crawler.extractors.market_profiles.loader` from a YAML file;
nothing here reads files.

Public API:

* :class:`MarketProfile` -- one market: ``matches_host``, ``matches_markers``,
  :meth:`MarketProfile.page_type` (-> page type and named URL groups) and
  :meth:`MarketProfile.extract` (-> :class:`ProfileExtraction`).
* :class:`PageRule`, :class:`CardRule`, :class:`FieldSelector`,
  :class:`SiteMarker` -- its parts.  A :class:`CardRule` reads the listing
  cards of a page (a card selector, fields relative to each card).
* :data:`PAGE_TYPES`, :data:`LISTING_FIELDS`, :data:`VENDOR_FIELDS`,
  :data:`CARD_FIELDS`, :data:`PAGE_FIELDS`, :data:`LIST_FIELDS` -- the fields
  each page type (and a card) takes and their default normaliser chains.
* :func:`compile_selector` (css, xpath) -> ``lxml.etree.XPath``;
  :func:`element_text` (element, separator) -> str.
* :class:`ProfileError` -- an invalid profile (a :class:`config.errors.UserError`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Mapping
from urllib.parse import urlsplit

from lxml import etree
from parsel import Selector
from parsel.csstranslator import HTMLTranslator

from config.errors import UserError
from crawler.extractors.page_tree import is_shown
from crawler.extractors.visibility import HidingRules, page_hiding_rules
from crawler.extractors.market_profiles.normalisers import (
    NormaliseContext,
    Normaliser,
    apply_normalisers,
    strip_value,
)

PAGE_TYPES = ("listing", "vendor", "category", "search")

# Field -> default normaliser chain.  These are also the only fields a page
# type accepts, so a typo in a field name is caught on load.
LISTING_FIELDS: dict[str, tuple[str, ...]] = {
    "listing_id": ("strip",),
    "title": ("strip",),
    "description": ("strip",),
    "price": ("price",),
    "currency": ("currency",),
    "crypto_prices": ("price",),
    "vendor": ("strip",),
    "vendor_url": ("url",),
    "category": ("strip",),
    "ships_from": ("countries",),
    "ships_to": ("countries",),
    "escrow": ("bool",),
    "finalize_early": ("bool",),
    "stock": ("int",),
    "sales": ("int",),
    "rating": ("float",),
}
VENDOR_FIELDS: dict[str, tuple[str, ...]] = {
    "name": ("strip",),
    "pgp": ("text",),
    "wallets": ("strip",),
    "contacts": ("strip",),
    "rating": ("float",),
    "sales": ("int",),
    "joined": ("date",),
}
PAGE_FIELDS: dict[str, dict[str, tuple[str, ...]]] = {
    "listing": LISTING_FIELDS,
    "vendor": VENDOR_FIELDS,
    "category": {},
    "search": {},
}
# A listing card on a result page: a listing's fields plus the detail page it links to.
CARD_FIELDS: dict[str, tuple[str, ...]] = {**LISTING_FIELDS, "url": ("url",)}
MAX_CARDS = 500  # cards read per page, as many as the generic record mining keeps
# Fields that hold several values even without ``all: true``.
LIST_FIELDS = frozenset({"crypto_prices", "wallets", "contacts"})

MAX_FIELD_CHARS = 20_000
_XPATH_NAMESPACES = {"re": "http://exslt.org/regular-expressions"}


class ProfileError(UserError):
    """A market profile is invalid; the message names the file, line and key."""


# --- selectors ---------------------------------------------------------------------------


_CSS = HTMLTranslator()
_VISIBLE_TEXT = etree.XPath(".//text()[not(ancestor::script or ancestor::style)]", smart_strings=False)


def element_text(element: Any, separator: str) -> str:
    """The text inside an lxml element, script and style excluded (lxml directly: a
    parsel wrapper per text node dominated extraction time)."""
    if not isinstance(getattr(element, "tag", None), str):
        return str(element)
    return separator.join(_VISIBLE_TEXT(element))


def compile_selector(css: str | None, xpath: str | None) -> etree.XPath:
    """One lxml XPath for a CSS selector (``::text`` / ``::attr(x)`` included) or an XPath.

    Raises cssselect's SelectorError / ExpressionError or lxml's XPathSyntaxError.
    """
    expression = _CSS.css_to_xpath(css) if css is not None else (xpath or "")
    return etree.XPath(expression, namespaces=_XPATH_NAMESPACES, smart_strings=False)


def _select(compiled: etree.XPath, selector: Selector | Any) -> list[Any]:
    """Evaluate on the lxml tree directly; parsel's wrapper per result dominated the cost.

    ``selector`` is a page's Selector or an lxml element (a card: the expression is relative to it).
    """
    root = selector.root if isinstance(selector, Selector) else selector
    if root is None or isinstance(root, str):
        return []
    try:
        result = compiled(root)
    except etree.XPathEvalError:  # e.g. a function used on the wrong node type: nothing matched
        return []
    return result if isinstance(result, list) else [result]


def _result_text(result: Any, attr: str | None, separator: str) -> str:
    if isinstance(result, (str, bytes)):  # ::text, @attr or text() results
        return result.decode("utf-8", "replace") if isinstance(result, bytes) else str(result)
    if not isinstance(getattr(result, "tag", None), str):
        return str(result) if isinstance(result, (int, float)) else ""
    if attr is not None:
        return result.get(attr, "")
    return element_text(result, separator)


@dataclass(frozen=True)
class FieldSelector:
    """Where one field sits on a page and how its value is normalised."""

    name: str
    css: str | None
    xpath: str | None
    attr: str | None
    take_all: bool
    normalisers: tuple[Normaliser, ...]
    optional: bool
    compiled: etree.XPath = field(compare=False, repr=False, default=None)  # type: ignore[assignment]

    def raw_values(self, selector: Selector) -> list[str]:
        values: list[str] = []
        for result in _select(self.compiled, selector):
            raw = _result_text(result, self.attr, "\n")[:MAX_FIELD_CHARS]
            if raw.strip():
                values.append(raw)
            if not self.take_all and self.name not in LIST_FIELDS and values:
                break
        return values

    def value(self, selector: Selector, context: NormaliseContext) -> Any:
        """The normalised value, a list when ``all``/list field, or None when nothing matched."""
        normalised = []
        for raw in self.raw_values(selector):
            value = apply_normalisers(raw, self.normalisers, context)
            if value is None:
                continue
            if self.take_all or self.name in LIST_FIELDS:
                if isinstance(value, list):
                    normalised.extend(item for item in value if item not in normalised)
                elif value not in normalised:
                    normalised.append(value)
            else:
                return value
        return normalised or None


@dataclass(frozen=True)
class SiteMarker:
    css: str | None
    xpath: str | None
    attr: str | None
    contains: str | None
    equals: str | None
    regex: re.Pattern[str] | None
    compiled: etree.XPath = field(compare=False, repr=False, default=None)  # type: ignore[assignment]

    def present(self, selector: Selector) -> bool:
        for result in _select(self.compiled, selector)[:50]:
            text = strip_value(_result_text(result, self.attr, " "))
            if self.contains is not None and self.contains.casefold() not in text.casefold():
                continue
            if self.equals is not None and text != self.equals:
                continue
            if self.regex is not None and not self.regex.search(text):
                continue
            return True
        return False


@dataclass(frozen=True)
class CardRule:
    """The listing cards of a page: which elements are cards, and each field relative to a card."""

    css: str | None
    xpath: str | None
    fields: dict[str, FieldSelector]
    compiled: etree.XPath = field(compare=False, repr=False, default=None)  # type: ignore[assignment]

    def read(self, selector: Selector, context: NormaliseContext) -> tuple[list[dict[str, Any]], list[str]]:
        """(values of each card with a title, in page order; expected fields that no card had).

        A card the page does not show (hidden as :func:`crawler.extractors.page_tree.is_shown`
        says: hover pop-ups that repeat a card, scraper traps) is no listing.  A page with no
        card at all (an empty result page) misses nothing.
        """
        cards: list[dict[str, Any]] = []
        seen: set[str] = set()
        root = selector.root if isinstance(selector, Selector) else selector
        rules = page_hiding_rules(root, at_rest=True) if root is not None and not isinstance(root, str) else HidingRules()
        elements = [result for result in _select(self.compiled, selector)
                    if isinstance(getattr(result, "tag", None), str) and is_shown(result, rules)]
        for element in elements[:MAX_CARDS]:
            values: dict[str, Any] = {}
            for name, field_selector in self.fields.items():
                value = field_selector.value(element, context)
                if value is not None:
                    values[name] = value
                    seen.add(name)
            if values.get("title"):
                cards.append(values)
        missing = [] if not elements else [
            f"cards.{name}" for name, field_selector in self.fields.items()
            if name not in seen and not field_selector.optional
        ]
        return cards, missing


@dataclass(frozen=True)
class PageRule:
    page_type: str
    url_patterns: tuple[re.Pattern[str], ...]
    marker: SiteMarker | None
    fields: dict[str, FieldSelector]
    cards: CardRule | None = None


@dataclass
class ProfileExtraction:
    """What a profile found on one page."""

    market: str
    page_type: str | None
    values: dict[str, Any] = field(default_factory=dict)
    url_groups: dict[str, str] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)
    cards: list[dict[str, Any]] = field(default_factory=list)  # one values dict per listing card


@dataclass
class MarketProfile:
    name: str
    source: str
    description: str = ""
    default_currency: str | None = None
    hosts: set[str] = field(default_factory=set)
    host_patterns: tuple[re.Pattern[str], ...] = ()
    site_markers: tuple[SiteMarker, ...] = ()
    pages: dict[str, PageRule] = field(default_factory=dict)

    def matches_host(self, onion_host: str) -> bool:
        host = onion_host.lower()
        return host in self.hosts or any(pattern.search(host) for pattern in self.host_patterns)

    def matches_markers(self, selector: Selector) -> bool:
        return any(marker.present(selector) for marker in self.site_markers)

    def page_type(self, url: str, selector: Selector | None = None) -> tuple[str | None, dict[str, str]]:
        """(page type, named URL groups): by URL pattern first, then by page marker."""
        target = _path_and_query(url)
        for rule in self.pages.values():
            for pattern in rule.url_patterns:
                match = pattern.search(target)
                if match:
                    return rule.page_type, {k: v for k, v in match.groupdict().items() if v is not None}
        if selector is not None:
            for rule in self.pages.values():
                if rule.marker is not None and rule.marker.present(selector):
                    return rule.page_type, {}
        return None, {}

    def extract(self, selector: Selector, url: str, page_type: str | None = None,
                countries: Mapping[str, str] | None = None) -> ProfileExtraction:
        """Apply the rules of the page's type: its fields, and its listing cards when the rule has
        ``cards``; ``missing`` lists expected fields that matched nothing (``cards.<field>`` for a
        card field that no card on the page had).

        ``countries`` is the country table the ``country``/``countries`` normalisers read
        (default: the config package's).
        """
        detected_type, groups = self.page_type(url, selector)
        page_type = page_type or detected_type
        extraction = ProfileExtraction(market=self.name, page_type=page_type, url_groups=groups)
        rule = self.pages.get(page_type or "")
        if rule is None:
            return extraction
        context = NormaliseContext(page_url=url, default_currency=self.default_currency, countries=countries)
        for name, field_selector in rule.fields.items():
            value = field_selector.value(selector, context)
            if value is None:
                if name in groups:  # listing_id and friends may come from the URL
                    extraction.values[name] = groups[name]
                elif not field_selector.optional:
                    extraction.missing.append(name)
                continue
            extraction.values[name] = value
        for name, value in groups.items():
            extraction.values.setdefault(name, value)
        if rule.cards is not None:
            extraction.cards, missing = rule.cards.read(selector, context)
            extraction.missing.extend(missing)
        return extraction

    def listing_id_for(self, url: str) -> str | None:
        """The ``listing_id`` the listing rule's URL pattern gives ``url``, or None (no rule, no match, no group)."""
        rule = self.pages.get("listing")
        if rule is None:
            return None
        target = _path_and_query(url)
        for pattern in rule.url_patterns:
            match = pattern.search(target)
            if match and match.groupdict().get("listing_id"):
                return match.group("listing_id")
        return None


def _path_and_query(url: str) -> str:
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    return (parts.path or "/") + (f"?{parts.query}" if parts.query else "")

