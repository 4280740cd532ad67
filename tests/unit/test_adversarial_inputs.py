"""Hostile text cannot make an extractor slow: 1 MB inputs built against each pattern.

Each case is an input that was quadratic (or a large constant per character)
before the patterns were made linear; on the old code the smaller of them took
tens of seconds and the 1 MB ones hours.  The bound (1 s of this process's CPU
time per call, so that other processes on a loaded machine do not count) is
generous: ``bench.adversarial`` prints the real figures, which are tens of
milliseconds.
"""

from __future__ import annotations

import gc
import time
from typing import Any, Callable

import pytest
from parsel import Selector

from crawler.extractors.contacts import find_contacts, find_emails
from crawler.extractors.document import extract_document
from crawler.extractors.forum_thread import _NODE_COUNTS
from crawler.extractors.generic_listing import _FREE_TEXT_FACTS, extract_generic
from crawler.extractors.html_page import parse_html_page
from crawler.extractors.identifiers import find_identifiers
from crawler.extractors.onions import find_onions
from crawler.extractors.page_tree import _DOLLAR_CODE_HINT
from crawler.extractors.pgp import find_pgp_keys
from crawler.extractors.price_spans import find_price_spans
from crawler.extractors.prices import find_prices
from crawler.extractors.site_type import _FORUM_LINK as SITE_TYPE_FORUM_LINK
from crawler.extractors.site_type import _LABEL_TOKEN as SITE_TYPE_LABEL_TOKEN
from crawler.extractors.site_type import _PRICE as SITE_TYPE_PRICE
from crawler.extractors.site_type import classify_page, signals_of_page
from crawler.extractors.vendor_profile import _TITLE_PARTS, SALES_COUNT
from crawler.tor.control import parse_bootstrap_phase

MEGABYTE = 1_000_000
BOUND_SECONDS = 1.0
BEGIN = "-----BEGIN PGP PUBLIC KEY BLOCK-----"


