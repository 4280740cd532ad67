"""The whole page extraction, checked against the demo generator's ground truth.

A demo world is generated once per module into a temporary folder; every
expectation below comes from its ground_truth.json, none is written by hand.
"""

from __future__ import annotations

import logging
import re
import shutil
from pathlib import Path
from typing import Any, Iterator
from urllib.parse import urlsplit

import pytest
from hypothesis import given, settings, strategies as st

from crawler.extractors.document import extract_document
from crawler.extractors.market_profiles import MarketProfiles
from bench.quality import evaluate_market
from crawler.items import Listing, Page, Vendor, WalletMention
from harness.demo.generator import generate_world, placeholder_onion_hosts, site_directory
from harness.demo.hosts import derived_onion_host
from harness.demo.paths import file_for_target
from harness.demo.site_names import FORUM_NAME, MARKET_NAMES
from config.errors import UserError
from tests import PROJECT_ROOT

SEED = 4242
PROFILE_DIR = PROJECT_ROOT / "config" / "markets"
FETCHED_AT = "2025-12-01T00:00:00Z"


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    out_dir = tmp_path_factory.mktemp("world")
    return out_dir, generate_world(SEED, placeholder_onion_hosts(SEED), out_dir)


def confirm_demo_hosts(profiles: MarketProfiles, world: tuple[Path, dict[str, Any]]) -> MarketProfiles:
    # The demo markets' hosts are generated, so no profile lists them: confirm them, as the demo does.
    profiles.bind_hosts([(market, world[1]["sites"][market]["onion_host"]) for market in MARKET_NAMES])
    return profiles


@pytest.fixture()
def profiles(world: tuple[Path, dict[str, Any]]) -> MarketProfiles:
    return confirm_demo_hosts(MarketProfiles.load(PROFILE_DIR), world)


def pages_of(world: tuple[Path, dict[str, Any]], site: str, page_type: str | None = None) -> Iterator[tuple[str, bytes]]:
    out_dir, truth = world
    info = truth["sites"][site]
    for url in info["pages"]:
        if page_type is not None and info["page_types"][url] != page_type:
            continue
        parts = urlsplit(url)
        relative = file_for_target(parts.path or "/", parts.query)
        assert relative is not None
        yield url, (site_directory(out_dir, site) / relative).read_bytes()


def first_page(world: tuple[Path, dict[str, Any]], site: str, page_type: str) -> tuple[str, bytes]:
    return next(pages_of(world, site, page_type))


@pytest.mark.parametrize("market", MARKET_NAMES)
def test_profiles_reach_the_ground_truth(world: tuple[Path, dict[str, Any]], profiles: MarketProfiles, market: str) -> None:
    scores = evaluate_market(market, pages_of(world, market), world[1], profiles)
    assert scores.drift_events == 0
    assert scores.rejected_items == 0
    for field in ("item", "title", "price", "vendor", "ships_from", "ships_to", "category", "language"):
        score = scores.listings[field]
        assert score.precision >= 0.9 and score.recall >= 0.9, (market, field, score)
    for field in ("item", "name", "pgp_fingerprints", "wallets", "joined"):
        score = scores.vendors[field]
        assert score.precision >= 0.9 and score.recall >= 0.9, (market, field, score)


@pytest.mark.parametrize("market", MARKET_NAMES)
def test_generic_extractor_finds_listings_without_profiles(world: tuple[Path, dict[str, Any]], market: str) -> None:
    scores = evaluate_market(market, pages_of(world, market), world[1], profiles=None)
    for field in ("item", "title", "price"):
        score = scores.listings[field]
        assert score.precision >= 0.9 and score.recall >= 0.9, (market, field, score)


def test_forum_pages_yield_no_listings_or_vendors(world: tuple[Path, dict[str, Any]], profiles: MarketProfiles) -> None:
    for url, html in pages_of(world, FORUM_NAME):
        document = extract_document(html, url, FETCHED_AT, "job", profiles=profiles)
        assert document.listings == [] and document.vendors == [], url


