"""Report: per-field precision and recall of listing and vendor extraction on the demo markets.

Run as ``.venv/bin/python -m bench.extraction_quality [--seed S] [--world DIR]``.

Generates the demo world for the seed (placeholder onion hosts, into a
temporary folder unless ``--world`` names one already generated), then runs
the full page extraction on every page of every demo market twice:

* with the market profiles from ``config/markets/`` (hosts bound the way the
  demo wiring binds them);
* with no profiles at all, so the generic extractor (JSON-LD, microdata,
  labels) faces markets it has never seen.

Prints one table per market, mode and item kind (listings, vendors) with
precision, recall, TP, FP and FN per field (see
:mod:`bench.quality` for how each field is counted), and a
summary of title, price and vendor.  Exits 0; it reports, it does not judge.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path
from typing import Any, Iterator
from urllib.parse import urlsplit

from config.paths import markets_dir
from crawler.extractors.document import extract_document
from crawler.extractors.market_profiles import MarketProfiles
from bench.quality import MarketScores, evaluate_market, format_table
from harness.demo.generator import generate_world, placeholder_onion_hosts, site_directory
from harness.demo.paths import file_for_target
from harness.demo.site_names import FORUM_NAME, MARKET_NAMES


SUMMARY_FIELDS = ("title", "price", "vendor")


def market_pages(world_dir: Path, truth: dict[str, Any], market: str) -> Iterator[tuple[str, bytes]]:
    """``(url, html)`` of every page of one demo market, as the crawl would fetch them."""
    site = truth["sites"][market]
    root = site_directory(world_dir, market)
    for url in site["pages"]:
        parts = urlsplit(url)
        relative = file_for_target(parts.path or "/", parts.query)
        if relative is None:
            continue
        path = root / relative
        if path.is_file():
            yield url, path.read_bytes()


def load_world(seed: int, world_dir: Path | None) -> tuple[Path, dict[str, Any]]:
    if world_dir is not None and (world_dir / "ground_truth.json").is_file():
        return world_dir, json.loads((world_dir / "ground_truth.json").read_text(encoding="utf-8"))
    target = world_dir or Path(tempfile.mkdtemp(prefix="onionscope-quality-"))
    truth = generate_world(seed, placeholder_onion_hosts(seed), target)
    return target, truth


def evaluate(world_dir: Path, truth: dict[str, Any], profile_dir: Path, use_profiles: bool) -> list[MarketScores]:
    """Scores for every demo market, with the profiles or with the generic extractor only."""
    results = []
    for market in MARKET_NAMES:
        profiles = None
        if use_profiles:
            profiles = MarketProfiles.load(profile_dir)
            profiles.bind_hosts([(market, truth["sites"][market]["onion_host"])])
        results.append(evaluate_market(market, market_pages(world_dir, truth, market), truth, profiles))
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=1337, help="demo world seed (default 1337)")
    parser.add_argument("--world", type=Path, help="an already generated demo world folder")
    parser.add_argument("--profiles", type=Path, default=markets_dir())
    args = parser.parse_args(argv)

    world_dir, truth = load_world(args.seed, args.world)
    print(f"demo world seed {truth['seed']} in {world_dir}: {len(truth['listings'])} listings, "
          f"{len(truth['vendors'])} vendors")
    summary: list[str] = []
    for mode, use_profiles in (("profile", True), ("generic", False)):
        for scores in evaluate(world_dir, truth, args.profiles, use_profiles):
            print()
            print(f"== {scores.market} / {mode} extractor: {scores.pages} pages, "
                  f"{scores.drift_events} drift events, {scores.rejected_items} empty items")
            print(format_table("listings", scores.listings))
            print(format_table("vendors", scores.vendors))
            cells = [
                f"{scores.listings[name].precision:.2f}/{scores.listings[name].recall:.2f}" for name in SUMMARY_FIELDS
            ]
            cells.append(f"{scores.vendors['name'].precision:.2f}/{scores.vendors['name'].recall:.2f}")
            summary.append(f"  {scores.market:<15}{mode:<9}" + "".join(f"{cell:>13}" for cell in cells))
    # The forum is no market: every listing or vendor found there is a false positive.
    profiles = MarketProfiles.load(args.profiles)
    forum_listings = forum_vendors = forum_pages = 0
    for url, html in market_pages(world_dir, truth, FORUM_NAME):
        document = extract_document(html, url, "2025-12-01T00:00:00Z", "quality", profiles=profiles)
        forum_pages += 1
        forum_listings += len(document.listings)
        forum_vendors += len(document.vendors)
    print()
    print(f"== {FORUM_NAME} (a forum, no profile): {forum_pages} pages, "
          f"{forum_listings} listings and {forum_vendors} vendors extracted (all would be false positives)")
    print()
    print("summary (precision/recall)")
    print(f"  {'market':<15}{'mode':<9}" + "".join(f"{name:>13}" for name in (*SUMMARY_FIELDS, "vendor name")))
    print("\n".join(summary))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
