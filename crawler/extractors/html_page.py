"""Page basics from HTML: title, visible text, outgoing links and onion links.

:func:`parse_html_page` returns an :class:`HtmlPage`.  It never raises on
malformed HTML (lxml recovers); text is capped at ``max_text_chars`` and the
link lists at ``max_links`` so a hostile page cannot blow up memory.  Links are
absolute, fragment-free http(s) URLs; ``javascript:``, ``data:``, ``file:``,
``mailto:`` and every other scheme's links are dropped (and counted in
``other_scheme_links``).  The raw hrefs (for identifier extraction) are
capped in total at :data:`MAX_HREF_TEXT_CHARS`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit

from parsel import Selector

from crawler.urls import onion_host

#: longest raw href kept.
MAX_HREF_CHARS = 2048
#: raw href text kept per page, in all (the same order as the visible text cap).
MAX_HREF_TEXT_CHARS = 200_000

_WHITESPACE = re.compile(r"\s+")
# An href that names a scheme other than http(s): "javascript:", "data:", "file:", "mailto:"...
_OTHER_SCHEME = re.compile(r"(?!https?:)[a-zA-Z][a-zA-Z0-9+.-]{0,31}:", re.IGNORECASE)
# Text inside these elements is never shown to a reader of the page.  A plain
# ancestor test is ~20x faster in lxml than re:test(local-name(), ...).
_INVISIBLE = " or ".join(
    f"ancestor::{name}" for name in ("script", "style", "noscript", "template", "head", "svg")
)


@dataclass(frozen=True)
class HtmlPage:
    title: str
    text: str
    links: list[str] = field(default_factory=list)
    onion_links: list[str] = field(default_factory=list)
    hrefs: list[str] = field(default_factory=list)
    # Links with a scheme other than http(s) (javascript:, data:, file:, mailto:...): never followed.
    other_scheme_links: int = 0


def parse_html_page(
    html: str | bytes,
    url: str,
    max_text_chars: int = 200_000,
    max_links: int = 5_000,
    max_title_chars: int = 1_000,
    max_href_chars: int = MAX_HREF_TEXT_CHARS,
) -> HtmlPage:
    """Parse ``html`` fetched from ``url``.

    ``links`` are every distinct absolute http(s) link (in page order);
    ``onion_links`` the subset whose host is an onion service; ``hrefs`` the raw
    href values (for identifier extraction from ``bitcoin:`` and similar URIs),
    each cut at 2048 characters and ``max_href_chars`` in all: the identifier
    finders read every href, so without a total a page of 5000 long links gave
    them 10 MB to read.
    """
    if isinstance(html, bytes):
        html = html.decode("utf-8", errors="replace")
    selector = Selector(text=html or "<html></html>", base_url=url)
    title = _clean(" ".join(selector.xpath("//title//text()").getall()))[:max_title_chars]
    text_nodes = selector.xpath(f"//body//text()[not({_INVISIBLE})]").getall()
    if not text_nodes:  # documents without <body> (fragments, text/plain wrapped by lxml)
        text_nodes = selector.xpath(f"//text()[not({_INVISIBLE})]").getall()
    text = _clean_capped(" ".join(text_nodes), max_text_chars)

    hrefs: list[str] = []
    href_chars = 0
    links: list[str] = []
    seen: set[str] = set()
    other_scheme_links = 0
    for raw in selector.xpath("//a/@href | //area/@href").getall():
        if len(links) >= max_links and (len(hrefs) >= max_links or href_chars >= max_href_chars):
            break  # both lists are full: resolving the rest would only cost time
        raw = raw.strip()
        if len(hrefs) < max_links and href_chars < max_href_chars:
            kept = raw[: min(MAX_HREF_CHARS, max_href_chars - href_chars)]
            hrefs.append(kept)
            href_chars += len(kept)
        absolute = _absolute(url, raw)
        if absolute is None and _OTHER_SCHEME.match(raw):
            other_scheme_links += 1
        if absolute and absolute not in seen and len(links) < max_links:
            seen.add(absolute)
            links.append(absolute)
    onion_links = [link for link in links if onion_host(link)]
    return HtmlPage(title=title, text=text, links=links, onion_links=onion_links, hrefs=hrefs,
                    other_scheme_links=other_scheme_links)


def _clean(text: str) -> str:
    return _WHITESPACE.sub(" ", text).strip()


def _clean_capped(text: str, max_chars: int) -> str:
    """``_clean(text)[:max_chars]``, reading only as much of ``text`` as that needs.

    Collapsing the whitespace of a whole 10 MB single-line page took seconds (over the
    extraction budget) to keep its first 200,000 characters; this works through it in
    slices and stops once the cap is reached.
    """
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
