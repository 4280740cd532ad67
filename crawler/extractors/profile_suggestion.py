"""A market profile suggested from saved pages: what ``onionscope profile suggest`` writes.

The profile-free extraction reads each page (its type, the listing cards
that record mining found, a detail page's title, price and vendor, a vendor
profile's name); :mod:`crawler.extractors.selector_inference`
turns the elements that held those values into selectors, keeping only
selectors that give every page back what the extraction found there.  The
result is a short YAML profile for a person to review: lines that rest on
thin evidence say ``check``.

Public API:

* :func:`suggest_profile` ``(pages, market, host=None) -> Suggestion``;
  raises :class:`config.errors.UserError` for a bad market name or host, or
  pages that show no listing (nothing to suggest).
* :class:`SavedPage` -- a page's name (for messages), its HTML and, when
  known, the URL it was saved from.
* :class:`Suggestion` -- the YAML ``text``, the ``checks`` a person should
  make, and per page what the extraction found without and with the profile
  (:class:`PageCheck`), from loading the text with the profile loader and
  applying it.

What a suggested profile holds:

* ``match.hosts``: ``host``, else the onion host of the pages' canonical,
  ``<base>`` or ``og:url`` URL; without either, a site marker (text the
  pages' ``<title>`` share, or an element every page carries with the same
  text), marked ``check``;
* ``pages.listing``: a URL pattern from the card links (the ``listing_id``
  group where the generic id rule finds the id), a marker and the title,
  price and vendor fields, when detail pages were given;
* ``pages.vendor``: a marker and the name field, when vendor profiles were given,
  with the cards they show;
* ``pages.category``: a marker and the ``cards`` rule (card selector; title,
  price, vendor and detail URL relative to each card).

Rules are written in the order listing, vendor, category, which is the order
:meth:`MarketProfile.page_type` tries markers in.  Cost: the extraction of
each page plus a few hundred selector evaluations; a few pages take well
under a second.
"""

from __future__ import annotations

import math
import re
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence
from urllib.parse import parse_qsl, urlsplit

from parsel import Selector

from config.errors import UserError
from config.i18n import gettext
from crawler.extractors.document import decode_html, extract_document
from crawler.extractors.generic_listing import listing_id_from_url
from crawler.extractors.generic_page import read_generic_page
from crawler.extractors.market_profiles.loader import load_profile
from crawler.extractors.market_profiles.model import CARD_FIELDS, LISTING_FIELDS, VENDOR_FIELDS, MarketProfile
from crawler.extractors.market_profiles.normalisers import NormaliseContext
from crawler.extractors.market_profiles.registry import MarketProfiles
from crawler.extractors.selector_inference import (
    CardPage,
    Choice,
    MarkerPage,
    Sample,
    card_field,
    card_selector,
    locate,
    marker,
    page_field,
    stable_classes,
)
from crawler.extractors.onions import is_valid_v3_onion
from crawler.extractors.page_tree import PageTree, build_page_tree, clean_text
from crawler.extractors.prices import Price
from crawler.extractors.record_mining import Card, mine_cards
from crawler.urls import onion_host

MARKET_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")
_V2_ONION = re.compile(r"^[a-z2-7]{16}\.onion$")
_SAFE_TEXT = re.compile(r"^[\w .:|&!,'’()+-]{4,60}$")
_RULE_ORDER = ("listing", "vendor", "category")


@dataclass(frozen=True)
class SavedPage:
    name: str
    html: bytes | str
    url: str | None = None


@dataclass
class PageCheck:
    """One page: what the profile-free extraction found, and what the suggested profile finds."""

    name: str
    generic_type: str | None
    generic_listings: int
    profile_type: str | None = None
    profile_listings: int = 0
    same_title_price: int = 0  # the generic listings the profile gives with the same title and price


@dataclass
class Suggestion:
    market: str
    text: str
    checks: list[str] = field(default_factory=list)
    pages: list[PageCheck] = field(default_factory=list)


@dataclass
class _Page:
    name: str
    text: str
    url: str
    selector: Selector
    tree: PageTree
    page_type: str | None
    cards: list[Card]
    listing: dict[str, Any] | None
    vendor: dict[str, Any] | None
    generic_listings: list[dict[str, Any]]

    @property
    def root(self) -> Any:
        return self.selector.root


