"""Benchmark: how long each extractor takes on 1 MB of text built against it.

Run as ``.venv/bin/python -m bench.adversarial [--size BYTES] [--rounds N] [--only TEXT]``.

Each input is one a hostile page can carry: the shapes that made the old
patterns quadratic (a run of digits for the price pattern, "1,1,1,..." for the
stock and sales counts, PGP BEGIN lines with no END, an "@" every character or
two for the e-mail and contact finders, 500 long ``mailto:`` links) and a few
that exercise the other finders (onion suffixes, wallet-shaped runs), the
obfuscated forms (a spaced "@", word dots, messenger labels, obfuscated
onions), the page's own hiding rules (a megabyte of rules, of hidden
elements, of distinct rules naming every element) and pages of many small
listing cards (a shop grid, sale cards, a price beside each link).  For each
it prints the input size, the CPU seconds of one call (best of ``--rounds``)
and the seconds per MB.  The price finder reads only the first 100k
characters of any text, and the crawl gives every finder at most 200k
characters of page text and 200k of link targets, so the per-MB figure is an
upper bound for what one page can cost.  Nothing here is an assert: the test
``tests/unit/test_adversarial_inputs.py`` holds a generous bound (1 s).
"""

from __future__ import annotations

import argparse
import time
from typing import Any, Callable

from parsel import Selector

from crawler.extractors.contacts import find_contacts, find_emails
from crawler.extractors.document import extract_document
from crawler.extractors.generic_listing import _FREE_TEXT_FACTS, extract_generic
from crawler.extractors.html_page import parse_html_page
from crawler.extractors.identifiers import find_identifiers
from crawler.extractors.onions import find_onions
from crawler.extractors.pgp import find_pgp_keys
from crawler.extractors.prices import find_prices
from crawler.extractors.wallets import find_wallets

BEGIN = "-----BEGIN PGP PUBLIC KEY BLOCK-----"