def test_listing_items_carry_page_wallets_and_mentions(world: tuple[Path, dict[str, Any]], profiles: MarketProfiles) -> None:
    truth = world[1]
    with_wallets = [record for record in truth["listings"] if record["wallets"]]
    assert with_wallets, "the demo world should have listings with payment addresses"
    record = with_wallets[0]
    site_pages = dict(pages_of(world, record["market"], "listing"))
    document = extract_document(site_pages[record["url"]], record["url"], FETCHED_AT, "job-1", profiles=profiles)
    listing = document.listings[0]
    assert set(record["wallets"]) <= set(listing.wallets)
    mentions = {mention.address: mention for mention in document.wallet_mentions}
    for address in record["wallets"]:
        mention = mentions[address]
        assert (mention.market, mention.listing_id, mention.vendor) == (record["market"], record["listing_id"], record["vendor"])
        assert mention.page_url == record["url"] and mention.job_id == "job-1" and mention.fetched_at == FETCHED_AT
    items = document.items()
    # The page comes last, so a page counted as done by --resume never has items still to write.
    assert isinstance(items[-1], Page) and items[-1].market == record["market"] and items[-1].page_type == "listing"
    assert not any(isinstance(item, Page) for item in items[:-1])
    assert all(isinstance(item, (Page, Listing, Vendor, WalletMention)) for item in items)


def test_vendor_page_item(world: tuple[Path, dict[str, Any]], profiles: MarketProfiles) -> None:
    record = world[1]["vendors"][0]
    site_pages = dict(pages_of(world, record["market"], "vendor"))
    document = extract_document(site_pages[record["profile_url"]], record["profile_url"], FETCHED_AT, "job", profiles=profiles)
    (vendor,) = document.vendors
    assert vendor.name == record["name"]
    assert vendor.pgp_fingerprints == record["pgp_fingerprints"]
    assert set(vendor.wallets) == set(record["wallets"])
    assert vendor.joined == record["joined"]
    assert vendor.doc_id() != ""


def profiles_listing_the_demo_hosts(tmp_path: Path, world: tuple[Path, dict[str, Any]]) -> MarketProfiles:
    """The project's profiles with each demo market's onion host in its ``match.hosts``."""
    import yaml

    for path in PROFILE_DIR.glob("*.yml"):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        data["match"]["hosts"] = [world[1]["sites"][data["name"]]["onion_host"]]
        (tmp_path / path.name).write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return MarketProfiles.load(tmp_path)


def test_a_copy_of_a_market_on_another_onion_is_indexed_under_its_own_host(
    world: tuple[Path, dict[str, Any]], tmp_path: Path
) -> None:
    profiles = profiles_listing_the_demo_hosts(tmp_path, world)
    truth = world[1]
    record = next(r for r in truth["listings"] if r["market"] == "nebula-market")
    vendor_record = next(v for v in truth["vendors"] if (v["market"], v["name"]) == ("nebula-market", record["vendor"]))
    listing_pages = dict(pages_of(world, "nebula-market", "listing"))
    vendor_pages = dict(pages_of(world, "nebula-market", "vendor"))
    real = extract_document(listing_pages[record["url"]], record["url"], FETCHED_AT, "job", profiles=profiles)
    real_vendor = extract_document(vendor_pages[vendor_record["profile_url"]], vendor_record["profile_url"],
                                   FETCHED_AT, "job", profiles=profiles)
    (real_listing,), (real_vendor_item,) = real.listings, real_vendor.vendors
    assert (real_listing.market, real_listing.title, real_vendor_item.market) == ("nebula-market", record["title"], "nebula-market")

    # The same bytes, brand markup and path (/product/<id>/), served by another onion.
    impostor = derived_onion_host(SEED, "impostor")
    copy_url = f"http://{impostor}{urlsplit(record['url']).path}"
    copy = extract_document(listing_pages[record["url"]], copy_url, FETCHED_AT, "job", profiles=profiles)
    (copied_listing,) = copy.listings
    assert copied_listing.doc_id() != real_listing.doc_id()
    assert (copy.market, copy.page.market, copied_listing.market) == (impostor, impostor, impostor)
    assert copied_listing.title == record["title"]  # still extracted, by the profile it looks like
    assert (copy.looks_like_market, copy.page.looks_like_market, copied_listing.looks_like_market) == (
        "nebula-market", "nebula-market", "nebula-market")
    assert copy.drift == [] and copy.stats()["extract/looks_like/nebula-market"] == 1
    assert {mention.market for mention in copy.wallet_mentions} <= {impostor}

    vendor_copy_url = f"http://{impostor}{urlsplit(vendor_record['profile_url']).path}"
    vendor_copy = extract_document(vendor_pages[vendor_record["profile_url"]], vendor_copy_url, FETCHED_AT, "job",
                                   profiles=profiles)
    (copied_vendor,) = vendor_copy.vendors
    assert copied_vendor.doc_id() != real_vendor_item.doc_id()
    assert (copied_vendor.market, copied_vendor.looks_like_market) == (impostor, "nebula-market")

    # Nothing was remembered: the impostor's next page, without the marker, is no market's page.
    plain = extract_document(b"<html><body><h1>Login</h1></body></html>", f"http://{impostor}/login/", FETCHED_AT,
                             "job", profiles=profiles)
    assert plain.market is None and plain.looks_like_market is None
    # The real market's own pages still are its own.
    again = extract_document(listing_pages[record["url"]], record["url"], FETCHED_AT, "job", profiles=profiles)
    assert again.listings[0].doc_id() == real_listing.doc_id() and again.looks_like_market is None


