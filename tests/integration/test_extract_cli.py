"""`onionscope extract` as a user runs it: a real process on pages the demo generator wrote.

Expected values come from the generator's ground_truth.json.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from harness.demo.generator import generate_world, placeholder_onion_hosts, site_directory
from harness.demo.paths import file_for_target
from harness.demo.site_names import MARKET_NAMES
from tests import PROJECT_ROOT

SEED = 9001


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    out_dir = tmp_path_factory.mktemp("world")
    return out_dir, generate_world(SEED, placeholder_onion_hosts(SEED), out_dir)


def page_file(world: tuple[Path, dict[str, Any]], site: str, url: str) -> Path:
    parts = urlsplit(url)
    relative = file_for_target(parts.path or "/", parts.query)
    assert relative is not None
    return site_directory(world[0], site) / relative


def confirmation(world: tuple[Path, dict[str, Any]], market: str) -> str:
    """``MARKET=HOST`` for ``--market-host``: the generated hosts are in no profile."""
    return f"{market}={world[1]['sites'][market]['onion_host']}"


def onionscope(*args: str) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("ONIONSCOPE_")}
    return subprocess.run(
        [sys.executable, "-m", "onionscope.cli", *args],
        cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=120,
    )


@pytest.mark.parametrize("market", MARKET_NAMES)
def test_json_listing_matches_ground_truth(world: tuple[Path, dict[str, Any]], market: str) -> None:
    record = next(r for r in world[1]["listings"] if r["market"] == market)
    result = onionscope("extract", str(page_file(world, market, record["url"])), "--url", record["url"], "--json",
                        "--market-host", confirmation(world, market))
    assert result.returncode == 0, result.stderr
    output = json.loads(result.stdout)
    assert (output["market"], output["page_type"], output["extractor"]) == (market, "listing", "profile")
    assert output["looks_like_market"] is None
    (listing,) = output["listings"]
    for field in ("listing_id", "title", "vendor", "price_amount", "price_currency", "ships_from", "ships_to",
                  "category", "escrow", "stock", "language"):
        assert listing[field] == record[field], field
    assert output["page"]["url"] == record["url"]
    assert {m["address"] for m in output["wallet_mentions"]} >= set(record["wallets"])
    assert result.stderr == ""  # no drift on the profile's own market


@pytest.mark.parametrize("market", MARKET_NAMES)
def test_json_vendor_matches_ground_truth(world: tuple[Path, dict[str, Any]], market: str) -> None:
    record = next(r for r in world[1]["vendors"] if r["market"] == market)
    result = onionscope("extract", str(page_file(world, market, record["profile_url"])), "--url", record["profile_url"],
                        "--json", "--market-host", confirmation(world, market))
    assert result.returncode == 0, result.stderr
    (vendor,) = json.loads(result.stdout)["vendors"]
    assert vendor["market"] == market
    assert vendor["name"] == record["name"]
    assert vendor["pgp_fingerprints"] == record["pgp_fingerprints"]
    assert set(vendor["wallets"]) == set(record["wallets"])


@pytest.mark.parametrize("market", MARKET_NAMES)
def test_an_unconfirmed_host_only_looks_like_the_market(world: tuple[Path, dict[str, Any]], market: str) -> None:
    record = next(r for r in world[1]["listings"] if r["market"] == market)
    host = world[1]["sites"][market]["onion_host"]
    result = onionscope("extract", str(page_file(world, market, record["url"])), "--url", record["url"], "--json")
    assert result.returncode == 0, result.stderr
    output = json.loads(result.stdout)
    assert (output["market"], output["looks_like_market"], output["extractor"]) == (host, market, "profile")
    (listing,) = output["listings"]
    assert (listing["market"], listing["looks_like_market"], listing["title"]) == (host, market, record["title"])
    assert result.stderr == ""  # a look-alike is not the market's page: no drift
    human = onionscope("extract", str(page_file(world, market, record["url"])), "--url", record["url"])
    assert f"--market-host {market}={host}" in human.stdout


def test_a_bad_market_host_is_one_error_line(world: tuple[Path, dict[str, Any]]) -> None:
    market = MARKET_NAMES[0]
    record = next(r for r in world[1]["listings"] if r["market"] == market)
    result = onionscope("extract", str(page_file(world, market, record["url"])), "--market-host",
                        f"{market}=" + "a" * 56 + ".onion")
    assert result.returncode == 1 and result.stdout == ""
    assert "not a v3 onion address" in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_human_output_and_saved_page_without_url(world: tuple[Path, dict[str, Any]]) -> None:
    market = MARKET_NAMES[-1]
    record = next(r for r in world[1]["listings"] if r["market"] == market)
    result = onionscope("extract", str(page_file(world, market, record["url"])), "--market", market)
    assert result.returncode == 0, result.stderr
    assert f"market          {market}" in result.stdout
    assert f"title           {record['title']}" in result.stdout
    assert f"vendor          {record['vendor']}" in result.stdout


def test_generic_extractor_when_no_profile_folder_has_the_market(world: tuple[Path, dict[str, Any]], tmp_path: Path) -> None:
    market = MARKET_NAMES[1]
    record = next(r for r in world[1]["listings"] if r["market"] == market)
    result = onionscope(
        "extract", str(page_file(world, market, record["url"])), "--url", record["url"], "--json", "--profiles", str(tmp_path)
    )
    assert result.returncode == 0, result.stderr
    output = json.loads(result.stdout)
    assert output["extractor"] == "generic"
    assert output["market"] == world[1]["sites"][market]["onion_host"]
    assert output["listings"][0]["title"] == record["title"]


def test_hostile_text_cannot_reach_the_terminal(tmp_path: Path) -> None:
    page = tmp_path / "hostile.html"
    page.write_bytes(
        b"<html><body><h1>Coke \x1b[2J\x1b]0;pwned\x07 1g</h1><dl><dt>Vendor</dt><dd>ev\x1b[31mil</dd>"
        b"<dt>Price</dt><dd>$10</dd></dl></body></html>"
    )
    result = onionscope("extract", str(page), "--url", "http://" + "a" * 56 + ".onion/item/1")
    assert result.returncode == 0, result.stderr
    assert "Coke" in result.stdout and "\x1b" not in result.stdout and "\x07" not in result.stdout


@pytest.mark.parametrize(
    "args, message",
    [
        (["/nonexistent/page.html"], "no such file"),
        ([str(PROJECT_ROOT / "config")], "not a file"),
        (["{page}", "--url", "ftp://example/"], "expected an http:// URL"),
        (["{page}", "--market", "old-bazar"], "did you mean 'old-bazaar'"),
        (["{page}", "--profiles", "{bad_profiles}"], "broken.yml:"),
    ],
)
def test_bad_input_is_a_clear_error(tmp_path: Path, args: list[str], message: str) -> None:
    page = tmp_path / "page.html"
    page.write_text("<html><body>hello</body></html>", encoding="utf-8")
    bad_profiles = tmp_path / "profiles"
    bad_profiles.mkdir()
    (bad_profiles / "broken.yml").write_text("name: broken\nmatch: {hosts: [x.onion]\n", encoding="utf-8")
    result = onionscope("extract", *[a.format(page=page, bad_profiles=bad_profiles) for a in args])
    assert result.returncode == 1
    assert result.stderr.startswith("onionscope: error: ")
    assert message in result.stderr
    assert "Traceback" not in result.stderr