def repeat(unit: str, size: int = MEGABYTE) -> str:
    """``unit`` repeated to ``size`` characters."""
    return (unit * (size // len(unit) + 1))[:size]


def cpu_seconds(function: Callable[..., Any], *args: Any) -> float:
    started = time.process_time()
    function(*args)
    return time.process_time() - started


def least_cpu_seconds(function: Callable[..., Any], *args: Any, tries: int = 3) -> tuple[float, Any]:
    """The least CPU time of up to ``tries`` calls (stopping at the first under the bound), and the last result.

    One call's CPU time on the 2-core test machine, shared with tor and Elasticsearch, is now and then
    inflated (a case at 0.7-0.8 s alone took 1.22 s once in a whole-suite run); a super-linear regression
    exceeds the bound on every call, so the bound still catches it.
    """
    least, result = float("inf"), None
    for _ in range(tries):
        gc.collect()
        started = time.process_time()
        result = function(*args)
        least = min(least, time.process_time() - started)
        if least < BOUND_SECONDS:
            break
    return least, result


TEXT_CASES: dict[str, tuple[Callable[[str], Any], str]] = {
    # find_prices read a run of n digits from each of its n positions.
    "prices: digits": (find_prices, repeat("1")),
    "prices: thousands groups": (find_prices, repeat("111,")),
    "prices: long decimals": (find_prices, "0." + repeat("1", MEGABYTE - 2)),
    # \b(\d[\d,]*)\s+ restarted after every comma.
    "stock: 1,1,1": (_FREE_TEXT_FACTS["stock"].search, repeat("1,")),
    "sales: 1,1,1": (_FREE_TEXT_FACTS["sales"].search, repeat("1,")),
    # The site type's price count started a scan to the end of the text at every digit.
    "site type prices: 1,1,1": (SITE_TYPE_PRICE.findall, repeat("1,")),
    "site type prices: $1$1": (SITE_TYPE_PRICE.findall, repeat("$1")),
    # Forum routes in a link's path or query ("?threads/", "&f=1"): starts that fail after a few characters.
    "site type forum links: ?thread?thread": (SITE_TYPE_FORUM_LINK.search, repeat("?thread")),
    "site type forum links: &f=&f=": (SITE_TYPE_FORUM_LINK.search, repeat("&f=")),
    # Reddit-like submissions (/f/<forum>/<id>/) and a forum root with a query: starts that scan a bounded name.
    "site type forum links: /f/a/f/a": (SITE_TYPE_FORUM_LINK.search, repeat("/f/a")),
    "site type forum links: /r/ and a long name": (SITE_TYPE_FORUM_LINK.search, "/r/" + repeat("a", MEGABYTE - 3)),
    "site type forum links: /f//f//": (SITE_TYPE_FORUM_LINK.search, repeat("/f//")),
    "site type forum links: /forum/forum": (SITE_TYPE_FORUM_LINK.search, repeat("/forumx")),
    # Discourse topics and categories (/t/<slug>/<id>): every start scans a slug of at most 200 characters.
    "site type forum links: /t/a/t/a (Discourse)": (SITE_TYPE_FORUM_LINK.search, repeat("/t/a")),
    "site type forum links: /c/ and slugs of the longest length": (SITE_TYPE_FORUM_LINK.search,
                                                                   repeat("/c/" + "a" * 199 + "/x")),
    # Post labels with their colon: a word run with no colon, and colons after every character.
    "site type post labels: one word run": (SITE_TYPE_LABEL_TOKEN.findall, repeat("a")),
    "site type post labels: a :a :": (SITE_TYPE_LABEL_TOKEN.findall, repeat("a :")),
    # A lazy BEGIN...END regex rescanned up to 256 KB from every BEGIN.
    "pgp: BEGIN markers, no END": (find_pgp_keys, repeat(BEGIN)),
    # A 600-character window was searched around every "@".
    "emails: @@@": (find_emails, repeat("@")),
    "emails: a@a@": (find_emails, repeat("a@")),
    "emails: one @ per 40 characters": (find_emails, repeat("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa a@")),
    "emails: labelled XMPP ids and obfuscations": (find_emails, repeat("jabber: a@b.co x [at] y [dot] co ")),
    "contacts: a@a@": (find_contacts, repeat("a@")),
    # (\w+)= tried every start inside a run of word characters with no "=": quadratic.
    "tor bootstrap phase: a word run": (parse_bootstrap_phase, repeat("S1")),
    "contacts: telegram handles": (find_contacts, repeat("tg @abcdef ")),
    "contacts: handles with no label": (find_contacts, repeat("tgx@abcdef ")),
    # Obfuscated addresses: a spaced "@", the word "dot", labelled obfuscated JIDs.
    "emails: spaced @": (find_emails, repeat("a @ ")),
    "emails: spaced @ and word dots": (find_emails, repeat("a @ a dot ")),
    "emails: a bracketed at before a million word dots": (find_emails, "x [at] " + repeat("a dot ", MEGABYTE - 7)),
    "emails: labelled obfuscated JIDs": (find_emails, repeat("jabber bob [at] a dot b ")),
    "contacts: labelled spaced JIDs": (find_contacts, repeat("jabber: a @ b.co ")),
    # Messenger labels followed by id-shaped runs that fail late.
    "contacts: Session labels, 70 hex": (find_contacts, repeat("session 05" + "a" * 70)),
    "contacts: Tox ids with bad checksums": (find_contacts, repeat("tox: " + "a" * 76 + " ")),
    "contacts: Wickr labels, long runs": (find_contacts, repeat("wickr: " + "a" * 40)),
    "contacts: labels only": (find_contacts, repeat("wickr me id: session tox threema ")),
    # Obfuscated onions: whole labels before every separator.
    "onions: obfuscated v2": (find_onions, repeat("aaaaaaaaaaaaaaa2 dot onion ")),
    "onions: v3-long labels before spaced dots": (find_onions, repeat("a" * 56 + " . ") + "onion"),
    "onions: bracketed dots, no onion": (find_onions, repeat("a [.] ") + "onion"),
    # Issue 10's profile-free readers: a deal count beside a name, a <title>'s parts.
    "vendor sales count: digits and spaces": (SALES_COUNT.match, "[" + repeat("1 ")),
    "vendor sales count: search": (SALES_COUNT.search, repeat("1 deals ")),
    "title parts: separators": (_TITLE_PARTS.split, repeat("a - | :: ")),
    "dollar code hint: signs before digit runs": (_DOLLAR_CODE_HINT.search, repeat("$ 1.1,1 ")),
    "dollar code hint: codes without signs": (_DOLLAR_CODE_HINT.search, repeat("CAD AUD ")),
    "price spans: spaced units after every price": (find_price_spans, repeat("1 USD / 2g ")),
    "forum node counts: labels and digit runs": (_NODE_COUNTS.search, repeat("threads: 1,1 1.1 ")),
    "price spans: dollar codes and prefixes": (find_price_spans, repeat("CAD $1 C$2 $3 AUD ")),
}


@pytest.mark.parametrize("case", list(TEXT_CASES))
def test_one_megabyte_of_hostile_text_takes_under_a_second(case: str) -> None:
    function, text = TEXT_CASES[case]
    assert len(text) >= MEGABYTE - 100
    assert cpu_seconds(function, text) < BOUND_SECONDS


# Inputs that were not slow before, kept because they take the new scans' other paths
# (an END far from its BEGIN, addresses that fill the label windows, links with no host).
GUARD_CASES: dict[str, tuple[Callable[[str], Any], str]] = {
    "pgp: one BEGIN, END far away": (find_pgp_keys, BEGIN + repeat("a b ", MEGABYTE - 100) + "-----END PGP PUBLIC KEY BLOCK-----"),
    "emails: long labels": (find_emails, repeat("@" + "a" * 63 + ".")),
    "contacts: plain e-mails": (find_contacts, repeat("bob@example.org ")),
    "contacts: .me/ links": (find_contacts, repeat("x.me/abcdef ")),
    # The site type's token counts (post labels, wall words) and sellers' links read from 2000 long links.
    "site type: post labels and sellers' links": (
        lambda text: classify_page(signals_of_page(
            url="http://x.onion/", status=200, title=text[:300], text=text,
            links=[f"http://x.onion/vendor/{i}/u/" + text[:400] + "?seller=" + text[:400] for i in range(2000)],
            onion_mentions=(), login_wall=None, page_type="category", listing_vendors=(None,) * 3,
            vendor_profile=False, post_count=0, market_profile=None)),
        repeat("joined: reply quote captcha ddos /u/ ")),
}


@pytest.mark.parametrize("case", list(GUARD_CASES))
def test_one_megabyte_guard_inputs_stay_under_a_second(case: str) -> None:
    function, text = GUARD_CASES[case]
    assert cpu_seconds(function, text) < BOUND_SECONDS


def test_pgp_armors_with_bad_checksums_are_rejected_quickly() -> None:
    """Each of the eight candidate decodings of three 250 KB armors is checked against its CRC24
    (a bit-by-bit CRC in Python took about 0.3 s per armor)."""
    import base64
    import random

    payload = base64.b64encode(random.Random(8).randbytes(186_000)).decode("ascii")
    lines = " ".join(payload[i : i + 64] for i in range(0, len(payload), 64))
    armor = f"{BEGIN} Version: a b c d e f g h {lines} =AAAA -----END PGP PUBLIC KEY BLOCK-----"
    assert len(armor) < 256 * 1024
    started = time.process_time()
    keys = find_pgp_keys(" ".join([armor] * 3))
    assert time.process_time() - started < BOUND_SECONDS
    assert [key.error for key in keys] == ["armor checksum (CRC24) mismatch"] * 3


def _page(body: str, head: str = "") -> str:
    return f"<html><head><title>t</title>{head}</head><body><h1>Item</h1>{body}</body></html>"


_PRODUCT = (
    '<script type="application/ld+json">'
    '{"@type":"Product","name":"x","offers":{"price":5,"priceCurrency":"USD"}}</script>'
)
PAGE_CASES: dict[str, str] = {
    "a price element of digits": _page(f'<div class="price">{repeat("1")}</div>'),
    "a listing whose text is 1,1,1": _page(f"<p>{repeat('1,')}</p>", _PRODUCT),
    "a vendor page of BEGIN markers": _page(f"<p>Joined 2020-01-01. 5 sales. {repeat(BEGIN)}</p>"),
    "500 mailto:a@a@ links": _page("".join(f'<a href="mailto:{repeat("a@", 2000)}">x</a>' for _ in range(500))),
    # The page's own <style> (read up to 200k characters) and the elements it hides.
    "a megabyte of hiding rules": _page(
        repeat('<p class="a b" id="c">x</p>', MEGABYTE // 2),
        "<style>" + repeat(".a.b#c:hover, .a .b, p.a{display:none} ", MEGABYTE // 2) + "</style>"),
    "a megabyte of hidden elements": _page(repeat('<i style="display:none">1BoatSLRHtKNngkdXEeobR76b53LETtpyT</i>')),
    # Sale cards whose old-price markers are huge: class lists and inline styles of a third of a
    # megabyte around struck-through and screen-reader-only prices, long tails between amounts.
    "sale cards with huge class and style attributes": _page("<ul>" + "".join(
        f'<li><a href="/shop/a{n}/">Item {n}</a><span class="price"><del class="{repeat("x old-price ", MEGABYTE // 6)}">'
        f'<b>$1</b></del><ins style="{repeat("text-decoration: none; ", MEGABYTE // 6)}"><b>$2</b></ins>'
        f'{repeat(" –", 5_000)}<b>$3</b></span> Store: <a href="/store/b">b</a></li>' for n in range(3)) + "</ul>"),
    # Thousands of distinct rules naming the same class, and elements that are all different.
    "distinct hiding rules for every element": _page(
        "".join(f'<p class="a b{n % 3000} x" id="i{n}">t</p>' for n in range(23_000)),
        "<style>" + "".join(f".a#i{n}, .a.b{n}, p.a.c{n}{{display:none}} .a.d{n}:hover{{display:block}}"
                            for n in range(3000)) + "</style>"),
}


@pytest.mark.parametrize("case", list(PAGE_CASES))
def test_one_megabyte_hostile_page_extracts_under_a_second(case: str) -> None:
    html = PAGE_CASES[case]
    extract_document("<p>warm the language model up</p>", "http://a.onion/", "now", "test")
    assert len(html) >= MEGABYTE
    seconds, document = least_cpu_seconds(extract_document, html, "http://a.onion/item/1", "2025-12-01T00:00:00Z", "test")
    assert seconds < BOUND_SECONDS
    assert document.page.title == "t"


def test_href_text_is_capped_in_total() -> None:
    html = _page("".join(f'<a href="mailto:{repeat("a@", 2000)}">x</a>' for _ in range(500)))
    hrefs = parse_html_page(html, "http://a.onion/").hrefs
    assert sum(map(len, hrefs)) <= 200_000
    assert cpu_seconds(find_identifiers, "", hrefs) < BOUND_SECONDS


def test_generic_vendor_with_an_unterminated_pgp_block() -> None:
    html = _page(f"<p>Joined 2020-01-01. 5 sales. {repeat(BEGIN)}</p>")
    started = time.process_time()
    extraction = extract_generic(Selector(text=html), "http://a.onion/vendor/x")
    assert time.process_time() - started < BOUND_SECONDS
    assert extraction.page_type == "vendor"
    assert "pgp" not in extraction.values


def _small_sale_cards(size: int = MEGABYTE) -> str:
    """A shop grid of ``size`` characters of small sale cards: a title link, the old price struck
    through and the sale price, each card a few elements (about 9,000 cards in a megabyte)."""
    cards = []
    total = 0
    number = 0
    while total < size:
        card = (f'<li class="product"><a href="/product/item-{number}/"><h2>Item {number}</h2></a>'
                f'<span class="price"><del>${10 + number % 9}.00</del> <ins>${number % 97}.50</ins></span></li>')
        cards.append(card)
        total += len(card)
        number += 1
    return _page('<ul class="products">' + "".join(cards) + "</ul>")


def test_one_megabyte_of_small_sale_cards_extracts_under_a_second() -> None:
    """Record mining and the page tree under it cost a constant per element: a megabyte of cards
    (many more than the 500 cards a page gives) took 1.7-2.8 s before, and stays under the bound."""
    html = _small_sale_cards()
    extract_document("<p>warm the language model up</p>", "http://a.onion/", "now", "test")
    assert len(html) >= MEGABYTE
    seconds, document = least_cpu_seconds(extract_document, html, "http://a.onion/shop/", "2025-12-01T00:00:00Z", "test")
    assert seconds < BOUND_SECONDS
    # The cards are still read: the first 500 of them, each at its sale price.
    assert document.page_type == "category"
    assert len(document.listings) == 500
    first = document.listings[0]
    assert first.title == "Item 1" or first.title == "Item 0"