def repeat(unit: str, size: int) -> str:
    """``unit`` repeated to ``size`` characters."""
    return (unit * (size // len(unit) + 1))[:size]


def page(body: str, head: str = "") -> str:
    return f"<html><head><title>t</title>{head}</head><body><h1>Item</h1>{body}</body></html>"


def cases(size: int) -> list[tuple[str, Callable[[Any], Any], Any]]:
    """(name, function, input) for every hostile shape, each ``size`` characters long."""
    product = ('<script type="application/ld+json">{"@type":"Product","name":"x",'
               '"offers":{"price":5,"priceCurrency":"USD"}}</script>')
    mailto_links = page("".join(f'<a href="mailto:{repeat("a@", size // 500)}">x</a>' for _ in range(500)))
    # The page's own <style> (read up to 200k characters) and the elements it names.
    hiding_rules_page = page(repeat('<p class="a b" id="c">x</p>', size // 2),
                             "<style>" + repeat(".a.b#c:hover, .a .b, p.a{display:none} ", size // 2) + "</style>")
    elements = size // 36
    distinct_rules_page = page(
        "".join(f'<p class="a b{n % 3000} x" id="i{n}">t</p>' for n in range(elements)),
        "<style>" + "".join(f".a#i{n}, .a.b{n}, p.a.c{n}{{display:none}} .a.d{n}:hover{{display:block}}"
                            for n in range(3000)) + "</style>")
    return [
        *card_cases(size),
        ("find_prices: digits", find_prices, repeat("1", size)),
        ("find_prices: 111,111,...", find_prices, repeat("111,", size)),
        ("find_prices: 1,1,1,...", find_prices, repeat("1,", size)),
        ("stock count: 1,1,1,...", _FREE_TEXT_FACTS["stock"].search, repeat("1,", size)),
        ("sales count: 1,1,1,...", _FREE_TEXT_FACTS["sales"].search, repeat("1,", size)),
        ("find_pgp_keys: BEGIN, no END", find_pgp_keys, repeat(BEGIN, size)),
        ("find_emails: @@@", find_emails, repeat("@", size)),
        ("find_emails: a@a@", find_emails, repeat("a@", size)),
        ("find_emails: one @ per 40 chars", find_emails, repeat("a" * 37 + " a@", size)),
        ("find_emails: xmpp + obfuscated", find_emails, repeat("jabber: a@b.co x [at] y [dot] co ", size)),
        ("find_contacts: a@a@", find_contacts, repeat("a@", size)),
        ("find_contacts: tg @handle", find_contacts, repeat("tg @abcdef ", size)),
        ("find_contacts: tgx@handle", find_contacts, repeat("tgx@abcdef ", size)),
        ("find_emails: spaced @", find_emails, repeat("a @ ", size)),
        ("find_emails: spaced @, word dots", find_emails, repeat("a @ a dot ", size)),
        ("find_emails: [at] then word dots", find_emails, "x [at] " + repeat("a dot ", size - 7)),
        ("find_emails: labelled obfuscated JIDs", find_emails, repeat("jabber bob [at] a dot b ", size)),
        ("find_contacts: labelled spaced JIDs", find_contacts, repeat("jabber: a @ b.co ", size)),
        ("find_contacts: session 05+70 hex", find_contacts, repeat("session 05" + "a" * 70, size)),
        ("find_contacts: tox, bad checksums", find_contacts, repeat("tox: " + "a" * 76 + " ", size)),
        ("find_contacts: wickr, long runs", find_contacts, repeat("wickr: " + "a" * 40, size)),
        ("find_contacts: messenger labels", find_contacts, repeat("wickr me id: session tox threema ", size)),
        ("find_onions: .onion", find_onions, repeat("a.onion ", size)),
        ("find_onions: obfuscated v2", find_onions, repeat("aaaaaaaaaaaaaaa2 dot onion ", size)),
        ("find_onions: 56 chars, spaced dots", find_onions, repeat("a" * 56 + " . ", size) + "onion"),
        ("find_wallets: 34-char runs", find_wallets, repeat("1" + "a" * 33 + " ", size)),
        ("extract_generic: vendor, BEGINs", lambda html: extract_generic(Selector(text=html), "http://a.onion/v/x"),
         page(f"<p>Joined 2020-01-01. 5 sales. {repeat(BEGIN, size)}</p>")),
        ("identifiers of 500 mailto links", lambda html: find_identifiers("", parse_html_page(html, "http://a.onion/").hrefs),
         mailto_links),
        ("extract_document: price of digits", _document, page(f'<div class="price">{repeat("1", size)}</div>')),
        ("extract_document: listing 1,1,1", _document, page(f"<p>{repeat('1,', size)}</p>", product)),
        ("extract_document: 500 mailto links", _document, mailto_links),
        ("parse_html_page: hiding rules", lambda html: parse_html_page(html, "http://a.onion/"), hiding_rules_page),
        ("parse_html_page: hidden elements", lambda html: parse_html_page(html, "http://a.onion/"),
         page(repeat('<i style="display:none">1BoatSLRHtKNngkdXEeobR76b53LETtpyT</i>', size))),
        ("parse_html_page: distinct rules", lambda html: parse_html_page(html, "http://a.onion/"), distinct_rules_page),
    ]


def _cards(size: int, card: Callable[[int], str]) -> str:
    """A page of ``size`` characters of small cards, ``card(n)`` each."""
    cards: list[str] = []
    total = 0
    while total < size:
        cards.append(card(len(cards)))
        total += len(cards[-1])
    return page('<ul class="products">' + "".join(cards) + "</ul>")


def card_cases(size: int) -> list[tuple[str, Callable[[Any], Any], Any]]:
    """Pages of many small listing cards (thousands more than the 500 a page gives): the page tree,
    record mining and the readers around them cost a constant per element."""
    return [
        ("extract_document: sale cards", _shop_document, _cards(size, lambda n: (
            f'<li class="product"><a href="/product/item-{n}/"><h2>Item {n}</h2></a><span class="price">'
            f'<del>${10 + n % 9}.00</del> <ins>${n % 97}.50</ins></span></li>'))),
        ("extract_document: div cards", _shop_document, _cards(size, lambda n: (
            f'<div class="card"><a href="/item/{n}">Item {n}</a><span class="price">${n % 97}.50</span></div>'))),
        ("extract_document: price beside link", _shop_document, _cards(size, lambda n: (
            f'<li><a href="/i/{n}">I{n}</a> $1</li>'))),
        ("extract_document: /shop/ cards", _shop_document, _cards(size, lambda n: (
            f'<li class="product"><a href="/shop/a{n}/">Item {n}</a><span class="price"><del>$1{n % 9}</del> '
            f'<ins>$2</ins></span></li>'))),
    ]


def _shop_document(html: str) -> object:
    return extract_document(html, "http://a.onion/shop/", "2025-12-01T00:00:00Z", "bench")


def _document(html: str) -> object:
    return extract_document(html, "http://a.onion/item/1", "2025-12-01T00:00:00Z", "bench")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=1_000_000, help="characters per input (default 1 MB)")
    parser.add_argument("--rounds", type=int, default=3, help="calls per input; the best is kept")
    parser.add_argument("--only", default="", help="run only the inputs whose name contains this text")
    args = parser.parse_args(argv)

    _document("<p>warm the language model up before timing anything</p>")
    print(f"one call per input, CPU seconds, best of {args.rounds}")
    print(f"  {'input':<38}{'chars':>10}{'seconds':>10}{'s per MB':>10}")
    for name, function, data in cases(args.size):
        if args.only not in name:
            continue
        best = float("inf")
        for _ in range(args.rounds):
            started = time.process_time()
            function(data)
            best = min(best, time.process_time() - started)
        print(f"  {name:<38}{len(data):>10}{best:>10.3f}{best / (len(data) / 1e6):>10.3f}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