def _quote(text: str) -> str:
    """A YAML single-quoted scalar (selectors and patterns hold no line breaks or controls)."""
    if any(not char.isprintable() for char in text):
        raise ValueError(f"refusing to write a non-printable character into a profile: {text!r}")
    return "'" + text.replace("'", "''") + "'"


def _page_url(selector: Selector, given: str | None, host: str | None) -> tuple[str, str | None]:
    """(the URL the page is read at, the onion host its own canonical/base URL names, if any)."""
    if given:
        return given, onion_host(given)
    try:
        declared = selector.xpath(
            "//link[@rel='canonical']/@href | //base/@href | //meta[@property='og:url']/@content").getall()[:5]
    except ValueError:
        declared = []
    for url in declared:
        url = url.strip()
        try:
            parts = urlsplit(url)
        except ValueError:
            continue
        if parts.scheme in ("http", "https") and onion_host(url):
            return url, onion_host(url)
    return f"http://{host or 'saved-page.invalid'}/", None


def _read(page: SavedPage, host: str | None) -> tuple[_Page, str | None]:
    text = decode_html(page.html)
    selector = Selector(text=text or "<html></html>")
    url, declared_host = _page_url(selector, page.url, host)
    selector = Selector(text=text or "<html></html>", base_url=url)
    tree = build_page_tree(selector.root)
    generic = read_generic_page(selector, url)
    listings = list(generic.cards) + ([generic.listing] if generic.listing else [])
    return _Page(page.name, text, url, selector, tree, generic.page_type, mine_cards(tree, url), generic.listing,
                 generic.vendor, listings), declared_host


# --- URL patterns ---------------------------------------------------------------------------


def _segments(url: str) -> tuple[list[str], list[tuple[str, str]]]:
    parts = urlsplit(url)
    return (parts.path or "/").lstrip("/").split("/"), parse_qsl(parts.query, keep_blank_values=True)


def url_pattern(urls: Sequence[str], with_id: bool) -> tuple[str, int] | None:
    """(a regex on path?query that matches the URLs, how many it matches), or None.

    Constant path segments are kept, varying ones become ``[^/?#]+``;
    query keys every URL has are required (their values too when constant);
    with ``with_id`` the segment or query value where the generic id rule
    finds the listing id becomes the ``listing_id`` group.  Built from the
    most common path length.  None when nothing in the URLs is constant (such
    a pattern would claim every URL of that depth for the page type).
    """
    if not urls:
        return None
    split = [_segments(url) for url in urls]
    length = Counter(len(path) for path, _ in split).most_common(1)[0][0]
    chosen = [(url, path, query) for url, (path, query) in zip(urls, split) if len(path) == length]
    id_position: int | None = None
    id_key: str | None = None
    if with_id:
        places: Counter[tuple[str, Any]] = Counter()
        for url, path, query in chosen:
            found = listing_id_from_url(url)
            if found is None:
                continue
            key = next((name for name, value in query if value == found), None)
            if key is not None:
                places[("query", key)] += 1
            else:
                position = next((i for i in range(len(path) - 1, -1, -1) if re.sub(r"\.(?:html?|php)$", "", path[i]) == found), None)
                if position is not None:
                    places[("path", position)] += 1
        if not places:
            return None
        (kind, where), _ = places.most_common(1)[0]
        id_key, id_position = (where, None) if kind == "query" else (None, where)
    parts = []
    literal = False  # a pattern with nothing constant would match every URL of that depth
    for position in range(length):
        values = {path[position] for _, path, _ in chosen}
        if position == id_position:
            extensions = {match.group() for value in values for match in [re.search(r"\.(?:html?|php)$", value)] if match}
            extension = next(iter(extensions)) if len(extensions) == 1 and all(v.endswith(next(iter(extensions))) for v in values) else ""
            group = "(?P<listing_id>[^/?#]+?)" + re.escape(extension) if extension else "(?P<listing_id>[^/?#]+)"
            parts.append(group)
        elif len(values) == 1:
            parts.append(re.escape(next(iter(values))))
            literal = literal or bool(next(iter(values)))
        else:
            parts.append("[^/?#]+")
    pattern = "^/" + "/".join(parts)
    queries = [dict(query) for _, _, query in chosen]
    for key, value in queries[0].items():
        if key == id_key or not all(key in query for query in queries):
            continue
        # A query key every URL has is part of the pattern; its value too when it never changes.
        required = re.escape(key) + "=" + (re.escape(value) + "(?:[&#]|$)" if all(
            query[key] == value for query in queries) else "")
        pattern += rf"(?=\?(?:[^#]*&)?{required})"
        literal = True
    if id_key is not None:
        literal = True
        pattern += rf"\?(?:[^#]*&)?{re.escape(id_key)}=(?P<listing_id>[^&#]+)"
    if not literal:
        return None
    try:
        compiled = re.compile(pattern)
    except re.error:
        return None
    matched = sum(1 for url in urls if compiled.search(_path_and_query(url)))
    return (pattern, matched) if matched else None


