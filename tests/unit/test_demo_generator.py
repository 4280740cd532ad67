"""The demo world generator: determinism, valid identifiers, and a ground truth that matches the files."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import pytest

from crawler.extractors import wallet_codecs
from crawler.urls import canonical_url, is_media_url
from harness.demo.generator import (
    GROUND_TRUTH_FILE, SITE_NAMES, generate_world, generator_version, placeholder_onion_hosts, seed_urls,
    site_directory,
)
from crawler.extractors.onions import is_valid_v3_onion as is_valid_v3_onion_host
from crawler.extractors.onions import v3_onion_from_pubkey as encode_v3_onion_host
from harness.demo.openpgp import armor, crc24, make_public_key
from harness.demo.paths import file_for_target
from config.errors import UserError
from config.settings import DEFAULTS
from tests import PROJECT_ROOT

SEED = 20261128


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    out_dir = tmp_path_factory.mktemp("demo")
    truth = generate_world(SEED, placeholder_onion_hosts(SEED), out_dir)
    return out_dir, truth


def _tree(root: Path) -> dict[str, bytes]:
    return {str(path.relative_to(root)): path.read_bytes() for path in sorted(root.rglob("*")) if path.is_file()}


def _read_page(out_dir: Path, truth: dict[str, Any], url: str) -> str:
    parts = urlsplit(url)
    site = next(name for name, site in truth["sites"].items() if site["onion_host"] == parts.hostname)
    relative = file_for_target(parts.path, parts.query)
    assert relative is not None, url
    return (site_directory(out_dir, site) / relative).read_text(encoding="utf-8")


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []
        self.sources: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag in ("a", "area") and values.get("href"):
            self.hrefs.append(values["href"] or "")
        if tag == "img" and values.get("src"):
            self.sources.append(values["src"] or "")


def _walk(out_dir: Path, truth: dict[str, Any], site: str) -> tuple[set[str], set[str]]:
    """Pages reachable from the home page on the same host, and media they reference."""
    host = truth["sites"][site]["onion_host"]
    start = canonical_url(f"http://{host}/")
    seen = {start}
    queue = [start]
    media: set[str] = set()
    while queue:
        url = queue.pop()
        parser = _Links()
        parser.feed(_read_page(out_dir, truth, url))
        for reference in parser.hrefs + parser.sources:
            absolute = urljoin(url, reference)
            if urlsplit(absolute).scheme not in ("http", "https") or urlsplit(absolute).hostname != host:
                continue
            target = canonical_url(absolute)
            if is_media_url(target) or reference in parser.sources:
                media.add(target)
                continue
            if target not in seen:
                seen.add(target)
                queue.append(target)
    return seen, media


# --------------------------------------------------------------------------- hosts and keys


def test_placeholder_hosts_are_valid_v3_onions_and_distinct() -> None:
    hosts = placeholder_onion_hosts(7)
    assert set(hosts) == set(SITE_NAMES)
    assert len(set(hosts.values())) == len(hosts)
    for host in hosts.values():
        assert len(host) == 56 + len(".onion")
        assert is_valid_v3_onion_host(host)
    assert placeholder_onion_hosts(7) == hosts
    assert placeholder_onion_hosts(8) != hosts


def test_onion_checksum_is_checked() -> None:
    host = encode_v3_onion_host(bytes(range(32)))
    label = host[:-6]
    flipped = ("a" if label[10] != "a" else "b")
    assert is_valid_v3_onion_host(host)
    assert not is_valid_v3_onion_host(label[:10] + flipped + label[11:] + ".onion")


def test_crc24_matches_the_rfc_definition_on_known_input() -> None:
    # RFC 4880's CRC-24 of the empty string is its initial value.
    assert crc24(b"") == 0xB704CE
    assert armor(b"\x01\x02").splitlines()[-2] == "=" + base64.b64encode(crc24(b"\x01\x02").to_bytes(3, "big")).decode()


def test_pgp_key_is_deterministic_and_fingerprint_is_sha1_of_key_packet() -> None:
    key = make_public_key(b"\x11" * 32, "Vendor <vendor@example.test>", 1_700_000_000)
    again = make_public_key(b"\x11" * 32, "Vendor <vendor@example.test>", 1_700_000_000)
    assert key == again
    lines = key.armored.splitlines()
    packets = base64.b64decode("".join(lines[2:-2]))
    assert lines[-2] == "=" + base64.b64encode(crc24(packets).to_bytes(3, "big")).decode()
    assert packets[0] == 0xC6  # new-format public-key packet
    body = packets[2 : 2 + packets[1]]
    assert body[0] == 4 and body[5] == 22  # v4, EdDSALegacy
    fingerprint = hashlib.sha1(b"\x99" + len(body).to_bytes(2, "big") + body).hexdigest().upper()
    assert key.fingerprint == fingerprint
    assert make_public_key(b"\x12" * 32, "Vendor <vendor@example.test>", 1_700_000_000).fingerprint != fingerprint


@pytest.mark.skipif(shutil.which("gpg") is None, reason="gpg is not installed")
def test_gpg_imports_the_key_and_verifies_its_self_signature(tmp_path: Path) -> None:
    key = make_public_key(b"\x21" * 32, "Demo <demo@example.test>", 1_650_000_000)
    (tmp_path / "key.asc").write_text(key.armored + "\n")
    home = tmp_path / "gnupg"
    home.mkdir(mode=0o700)
    base = ["gpg", "--homedir", str(home), "--batch", "--no-autostart", "--with-colons"]
    try:
        subprocess.run(base + ["--import", str(tmp_path / "key.asc")], check=True, capture_output=True, timeout=30)
        listing = subprocess.run(base + ["--check-sigs"], check=True, capture_output=True, text=True, timeout=30)
    finally:
        # gpg may have started an agent for this home even so; stop only that one.
        subprocess.run(["gpgconf", "--homedir", str(home), "--kill", "all"], capture_output=True, timeout=30)
    assert f"fpr:::::::::{key.fingerprint}:" in listing.stdout
    assert re.search(r"^sig:!:", listing.stdout, re.MULTILINE), listing.stdout


# --------------------------------------------------------------------------- determinism and inputs


def test_same_seed_and_hosts_give_identical_bytes(tmp_path: Path) -> None:
    hosts = placeholder_onion_hosts(SEED)
    generate_world(SEED, hosts, tmp_path / "a")
    # The second run is another process with another string-hash seed, so any
    # output that leaned on set or dict-of-str ordering would differ.
    script = (
        "import json, sys; from pathlib import Path; from harness.demo.generator import generate_world; "
        "generate_world(int(sys.argv[1]), json.loads(sys.argv[2]), Path(sys.argv[3]))"
    )
    subprocess.run(
        [sys.executable, "-c", script, str(SEED), json.dumps(hosts), str(tmp_path / "b")],
        check=True, cwd=PROJECT_ROOT, env={**os.environ, "PYTHONHASHSEED": "12345"}, timeout=120,
    )
    first, second = _tree(tmp_path / "a"), _tree(tmp_path / "b")
    assert GROUND_TRUTH_FILE in first
    assert first == second
    generate_world(SEED + 1, hosts, tmp_path / "c")
    third = _tree(tmp_path / "c")
    assert third[GROUND_TRUTH_FILE] != first[GROUND_TRUTH_FILE]
    differing = [name for name in first if third.get(name) != first[name]]
    assert len(differing) > len(first) // 2


def test_regenerating_replaces_stale_files(tmp_path: Path) -> None:
    hosts = placeholder_onion_hosts(SEED)
    generate_world(SEED, hosts, tmp_path)
    stale = site_directory(tmp_path, SITE_NAMES[0]) / "stale.html"
    stale.write_text("old")
    generate_world(SEED, hosts, tmp_path)
    assert not stale.exists()


def test_bad_host_mappings_are_refused_with_a_clear_message(tmp_path: Path) -> None:
    hosts = placeholder_onion_hosts(SEED)
    with pytest.raises(UserError, match="exactly these sites"):
        generate_world(SEED, {SITE_NAMES[0]: hosts[SITE_NAMES[0]]}, tmp_path)
    broken = dict(hosts, **{SITE_NAMES[1]: "a" * 56 + ".onion"})
    with pytest.raises(UserError, match="not a valid v3 address"):
        generate_world(SEED, broken, tmp_path)


def test_seed_urls_are_home_pages_of_every_site() -> None:
    hosts = placeholder_onion_hosts(SEED)
    assert seed_urls(hosts) == [f"http://{hosts[site]}/" for site in SITE_NAMES]
    without_suffix = {site: host.removesuffix(".onion") for site, host in hosts.items()}
    assert seed_urls(without_suffix) == seed_urls(hosts)


# --------------------------------------------------------------------------- the ground truth matches the files


def test_ground_truth_file_equals_returned_dict(demo: tuple[Path, dict[str, Any]]) -> None:
    out_dir, truth = demo
    assert json.loads((out_dir / GROUND_TRUTH_FILE).read_text(encoding="utf-8")) == truth
    assert truth["seed"] == SEED and truth["schema_version"] == 1
    assert truth["generator_version"] == generator_version() and len(truth["generator_version"]) == 16


def test_sites_structure_and_size(demo: tuple[Path, dict[str, Any]]) -> None:
    _, truth = demo
    sites = truth["sites"]
    assert list(sites) == sorted(SITE_NAMES) or set(sites) == set(SITE_NAMES)
    assert [site for site in SITE_NAMES if sites[site]["kind"] == "market"] == list(SITE_NAMES[:3])
    assert sites[SITE_NAMES[3]]["kind"] == "forum"
    total = sum(len(site["pages"]) for site in sites.values())
    assert 350 <= total <= 700
    for site in SITE_NAMES[:3]:
        market_listings = [listing for listing in truth["listings"] if listing["market"] == site]
        market_vendors = [vendor for vendor in truth["vendors"] if vendor["market"] == site]
        assert 40 <= len(market_listings) <= 80
        assert 8 <= len(market_vendors) <= 15


@pytest.mark.parametrize("site", SITE_NAMES)
def test_pages_equal_offline_link_walk_from_seed(demo: tuple[Path, dict[str, Any]], site: str) -> None:
    out_dir, truth = demo
    reachable, media = _walk(out_dir, truth, site)
    assert reachable == set(truth["sites"][site]["pages"])
    assert media == set(truth["sites"][site]["media_urls"])
    assert all(canonical_url(url) == url for url in truth["sites"][site]["pages"])


def test_every_page_is_within_the_default_crawl_depth(demo: tuple[Path, dict[str, Any]]) -> None:
    _, truth = demo
    limit = DEFAULTS["crawl_depth"].default
    for site in truth["sites"].values():
        assert site["max_depth"] == max(site["page_depths"].values())
        assert site["max_depth"] < limit
        assert set(site["page_depths"]) == set(site["pages"])


def test_media_files_exist_and_are_real_jpeg_or_zip(demo: tuple[Path, dict[str, Any]]) -> None:
    out_dir, truth = demo
    kinds = set()
    for name, site in truth["sites"].items():
        assert site["media_urls"], name
        for url in site["media_urls"]:
            parts = urlsplit(url)
            data = (site_directory(out_dir, name) / file_for_target(parts.path, parts.query)).read_bytes()
            assert is_media_url(url)
            if url.endswith(".jpg"):
                assert data[:2] == b"\xff\xd8" and data[-2:] == b"\xff\xd9"
                kinds.add("jpg")
            else:
                assert data[:4] == b"PK\x03\x04"
                kinds.add("zip")
    assert kinds == {"jpg", "zip"}


def test_pagination_in_every_style(demo: tuple[Path, dict[str, Any]]) -> None:
    _, truth = demo
    pages = [url for site in truth["sites"].values() for url in site["pages"]]
    assert any(re.search(r"/category\.php\?id=\d+&page=\d+$", url) for url in pages)
    assert any(re.search(r"/c/[a-z0-9-]+/page/\d+/$", url) for url in pages)
    assert any(re.search(r"/section/[a-z]+/\?page=\d+$", url) for url in pages)
    assert any(re.search(r"/forum/[a-z-]+/page/\d+/$", url) for url in pages)
    assert any(re.search(r"/thread/\d+-[a-z0-9-]+\.html\?page=\d+$", url) for url in pages)


# --------------------------------------------------------------------------- identifiers


def _decode(coin: str, address_type: str, network: str, text: str) -> None:
    """Raise ValueError unless ``text`` is a valid address of that coin, type and network."""
    if coin == "monero":
        network_byte, *_ = wallet_codecs.monero_decode(text)
        if wallet_codecs.MONERO_NETWORK_BYTES[network_byte] != (network, address_type):
            raise ValueError("wrong Monero network byte")
    elif coin == "ethereum":
        if not re.fullmatch(r"0x[0-9a-fA-F]{40}", text):
            raise ValueError("not an EVM address")
        body = text[2:]
        if body != body.lower() and body != body.upper() and not wallet_codecs.is_eip55_checksummed(text):
            raise ValueError("EIP-55 checksum mismatch")
    elif address_type.startswith("cashaddr-"):
        _, kind, _ = wallet_codecs.cashaddr_decode(text)
        if kind != address_type.removeprefix("cashaddr-"):
            raise ValueError("wrong CashAddr kind")
    elif address_type in ("p2wpkh", "p2wsh", "p2tr"):
        wallet_codecs.segwit_decode(wallet_codecs.SEGWIT_HRPS[(coin, network)], text)
    else:
        version, _ = wallet_codecs.base58check_decode(text)
        expected = wallet_codecs.BASE58_VERSIONS[(coin, network, address_type)]
        if not (wallet_codecs.base58_decode(text)[: len(expected)] == expected or bytes([version]) == expected):
            raise ValueError("wrong version byte")


def test_every_wallet_validates_with_the_codecs(demo: tuple[Path, dict[str, Any]]) -> None:
    _, truth = demo
    coins = set()
    for wallet in truth["wallets"]:
        for spelling in wallet["written_as"]:
            _decode(wallet["coin"], wallet["address_type"], wallet["network"], spelling)
        assert wallet["pages"]
        coins.add((wallet["coin"], wallet["address_type"]))
    required = {
        ("bitcoin", "p2pkh"), ("bitcoin", "p2sh"), ("bitcoin", "p2wpkh"), ("bitcoin", "p2tr"),
        ("litecoin", "p2pkh"), ("monero", "standard"), ("monero", "subaddress"), ("monero", "integrated"),
        ("ethereum", "eoa"), ("tron", "p2pkh"), ("bitcoin-cash", "cashaddr-p2pkh"), ("dogecoin", "p2pkh"),
        ("zcash", "p2pkh"), ("dash", "p2pkh"),
    }
    assert required <= coins, required - coins
    assert any(wallet["network"] == "testnet" for wallet in truth["wallets"])
    assert any(wallet.get("checksummed") is False for wallet in truth["wallets"])


def test_wallet_pages_are_exactly_where_the_address_is_written(demo: tuple[Path, dict[str, Any]]) -> None:
    out_dir, truth = demo
    wallet = next(item for item in truth["wallets"] if item["coin"] == "monero" and item["address_type"] == "integrated")
    every_page = [url for site in truth["sites"].values() for url in site["pages"]]
    holding = [url for url in every_page if wallet["address"] in _read_page(out_dir, truth, url)]
    assert holding == wallet["pages"]


def test_every_decoy_fails_its_checksum_and_is_on_a_page(demo: tuple[Path, dict[str, Any]]) -> None:
    out_dir, truth = demo
    assert len(truth["decoy_addresses"]) >= 5
    real = {spelling for wallet in truth["wallets"] for spelling in wallet["written_as"]}
    for decoy in truth["decoy_addresses"]:
        with pytest.raises(ValueError):
            _decode(decoy["looks_like"], decoy["address_type"], "mainnet", decoy["text"])
        assert decoy["text"] not in real
        assert decoy["pages"]
        for url in decoy["pages"]:
            assert decoy["text"] in _read_page(out_dir, truth, url)


def test_pgp_keys_on_pages_match_their_recorded_fingerprints(demo: tuple[Path, dict[str, Any]]) -> None:
    out_dir, truth = demo
    block = re.compile(r"-----BEGIN PGP PUBLIC KEY BLOCK-----\n\n(.*?)\n=(\S{4})\n-----END", re.DOTALL)
    for key in truth["pgp_keys"]:
        assert key["pages"]
        found = set()
        for match in block.finditer(_read_page(out_dir, truth, key["pages"][0])):
            packets = base64.b64decode(match.group(1).replace("\n", ""))
            assert base64.b64decode(match.group(2)) == crc24(packets).to_bytes(3, "big")
            body = packets[2 : 2 + packets[1]]
            found.add(hashlib.sha1(b"\x99" + len(body).to_bytes(2, "big") + body).hexdigest().upper())
        assert key["fingerprint"] in found
    malformed = truth["malformed_pgp_blocks"][0]["pages"]
    assert len(malformed) == 1


def test_shared_vendor_links_two_markets_by_key_and_wallet(demo: tuple[Path, dict[str, Any]]) -> None:
    _, truth = demo
    link = truth["cross_market_vendors"][0]
    markets = [appearance["site"] for appearance in link["appearances"]]
    assert len(set(markets)) == 2 and set(markets) <= set(SITE_NAMES[:3])
    vendors = [
        vendor for vendor in truth["vendors"]
        if (vendor["market"], vendor["name"]) in {(item["site"], item["name"]) for item in link["appearances"]}
    ]
    assert len(vendors) == 2
    assert all(vendor["pgp_fingerprints"] == [link["pgp_fingerprint"]] for vendor in vendors)
    shared = link["shared_wallets"][0]
    assert all(shared in vendor["wallets"] for vendor in vendors)
    wallet = next(item for item in truth["wallets"] if item["address"] == shared)
    assert {vendor["profile_url"] for vendor in vendors} <= set(wallet["pages"])
    other_fingerprints = [vendor["pgp_fingerprints"][0] for vendor in truth["vendors"] if vendor not in vendors]
    assert link["pgp_fingerprint"] not in other_fingerprints


def test_onion_links_cross_sites_and_bare_addresses_on_the_forum(demo: tuple[Path, dict[str, Any]]) -> None:
    _, truth = demo
    hosts = {site["onion_host"]: name for name, site in truth["sites"].items()}
    linked_pairs = {
        (hosts[urlsplit(link["page"]).hostname], hosts[link["onion_host"]])
        for link in truth["onion_links"] if link["live"] and link["source"] == "href"
    }
    assert {target for _, target in linked_pairs} == set(SITE_NAMES)
    forum_host = truth["sites"][SITE_NAMES[3]]["onion_host"]
    bare = {
        link["onion_host"] for link in truth["onion_links"]
        if link["source"] == "text" and urlsplit(link["page"]).hostname == forum_host
    }
    assert {truth["sites"][site]["onion_host"] for site in SITE_NAMES[:3]} <= bare
    assert any(not link["live"] for link in truth["onion_links"])
    assert all(len(mention["host"]) == 16 + 6 for mention in truth["legacy_onion_mentions"])


def test_contacts_on_vendor_profiles(demo: tuple[Path, dict[str, Any]]) -> None:
    out_dir, truth = demo
    kinds = {contact["type"] for vendor in truth["vendors"] for contact in vendor["contacts"]}
    assert kinds == {"email", "jabber", "telegram"}
    for vendor in truth["vendors"][:10]:
        page = _read_page(out_dir, truth, vendor["profile_url"])
        for contact in vendor["contacts"]:
            assert contact["value"] in page
    emails = {entry["address"] for entry in truth["emails"] if entry["kind"] == "email"}
    assert all(
        contact["value"] in emails for vendor in truth["vendors"] for contact in vendor["contacts"]
        if contact["type"] == "email"
    )


# --------------------------------------------------------------------------- listings


def test_listings_have_every_field_their_market_shows(demo: tuple[Path, dict[str, Any]]) -> None:
    _, truth = demo
    currencies = {listing["market"]: set() for listing in truth["listings"]}
    for listing in truth["listings"]:
        shows = set(truth["sites"][listing["market"]]["shows"])
        assert listing["title"] and listing["description"] and listing["vendor"] and listing["category"]
        assert listing["price_amount"] > 0
        assert re.fullmatch(r"[A-Z]{2}", listing["ships_from"][0])
        assert all(re.fullmatch(r"[A-Z]{2}", code) for code in listing["ships_to"])
        for field in ("stock", "sales", "rating", "escrow", "finalize_early"):
            assert (listing[field] is not None) == (field in shows), (listing["market"], field)
        assert bool(listing["crypto_prices"]) == ("crypto_prices" in shows)
        assert listing["substances"] and listing["substance_classes"]
        currencies[listing["market"]].add(listing["price_currency"])
    assert currencies == {"old-bazaar": {"USD"}, "nebula-market": {"EUR"}, "tundra-shop": {"XMR", "BTC"}}


def test_listing_values_appear_on_their_pages(demo: tuple[Path, dict[str, Any]]) -> None:
    out_dir, truth = demo
    import html as html_module

    for listing in truth["listings"]:
        page = _read_page(out_dir, truth, listing["url"])
        assert html_module.escape(listing["title"], quote=True) in page
        assert listing["vendor"] in page
        assert listing["url"] in truth["sites"][listing["market"]]["pages"]
        for address in listing["wallets"]:
            assert address in page


def test_new_psychoactive_substances_and_cyrillic_street_names(demo: tuple[Path, dict[str, Any]]) -> None:
    _, truth = demo
    substances = {name for listing in truth["listings"] for name in listing["substances"]}
    classes = {name for listing in truth["listings"] for name in listing["substance_classes"]}
    assert {"synthetic cathinone", "fentanyl analogue", "nitazene", "synthetic cannabinoid"} <= classes
    assert {"alpha-pvp", "mephedrone", "mdmb-4en-pinaca", "isotonitazene"} <= substances
    terms = {term for listing in truth["listings"] for term in listing["substance_terms"]}
    assert {"мефедрон", "соль", "спайс"} <= terms
    russian = [listing for listing in truth["listings"] if listing["language"] == "ru"]
    assert len(russian) >= 4
    for listing in russian:
        assert any(term.casefold() in listing["title"].casefold() for term in listing["substance_terms"])


def test_html_traps_are_escaped_in_the_page(demo: tuple[Path, dict[str, Any]]) -> None:
    out_dir, truth = demo
    texts = {trap["text"] for trap in truth["html_traps"]}
    assert "<script>alert(1)</script> 3-MMC 5g crystal" in texts
    assert any('"><img src=x onerror=alert(1)>' in text for text in texts)
    for trap in truth["html_traps"]:
        page = _read_page(out_dir, truth, trap["url"])
        assert trap["text"] not in page
        assert "<script>alert(1)" not in page and "<img src=x" not in page
        parser = _Links()
        parser.feed(page)
        assert "x" not in parser.sources
        listing = next(item for item in truth["listings"] if item["url"] == trap["url"])
        assert listing["title"] == trap["text"]
