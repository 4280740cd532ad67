"""Benchmark: pages/s from HTML to items (page, listings, vendors, wallet mentions).

Run as ``.venv/bin/python -m bench.extraction [--seed S] [--rounds N]``.

Generates the demo world for the seed (placeholder onion hosts, temporary
folder) and, in one run on the same pages, measures:

* the floor: parsing each page with lxml (``parsel.Selector``) and nothing else;
* page basics: :func:`crawler.extractors.html_page.parse_html_page`;
* the full extraction with the market profiles, the demo markets' hosts
  confirmed (what the demo crawl runs);
* the full extraction with the profiles but no host confirmed: every market
  page is then a look-alike (site marker checks on every page);
* the full extraction with no profiles (the generic extractor on every page);
* the full extraction with profiles through the crawl's budget worker
  (:mod:`crawler.extractors.budget`), one page at a time: the same work plus
  sending the page to the worker process and the document back.

Prints pages/s and MB/s of HTML for each, and each as a fraction of the
floor, then what the worker adds per page.  Figures depend on the machine and
its load; compare the ratios.
"""

from __future__ import annotations

import argparse
import functools
import tempfile
import time
from pathlib import Path
from typing import Callable

from parsel import Selector

from bench.extraction_quality import market_pages
from config.paths import markets_dir
from crawler.extractors.budget import BudgetedExtractor
from crawler.extractors.document import extract_document
from crawler.extractors.html_page import parse_html_page
from crawler.extractors.language import detect_language
from crawler.extractors.market_profiles import MarketProfiles
from harness.demo.generator import generate_world, placeholder_onion_hosts
from harness.demo.site_names import MARKET_NAMES, SITE_NAMES
from crawler.spiders.onion import load_bound_profiles


def measure(name: str, pages: list[tuple[str, bytes]], rounds: int, run: Callable[[str, bytes], object]) -> float:
    """Best-of-``rounds`` seconds for one pass over ``pages``."""
    best = float("inf")
    for _ in range(rounds):
        started = time.perf_counter()
        for url, html in pages:
            run(url, html)
        best = min(best, time.perf_counter() - started)
    return best


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=1337)
    parser.add_argument("--rounds", type=int, default=3, help="passes per measurement; the best is kept")
    args = parser.parse_args(argv)

    world_dir = Path(tempfile.mkdtemp(prefix="onionscope-bench-"))
    hosts = placeholder_onion_hosts(args.seed)
    truth = generate_world(args.seed, hosts, world_dir)
    pages = [page for site in SITE_NAMES for page in market_pages(world_dir, truth, site)]
    megabytes = sum(len(html) for _, html in pages) / 1e6
    profiles = MarketProfiles.load(markets_dir())
    profiles.bind_hosts([(market, hosts[market]) for market in MARKET_NAMES])
    unconfirmed = MarketProfiles.load(markets_dir())
    detect_language("warm the language model up before timing anything")

    def full_with_profiles(url: str, html: bytes) -> object:
        return extract_document(html, url, "2025-12-01T00:00:00Z", "bench", profiles=profiles)

    def full_look_alikes(url: str, html: bytes) -> object:
        return extract_document(html, url, "2025-12-01T00:00:00Z", "bench", profiles=unconfirmed)

    def full_generic(url: str, html: bytes) -> object:
        return extract_document(html, url, "2025-12-01T00:00:00Z", "bench", profiles=None)

    items = sum(len(full_with_profiles(url, html).items()) for url, html in pages)
    print(f"{len(pages)} demo pages ({megabytes:.2f} MB of HTML) from {len(SITE_NAMES)} sites, "
          f"{items} items with profiles; best of {args.rounds} rounds")
    rows = [
        ("lxml parse only (floor)", lambda url, html: Selector(text=html.decode("utf-8", "replace"))),
        ("page basics (html_page)", lambda url, html: parse_html_page(html, url)),
        ("full extraction, profiles", full_with_profiles),
        ("full, hosts unconfirmed", full_look_alikes),
        ("full extraction, generic", full_generic),
    ]
    # The worker gets the same confirmed profiles as the "profiles" row, as the crawl's does.
    confirmed = tuple((market, hosts[market]) for market in MARKET_NAMES)
    extractor = BudgetedExtractor(
        60.0, functools.partial(load_bound_profiles, str(markets_dir()), confirmed)
    )

    def full_in_worker(url: str, html: bytes) -> object:
        return extractor.extract(html, url, fetched_at="2025-12-01T00:00:00Z", job_id="bench").result()

    rows.append(("full extraction, worker", full_in_worker))
    floor_seconds = None
    seconds_by_row: dict[str, float] = {}
    print(f"  {'stage':<28}{'pages/s':>10}{'MB/s':>9}{'x floor':>9}")
    try:
        full_in_worker(*pages[0])  # starts the worker (imports, profiles, language model)
        for name, run in rows:
            seconds = seconds_by_row[name] = measure(name, pages, args.rounds, run)
            floor_seconds = floor_seconds or seconds
            print(f"  {name:<28}{len(pages) / seconds:>10.1f}{megabytes / seconds:>9.2f}{floor_seconds / seconds:>9.3f}")
    finally:
        extractor.close()
    extra = (seconds_by_row["full extraction, worker"] - seconds_by_row["full extraction, profiles"]) / len(pages)
    print(f"the budget worker adds {extra * 1000:.2f} ms per page, one page at a time "
          f"(sending the page and its document between processes)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
