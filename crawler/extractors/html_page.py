"""Page basics from HTML: title, visible text, outgoing links and onion links.

:func:`parse_html_page` returns an :class:`HtmlPage`.  It never raises on
malformed HTML (lxml recovers); text is capped at ``max_text_chars`` and the
link lists at ``max_links`` so a hostile page cannot blow up memory.  Links are
absolute, fragment-free http(s) URLs; ``javascript:``, ``data:``, ``file:``,
``mailto:`` and every other scheme's links are dropped (and counted in
``other_scheme_links``).  The raw hrefs (for identifier extraction) are
capped in total at :data:`MAX_HREF_TEXT_CHARS`.

Text the browser would not show -- inside ``display:none`` /
``visibility:hidden`` elements, the ``hidden`` attribute, or a class, id or
tag that the page's own ``<style>`` hides (:mod:`crawler.extractors.visibility`)
-- is kept apart in ``hidden_text`` (and the hrefs of links there in
``hidden_hrefs``), so that an identifier planted there for scrapers is never
taken for the page's own.  Both come from one walk over the tree, which
visits at most :data:`MAX_ELEMENTS` elements (the rest of a larger page is not
read) and stops early once every text and href cap is full.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, NamedTuple
from urllib.parse import urljoin, urlsplit

from lxml import etree
from parsel import Selector

from crawler.extractors.visibility import SHOWN, HidingRules, Visibility, element_visibility, hiding_rules
from crawler.urls import onion_host

#: longest raw href kept.
MAX_HREF_CHARS = 2048
#: raw href text kept per page, in all (the same order as the visible text cap).
MAX_HREF_TEXT_CHARS = 200_000
#: elements read per page; the text and links of a larger page's rest are not read.
MAX_ELEMENTS = 200_000

_WHITESPACE = re.compile(r"\s+")
# An href that names a scheme other than http(s): "javascript:", "data:", "file:", "mailto:"...
_OTHER_SCHEME = re.compile(r"(?!https?:)[a-zA-Z][a-zA-Z0-9+.-]{0,31}:", re.IGNORECASE)
# Text inside these elements is never shown to a reader of the page (nor counted as hidden text).
_NO_TEXT_TAGS = frozenset({"script", "style", "noscript", "template", "head", "svg"})


@dataclass(frozen=True)
class HtmlPage:
    title: str
    text: str
    links: list[str] = field(default_factory=list)
    onion_links: list[str] = field(default_factory=list)
    hrefs: list[str] = field(default_factory=list)
    # Links with a scheme other than http(s) (javascript:, data:, file:, mailto:...): never followed.
    other_scheme_links: int = 0
    # Text and link targets inside elements the browser does not show (scraper traps).
    hidden_text: str = ""
    hidden_hrefs: list[str] = field(default_factory=list)


class _Frame(NamedTuple):
    """What an open element passes on to its content and to the text after it (a tuple: one per element)."""

    no_text: bool  # inside script, style, head, ...
    in_body: bool
    shown: Visibility

    @property
    def hidden(self) -> bool:
        return self.shown.hidden


_ROOT_FRAME = _Frame(no_text=False, in_body=False, shown=SHOWN)


def _frame(element: Any, tag: str, parent: _Frame, rules: HidingRules) -> _Frame:
    no_text = parent.no_text or tag in _NO_TEXT_TAGS
    in_body = parent.in_body or tag == "body"
    shown = element_visibility(element, tag, parent.shown, rules)
    if shown is parent.shown and no_text == parent.no_text and in_body == parent.in_body:
        return parent  # the common case: an element passes on what its parent does
    return _Frame(no_text, in_body, shown)


class _Texts:
    """Collapsed text chunks up to a cap: joined with spaces they equal the collapsed whole."""

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self.chunks: list[str] = []
        self.chars = 0
        self.any_node = False

    def add(self, text: str | None) -> None:
        if text is None:
            return
        self.any_node = True
        if self.chars > self.cap:
            return
        # A 10 MB single text node is collapsed only up to what the cap still takes.
        chunk = _clean_capped(text, self.cap - self.chars + 1)
        if chunk:
            self.chunks.append(chunk)
            self.chars += len(chunk) + 1

    def joined(self) -> str:
        return " ".join(self.chunks)[: self.cap]


def parse_html_page(
    html: str | bytes,
    url: str,
    max_text_chars: int = 200_000,
    max_links: int = 5_000,
    max_title_chars: int = 1_000,
    max_href_chars: int = MAX_HREF_TEXT_CHARS,
    selector: Selector | None = None,
) -> HtmlPage:
    """Parse ``html`` fetched from ``url``.

    ``text`` is the visible text of ``<body>`` (of the whole document when it
    has no body text), ``hidden_text`` the text the browser would not show;
    ``links`` are every distinct absolute http(s) link (in page order, hidden
    ones included: the crawl's link rules apply to them); ``onion_links``
    the subset whose host is an onion service; ``hrefs`` the raw href values
    of shown links (for identifier extraction from ``bitcoin:`` and similar
    URIs) and ``hidden_hrefs`` those of hidden ones, each cut at 2048
    characters and ``max_href_chars`` in all: the identifier finders read
    every href, so without a total a page of 5000 long links gave them 10 MB
    to read.

    ``selector``, when given, is ``html`` already parsed (the same text and
    URL) by a caller that reads it too; it is only read here, so one parse
    serves both.
    """
    if selector is None:
        if isinstance(html, bytes):
            html = html.decode("utf-8", errors="replace")
        selector = Selector(text=html or "<html></html>", base_url=url)
    title = _clean(" ".join(selector.xpath("//title//text()").getall()))[:max_title_chars]
    rules = hiding_rules(selector.xpath("//style/text()").getall())

    body_text, other_text = _Texts(max_text_chars), _Texts(max_text_chars)
    hidden_body_text, hidden_other_text = _Texts(max_text_chars), _Texts(max_text_chars)
    hrefs: list[str] = []
    hidden_hrefs: list[str] = []
    href_chars = 0
    links: list[str] = []
    seen: set[str] = set()
    links_done = False
    other_scheme_links = 0

    def add_text(frame: _Frame, text: str | None) -> None:
        if text is None or frame.no_text:
            return
        if frame.hidden:
            (hidden_body_text if frame.in_body else hidden_other_text).add(text)
        else:
            (body_text if frame.in_body else other_text).add(text)

    absolute_of = _Resolver(url)
    frames = [_ROOT_FRAME]
    elements = 0
    walker = etree.iterwalk(selector.root, events=("start", "end", "comment", "pi"))
    for event, element in walker:
        if event == "end":
            frames.pop()
            add_text(frames[-1], element.tail)
            continue
        tag = element.tag
        if event != "start" or not isinstance(tag, str):  # a comment or processing instruction
            add_text(frames[-1], element.tail)
            continue
        elements += 1
        if elements > MAX_ELEMENTS:
            break
        frame = _frame(element, tag.lower(), frames[-1], rules)
        frames.append(frame)
        add_text(frame, element.text)
        if links_done or tag not in ("a", "area"):
            continue
        raw = element.get("href")
        if raw is None:
            continue
        if len(links) >= max_links and (len(hrefs) + len(hidden_hrefs) >= max_links or href_chars >= max_href_chars):
            links_done = True  # both lists are full: resolving the rest would only cost time
            continue
        raw = raw.strip()
        if len(hrefs) + len(hidden_hrefs) < max_links and href_chars < max_href_chars:
            kept = raw[: min(MAX_HREF_CHARS, max_href_chars - href_chars)]
            (hidden_hrefs if frame.hidden else hrefs).append(kept)
            href_chars += len(kept)
        absolute = absolute_of(raw)
        if absolute is None and _OTHER_SCHEME.match(raw):
            other_scheme_links += 1
        if absolute and absolute not in seen and len(links) < max_links:
            seen.add(absolute)
            links.append(absolute)

    # Documents without <body> (fragments, text/plain wrapped by lxml) give their other text.
    has_body_text = body_text.any_node or hidden_body_text.any_node
    text = (body_text if has_body_text else other_text).joined()
    hidden_text = (hidden_body_text if has_body_text else hidden_other_text).joined()
    # A link's host is its text up to the first "/", "?" or "#" after the scheme: asked once per origin.
    host_of_origin: dict[str, str | None] = {}
    onion_links = []
    for link in links:
        origin = _ORIGIN.match(link)
        if origin is None:
            host = onion_host(link)
        else:
            key = origin.group()
            if key not in host_of_origin:
                host_of_origin[key] = onion_host(key)
            host = host_of_origin[key]
        if host:
            onion_links.append(link)
    return HtmlPage(
        title=title, text=text, links=links, onion_links=onion_links, hrefs=hrefs,
        hidden_text=hidden_text, hidden_hrefs=hidden_hrefs, other_scheme_links=other_scheme_links,
    )


def _clean(text: str) -> str:
    return _WHITESPACE.sub(" ", text).strip()


def _clean_capped(text: str, max_chars: int) -> str:
    """``_clean(text)[:max_chars]``, reading only as much of ``text`` as that needs.

    Collapsing the whitespace of a whole 10 MB single-line page took seconds (over the
    extraction budget) to keep its first 200,000 characters; this works through it in
    slices and stops once the cap is reached.
    """
    if len(text) <= max_chars:  # the common case: one short text node, read whole
        return _WHITESPACE.sub(" ", text).strip()
    step = max(max_chars, 65_536)
    pieces: list[str] = []
    kept = 0
    for start in range(0, len(text), step):
        cleaned = _WHITESPACE.sub(" ", text[start:start + step])
        if pieces and pieces[-1].endswith(" ") and cleaned.startswith(" "):
            cleaned = cleaned[1:]  # one whitespace run cut in two by the slicing
        if not pieces:
            cleaned = cleaned.lstrip()
        pieces.append(cleaned)
        kept += len(cleaned)
        if kept > max_chars:
            return "".join(pieces)[:max_chars]
    return "".join(pieces).rstrip()[:max_chars]


# A root-relative href of plain characters ("/item/12?page=2"): no "//", no dot segment, no ";"
# parameters, no empty query, no fragment, nothing urlsplit strips or drops.  urljoin gives the
# base's scheme and host followed by the href itself, so it is joined without a parse.
_PLAIN_ROOT_RELATIVE = re.compile(r"/[A-Za-z0-9\-._~%!$&'()*+,=:@/]*(?:\?[A-Za-z0-9\-._~%!$&'()*+,;=:@/?]+)?")


_ORIGIN = re.compile(r"https?://[^/?#]*", re.IGNORECASE)


class _Resolver:
    """``_absolute(base, href)`` for every href of one page, with the common root-relative href
    joined to the base's origin directly (the same result; ``urljoin`` costs about 20 µs a link)."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.origin: str | None = None
        if _absolute(base, "/") is not None:
            parts = urlsplit(base)
            self.origin = f"{parts.scheme}://{parts.netloc}"

    def __call__(self, href: str) -> str | None:
        if (self.origin is not None and href[:1] == "/" and "//" not in href and "/." not in href
                and len(href) <= 2048 and _PLAIN_ROOT_RELATIVE.fullmatch(href)):
            return self.origin + href
        return _absolute(self.base, href)


def _absolute(base: str, href: str) -> str | None:
    if not href or len(href) > 2048:
        return None
    try:
        absolute = urljoin(base, href)
        parts = urlsplit(absolute)
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    return absolute.split("#", 1)[0]