def broken_profiles(
    tmp_path: Path, world: tuple[Path, dict[str, Any]], market: str, field: str, selector: str
) -> MarketProfiles:
    """The project's profiles with one listing field's selector pointing at nothing (demo hosts confirmed)."""
    import yaml

    for path in PROFILE_DIR.glob("*.yml"):
        shutil.copy(path, tmp_path / path.name)
    path = tmp_path / f"{market}.yml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["pages"]["listing"]["fields"][field] = {"css": selector}
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return confirm_demo_hosts(MarketProfiles.load(tmp_path), world)


@pytest.mark.parametrize("market", MARKET_NAMES)
def test_drift_is_counted_and_logged_per_field(
    world: tuple[Path, dict[str, Any]], tmp_path: Path, market: str, caplog: pytest.LogCaptureFixture
) -> None:
    profiles = broken_profiles(tmp_path, world, market, "vendor", "span.renamed-vendor-class")
    url, html = first_page(world, market, "listing")
    document = extract_document(html, url, FETCHED_AT, "job", profiles=profiles)
    assert [(event.market, event.field, event.url) for event in document.drift] == [(market, "vendor", url)]
    assert document.stats()[f"extract/drift/{market}/vendor"] == 1
    assert document.listings and document.listings[0].vendor is None  # the rest is still indexed
    with caplog.at_level(logging.WARNING):
        document.log_problems(logging.getLogger("test"))
    assert any(market in r.message and "'vendor'" in r.message and url in r.message for r in caplog.records)


