"""Benchmark: extraction without a profile on real saved market and forum pages (issue 10).

Run as ``.venv/bin/python -m bench.extraction_real [--rounds N] [--reference-ref REF] [--no-speed]``.

Reads the corpus in ``tests/data/real`` (pages, hand-read truth, the by-market
split in ``split.json``), runs the whole page extraction
(:func:`crawler.extractors.document.extract_document`, no market profiles)
on every page, and prints recall and precision per page type and field, the
held-out markets and the development markets side by side:

* category pages (and the listing cards on vendor pages): cards matched on
  title and price (the headline figure), then title, price, crypto price,
  per-unit price, vendor, ships from/to and detail URL;
* listing detail pages: title, price, vendor, ships from/to, crypto price;
* vendor profiles: name, PGP fingerprints, contacts, sales, join date;
* forum threads: post authors and ``posted_at`` times;
* listings invented on forum, login, CAPTCHA and link-list pages (must be 0);
* page type: the type the extraction gave each page against the truth.

Then, per market, the same extraction with a profile that ``onionscope
profile suggest`` wrote from that market's own pages
(:func:`crawler.extractors.profile_suggestion.suggest_profile`): cards
title+price recall and precision and detail-page title and price recall,
without and with the profile, held-out and development markets side by side.
Held-out figures are report-only: the suggester is never tuned on them.

Then the speed, in one run on the same pages: pages/s of a plain lxml parse,
of the whole extraction, and of the whole extraction at a reference commit
(default: where this branch left ``main``), and the ratio of the new per-page
cost to the reference's.

Matching is written here, from the truth files, and never calls the
extractors: titles match after Unicode NFKC, case folding and whitespace
collapsing; a price matches when the currency is equal and the amount is
within 0.5%; countries are compared as ISO codes read straight from
``config/countries.yml``; cards match as a multiset (a page may list one
title twice).  Cards marked ``secondary`` in the truth ("also from this
vendor" strips) are left out of recall, and finding them is no false positive.

Exits 0; it reports, it does not judge (the targets are printed beside the figures).
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterable
from urllib.parse import urljoin

import yaml
from parsel import Selector

from config.paths import countries_file

# The checkout this benchmark lives in (the corpus and git history are read from it).
PROJECT_ROOT = Path(__file__).resolve().parent.parent

CORPUS = PROJECT_ROOT / "tests" / "data" / "real"
SPLITS = ("held_out", "development")
FETCHED_AT = "2025-12-01T00:00:00Z"

# Targets from issue 10, on the held-out markets with no profile: (page type, field, measure, bound).
TARGETS: tuple[tuple[str, str, str, float], ...] = (
    ("category", "cards title+price", "recall", 0.9),
    ("category", "cards title+price", "precision", 0.95),
    ("listing", "title", "recall", 0.9),
    ("listing", "price", "recall", 0.9),
    ("listing", "vendor", "recall", 0.9),
    ("vendor", "name", "recall", 0.95),
    ("vendor", "pgp fingerprints", "recall", 0.95),
)
ROW_ORDER = ("all", "category", "listing", "vendor", "thread", "other")


# --- corpus ---------------------------------------------------------------------------


@dataclass
class CorpusPage:
    market: str
    file: str
    split: str
    truth: dict[str, Any]
    html: bytes
    url: str

    @property
    def page_type(self) -> str:
        return str(self.truth["page_type"])


def fake_onion_host(market: str) -> str:
    """A v3-shaped onion host standing for one market (the saved pages carry no URL)."""
    digest = hashlib.sha256(market.encode()).digest() + hashlib.sha256(market.encode() + b"2").digest()
    return base64.b32encode(digest).decode().lower()[:56] + ".onion"


def load_corpus(corpus: Path = CORPUS) -> list[CorpusPage]:
    """Every page of the corpus with its truth and split; raises if a page has no truth."""
    split = json.loads((corpus / "split.json").read_text(encoding="utf-8"))
    split_of = {market: name for name in SPLITS for market in split[name]}
    pages = []
    for path in sorted((corpus / "pages").glob("*/*.html")):
        market = path.parent.name
        truth_path = corpus / "truth" / market / (path.stem + ".json")
        truth = json.loads(truth_path.read_text(encoding="utf-8"))
        url = f"http://{fake_onion_host(market)}/{market}/{path.name}"
        pages.append(CorpusPage(market, path.name, split_of[market], truth, path.read_bytes(), url))
    return pages


# --- matching (independent of the extractors) --------------------------------------------

_SPACES = re.compile(r"\s+")
_FIRST_PRICE = re.compile(r"(\d[\d.,]*)\s*([A-Z]{3})?")


def norm_text(value: Any) -> str:
    """NFKC, case-folded, whitespace collapsed; '' for None."""
    if value is None:
        return ""
    return _SPACES.sub(" ", unicodedata.normalize("NFKC", str(value))).strip().casefold()


def norm_vendor(value: Any) -> str:
    return norm_text(value).lstrip("@")


def amount_matches(expected: float | None, actual: float | None) -> bool:
    if expected is None or actual is None:
        return False
    if expected == 0:
        return actual == 0
    return abs(actual - expected) <= 0.005 * abs(expected)


def price_matches(truth: dict[str, Any], amount: float | None, currency: str | None) -> bool:
    return (truth.get("currency") or "").upper() == (currency or "").upper() and amount_matches(truth.get("price"), amount)


def truth_crypto(truth: dict[str, Any]) -> tuple[float, str] | None:
    """(amount, ticker) of the first crypto price in a truth crypto_price_text; bare amounts are BTC."""
    text = truth.get("crypto_price_text")
    if not text:
        return None
    match = _FIRST_PRICE.search(text)
    if not match:
        return None
    number = match.group(1).replace(",", "")
    try:
        return float(number), (match.group(2) or "BTC")
    except ValueError:
        return None


class CountryTable:
    """Spelling -> ISO code, read from config/countries.yml (data, not the extractor's code)."""

    def __init__(self, path: Path = countries_file()):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        self.codes: dict[str, str] = {}
        for section in ("special", "countries"):
            for code, names in (data.get(section) or {}).items():
                for name in [code, *(names or [])]:
                    self.codes[self._key(str(name))] = str(code)

    @staticmethod
    def _key(name: str) -> str:
        return re.sub(r"[^\w]+", "", unicodedata.normalize("NFKC", name).casefold())

    def code(self, name: str | None) -> str | None:
        if not name:
            return None
        key = self._key(name)
        return self.codes.get(key, key.upper() or None)

    def codes_of(self, names: Iterable[str] | None) -> frozenset[str]:
        return frozenset(filter(None, (self.code(name) for name in names or ())))


@dataclass
class Score:
    tp: int = 0
    fp: int = 0
    fn: int = 0

    def add(self, other: "Score") -> None:
        self.tp, self.fp, self.fn = self.tp + other.tp, self.fp + other.fp, self.fn + other.fn

    def recall(self) -> float | None:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else None

    def precision(self) -> float | None:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else None


def field_score(expected: Any, actual: Any, equal: Callable[[Any, Any], bool]) -> Score:
    """One field of one matched item: TP when both are set and equal; FN/FP for a miss or a wrong value."""
    expected_set = expected not in (None, "", [], frozenset())
    actual_set = actual not in (None, "", [], frozenset())
    if expected_set and actual_set and equal(expected, actual):
        return Score(tp=1)
    return Score(fn=int(expected_set), fp=int(actual_set))


def match_multiset(truths: list[dict[str, Any]], found: list[Any], same: Callable[[dict[str, Any], Any], bool]) -> list[tuple[dict[str, Any], Any]]:
    """Greedy one-to-one pairs (truth, found) in page order."""
    used: set[int] = set()
    pairs = []
    for truth in truths:
        for index, item in enumerate(found):
            if index not in used and same(truth, item):
                used.add(index)
                pairs.append((truth, item))
                break
    return pairs


# --- what the extraction gave -------------------------------------------------------------


@dataclass
class Outcome:
    page: CorpusPage
    page_type: str | None
    listings: list[Any]
    vendors: list[Any]
    posts: list[Any]
    seconds: float = 0.0


def run_extraction(page: CorpusPage) -> Outcome:
    from crawler.extractors.document import extract_document

    document = extract_document(page.html, page.url, FETCHED_AT, "bench-real", profiles=None)
    return Outcome(page, document.page_type, list(document.listings), list(document.vendors),
                   list(getattr(document, "posts", []) or []))


# --- scoring --------------------------------------------------------------------------------


@dataclass
class Table:
    scores: dict[tuple[str, str, str], Score] = field(default_factory=dict)
    counts: dict[tuple[str, str, str], int] = field(default_factory=dict)
    rows: list[tuple[str, str]] = field(default_factory=list)

    def score(self, split: str, page_type: str, name: str) -> Score:
        if (page_type, name) not in self.rows:
            self.rows.append((page_type, name))
        return self.scores.setdefault((split, page_type, name), Score())

    def count(self, split: str, page_type: str, name: str, value: int) -> None:
        if (page_type, name) not in self.rows:
            self.rows.append((page_type, name))
        self.counts[(split, page_type, name)] = self.counts.get((split, page_type, name), 0) + value


def _listing_fields(truth: dict[str, Any], listing: Any, countries: CountryTable, page_url: str) -> dict[str, Score]:
    crypto = truth_crypto(truth)
    found_crypto = None
    crypto_prices = getattr(listing, "crypto_prices", {}) or {}
    if crypto is not None and crypto[1] in crypto_prices:
        found_crypto = (crypto_prices[crypto[1]], crypto[1])
    elif crypto_prices:
        coin, amount = next(iter(crypto_prices.items()))
        found_crypto = (amount, coin)
    truth_url = urljoin(page_url, truth["url"]) if truth.get("url") else None
    return {
        "title": field_score(norm_text(truth.get("title")), norm_text(listing.title), str.__eq__),
        "price": field_score(truth.get("price") is not None and truth, (listing.price_amount, listing.price_currency)
                             if listing.price_amount is not None else None,
                             lambda t, a: price_matches(t, a[0], a[1])),
        "crypto price": field_score(crypto, found_crypto,
                                    lambda t, a: t[1] == a[1] and amount_matches(t[0], a[0])),
        "price unit": field_score(truth.get("price_unit"), getattr(listing, "price_unit", None),
                                  lambda t, a: norm_text(t) == norm_text(a)),
        "vendor": field_score(norm_vendor(truth.get("vendor")), norm_vendor(listing.vendor), str.__eq__),
        "ships from": field_score(countries.code(truth.get("ships_from")),
                                  next(iter(listing.ships_from), None), str.__eq__),
        "ships to": field_score(countries.codes_of(truth.get("ships_to")), frozenset(listing.ships_to), frozenset.__eq__),
        "url": field_score(truth_url, listing.url if truth_url is not None else None, str.__eq__),
    }


def score_cards(table: Table, outcome: Outcome, countries: CountryTable, row_type: str) -> None:
    page, split = outcome.page, outcome.page.split
    truths = page.truth["listings"]
    primary = [t for t in truths if not t.get("secondary")]
    secondary = [t for t in truths if t.get("secondary")]
    found = [listing for listing in outcome.listings if listing.url != page.url or row_type == "category"]

    def title_price(truth: dict[str, Any], listing: Any) -> bool:
        return norm_text(truth["title"]) == norm_text(listing.title) and (
            truth.get("price") is None or price_matches(truth, listing.price_amount, listing.price_currency))

    pairs = match_multiset(primary, found, title_price)
    rest = [item for item in found if not any(item is pair[1] for pair in pairs)]
    extra = match_multiset(secondary, rest, lambda t, item: norm_text(t["title"]) == norm_text(item.title))
    invented = len(rest) - len(extra)
    headline = table.score(split, row_type, "cards title+price")
    headline.add(Score(tp=len(pairs), fn=len(primary) - len(pairs), fp=invented))
    title_pairs = match_multiset(primary, found, lambda t, item: norm_text(t["title"]) == norm_text(item.title))
    table.score(split, row_type, "cards title").add(
        Score(tp=len(title_pairs), fn=len(primary) - len(title_pairs),
              fp=max(0, len(found) - len(title_pairs) - len(extra))))
    for truth, listing in title_pairs:
        for name, score in _listing_fields(truth, listing, countries, page.url).items():
            if name != "title":
                table.score(split, row_type, f"card {name}").add(score)


def main_listing(outcome: Outcome) -> Any | None:
    for listing in outcome.listings:
        if listing.url == outcome.page.url:
            return listing
    return outcome.listings[0] if outcome.listings else None


def score_detail(table: Table, outcome: Outcome, countries: CountryTable) -> None:
    split = outcome.page.split
    truth = outcome.page.truth["listings"][0]
    listing = main_listing(outcome)
    fields = ("title", "price", "vendor", "ships from", "ships to", "crypto price")
    if listing is None:
        for name in fields:
            expected = {"title": truth.get("title"), "price": truth.get("price"), "vendor": truth.get("vendor"),
                        "ships from": truth.get("ships_from"), "ships to": truth.get("ships_to"),
                        "crypto price": truth.get("crypto_price_text")}[name]
            table.score(split, "listing", name).add(Score(fn=int(bool(expected))))
        return
    scores = _listing_fields(truth, listing, countries, outcome.page.url)
    for name in fields:
        table.score(split, "listing", name).add(scores[name])
    # Cards of a "more from this vendor" strip are real listings, but the truth lists only the page's own.
    table.count(split, "listing", "other listings found", len(outcome.listings) - 1)


def _iso_date(value: Any) -> str | None:
    if not value:
        return None
    text = str(value)
    match = re.match(r"\d{4}-\d{2}-\d{2}", text)
    return match.group() if match else text


def score_vendor(table: Table, outcome: Outcome) -> None:
    split = outcome.page.split
    truth = outcome.page.truth["vendor"]
    vendors = outcome.vendors
    vendor = vendors[0] if vendors else None
    table.score(split, "vendor", "name").add(
        field_score(norm_vendor(truth["name"]), norm_vendor(vendor.name) if vendor else None, str.__eq__))
    expected = {fp.upper() for fp in truth.get("pgp_fingerprints") or []}
    found = {str(fp).replace(" ", "").upper() for fp in (vendor.pgp_fingerprints if vendor else [])}
    table.score(split, "vendor", "pgp fingerprints").add(
        Score(tp=len(expected & found), fn=len(expected - found), fp=len(found - expected)))
    expected_contacts = {norm_text(c["value"]) for c in truth.get("contacts") or []}
    found_contacts = {norm_text(c.get("value")) for c in (vendor.contacts if vendor else [])}
    table.score(split, "vendor", "contacts").add(
        Score(tp=len(expected_contacts & found_contacts), fn=len(expected_contacts - found_contacts),
              fp=len(found_contacts - expected_contacts)))
    table.score(split, "vendor", "sales").add(field_score(truth.get("sales"), vendor.sales if vendor else None, int.__eq__))
    table.score(split, "vendor", "joined").add(
        field_score(truth.get("joined_iso"), _iso_date(vendor.joined) if vendor else None, str.__eq__))
    rating = None
    if vendor is not None and vendor.rating is not None:
        rating = vendor.rating
    expected_rating = None
    if truth.get("rating"):
        match = re.search(r"\d+(?:\.\d+)?", str(truth["rating"]))
        expected_rating = float(match.group()) if match else None
    table.score(split, "vendor", "rating").add(
        field_score(expected_rating, rating, lambda t, a: abs(t - a) < 0.01))
    table.count(split, "vendor", "extra vendors", max(0, len(vendors) - 1))


def _post_time(post: Any) -> datetime | None:
    value = getattr(post, "posted_at", None) if not isinstance(post, dict) else post.get("posted_at")
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def score_thread(table: Table, outcome: Outcome) -> None:
    split = outcome.page.split
    truths = outcome.page.truth["posts"]
    posts = outcome.posts

    def author(post: Any) -> str:
        return norm_text(getattr(post, "author", None) if not isinstance(post, dict) else post.get("author"))

    def text(post: Any) -> str:
        return norm_text(getattr(post, "text", None) if not isinstance(post, dict) else post.get("text"))

    def same(truth: dict[str, Any], post: Any) -> bool:
        # Whitespace between text nodes is the page's layout, not the post's words.
        start = norm_text(truth.get("text_start")).replace(" ", "")[:20]
        return norm_text(truth["author"]) == author(post) and (not start or start in text(post).replace(" ", "")[:400])

    pairs = match_multiset(truths, posts, same)
    table.score(split, "thread", "posts (author+text)").add(
        Score(tp=len(pairs), fn=len(truths) - len(pairs), fp=len(posts) - len(pairs)))
    for truth, post in pairs:
        expected = _post_time(truth)
        table.score(split, "thread", "posted_at").add(
            field_score(expected, _post_time(post), lambda t, a: t == a))


def show_misses(outcomes: list[Outcome]) -> str:
    """Per development page: truth cards not found and cards found but not in the truth.

    Held-out pages are never shown in detail, so nobody tunes on them.
    """
    lines = []
    for outcome in outcomes:
        page = outcome.page
        if page.split != "development":
            continue
        lines.append(f"{page.market}/{page.file}: truth {page.page_type}, got {outcome.page_type}; "
                     f"{len(page.truth['listings'])} truth listings, {len(outcome.listings)} extracted")
        found = list(outcome.listings)
        for truth in page.truth["listings"]:
            match = next((item for item in found if norm_text(item.title) == norm_text(truth["title"])), None)
            if match is None:
                lines.append(f"   missed: {truth['title'][:70]!r} {truth.get('price')} {truth.get('currency')} "
                             f"vendor={truth.get('vendor')!r}")
                continue
            found.remove(match)
            problems = []
            if not price_matches(truth, match.price_amount, match.price_currency) and truth.get("price") is not None:
                problems.append(f"price {match.price_amount} {match.price_currency} != {truth.get('price')} {truth.get('currency')}")
            if norm_vendor(truth.get("vendor")) != norm_vendor(match.vendor):
                problems.append(f"vendor {match.vendor!r} != {truth.get('vendor')!r}")
            if problems:
                lines.append(f"   {truth['title'][:50]!r}: " + "; ".join(problems))
        for item in found:
            lines.append(f"   extra: {item.title[:70]!r} {item.price_amount} {item.price_currency} vendor={item.vendor!r}")
        truth_vendor = page.truth.get("vendor")
        if truth_vendor is not None:
            got = outcome.vendors[0] if outcome.vendors else None
            lines.append(f"   vendor truth {truth_vendor['name']!r} got {got.name if got else None!r}")
    return "\n".join(lines)


def score(outcomes: list[Outcome]) -> Table:
    countries = CountryTable()
    table = Table()
    for outcome in outcomes:
        page_type, split = outcome.page.page_type, outcome.page.split
        expected_type = page_type if page_type != "other" else None
        table.score(split, "all", "page type").add(
            Score(tp=1) if (outcome.page_type or None) == expected_type else Score(fn=1, fp=int(outcome.page_type is not None)))
        if page_type in ("category", "vendor") and (outcome.page.truth["listings"] or page_type == "category"):
            score_cards(table, outcome, countries, page_type)
        if page_type == "listing":
            score_detail(table, outcome, countries)
        if page_type == "vendor":
            score_vendor(table, outcome)
        if page_type == "thread":
            score_thread(table, outcome)
        if page_type in ("thread", "other"):
            kind = "thread" if page_type == "thread" else "other"
            table.count(split, kind, "invented listings", len(outcome.listings))
            table.count(split, kind, "invented vendors", len(outcome.vendors))
    return table


def _cell(value: float | None) -> str:
    return "   -" if value is None else f"{value:.2f}"


def format_table(table: Table, pages_per_split: dict[str, int]) -> str:
    """Recall, precision and tp/fp/fn per page type and field; counts for the invented-item rows."""
    header = f"{'page type':<10}{'field':<24}" + "".join(
        f"{name + ' R':>16}{'P':>6}{'tp/fp/fn':>12}" for name in ("held-out", "development"))
    lines = [header, "-" * len(header)]
    count_rows = {(key[1], key[2]) for key in table.counts}
    rows = sorted(table.rows, key=lambda row: ROW_ORDER.index(row[0]) if row[0] in ROW_ORDER else len(ROW_ORDER))
    for page_type, name in rows:
        cells = ""
        for split in SPLITS:
            if not pages_per_split.get(split):
                cells += f"{'-':>16}{'':>6}{'':>12}"
            elif (page_type, name) in count_rows:
                value = table.counts.get((split, page_type, name), 0)
                cells += f"{value:>16}{'':>6}{'(count)':>12}"
            elif (split, page_type, name) not in table.scores:
                cells += f"{'-':>16}{'':>6}{'':>12}"
            else:
                item = table.scores[(split, page_type, name)]
                cells += f"{_cell(item.recall()):>16}{_cell(item.precision()):>6}{f'{item.tp}/{item.fp}/{item.fn}':>12}"
        lines.append(f"{page_type:<10}{name:<24}{cells}")
    return "\n".join(lines)


def format_targets(table: Table) -> str:
    lines = ["targets on the held-out markets (issue 10):"]
    for page_type, name, measure, bound in TARGETS:
        item = table.scores.get(("held_out", page_type, name))
        value = None if item is None else (item.recall() if measure == "recall" else item.precision())
        verdict = "n/a" if value is None else ("met" if value >= bound else "NOT met")
        lines.append(f"  {page_type:<9}{name:<20}{measure:<10}{_cell(value):>6}  target >= {bound:.2f}  {verdict}")
    for kind in ("thread", "other"):
        invented = table.counts.get(("held_out", kind, "invented listings"), 0)
        lines.append(f"  {kind:<9}{'invented listings':<20}{'count':<10}{invented:>6}  target = 0     "
                     f"{'met' if invented == 0 else 'NOT met'}")
    return "\n".join(lines)


# --- with a profile suggested from the market's own pages -----------------------------------


def market_host(market: str) -> str:
    """A checksum-valid v3 onion host standing for one market (``--host`` must be one)."""
    from crawler.extractors.onions import v3_onion_from_pubkey

    return v3_onion_from_pubkey(hashlib.sha256(market.encode()).digest())


@dataclass
class SuggestedRun:
    market: str
    split: str
    lines: int = 0
    checks: int = 0
    kept: str = "-"  # the suggester's own check: generic listings the profile gives back, on these pages
    error: str | None = None
    seconds: float = 0.0
    outcomes: list[Outcome] = field(default_factory=list)


def run_suggested(pages: list[CorpusPage]) -> SuggestedRun:
    """Suggest a profile from one market's pages (as ``onionscope profile suggest --host`` does), load
    it with the loader, and extract the same pages with it."""
    from dataclasses import replace

    from config.errors import UserError
    from crawler.extractors.document import extract_document
    from crawler.extractors.market_profiles import MarketProfiles, load_profile
    from crawler.extractors.profile_suggestion import SavedPage, suggest_profile

    market, host = pages[0].market, market_host(pages[0].market)
    run = SuggestedRun(market, pages[0].split)
    started = time.perf_counter()
    try:
        suggestion = suggest_profile([SavedPage(page.file, page.html) for page in pages], market, host=host)
    except UserError as exc:
        run.error = str(exc)
        return run
    run.seconds = time.perf_counter() - started
    run.lines = suggestion.text.count("\n")
    run.checks = suggestion.text.count("# check")
    generic_total = sum(check.generic_listings for check in suggestion.pages)
    run.kept = f"{sum(check.same_title_price for check in suggestion.pages)}/{generic_total}"
    with tempfile.TemporaryDirectory(prefix="bench-suggest-") as folder:
        path = Path(folder) / f"{market}.yml"
        path.write_text(suggestion.text, encoding="utf-8")
        profiles = MarketProfiles([load_profile(path)])
    for page in pages:
        on_host = replace(page, url=f"http://{host}/{market}/{page.file}")
        document = extract_document(page.html, on_host.url, FETCHED_AT, "bench-real", profiles=profiles)
        run.outcomes.append(Outcome(on_host, document.page_type, list(document.listings), list(document.vendors),
                                    list(document.posts)))
    return run


def _market_figures(outcomes: list[Outcome]) -> tuple[Score, Score, Score]:
    """(cards title+price over category and vendor pages, detail title, detail price) of one market."""
    table = score(outcomes)
    cards = Score()
    for key, value in table.scores.items():
        if key[1] in ("category", "vendor") and key[2] == "cards title+price":
            cards.add(value)
    detail_title, detail_price = Score(), Score()
    for key, value in table.scores.items():
        if key[1] == "listing" and key[2] == "title":
            detail_title.add(value)
        if key[1] == "listing" and key[2] == "price":
            detail_price.add(value)
    return cards, detail_title, detail_price


def _split_name(split: str) -> str:
    return split.replace("_", "-")


def suggested_report(pages: list[CorpusPage], generic: list[Outcome]) -> str:
    """Per market: title and price with no profile and with the profile suggested from its own pages."""
    by_market: dict[str, list[CorpusPage]] = {}
    for page in pages:
        by_market.setdefault(page.market, []).append(page)
    generic_of = {id(outcome.page): outcome for outcome in generic}
    header = (f"  {'market':<20}{'split':<13}{'lines':>6}{'check':>6}{'kept':>8}   {'cards title+price R/P':<27}"
              f"{'detail title R':<18}{'detail price R':<18}")
    lines = ["with a profile suggested from each market's own pages (`onionscope profile suggest`; "
             "held-out figures are report-only):",
             "  lines/check: the profile's length and its '# check' lines; kept: listings the extraction without a "
             "profile found that the profile gives back (the suggester's own check, no truth)",
             f"  {'':<53}   {'no profile -> profile':<27}{'no profile -> profile':<36}",
             header, "  " + "-" * (len(header) - 2)]
    totals = {split: [Score(), Score(), Score(), Score(), Score(), Score()] for split in SPLITS}

    def pair(before: Score, after: Score, precision: bool) -> str:
        if before.tp + before.fn == 0 and after.tp + after.fn == 0:
            return "-"
        text = f"{_cell(before.recall())} -> {_cell(after.recall())}"
        if precision:
            text = f"{_cell(before.recall())}/{_cell(before.precision())} -> {_cell(after.recall())}/{_cell(after.precision())}"
        return text

    for split in SPLITS:
        for market in sorted(name for name, found in by_market.items() if found[0].split == split):
            run = run_suggested(by_market[market])
            if run.error is not None:
                lines.append(f"  {market:<20}{_split_name(split):<13}{'-':>6}{'-':>6}{'-':>8}   "
                             f"no profile: {run.error[:60]}")
                continue
            before = _market_figures([generic_of[id(page)] for page in by_market[market]])
            after = _market_figures(run.outcomes)
            for index, value in enumerate(before + after):
                totals[split][index].add(value)
            lines.append(f"  {market:<20}{_split_name(split):<13}{run.lines:>6}{run.checks:>6}{run.kept:>8}   "
                         f"{pair(before[0], after[0], True):<27}"
                         f"{pair(before[1], after[1], False):<18}{pair(before[2], after[2], False):<18}")
    for split in SPLITS:
        total = totals[split]
        lines.append(f"  {'all ' + _split_name(split):<33}{'':>20}   {pair(total[0], total[3], True):<27}"
                     f"{pair(total[1], total[4], False):<18}{pair(total[2], total[5], False):<18}")
    return "\n".join(lines)


# --- speed ------------------------------------------------------------------------------------

_TIMING_SCRIPT = r"""
import json, sys, time
from crawler.extractors.document import extract_document
from crawler.extractors.language import detect_language
detect_language("warm the language model up before timing anything")
pages = [(url, open(path, "rb").read()) for url, path in json.load(sys.stdin)]
rounds = int(sys.argv[1])
best = float("inf")
for _ in range(rounds):
    started = time.perf_counter()
    for url, html in pages:
        extract_document(html, url, "2025-12-01T00:00:00Z", "bench-real", profiles=None)
    best = min(best, time.perf_counter() - started)
print(best)
"""


def _best_of(rounds: int, pages: list[CorpusPage], run: Callable[[CorpusPage], object]) -> float:
    best = float("inf")
    for _ in range(rounds):
        started = time.perf_counter()
        for page in pages:
            run(page)
        best = min(best, time.perf_counter() - started)
    return best


def _git(*args: str) -> str:
    return subprocess.run(["git", "-C", str(PROJECT_ROOT), *args], capture_output=True, text=True,
                          check=True, timeout=60).stdout.strip()


def time_reference(ref: str, pages: list[CorpusPage], rounds: int) -> tuple[str, float]:
    """(commit, best seconds) of the whole extraction at ``ref``, in a subprocess on a git archive of it."""
    commit = _git("rev-parse", "--short", ref)
    folder = Path(tempfile.mkdtemp(prefix="onionscope-reference-"))
    try:
        archive = subprocess.run(["git", "-C", str(PROJECT_ROOT), "archive", commit, "crawler", "onionscope", "config"],
                                 capture_output=True, check=True, timeout=120).stdout
        subprocess.run(["tar", "-x", "-C", str(folder)], input=archive, check=True, timeout=120)
        environment = {**os.environ, "PYTHONPATH": str(folder)}
        listing = json.dumps([(page.url, str(CORPUS / "pages" / page.market / page.file)) for page in pages])
        result = subprocess.run([sys.executable, "-c", _TIMING_SCRIPT, str(rounds)], input=listing, text=True,
                                capture_output=True, env=environment, cwd=str(folder), timeout=1_800, check=True)
        return commit, float(result.stdout.strip().splitlines()[-1])
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def speed_report(pages: list[CorpusPage], rounds: int, reference_ref: str | None) -> str:
    from crawler.extractors.document import extract_document
    from crawler.extractors.language import detect_language

    detect_language("warm the language model up before timing anything")
    megabytes = sum(len(page.html) for page in pages) / 1e6
    floor = _best_of(rounds, pages, lambda page: Selector(text=page.html.decode("utf-8", "replace")))
    full = _best_of(rounds, pages, lambda page: extract_document(page.html, page.url, FETCHED_AT, "bench-real"))
    lines = [f"speed on {len(pages)} real pages ({megabytes:.2f} MB of HTML), best of {rounds} rounds:",
             f"  {'stage':<44}{'pages/s':>9}{'ms/page':>9}{'x lxml':>8}"]

    def row(name: str, seconds: float) -> str:
        return f"  {name:<44}{len(pages) / seconds:>9.1f}{1000 * seconds / len(pages):>9.2f}{seconds / floor:>8.2f}"

    lines.append(row("lxml parse only (parsel.Selector)", floor))
    lines.append(row("whole extraction, no profile (this tree)", full))
    if reference_ref:
        try:
            commit, reference = time_reference(reference_ref, pages, rounds)
        except (subprocess.SubprocessError, OSError, ValueError) as exc:
            lines.append(f"  reference {reference_ref}: not measured ({exc})")
        else:
            lines.append(row(f"whole extraction at reference {commit}", reference))
            lines.append(f"  new per-page cost / reference per-page cost: {full / reference:.2f}x (target <= 2x)")
    return "\n".join(lines)


def default_reference() -> str | None:
    """Where this tree left main (the extractor before issue 10), or None outside a git checkout."""
    try:
        return _git("merge-base", "HEAD", "main")
    except (subprocess.SubprocessError, OSError):
        return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="timing passes; the best is kept")
    parser.add_argument("--reference-ref", default=None,
                        help="git commit whose extractor is timed for the cost ratio (default: merge-base with main)")
    parser.add_argument("--no-speed", action="store_true", help="print the quality tables only")
    parser.add_argument("--no-suggested", action="store_true",
                        help="leave out the figures with a profile suggested from each market's pages")
    parser.add_argument("--split", choices=SPLITS, help="score one side only")
    parser.add_argument("--show-misses", action="store_true",
                        help="list the misses and extras of each development page (never of held-out pages)")
    args = parser.parse_args(argv)

    pages = load_corpus()
    if args.split:
        pages = [page for page in pages if page.split == args.split]
    outcomes = [run_extraction(page) for page in pages]
    by_split = {name: sum(1 for page in pages if page.split == name) for name in SPLITS}
    print(f"real corpus {CORPUS.relative_to(PROJECT_ROOT)}: {len(pages)} pages "
          f"(held-out {by_split['held_out']}, development {by_split['development']}), no market profile")
    table = score(outcomes)
    if args.show_misses:
        print(show_misses(outcomes))
    print(format_table(table, by_split))
    print()
    print(format_targets(table))
    if not args.no_suggested:
        print()
        print(suggested_report(pages, outcomes))
    if not args.no_speed:
        print()
        print(speed_report(pages, args.rounds, args.reference_ref or default_reference()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