def _path_and_query(url: str) -> str:
    parts = urlsplit(url)
    return (parts.path or "/") + (f"?{parts.query}" if parts.query else "")


def _matches(pattern: str, urls: Sequence[str]) -> int:
    compiled = re.compile(pattern)
    return sum(1 for url in urls if compiled.search(_path_and_query(url)))


# --- the parts of the profile ---------------------------------------------------------------


def _field_line(name: str, choice: Choice, optional: bool = False, indent: str = "      ") -> str:
    parts = [f"css: {_quote(choice.css)}" if choice.css is not None else f"xpath: {_quote(choice.xpath or '.')}"]
    if choice.attr:
        parts.append(f"attr: {choice.attr}")
    if choice.regex is not None:
        parts.append(f"normalise: [strip, {{regex: {_quote(choice.regex)}}}]")
    if optional:
        parts.append("optional: true")
    line = f"{indent}{name}: {{{', '.join(parts)}}}"
    if choice.hits < choice.total:
        line += f"  # check: gave the value found on {max(choice.hits, 0)} of {choice.total}"
    elif choice.pages == 1:
        line += "  # check: seen on one page"
    return line


def _expected(name: str, card: Card) -> Any:
    if name == "title":
        return card.title
    if name == "price":
        return Price(card.price.amount, card.price.currency) if card.price is not None else None
    if name == "vendor":
        return card.vendor
    return card.url


_CARD_ELEMENT = {"title": "title_element", "price": "price_element", "vendor": "vendor_element", "url": "url_element"}


def _cards_rule(pages: list[_Page], checks: list[str], label: str) -> tuple[list[str], str | None]:
    """(YAML lines of a ``cards:`` rule, its card selector) for the cards of ``pages``."""
    card_pages = [CardPage(page.root, [page.tree.elements[card.element] for card in page.cards]) for page in pages]
    chosen = card_selector(card_pages)
    if chosen is None or chosen.css is None:
        if any(page.cards for page in pages):
            checks.append(f"{label}: no selector matches every card that was found; no cards rule")
        return [], None
    lines = ["    cards:", f"      css: {_quote(chosen.css)}"]
    if chosen.extras:
        lines[-1] += f"  # check: also matches {chosen.extras} element(s) that were no card"
        checks.append(f"{label}: the card selector also matches {chosen.extras} element(s) that were no card")
    lines.append("      fields:")
    for name in ("title", "price", "vendor", "url"):
        samples: list[Sample] = []
        negatives: list[Sample] = []
        for number, page in enumerate(pages):
            context = NormaliseContext(page_url=page.url, default_currency=None)
            for card in page.cards:
                card_element = page.tree.elements[card.element]
                index = getattr(card, _CARD_ELEMENT[name])
                expected = _expected(name, card)
                if expected is None or index < 0:
                    if name == "vendor" and expected is None:
                        negatives.append(Sample(card_element, card_element, None, context, number))
                    continue
                samples.append(Sample(card_element, page.tree.elements[index], expected, context, number))
        choice = card_field(name, CARD_FIELDS[name], samples, negatives)
        if choice is None:
            if name != "vendor":
                checks.append(f"{label}: no selector gives the cards' {name}")
                if name in ("title", "url"):
                    return [], None  # the loader needs both
            continue
        if choice.hits < choice.total:
            checks.append(f"{label}: card {name} reproduced on {max(choice.hits, 0)} of {choice.total} cards")
        lines.append(_field_line(name, choice, optional=name == "vendor", indent="        "))
    return lines, chosen.css


