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


HOSTILE_TITLE = "T\u202eitle\x9b31m\x1b]0;pwned\x07"
HOSTILE_PAGE = (
    f"<html><head><title>{HOSTILE_TITLE}</title></head><body>"
    "<h1>Coke \x1b[2J \x9d0;pwned\x9c \u2066iso\u2069 \u200fRLM\u061c zw\u200b back\x08\r 1g</h1>"
    "<dl><dt>Vendor</dt><dd>ev\x1b[31mil\u202egnp.exe\x85nl</dd><dt>Price</dt><dd>$10</dd>"
    "<dt>Ships from</dt><dd>DE\u2028fake line\u2029</dd></dl></body></html>"
)


@pytest.mark.parametrize("output", ["text", "json"])
def test_c0_c1_bidi_and_escape_sequences_are_escaped_in_every_output(tmp_path: Path, output: str) -> None:
    """Text, --json and warnings all go through search.cli_output's escaper: nothing unsafe reaches the terminal."""
    from search.cli_output import is_unsafe_for_terminal

    page = tmp_path / "hostile.html"
    page.write_bytes(HOSTILE_PAGE.encode("utf-8"))
    env = {key: value for key, value in os.environ.items() if not key.startswith("ONIONSCOPE_")}
    # Bytes, not text: universal newlines would hide a raw carriage return.
    result = subprocess.run(
        [sys.executable, "-m", "onionscope.cli", "extract", str(page), "--url", "http://" + "a" * 56 + ".onion/item/1",
         *(["--json"] if output == "json" else [])],
        cwd=PROJECT_ROOT, env={**env, "PYTHONIOENCODING": "utf-8"}, capture_output=True, timeout=120,
    )
    stdout, stderr = result.stdout.decode("utf-8"), result.stderr.decode("utf-8")
    assert result.returncode == 0, stderr
    for stream in (stdout, stderr):
        raw = sorted({f"U+{ord(char):04X}" for char in stream if char != "\n" and is_unsafe_for_terminal(char)})
        assert raw == []
    if output == "json":
        # Escaped as JSON \u escapes, so it decodes to the very strings the page held.
        assert json.loads(stdout)["page"]["title"] == HOSTILE_TITLE
        assert "\\u202e" in stdout and "\\u009b" in stdout
    else:
        # Shown, not dropped: the reader sees that the page holds a bidi override and a CSI.
        assert "T\\u202eitle\\x9b31m\\x1b]0;pwned\\x07" in stdout


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


def test_json_shows_every_onion_the_page_names(world: tuple[Path, dict[str, Any]]) -> None:
    """The forum's links thread: bare addresses in text, links, dead mirrors and a v2 address
    (expected from ground_truth's onion_links and legacy_onion_mentions)."""
    truth = world[1]
    legacy = {mention["host"]: mention["pages"] for mention in truth["legacy_onion_mentions"]}
    url = next(page for pages in legacy.values() for page in pages)
    site = next(name for name, info in truth["sites"].items() if url in info["pages"])
    expected = {(link["onion_host"], 3, {"href": "link", "text": "text"}[link["source"]])
                for link in truth["onion_links"] if link["page"] == url}
    expected |= {(host, 2, "text") for host, pages in legacy.items() if url in pages}
    assert any(where == "text" for _, _, where in expected) and any(version == 2 for _, version, _ in expected)
    result = onionscope("extract", str(page_file(world, site, url)), "--url", url, "--json")
    assert result.returncode == 0, result.stderr
    page = json.loads(result.stdout)["page"]
    assert {(m["host"], m["version"], m["where"]) for m in page["onion_mentions"]} == expected
    assert not any(m["obfuscated"] or m["hidden"] for m in page["onion_mentions"])
    assert set(page["discovery_onions"]) == {host for host, version, _ in expected if version == 3}


def test_obfuscated_and_hidden_onions_are_flagged_in_json_and_text(tmp_path: Path) -> None:
    from harness.demo.hosts import derived_onion_host

    shown, trap = derived_onion_host(SEED, "mirror"), derived_onion_host(SEED, "trap")
    page = tmp_path / "mirrors.html"
    page.write_text(
        f"<html><head><style>.x{{display:none}}</style></head><body><p>New mirror: {shown[:56]} dot onion</p>"
        f'<p class="x">Copy this: {trap}</p></body></html>', encoding="utf-8")
    result = onionscope("extract", str(page), "--url", "http://" + "a" * 56 + ".onion/news", "--json")
    assert result.returncode == 0, result.stderr
    output = json.loads(result.stdout)["page"]
    assert output["onion_mentions"] == [
        {"host": shown, "version": 3, "where": "text", "obfuscated": True, "hidden": False},
        {"host": trap, "version": 3, "where": "text", "obfuscated": False, "hidden": True},
    ]
    assert (output["discovery_onions"], output["hidden_identifiers"]) == ([shown], [trap])
    human = onionscope("extract", str(page), "--url", "http://" + "a" * 56 + ".onion/news")
    assert f"onion mentions  {shown} (text, obfuscated), {trap} (text, hidden)" in human.stdout
    assert f"hidden (traps)  {trap}" in human.stdout