def test_listing_without_title_is_counted_not_indexed(
    world: tuple[Path, dict[str, Any]], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    market = MARKET_NAMES[0]
    profiles = broken_profiles(tmp_path, world, market, "title", "h1.nothing-here")
    url, html = first_page(world, market, "listing")
    document = extract_document(html, url, FETCHED_AT, "job", profiles=profiles)
    assert document.listings == []
    assert [(r.kind, r.market, r.url) for r in document.rejected] == [("listing", market, url)]
    stats = document.stats()
    assert stats[f"extract/empty/{market}/listing"] == 1
    assert stats[f"extract/drift/{market}/title"] == 1
    with caplog.at_level(logging.WARNING):
        document.log_problems(logging.getLogger("test"))
    assert any("empty listing not indexed" in r.message and url in r.message for r in caplog.records)


@pytest.mark.parametrize("market", MARKET_NAMES)
def test_forced_market_on_a_saved_page_uses_the_page_marker(
    world: tuple[Path, dict[str, Any]], profiles: MarketProfiles, market: str
) -> None:
    url, html = first_page(world, market, "listing")
    record = next(r for r in world[1]["listings"] if r["url"] == url)
    document = extract_document(html, "file:///saved/page.html", FETCHED_AT, "job", profiles=profiles, market=market)
    assert document.market == market and document.page_type == "listing"
    assert document.listings[0].title == record["title"]
    assert document.listings[0].vendor == record["vendor"]


def test_unknown_market_is_a_user_error(profiles: MarketProfiles) -> None:
    with pytest.raises(UserError, match="no market profile named 'nope'"):
        extract_document("<html></html>", "http://x.onion/", FETCHED_AT, "job", profiles=profiles, market="nope")
    with pytest.raises(UserError, match="no market profiles are loaded"):
        extract_document("<html></html>", "http://x.onion/", FETCHED_AT, "job", market="old-bazaar")


def test_page_item_basics(world: tuple[Path, dict[str, Any]], profiles: MarketProfiles) -> None:
    url, html = first_page(world, MARKET_NAMES[0], "listing")
    document = extract_document(html, url, FETCHED_AT, "job", profiles=profiles, status=200, depth=3)
    page = document.page
    assert page.url == url and page.canonical_url == url and page.depth == 3
    assert page.onion_host == world[1]["sites"][MARKET_NAMES[0]]["onion_host"]
    assert len(page.content_hash) == 64 and page.title and page.text
    assert page.language == document.language.code == "en"


_PROFILES_FOR_FUZZING = MarketProfiles.load(PROFILE_DIR)


@settings(max_examples=40, deadline=None)
@given(st.binary(max_size=2_000))
def test_arbitrary_bytes_never_crash(data: bytes) -> None:
    url = "http://" + "a" * 56 + ".onion/item/T1.html"
    document = extract_document(data, url, FETCHED_AT, "job", profiles=_PROFILES_FOR_FUZZING)
    assert document.page.content_hash
    for listing in document.listings:
        assert listing.title


def test_error_pages_yield_no_items_and_no_drift(world: tuple[Path, dict[str, Any]], profiles: MarketProfiles) -> None:
    url, html = first_page(world, MARKET_NAMES[0], "listing")
    document = extract_document(html, url, FETCHED_AT, "job", profiles=profiles, status=404)
    assert document.listings == [] and document.drift == [] and document.rejected == []
    assert document.items() == document.wallet_mentions + [document.page]
    assert document.page.status == 404


def test_page_bytes_are_decoded_by_their_declared_charset(profiles: MarketProfiles) -> None:
    html = (
        '<html><head><meta charset="windows-1251"><title>Мефедрон 1г</title></head><body>'
        "<h1>Мефедрон 1г</h1><dl><dt>Продавец</dt><dd>Химик</dd><dt>Цена</dt><dd>3 500 ₽</dd></dl></body></html>"
    )
    raw = html.replace("₽", "руб.").encode("cp1251")
    document = extract_document(raw, "http://" + "a" * 56 + ".onion/item/1", FETCHED_AT, "job", profiles=profiles)
    assert document.page.title == "Мефедрон 1г"
    (listing,) = document.listings
    assert (listing.vendor, listing.price_amount, listing.price_currency) == ("Химик", 3500.0, "RUB")
    assert listing.substances == ["mephedrone"]


# --- scraper traps: identifiers the browser does not show are never attributed -------------------

_PGP_BLOCK = re.compile(r"-----BEGIN PGP PUBLIC KEY BLOCK-----.*?-----END PGP PUBLIC KEY BLOCK-----", re.S)


def trap_vendor_page(world: tuple[Path, dict[str, Any]]) -> tuple[dict[str, Any], dict[str, Any], str, str]:
    """A Nebula vendor page with another vendor's wallet, PGP key and Jabber id planted in hidden
    elements inside the vendor card, where the profile's own selectors reach them."""
    truth = world[1]
    vendor = next(v for v in truth["vendors"] if v["market"] == "nebula-market" and v["wallets"] and v["contacts"])
    victim = next(v for v in truth["vendors"] if v["market"] == "tundra-shop" and v["wallets"] and v["pgp_fingerprints"])
    url = vendor["profile_url"]
    html = dict(pages_of(world, "nebula-market", "vendor"))[url].decode("utf-8")
    (victim_key,) = _PGP_BLOCK.findall(dict(pages_of(world, "tundra-shop", "vendor"))[victim["profile_url"]].decode("utf-8"))
    html = html.replace("</head>", "<style>.pgp-mirror { display: none }</style></head>")
    html = html.replace('<ul class="wallets">',
                        f'<ul class="wallets"><li style="display:none"><code>{victim["wallets"][0]}</code></li>')
    html = html.replace('<ul class="contacts">', '<ul class="contacts"><li hidden>Jabber: decoy@xmpp.jp</li>')
    # Before the real key, so that the profile's first <pre> is the planted one.
    html = html.replace("<details open>", f'<pre class="pgp-mirror">{victim_key}</pre><details open>')
    assert victim["wallets"][0] not in vendor["wallets"]
    return vendor, victim, url, html


@pytest.mark.parametrize("mode", ["profile", "generic"])
def test_hidden_wallet_key_and_contact_are_never_attributed_to_the_vendor(
    world: tuple[Path, dict[str, Any]], profiles: MarketProfiles, mode: str
) -> None:
    from bench.quality import _contact_key

    vendor_truth, victim, url, html = trap_vendor_page(world)
    document = extract_document(html, url, FETCHED_AT, "job", profiles=profiles if mode == "profile" else None)
    (vendor,) = document.vendors
    assert vendor.name == vendor_truth["name"]
    assert set(vendor.wallets) == set(vendor_truth["wallets"])
    assert vendor.pgp_fingerprints == vendor_truth["pgp_fingerprints"]
    assert {_contact_key(c) for c in vendor.contacts} == {_contact_key(c) for c in vendor_truth["contacts"]}
    # The page records the planted identifiers, marked hidden.
    decoy_wallet, decoy_key = victim["wallets"][0], victim["pgp_fingerprints"][0]
    assert [w["hidden"] for w in document.page.wallets if w["normalized"] == decoy_wallet] == [True]
    assert not any(w["hidden"] for w in document.page.wallets if w["normalized"] in vendor_truth["wallets"])
    assert {"kind": "xmpp", "value": "decoy@xmpp.jp", "source": "text", "obfuscated": False, "hidden": True} \
        in document.page.contacts
    assert set(document.page.hidden_identifiers) == {decoy_wallet, decoy_key, "decoy@xmpp.jp"}
    assert decoy_key in document.page.pgp_fingerprints  # the page does carry it
    # The wallet mention of the decoy names neither vendor nor listing; the vendor's own do.
    mentions = {mention.address: mention for mention in document.wallet_mentions}
    assert (mentions[decoy_wallet].vendor, mentions[decoy_wallet].hidden) == (None, True)
    assert {mentions[address].vendor for address in vendor_truth["wallets"]} == {vendor_truth["name"]}


def test_a_hidden_wallet_beside_a_listings_own_is_not_the_listings(
    world: tuple[Path, dict[str, Any]], profiles: MarketProfiles
) -> None:
    truth = world[1]
    record = next(record for record in truth["listings"] if record["wallets"])
    decoy = next(w["address"] for w in truth["wallets"] if w["address"] not in record["wallets"])
    html = dict(pages_of(world, record["market"], "listing"))[record["url"]].decode("utf-8")
    html = html.replace("</body>", f'<div style="visibility:hidden">Pay here: {decoy}</div></body>')
    document = extract_document(html, record["url"], FETCHED_AT, "job", profiles=profiles)
    (listing,) = document.listings
    assert set(listing.wallets) == set(record["wallets"])
    mentions = {mention.address: mention for mention in document.wallet_mentions}
    assert (mentions[decoy].listing_id, mentions[decoy].vendor, mentions[decoy].hidden) == (None, None, True)
    for address in record["wallets"]:
        assert (mentions[address].listing_id, mentions[address].hidden) == (record["listing_id"], False)
    assert document.page.hidden_identifiers == [decoy]


# --- every onion a page names -----------------------------------------------------------------------


def test_onion_mentions_cover_links_and_text_and_discovery_takes_the_shown_v3_ones() -> None:
    own, linked, written, obfuscated, trap = (derived_onion_host(SEED, name) for name in
                                              ("own", "linked", "written", "obfuscated", "trap"))
    html = (
        f'<html><body><a href="http://{own}/next">next</a><a href="http://www.{linked}/">mirror</a>'
        f"<p>Also at {written} and {obfuscated[:56]} [dot] onion; old: expyuzz4wqqyqhjn.onion</p>"
        f'<p>Our address: {own}</p><div style="display:none"><a href="http://{trap}/">x</a> {trap}</div></body></html>'
    )
    page = extract_document(html, f"http://{own}/listing/1", FETCHED_AT, "job").page
    assert page.onion_mentions == [
        {"host": written, "version": 3, "where": "text", "obfuscated": False, "hidden": False},
        {"host": obfuscated, "version": 3, "where": "text", "obfuscated": True, "hidden": False},
        {"host": "expyuzz4wqqyqhjn.onion", "version": 2, "where": "text", "obfuscated": False, "hidden": False},
        {"host": linked, "version": 3, "where": "link", "obfuscated": False, "hidden": False},
        {"host": trap, "version": 3, "where": "text", "obfuscated": False, "hidden": True},
        {"host": trap, "version": 3, "where": "link", "obfuscated": False, "hidden": True},
    ]
    # The page's own host is no mention; v2 services are gone; a hidden link is a trap for crawlers.
    assert page.discovery_onions == [written, obfuscated, linked]
    assert page.hidden_identifiers == [trap]
    assert page.to_doc()["onion_mentions"] == page.onion_mentions