def _page_fields(pages: list[_Page], values: list[dict[str, Any]], names: Sequence[str], defaults: dict[str, tuple[str, ...]],
                 checks: list[str], label: str) -> dict[str, Choice]:
    found: dict[str, Choice] = {}
    for name in names:
        samples = []
        for number, (page, page_values) in enumerate(zip(pages, values)):
            expected = page_values.get(name)
            if isinstance(expected, Price):
                expected = Price(expected.amount, expected.currency)
            if expected in (None, ""):
                continue
            context = NormaliseContext(page_url=page.url, default_currency=None)
            for element in locate(page.tree, name, expected):
                samples.append(Sample(page.root, element, expected, context, number))
        if not samples:
            continue
        choice = page_field(name, defaults[name], samples)
        if choice is None:
            checks.append(f"{label}: no selector gives the {name} found on the pages")
            continue
        if choice.hits < choice.total:
            checks.append(f"{label}: {name} reproduced on {max(choice.hits, 0)} of {choice.total} pages")
        found[name] = choice
    return found


def _marker_line(page_type: str, pages: list[_Page], readings: Sequence[_Page], tried_before: Sequence[str],
                 preferred: list[tuple[str | None, str | None]], checks: list[str], has_url_pattern: bool) -> str | None:
    """The rule's marker line: present on every page of the type and, in this order of preference,
    absent from every other page; from the pages of the types tried after it and the pages with
    no listing; from the pages of the types tried after it only (the extraction without a profile
    may have missed the cards of a page it took for none)."""
    positives = [MarkerPage(page.root, page.name) for page in pages]
    others = [page for page in readings if page.page_type != page_type]
    later = [page for page in others if page.page_type not in tried_before]
    later_known = [page for page in later if page.page_type is not None]
    chosen, note, unsure = None, "", []
    for negatives in (others, later, later_known):
        if chosen is not None or (negatives is not others and len(negatives) == len(others)):
            continue
        chosen = marker(positives, [MarkerPage(page.root, page.name) for page in negatives], preferred)
        if chosen is not None and negatives is not others:
            compiled = chosen.compiled()
            unsure = [page for page in others if page not in negatives and compiled(page.root)]
    if chosen is None:
        if not has_url_pattern:
            checks.append(f"{page_type} pages: no element tells them from the other pages, and no URL pattern")
        return None
    untyped = [page.name for page in unsure if page.page_type is None]
    if untyped:
        note = f"  # check: also on {len(untyped)} page(s) the extraction took for no listing page"
        checks.append(f"{page_type} pages: the marker is also on {', '.join(untyped[:5])}, which the extraction "
                      "without a profile took for no listing page")
    elif unsure:
        note = "  # check: also on pages of a type tried before this one"
    if not others:
        note = note or f"  # check: only {page_type} pages were given, so nothing was told apart"
    elif len(pages) == 1 and not note:
        note = "  # check: seen on one page"
    source = f"css: {_quote(chosen.css)}" if chosen.css is not None else f"xpath: {_quote(chosen.xpath or '')}"
    return f"    marker: {{{source}}}{note}"


def _site_marker(pages: list[_Page]) -> str | None:
    """A site marker: text every page's <title> shares, else an element with the same text on every page."""
    titles = []
    for page in pages:
        try:
            titles.append(clean_text(" ".join(page.selector.xpath("//title//text()").getall()[:5]))[:300])
        except ValueError:
            titles.append("")
    if all(titles):
        common = _common_substring([title.casefold() for title in titles])
        if common and _SAFE_TEXT.match(common) and re.search(r"[^\W\d_]{3}", common):
            return f"    - {{xpath: '//title', contains: {_quote(common)}}}"
    first = pages[0]
    try:
        elements = first.root.xpath("//body//*[@id or @class]")[:400]
    except (ValueError, AttributeError):
        return None
    for element in elements:
        text = clean_text(" ".join(element.itertext()))
        if not text or not _SAFE_TEXT.match(text) or not re.search(r"[^\W\d_]{3}", text):
            continue
        for step in [f"{element.tag}.{name}" for name in stable_classes(element)]:
            if all(_text_under(page, step) == text for page in pages):
                return f"    - {{css: {_quote(step)}, contains: {_quote(text)}}}"
    return None


def _text_under(page: _Page, css: str) -> str | None:
    try:
        found = page.selector.css(css)
    except Exception:  # cssselect raises several kinds on odd names
        return None
    if not found:
        return None
    return clean_text(" ".join(found[0].root.itertext()))


