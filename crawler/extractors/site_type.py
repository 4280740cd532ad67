"""Site types: what kind of site one page shows, with a confidence and the evidence, by rules over its structure.

The rules read what the extraction already found -- the login-wall detector,
forum posts (:mod:`crawler.extractors.forum_thread`), listings and vendors, the
market profile that matched -- and a few counts of the page itself: links that
go to forum threads and boards, distinct onions linked, words of trade, of
forums and of directories, and a seller's words about its own goods with the
prices it prints (a one-seller shop's front page often has no listing cards).  Each rule that fires adds weight to one type and
says why; the type with the most weight wins, and its weight (capped below 1)
is the confidence.  Rules, not a trained model: nothing is downloaded and the
evidence is readable.  ``bench/site_types.py`` measures them on the real saved
pages (held-out markets apart).

Public API:

* :class:`PageSignals` -- what the rules read (plain values; :func:`signals_of_page` builds it);
* :class:`SiteTypeGuess` -- ``site_type`` (a value of :data:`config.site_types.SITE_TYPES`),
  ``confidence`` (0..1), ``evidence`` (short sentences);
* :func:`classify_page` (signals) -> :class:`SiteTypeGuess`;
* :func:`signals_of_page` (...) -> :class:`PageSignals`.

Pure functions; never raises on hostile input.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Iterable
from urllib.parse import urlsplit

from config.site_types import OTHER

MAX_CONFIDENCE = 0.99
# Paths and queries of the forum software onion forums run (vBulletin, MyBB, phpBB, XenForo,
# Invision, SMF, Discourse): a board index links to many of them.
_FORUM_LINK = re.compile(
    r"(?i)(?:showthread\.php|forumdisplay\.php|viewtopic\.php|viewforum\.php|member\.php|memberlist\.php|"
    r"/threads?/|/forums?/|/topic/|/board/|/members?/|/profile/|[?&](?:topic|board|showtopic|showforum|t|f)=\d)")
_MARKET_WORDS = ("escrow", "vendor", "add to cart", "ships from", "ships to", "shipping", "buy now", "finalize",
                 "listings", "feedback", "orders", "products", "in stock", "sold by", "price", "cart",
                 "продавец", "доставка", "купить", "цена")
_FORUM_WORDS = ("thread", "threads", "posts", "replies", "last post", "members", "forum", "board", "topic",
                "reply", "joined", "reputation", "форум", "темы", "сообщений", "ответов", "пользователи")
_DIRECTORY_WORDS = ("mirror", "mirrors", "directory", "verified", "is online", "last online", "status", "official",
                    "official links", "link list", "wiki", "onion links", "uptime", "pgp signed", "phished",
                    "phishing", "зеркал", "зеркала", "каталог")
# A seller speaking of its own goods: a one-seller shop's front page often has no listing cards at all.
_SELLER_WORDS = ("our services", "our products", "our product", "services we offer", "we provide", "we sell",
                 "buy now", "purchase", "order now", "place an order", "escrow accepted", "pricing", "packages",
                 "choose your package", "payment", "наши услуги", "купить сейчас", "оплата")
# A price in the page's words: "0.0005 BTC", "$1200", "1200 USD", "€50".
# A number starts where no digit, comma or dot stands before it, and is short: otherwise every digit of
# 1 MB of "1,1,1,..." would start a scan to the end of the text (quadratic).
_PRICE = re.compile(r"(?i)(?:[$€£]\s?\d[\d,.]{0,24}|(?<![\w,.])\d[\d,.]{0,24}\s?(?:btc|xmr|ltc|usd|eur|gbp|usdt)\b)")
_ERROR_TITLE = re.compile(r"(?i)\b(?:error|not found|forbidden|unavailable|database error|404|403|500|502|503|"
                          r"ошибка)\b")
_PASTE_TITLE = re.compile(r"(?i)\b(?:paste|pastebin|ghostbin|privatebin|zerobin)\b")
_WIKI = re.compile(r"(?i)(?:\bwiki\b|/wiki/|mediawiki)")


@dataclass(frozen=True)
class PageSignals:
    """What the rules read about one page."""

    url: str = ""
    status: int = 200
    title: str = ""
    text: str = ""
    links: tuple[str, ...] = ()
    onion_hosts_linked: int = 0
    login_wall: str | None = None
    extracted_page_type: str | None = None
    listing_count: int = 0
    listing_vendors: int = 0
    vendor_profile: bool = False
    post_count: int = 0
    market_profile: str | None = None


@dataclass(frozen=True)
class SiteTypeGuess:
    site_type: str
    confidence: float
    evidence: tuple[str, ...] = field(default_factory=tuple)

    def to_doc(self) -> dict[str, object]:
        return {"site_type": self.site_type, "site_type_confidence": self.confidence,
                "site_type_evidence": list(self.evidence)}


_TOKEN = re.compile(r"\w+")


# Every phrase classify_page looks up in a page's grams, and the first word of each of two and of three words.
_LOOKED_UP = frozenset((*_MARKET_WORDS, *_FORUM_WORDS, *_DIRECTORY_WORDS, *_SELLER_WORDS, "vendors"))
_STARTS_PAIR = frozenset(phrase.split(" ")[0] for phrase in _LOOKED_UP if phrase.count(" ") == 1)
_STARTS_TRIPLE = frozenset(phrase.split(" ")[0] for phrase in _LOOKED_UP if phrase.count(" ") == 2)


def _grams(text: str) -> frozenset[str]:
    """The words, word pairs and word triples of ``text`` (lower case) that classify_page looks up.

    Phrases are looked up, not searched for.  Only the looked-up ones are kept (the
    answers are those of the set of every word, pair and triple, which cost a join
    per pair and per triple of a long text).
    """
    words = _TOKEN.findall(text)
    grams = {word for word in words if word in _LOOKED_UP}
    for i in range(len(words) - 1):
        first = words[i]
        if first in _STARTS_PAIR and (pair := f"{first} {words[i + 1]}") in _LOOKED_UP:
            grams.add(pair)
        if first in _STARTS_TRIPLE and i + 2 < len(words) and (
                triple := f"{first} {words[i + 1]} {words[i + 2]}") in _LOOKED_UP:
            grams.add(triple)
    return frozenset(grams)


def _words_found(grams: frozenset[str], words: Iterable[str]) -> list[str]:
    return [word for word in words if word in grams]


def classify_page(signals: PageSignals) -> SiteTypeGuess:
    """The site type of one page (see the module docstring); never raises."""
    if signals.login_wall:
        return SiteTypeGuess("login-wall", 0.95, (f"login-wall detector: {signals.login_wall}",))
    weight: dict[str, float] = defaultdict(float)
    evidence: dict[str, list[str]] = defaultdict(list)

    def add(site_type: str, amount: float, why: str) -> None:
        weight[site_type] += amount
        evidence[site_type].append(why)

    text = signals.text[:50_000].lower()
    grams = _grams(text)
    title = signals.title[:300]
    if signals.status >= 400:
        add(OTHER, 0.7, f"HTTP status {signals.status}")
    if _ERROR_TITLE.search(title) and signals.listing_count == 0 and signals.post_count == 0:
        add(OTHER, 0.6, "the title says error")

    # Markets: what the extraction found, then the words of trade.
    if signals.market_profile:
        add("market", 0.9, f"matches the market profile {signals.market_profile}")
    if signals.extracted_page_type in ("listing", "category"):
        add("market", 0.7, f"a {signals.extracted_page_type} page")
    if signals.vendor_profile or signals.extracted_page_type == "vendor":
        add("market", 0.6, "a vendor profile")
    if signals.listing_count:
        add("market", 0.5 if signals.listing_count < 3 else 0.7, f"{signals.listing_count} listings")
    trade = _words_found(grams, _MARKET_WORDS)
    if len(trade) >= 3:
        add("market", min(0.6, 0.1 * len(trade)), "words of trade: " + ", ".join(trade[:6]))

    # Forums: posts, links to threads and boards, forum words.
    if signals.post_count:
        add("forum", 0.9 if signals.post_count >= 2 else 0.6, f"{signals.post_count} forum posts")
    forum_links = sum(1 for link in signals.links if _FORUM_LINK.search(urlsplit(link).path + "?"
                                                                         + urlsplit(link).query))
    if forum_links >= 5:
        add("forum", 0.6 if forum_links >= 15 else 0.4, f"{forum_links} links to threads, boards or members")
    chat = _words_found(grams, _FORUM_WORDS)
    if len(chat) >= 3:
        add("forum", min(0.5, 0.1 * len(chat)), "forum words: " + ", ".join(chat[:6]))

    # Link lists, pastes, wikis and directories.
    words = max(1, len(text.split()))
    if signals.onion_hosts_linked >= 8 and signals.listing_count == 0:
        add("link-list", 0.5 + min(0.4, signals.onion_hosts_linked / 100), f"links to {signals.onion_hosts_linked} onions")
        if words / signals.onion_hosts_linked < 25:
            add("link-list", 0.2, "little text besides the links")
    if _PASTE_TITLE.search(title):
        add("link-list", 0.6, "the title names a paste site")
    if _WIKI.search(title) or _WIKI.search(urlsplit(signals.url).path):
        add("directory", 0.7, "a wiki")
    listed = _words_found(grams, _DIRECTORY_WORDS)
    # Markets warn of phishing and list their mirrors too: a directory is a page that does not trade.
    if len(listed) >= 2 and signals.listing_count == 0 and signals.post_count == 0 and len(trade) < 3:
        add("directory", min(0.6, 0.15 * len(listed)) + (0.1 if 0 < signals.onion_hosts_linked < 8 else 0),
            "words of a directory: " + ", ".join(listed[:6]))

    # A shop of one vendor: listings, and no vendor named on any of them or any vendor profile.  One listing
    # counts only on a listing page that says nothing of vendors (a market's listing page names its vendor).
    no_vendor = (signals.listing_vendors == 0 and not signals.vendor_profile and signals.extracted_page_type != "vendor"
                 and "vendor" not in trade and "vendors" not in grams and not signals.market_profile)
    if no_vendor and (signals.listing_count >= 2
                      or (signals.listing_count == 1 and signals.extracted_page_type == "listing")):
        add("vendor-shop", weight["market"] + 0.05, "listings that name no vendor: one seller's shop")
    selling = _words_found(grams, _SELLER_WORDS)
    seller_page = (selling and signals.listing_count == 0 and signals.listing_vendors == 0
                   and not signals.vendor_profile and signals.post_count == 0 and not signals.market_profile)
    prices = len(_PRICE.findall(text)) if seller_page else 0  # read only when the rule can fire
    if seller_page and (len(selling) >= 2 or prices):
        add("vendor-shop", min(0.5, 0.15 * len(selling) + (0.1 if prices else 0)),
            "a seller speaks of its own goods: " + ", ".join(selling[:6]) + (f"; {prices} prices" if prices else ""))

    if not weight:
        return SiteTypeGuess(OTHER, 0.3, ("no rule fired",))
    best = max(weight, key=lambda name: (weight[name], name == OTHER))
    return SiteTypeGuess(best, round(min(MAX_CONFIDENCE, weight[best]), 2), tuple(evidence[best]))


def signals_of_page(*, url: str, status: int, title: str, text: str, links: Iterable[str],
                    onion_mentions: Iterable[dict], login_wall: str | None, page_type: str | None,
                    listing_vendors: Iterable[str | None], vendor_profile: bool, post_count: int,
                    market_profile: str | None) -> PageSignals:
    """:class:`PageSignals` from what the extraction of one page gives (:mod:`crawler.extractors.document`)."""
    hosts = {mention.get("host") for mention in onion_mentions
             if isinstance(mention, dict) and not mention.get("hidden")}
    vendors = list(listing_vendors)
    return PageSignals(
        url=url, status=status, title=title or "", text=text or "", links=tuple(links)[:2000],
        onion_hosts_linked=len(hosts - {None}), login_wall=login_wall, extracted_page_type=page_type,
        listing_count=len(vendors), listing_vendors=len({vendor for vendor in vendors if vendor}),
        vendor_profile=vendor_profile, post_count=post_count, market_profile=market_profile,
    )
