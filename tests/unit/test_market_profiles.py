"""Market profiles: validation errors that name file, line and key; matching; applying fields."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from parsel import Selector

from crawler.extractors.market_profiles import (
    NORMALISERS,
    MarketProfiles,
    NormaliseContext,
    ProfileError,
    apply_normalisers,
    load_profile,
)
from crawler.extractors.onions import v3_onion_from_pubkey
from crawler.extractors.prices import Price
from config.errors import UserError
from tests import PROJECT_ROOT

HOST = "a" * 56 + ".onion"
OTHER_HOST = "b" * 56 + ".onion"
# A real v3 address (valid checksum): confirmations are checked, profile host lists are not.
CONFIRMED_HOST = v3_onion_from_pubkey(bytes(range(32)))

GOOD_PROFILE = """\
name: testmarket
currency: USD
match:
  hosts: [{host}]
  host_patterns: ['^tm[a-z2-7]+\\.onion$']
  site_markers:
    - {{css: 'meta[name=generator]', attr: content, contains: TestMarket}}
pages:
  listing:
    url_pattern: '^/item/(?P<listing_id>\\d+)'
    fields:
      title: {{css: 'h1.title'}}
      price: {{css: '.price'}}
      vendor: {{css: 'a.vendor'}}
      vendor_url: {{css: 'a.vendor', attr: href, optional: true}}
      ships_to: {{xpath: '//dt[.="Ships to"]/following-sibling::dd[1]'}}
      sales: {{css: '.sales', normalise: [strip, {{regex: '(\\d[\\d,]*) sold'}}, int]}}
      escrow: {{css: '.escrow', optional: true}}
      stock: {{css: '.stock', optional: true}}
  vendor:
    url_pattern: '^/vendor/(?P<name>[^/]+)'
    marker: {{css: 'div.vendor-profile'}}
    fields:
      joined: {{css: '.joined'}}
      rating: {{css: '.rating'}}
  category:
    url_pattern: '^/category/'
