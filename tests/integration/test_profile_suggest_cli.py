"""`onionscope profile suggest` then `onionscope extract` as a user runs them: real processes on demo pages.

The pages are the ones the demo generator wrote; expected listings come from
its ground_truth.json, and which listings a category page shows is read from
the page's own links with lxml (never from the extractor).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import pytest
from lxml import html as lxml_html

from harness.demo.generator import generate_world, placeholder_onion_hosts, site_directory

PROJECT_ROOT = Path(__file__).resolve().parents[2]
SEED = 9001
# market -> (category pages, listing pages), as files under the site's folder, and how a file maps to its path.
PAGES = {
    "nebula-market": ("c/*/index.html", "product/*/index.html"),
    "old-bazaar": ("category.php?id=*", "listing.php?id=[0-9]*[0-9]"),
}


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    out_dir = tmp_path_factory.mktemp("world")
    return out_dir, generate_world(SEED, placeholder_onion_hosts(SEED), out_dir)


def onionscope(*args: str) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("ONIONSCOPE_")}
    return subprocess.run([sys.executable, "-m", "onionscope.cli", *args], cwd=PROJECT_ROOT, env=env,
                          capture_output=True, text=True, timeout=300)


def page_url(host: str, site_root: Path, page: Path) -> str:
    relative = page.relative_to(site_root).as_posix()
    return f"http://{host}/" + (relative[: -len("index.html")] if relative.endswith("index.html") else relative)


@pytest.mark.parametrize("market", sorted(PAGES))
def test_a_suggested_profile_reads_the_category_pages_as_the_ground_truth_says(
        world: tuple[Path, dict[str, Any]], market: str, tmp_path: Path) -> None:
    site_root = site_directory(world[0], market)
    host = world[1]["sites"][market]["onion_host"]
    categories = sorted(site_root.glob(PAGES[market][0]))[:4]
    listings = sorted(site_root.glob(PAGES[market][1]))[:2]
    assert len(categories) >= 2 and listings
    folder = tmp_path / "markets"
    folder.mkdir()
    name = f"suggested-{market}"
    result = onionscope("profile", "suggest", *map(str, categories + listings), "--market", name, "--host", host,
                        "--out", str(folder / f"{name}.yml"))
    assert result.returncode == 0, result.stderr
    assert f"wrote {folder / (name + '.yml')}" in result.stdout
    truth = {record["url"]: record for record in world[1]["listings"] if record["market"] == market}
    shown = 0
    for page in categories:
        url = page_url(host, site_root, page)
        linked = {urljoin(url, href) for href in lxml_html.fromstring(page.read_bytes()).xpath("//a/@href")} & set(truth)
        result = onionscope("extract", str(page), "--url", url, "--profiles", str(folder), "--json")
        assert result.returncode == 0, result.stderr
        output = json.loads(result.stdout)
        assert (output["market"], output["page_type"], output["extractor"]) == (name, "category", "profile")
        got = {listing["url"]: listing for listing in output["listings"]}
        assert set(got) == linked  # one listing per card, each keyed by its detail page
        for listing_url, listing in got.items():
            record = truth[listing_url]
            assert (listing["title"], listing["price_amount"], listing["price_currency"]) == (
                record["title"], record["price_amount"], record["price_currency"])
            assert listing["listing_id"] == record["listing_id"]  # the detail page's id: the two merge
        shown += len(linked)
    assert shown >= 6


def test_suggest_refuses_to_overwrite_and_names_the_file(world: tuple[Path, dict[str, Any]], tmp_path: Path) -> None:
    site_root = site_directory(world[0], "nebula-market")
    page = sorted(site_root.glob("c/*/index.html"))[0]
    out = tmp_path / "nebula.yml"
    out.write_text("# mine\n", encoding="utf-8")
    result = onionscope("profile", "suggest", str(page), "--market", "nebula", "--out", str(out))
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr.startswith("onionscope: error: ") and "exists; pass --force" in result.stderr
    assert out.read_text(encoding="utf-8") == "# mine\n"