def _common_substring(texts: list[str]) -> str | None:
    """The longest substring of the first text that every text contains (words kept whole)."""
    first = texts[0]
    words = first.split()
    best = ""
    for start in range(len(words)):
        for end in range(len(words), start, -1):
            candidate = " ".join(words[start:end]).strip(" -|:·–—")
            if len(candidate) <= len(best):
                break
            if all(candidate in text for text in texts[1:]):
                best = candidate
                break
    return best or None


def _host(host: str | None) -> str | None:
    if host is None:
        return None
    host = host.strip().lower()
    if host.startswith(("http://", "https://")):
        host = onion_host(host) or host
    if not host.endswith(".onion") or not (is_valid_v3_onion(host) or _V2_ONION.match(host)):
        raise UserError(gettext("--host {host}: expected an onion host (56 base32 characters with a valid checksum, "
                                "then .onion)", host=repr(host)))
    return host


def suggest_profile(pages: Sequence[SavedPage], market: str, host: str | None = None) -> Suggestion:
    """A profile for ``market`` from ``pages`` (see the module docstring); the text validates with
    :func:`~crawler.extractors.market_profiles.loader.load_profile`."""
    if not MARKET_NAME.fullmatch(market or ""):
        raise UserError(gettext("market name {market}: use lower-case letters, digits, '-' or '_' (e.g. 'empire')",
                                market=repr(market)))
    host = _host(host)
    if not pages:
        raise UserError(gettext("give at least one saved page"))
    readings: list[_Page] = []
    declared: Counter[str] = Counter()
    for page in pages:
        reading, declared_host = _read(page, host)
        readings.append(reading)
        if declared_host:
            declared[declared_host] += 1
    checks: list[str] = []
    if host is None and declared:
        host = declared.most_common(1)[0][0]
        checks.append(f"the host {host} comes from the pages' own canonical or base URL")
    by_type: dict[str | None, list[_Page]] = {}
    for reading in readings:
        by_type.setdefault(reading.page_type, []).append(reading)
    if not any(by_type.get(kind) for kind in _RULE_ORDER):
        raise UserError(gettext("none of the pages shows a listing card, a listing or a vendor profile that the "
                                "extraction recognises (forum threads, login and link-list pages give no profile)"))

    rules: dict[str, list[str]] = {}
    card_urls = [card.url for page in readings for card in page.cards if card.url]
    vendor_urls = [card.vendor_url for page in readings for card in page.cards if card.vendor_url]
    preferred: dict[str, list[tuple[str | None, str | None]]] = {kind: [] for kind in _RULE_ORDER}
    url_patterns: dict[str, str] = {}

    listing_pages = by_type.get("listing", [])
    if listing_pages:
        values = [page.listing or {} for page in listing_pages]
        fields = _page_fields(listing_pages, values, ("title", "price", "vendor"), LISTING_FIELDS, checks, "listing pages")
        if "title" in fields:
            lines = []
            pattern = url_pattern(card_urls, with_id=True)
            if pattern is not None and not _matches(pattern[0], vendor_urls):
                url_patterns["listing"] = pattern[0]
                lines.append(f"    url_pattern: {_quote(pattern[0])}  # check: from {pattern[1]} card links")
            lines.append("    fields:")
            for name, choice in fields.items():
                lines.append(_field_line(name, choice, optional=name == "vendor"))
                preferred["listing"].append((choice.css, choice.xpath))
            rules["listing"] = lines
        else:
            checks.append("listing pages: no selector gives their title, so the profile has no listing rule")

    vendor_pages = by_type.get("vendor", [])
    if vendor_pages:
        values = [page.vendor or {} for page in vendor_pages]
        fields = _page_fields(vendor_pages, values, ("name",), VENDOR_FIELDS, checks, "vendor pages")
        if "name" in fields:
            lines = []
            pattern = url_pattern(vendor_urls, with_id=False)
            if pattern is not None and not _matches(pattern[0], card_urls):
                url_patterns["vendor"] = pattern[0]
                lines.append(f"    url_pattern: {_quote(pattern[0])}  # check: from {pattern[1]} vendor links")
            lines += ["    fields:", _field_line("name", fields["name"])]
            preferred["vendor"].append((fields["name"].css, fields["name"].xpath))
            if any(page.cards for page in vendor_pages):
                card_lines, card_css = _cards_rule(vendor_pages, checks, "vendor pages")
                lines += card_lines
            rules["vendor"] = lines
        else:
            checks.append("vendor pages: no selector gives the vendor's name, so the profile has no vendor rule")

    category_pages = by_type.get("category", [])
    if category_pages:
        card_lines, card_css = _cards_rule(category_pages, checks, "category pages")
        if card_lines:
            rules["category"] = card_lines
            if card_css:
                preferred["category"].append((card_css, None))

    # Markers, in the order page_type() tries them.
    present = [kind for kind in _RULE_ORDER if kind in rules]
    for position, kind in enumerate(present):
        line = _marker_line(kind, by_type.get(kind, []), readings, present[:position], preferred[kind], checks,
                            kind in url_patterns)
        if line is None and kind not in url_patterns:
            del rules[kind]
            continue
        if line is not None:
            rules[kind].insert(1 if kind in url_patterns else 0, line)
    if not rules:
        raise UserError(gettext("no selector reproduced what the extraction found on these pages; write the profile "
                                "by hand (see the README's extraction section)"))

    counts = Counter(reading.page_type or "other" for reading in readings)
    lines = [
        f"# Suggested by `onionscope profile suggest` from {len(readings)} saved page(s): "
        + ", ".join(f"{kind} {count}" for kind, count in sorted(counts.items())) + ".",
        "# Each selector gave back what the extraction without a profile found on those pages;",
        "# review the lines marked 'check' before a crawl relies on this profile.",
        f"name: {market}",
        "match:",
    ]
    if host is not None:
        lines.append(f"  hosts: [{_quote(host)}]")
    else:
        # Login and anti-DDoS pages often share nothing with the market's own pages.
        site = _site_marker([reading for reading in readings if reading.page_type] or readings)
        if site is None:
            raise UserError(gettext("the pages name no onion host and share no title text to recognise the market "
                                    "by; give the market's host with --host"))
        lines += ["  # check: no host given; pages are bound to the market with --market or --market-host",
                  "  site_markers:", site]
        checks.append("no host: the profile recognises the market by a site marker only; add its onion host")
    link_hosts = Counter(onion_host(url) for url in card_urls if onion_host(url))
    if link_hosts and host not in link_hosts:
        lines.append("  # check: the card links point to " + ", ".join(
            f"{name} ({count})" for name, count in link_hosts.most_common(3) if name))
    lines.append("pages:")
    for kind in _RULE_ORDER:
        if kind in rules:
            lines.append(f"  {kind}:")
            lines += rules[kind]
    text = "\n".join(lines) + "\n"
    suggestion = Suggestion(market=market, text=text, checks=checks)
    suggestion.pages = verify(text, readings)
    return suggestion