"""

LISTING_HTML = """\
<html><head><meta name="generator" content="TestMarket 2.1"></head><body>
<h1 class="title">  Premium   4-MMC 10g </h1>
<span class="price">$1,250.00</span>
<a class="vendor" href="/vendor/dutchmagic">DutchMagic</a>
<dl><dt>Ships to</dt><dd>Germany, France &amp; EU</dd></dl>
<span class="sales">1,234 sold</span>
<span class="escrow">Escrow: yes</span>
</body></html>
"""


def write(tmp_path: Path, text: str, name: str = "testmarket.yml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


@pytest.fixture()
def profiles(tmp_path: Path) -> MarketProfiles:
    write(tmp_path, GOOD_PROFILE.format(host=HOST))
    return MarketProfiles.load(tmp_path)


def test_profile_extracts_normalised_fields(profiles: MarketProfiles) -> None:
    profile = profiles.get("testmarket")
    url = f"http://{HOST}/item/42"
    extraction = profile.extract(Selector(text=LISTING_HTML), url)
    assert extraction.page_type == "listing"
    values = extraction.values
    assert values["listing_id"] == "42"
    assert values["title"] == "Premium 4-MMC 10g"
    assert values["price"] == Price(1250.0, "USD")
    assert values["vendor"] == "DutchMagic"
    assert values["vendor_url"] == f"http://{HOST}/vendor/dutchmagic"
    assert values["ships_to"] == ["DE", "FR", "EU"]
    assert values["sales"] == 1234
    assert values["escrow"] is True
    # stock is optional: missing is not drift; nothing else is missing.
    assert "stock" not in values
    assert extraction.missing == []


def test_missing_expected_field_is_reported(profiles: MarketProfiles) -> None:
    html = LISTING_HTML.replace('class="price"', 'class="cost"').replace('class="vendor"', 'class="seller"')
    extraction = profiles.get("testmarket").extract(Selector(text=html), f"http://{HOST}/item/42")
    assert extraction.missing == ["price", "vendor"]
    assert extraction.values["title"] == "Premium 4-MMC 10g"


def test_page_type_by_url_then_marker(profiles: MarketProfiles) -> None:
    profile = profiles.get("testmarket")
    assert profile.page_type(f"http://{HOST}/vendor/bob")[0] == "vendor"
    assert profile.page_type(f"http://{HOST}/vendor/bob")[1] == {"name": "bob"}
    assert profile.page_type(f"http://{HOST}/category/drugs")[0] == "category"
    assert profile.page_type(f"http://{HOST}/about")[0] is None
    marked = Selector(text="<div class='vendor-profile'><span class='joined'>2024-01-02</span></div>")
    assert profile.page_type("file:///tmp/saved.html", marked)[0] == "vendor"


def test_a_host_belongs_to_a_market_by_listed_host_pattern_or_confirmation(profiles: MarketProfiles) -> None:
    assert profiles.for_host(HOST) is profiles.get("testmarket")
    assert profiles.for_host(HOST.upper()) is profiles.get("testmarket")
    assert profiles.for_host("tm" + "c" * 54 + ".onion") is profiles.get("testmarket")
    assert profiles.for_host(OTHER_HOST) is None
    assert profiles.for_host(None) is None and profiles.for_host("") is None
    profiles.bind_hosts([("testmarket", CONFIRMED_HOST.upper())])
    assert profiles.for_host(CONFIRMED_HOST) is profiles.get("testmarket")


def test_a_site_marker_is_a_resemblance_that_never_binds_the_host(profiles: MarketProfiles) -> None:
    plain = Selector(text="<html><body>plain</body></html>")
    assert profiles.looks_like(plain) is None
    assert profiles.looks_like(Selector(text=LISTING_HTML)) is profiles.get("testmarket")
    # Carrying the marker did not make OTHER_HOST the market's, for this page or the next.
    assert profiles.for_host(OTHER_HOST) is None


def test_unknown_market_names_the_known_ones(profiles: MarketProfiles) -> None:
    with pytest.raises(UserError, match=r"no market profile named 'testmarkt' \(did you mean 'testmarket'\?\); known profiles: testmarket"):
        profiles.get("testmarkt")
    with pytest.raises(UserError, match="no market profile named 'nope'"):
        profiles.bind_hosts([("nope", CONFIRMED_HOST)])


@pytest.mark.parametrize("host, message", [
    ("c" * 56 + ".onion", "not a v3 onion address"),  # the right shape, a wrong checksum
    (CONFIRMED_HOST.removesuffix(".onion"), "not a v3 onion address"),
    (CONFIRMED_HOST + ".example.com", "not a v3 onion address"),
])
def test_a_confirmed_host_must_be_a_valid_onion(profiles: MarketProfiles, host: str, message: str) -> None:
    with pytest.raises(UserError, match=message):
        profiles.bind_hosts([("testmarket", host)])


def test_a_host_cannot_be_confirmed_for_a_second_market(tmp_path: Path) -> None:
    listed_host = v3_onion_from_pubkey(bytes(range(1, 33)))
    write(tmp_path, GOOD_PROFILE.format(host=listed_host))
    write(tmp_path, GOOD_PROFILE.format(host=OTHER_HOST).replace("name: testmarket", "name: other")
          .replace("'^tm[a-z2-7]+", "'^om[a-z2-7]+"), "other.yml")
    profiles = MarketProfiles.load(tmp_path)
    profiles.bind_hosts([("testmarket", CONFIRMED_HOST)])
    with pytest.raises(UserError, match="already belongs to market 'testmarket'"):
        profiles.bind_hosts([("other", CONFIRMED_HOST)])
    with pytest.raises(UserError, match="already belongs to market 'testmarket'"):
        profiles.bind_hosts([("other", listed_host)])  # listed in testmarket's profile
    assert profiles.for_host(CONFIRMED_HOST) is profiles.get("testmarket")


@pytest.mark.parametrize(
    "replace, new, message",
    [
        ("price: {css: '.price'}", "price: {css: '.price', normalise: prcie}",
         r"testmarket\.yml:\d+: pages\.listing\.fields\.price: unknown normaliser 'prcie' \(did you mean 'price'\?\)"),
        ("vendor: {css: 'a.vendor'}", "vendr: {css: 'a.vendor'}",
         r"pages\.listing\.fields\.vendr: unknown key 'vendr' \(did you mean 'vendor'\?\)"),
        ("title: {css: 'h1.title'}", "title: {css: 'h1[['}", r"pages\.listing\.fields\.title\.css: invalid CSS selector"),
        ("ships_to: {xpath: '//dt[.=\"Ships to\"]/following-sibling::dd[1]'}", "ships_to: {xpath: '//dt['}",
         r"pages\.listing\.fields\.ships_to\.xpath: invalid XPath"),
        ("url_pattern: '^/category/'", "url_pattern: '^/category/('",
         r"pages\.category\.url_pattern: invalid regular expression"),
        ("title: {css: 'h1.title'}", "title: {css: 'h1', xpath: '//h1'}", r"pages\.listing\.fields\.title: give exactly one of 'css' or 'xpath'"),
        ("name: testmarket", "name: Test Market", r"testmarket\.yml:1: name: expected a market name"),
        ("currency: USD", "currency: doubloons", r"currency: unknown currency 'doubloons'"),
        ("  category:\n    url_pattern: '^/category/'", "  catgory:\n    url_pattern: '^/category/'",
         r"pages\.catgory: unknown key 'catgory' \(did you mean 'category'\?\)"),
        ("'(\\d[\\d,]*) sold'}", "'(\\d[\\d,]*) sold', group: 2}", r"pages\.listing\.fields\.sales\.normalise\.1\.group: the regex has 1 group"),
        ("    url_pattern: '^/item/(?P<listing_id>\\d+)'", "    url_pattern: '^/item/\\d+'",
         r"pages\.listing: a listing needs its id"),
        ("      title: {css: 'h1.title'}\n", "", r"pages\.listing\.fields: a listing needs a 'title' field"),
    ],
)
def test_invalid_profiles_name_file_line_and_key(tmp_path: Path, replace: str, new: str, message: str) -> None:
    text = GOOD_PROFILE.format(host=HOST)
    assert replace in text
    path = write(tmp_path, text.replace(replace, new))
    with pytest.raises(ProfileError, match=message):
        load_profile(path)


def test_error_line_number_points_at_the_key(tmp_path: Path) -> None:
    text = GOOD_PROFILE.format(host=HOST).replace("price: {css: '.price'}", "price: {css: '.price', normalise: prcie}")
    line = next(number for number, row in enumerate(text.splitlines(), 1) if "prcie" in row)
    with pytest.raises(ProfileError, match=rf"testmarket\.yml:{line}: "):
        load_profile(write(tmp_path, text))


def test_malformed_yaml_names_file_and_line(tmp_path: Path) -> None:
    path = write(tmp_path, "name: x\nmatch: {hosts: [a.onion]\npages: {}\n", "broken.yml")
    with pytest.raises(ProfileError, match=r"broken\.yml:\d+: not valid YAML"):
        load_profile(path)


def test_duplicate_key_and_duplicate_market_are_errors(tmp_path: Path) -> None:
    with pytest.raises(ProfileError, match="name: key appears twice"):
        load_profile(write(tmp_path, GOOD_PROFILE.format(host=HOST) + "name: again\n", "dup.yml"))
    write(tmp_path, GOOD_PROFILE.format(host=HOST), "a.yml")
    write(tmp_path, GOOD_PROFILE.format(host=HOST), "b.yml")
    with pytest.raises(ProfileError, match=r"b\.yml: name: 'testmarket' is already used by .*a\.yml"):
        MarketProfiles.from_files([tmp_path / "a.yml", tmp_path / "b.yml"])


def test_empty_file_and_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(ProfileError, match="empty.yml: the file is empty"):
        load_profile(write(tmp_path, "", "empty.yml"))
    with pytest.raises(ProfileError, match="market profile folder not found"):
        MarketProfiles.load(tmp_path / "missing")


@pytest.mark.parametrize(
    "chain, raw, expected",
    [
        (("int",), "1,234 sold", 1234),
        (("int",), "Stock: 17", 17),
        (("float",), "4.85/5", 4.85),
        (("float",), "4,5 из 5", 4.5),
        (("bool",), "Escrow: Enabled", True),
        (("bool",), "No", False),
        (("bool",), "FE: not allowed", False),
        (("bool",), "maybe", None),
        (("date",), "Member since March 5, 2024", "2024-03-05"),
        (("date",), "05.03.2024", "2024-03-05"),
        (("date",), "joined 2024-03-05T10:00:00Z", "2024-03-05"),
        (("date",), "Jan 2023", "2023-01-01"),
        (("country",), "Deutschland", "DE"),
        (("countries",), "Ships to: UK, Ireland", ["GB", "IE"]),
        (("currency",), "€", "EUR"),
        (("strip", "lower"), "  A  B ", "a b"),
    ],
)
def test_normalisers(chain: tuple[str, ...], raw: str, expected: object) -> None:
    assert apply_normalisers(raw, chain, NormaliseContext("http://x.onion/", None)) == expected


def test_price_normaliser_uses_the_profile_currency_for_bare_numbers() -> None:
    context = NormaliseContext("http://x.onion/", "EUR")
    assert apply_normalisers("49.90", ("price",), context) == Price(49.90, "EUR")
    assert apply_normalisers("0.01 BTC", ("price",), context) == Price(0.01, "BTC")


def test_price_normaliser_reads_a_range_broken_over_lines_as_its_low_end() -> None:
    context = NormaliseContext("http://x.onion/", None)
    assert apply_normalisers("50.00 - \n\t\t\t39000.00\n\t\t\tEUR", ("price",), context) == Price(50.0, "EUR")


def test_every_normaliser_survives_odd_input() -> None:
    context = NormaliseContext("http://x.onion/", None)
    for name in NORMALISERS:
        for raw in ("", "   ", "\x00\x01", "💊" * 50, "9" * 400):
            apply_normalisers(raw, (name,), context)


def test_the_project_profiles_all_load() -> None:
    folder = PROJECT_ROOT / "config" / "markets"
    profiles = MarketProfiles.load(folder)
    assert len(profiles) == len(list(folder.glob("*.yml")))
    for profile in profiles:
        assert "listing" in profile.pages
        assert profile.site_markers, f"{profile.source}: a site marker recognises saved pages and look-alikes"