def verify(text: str, readings: Sequence[_Page]) -> list[PageCheck]:
    """Load ``text`` with the profile loader and apply it to each page; raises ProfileError if it does not load."""
    with tempfile.TemporaryDirectory(prefix="onionscope-suggest-") as folder:
        path = Path(folder) / "suggested.yml"
        path.write_text(text, encoding="utf-8")
        profile = load_profile(path)
    return [_check(profile, reading) for reading in readings]


def _check(profile: MarketProfile, reading: _Page) -> PageCheck:
    """The page extracted as a crawl would with the profile (forced by name), against the generic reading."""
    document = extract_document(reading.text, reading.url,
                                "1970-01-01T00:00:00Z", "profile-suggest", profiles=MarketProfiles([profile]),
                                market=profile.name)
    found: list[tuple[str, Any]] = [
        (listing.title, Price(listing.price_amount, listing.price_currency)
         if listing.price_amount is not None and listing.price_currency else None)
        for listing in document.listings]
    check = PageCheck(reading.name, reading.page_type, len(reading.generic_listings), document.page_type, len(found))
    left = list(found)
    for values in reading.generic_listings:
        price = values.get("price")
        for item in left:
            if item[0] == values.get("title") and _same_price(price, item[1]):
                left.remove(item)
                check.same_title_price += 1
                break
    return check


def _same_price(expected: Any, found: Any) -> bool:
    if not isinstance(expected, Price):
        return found is None
    return isinstance(found, Price) and found.currency == expected.currency and math.isclose(
        found.amount, expected.amount, rel_tol=1e-9, abs_tol=1e-12)


__all__ = ["PageCheck", "SavedPage", "Suggestion", "suggest_profile", "url_pattern", "verify"]
