"""A copy of a profiled market on another onion cannot rewrite the real market's records (real Elasticsearch).

The real Nebula listing, its vendor and a Tundra vendor are extracted from the
demo generator's pages and indexed.  Then another onion serves Nebula's brand
markup at the same /product/<id>/ path -- with its own title and vendor -- and
a vendor page under the real vendor's name that carries the Tundra vendor's
PGP key and wallets.  The real listing and vendor must come out unchanged, and
no link may appear between the Nebula vendor and the Tundra one.

Then the upgrade path: indices written before the host rule (schema 1, ids
of market + key alone) migrate to the new templates and keep their ids.

Expected values come from the generator's ground_truth.json, never from the
extractor under test.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from crawler.extractors.document import extract_document
from crawler.extractors.market_profiles import MarketProfiles
from crawler.items import Listing
from crawler.job import create_crawl_job
from harness.demo.generator import generate_world, placeholder_onion_hosts, site_directory
from harness.demo.hosts import derived_onion_host
from harness.demo.paths import file_for_target
from onionscope.commands.crawl import run_crawl
from config.errors import UserError
from tests import PROJECT_ROOT
from pipelines import indices
from pipelines.item_indexer import BulkIndexer
from search.pivots import listing_detail, vendor_detail
from tests.integration.older_templates import older_templates

pytestmark = pytest.mark.integration

SEED = 5150
FETCHED_AT = "2026-11-28T10:00:00Z"
COPIED_AT = "2026-11-29T10:00:00Z"
KINDS = ("pages", "listings", "vendors", "wallets", "onions")
IMPOSTOR_TITLE = "Nebula moved - order here, pay to the address below"
IMPOSTOR_VENDOR = "NebulaSupportTeam"
_PGP_BLOCK = re.compile(r"-----BEGIN PGP PUBLIC KEY BLOCK-----.*?-----END PGP PUBLIC KEY BLOCK-----", re.S)


def page_bytes(out_dir: Path, site: str, url: str) -> bytes:
    parts = urlsplit(url)
    relative = file_for_target(parts.path or "/", parts.query)
    assert relative is not None
    return (site_directory(out_dir, site) / relative).read_bytes()


def profiles_listing(tmp_path: Path, truth: dict[str, Any]) -> MarketProfiles:
    """The project's profiles, each demo market listing its generated host (works with or without --market-host)."""
    folder = tmp_path / "markets"
    folder.mkdir()
    for path in (PROJECT_ROOT / "config" / "markets").glob("*.yml"):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        data["match"]["hosts"] = [truth["sites"][data["name"]]["onion_host"]]
        (folder / path.name).write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return MarketProfiles.load(folder)


def stored(client: Any, prefix: str, kind: str, doc_id: str) -> dict[str, Any]:
    return client.get(index=indices.alias_name(prefix, kind), id=doc_id)["_source"]


def same_vendor_elsewhere(client: Any, prefix: str, vendor_id: str) -> list[dict[str, Any]]:
    for kind in KINDS:
        client.indices.refresh(index=indices.alias_name(prefix, kind))
    detail = vendor_detail(client, prefix, vendor_id)
    assert detail is not None
    return detail["same_vendor_elsewhere"]


def test_a_copy_on_another_onion_leaves_the_real_listing_and_vendor_unchanged(
    es: tuple[Any, str], tmp_path: Path
) -> None:
    client, prefix = es
    out_dir = tmp_path / "world"
    truth = generate_world(SEED, placeholder_onion_hosts(SEED), out_dir)
    profiles = profiles_listing(tmp_path, truth)
    cross_market = {vendor["name"] for vendor in truth["cross_market_vendors"]}
    # A Nebula listing whose vendor sells nowhere else, and a Tundra vendor to steal identifiers from.
    listing = next(r for r in truth["listings"] if r["market"] == "nebula-market" and r["vendor"] not in cross_market)
    vendor = next(v for v in truth["vendors"] if (v["market"], v["name"]) == ("nebula-market", listing["vendor"]))
    victim = next(v for v in truth["vendors"] if v["market"] == "tundra-shop" and v["name"] not in cross_market)
    assert victim["pgp_fingerprints"] and victim["wallets"]

    indices.ensure_indices(client, prefix, kinds=KINDS)
    indexer = BulkIndexer(client, prefix, None, max_retries=0)

    def index(html: bytes, url: str, fetched_at: str) -> Any:
        document = extract_document(html, url, fetched_at, "job-impersonation", profiles=profiles)
        outcome = indexer.index_items(document.items())
        assert outcome.failed == 0
        return document

    real_listing = index(page_bytes(out_dir, "nebula-market", listing["url"]), listing["url"], FETCHED_AT).listings[0]
    real_vendor = index(page_bytes(out_dir, "nebula-market", vendor["profile_url"]), vendor["profile_url"],
                        FETCHED_AT).vendors[0]
    tundra_page = page_bytes(out_dir, "tundra-shop", victim["profile_url"])
    tundra_vendor = index(tundra_page, victim["profile_url"], FETCHED_AT).vendors[0]

    fields = ["market", "onion_host", "url", "title", "vendor", "wallets", "price_amount"]
    listing_before = {key: stored(client, prefix, "listings", real_listing.doc_id()).get(key) for key in fields}
    assert (listing_before["title"], listing_before["vendor"]) == (listing["title"], listing["vendor"])
    vendor_before = stored(client, prefix, "vendors", real_vendor.doc_id())
    assert vendor_before["pgp_fingerprints"] == vendor["pgp_fingerprints"]
    assert set(vendor_before["wallets"]) == set(vendor["wallets"])
    # Before the copy, neither vendor is linked to anyone: a link afterwards is the copy's doing.
    assert same_vendor_elsewhere(client, prefix, real_vendor.doc_id()) == []
    assert same_vendor_elsewhere(client, prefix, tundra_vendor.doc_id()) == []

    # Another onion: Nebula's markup at the same /product/<id>/ path, its own title, vendor and wallet ...
    impostor = derived_onion_host(SEED, "impostor")
    listing_html = page_bytes(out_dir, "nebula-market", listing["url"]).decode("utf-8")
    listing_html = listing_html.replace(listing["title"], IMPOSTOR_TITLE).replace(listing["vendor"], IMPOSTOR_VENDOR)
    listing_html = listing_html.replace("</main>", f"<p>Pay to {victim['wallets'][0]}</p></main>")
    assert IMPOSTOR_TITLE in listing_html and 'class="brand"' in listing_html
    copy = index(listing_html.encode("utf-8"), f"http://{impostor}{urlsplit(listing['url']).path}", COPIED_AT)
    # ... and the real vendor's page, carrying the Tundra vendor's PGP key and wallets.
    vendor_html = page_bytes(out_dir, "nebula-market", vendor["profile_url"]).decode("utf-8")
    (real_key,), (stolen_key,) = _PGP_BLOCK.findall(vendor_html), _PGP_BLOCK.findall(tundra_page.decode("utf-8"))
    vendor_html = vendor_html.replace(real_key, stolen_key)
    for own, stolen in zip(vendor["wallets"], victim["wallets"] * len(vendor["wallets"])):
        vendor_html = vendor_html.replace(own, stolen)
    vendor_copy = index(vendor_html.encode("utf-8"), f"http://{impostor}{urlsplit(vendor['profile_url']).path}",
                        COPIED_AT)

    listing_after = {key: stored(client, prefix, "listings", real_listing.doc_id()).get(key) for key in fields}
    assert listing_after == listing_before
    vendor_after = stored(client, prefix, "vendors", real_vendor.doc_id())
    assert vendor_after["pgp_fingerprints"] == vendor_before["pgp_fingerprints"]
    assert vendor_after["wallets"] == vendor_before["wallets"]
    assert (vendor_after["onion_host"], vendor_after["last_seen"]) == (vendor_before["onion_host"], FETCHED_AT)
    # No link between the Nebula vendor and the Tundra one, in either direction.
    assert same_vendor_elsewhere(client, prefix, real_vendor.doc_id()) == []
    tundra_links = same_vendor_elsewhere(client, prefix, tundra_vendor.doc_id())
    assert "nebula-market" not in {link["market"] for link in tundra_links}
    # What the copy did create is the impostor's own, under its host, marked as a look-alike.
    assert [(link["market"], link["looks_like_market"]) for link in tundra_links] == [(impostor, "nebula-market")]
    (copied_listing,), (copied_vendor,) = copy.listings, vendor_copy.vendors
    copied = stored(client, prefix, "listings", copied_listing.doc_id())
    assert (copied["market"], copied["looks_like_market"], copied["title"]) == (impostor, "nebula-market", IMPOSTOR_TITLE)
    assert stored(client, prefix, "vendors", copied_vendor.doc_id())["market"] == impostor
    client.indices.refresh(index=indices.alias_name(prefix, "listings"))
    nebula = client.search(index=indices.alias_name(prefix, "listings"),
                           query={"term": {"market": "nebula-market"}})["hits"]["hits"]
    assert [hit["_id"] for hit in nebula] == [real_listing.doc_id()]
    # The listing pages still link each listing to its own vendor: the real one to the real vendor.
    real_detail, copied_detail = listing_detail(client, prefix, real_listing.doc_id()), listing_detail(
        client, prefix, copied_listing.doc_id())
    assert real_detail is not None and copied_detail is not None
    assert real_detail["vendor_id"] == real_vendor.doc_id()
    assert copied_detail["vendor_id"] not in (None, real_vendor.doc_id())


def schema_1_templates(tmp_path: Path) -> Path:
    """The templates as they were before the host rule: no market_host_known, no looks_like_market."""
    both = ("market_host_known", "looks_like_market")
    return older_templates(tmp_path / "templates-v1",
                           {"pages": (1, ("looks_like_market",)), "listings": (1, both), "vendors": (1, both)})


def sha256_id(*parts: str) -> str:
    return hashlib.sha256("\0".join(parts).encode("utf-8")).hexdigest()


def test_indices_from_before_the_host_rule_migrate_and_keep_their_ids(
    es: tuple[Any, str], es_node: Any, tmp_path: Path
) -> None:
    client, prefix = es
    host = derived_onion_host(SEED, "nebula")
    indices.ensure_indices(client, prefix, kinds=KINDS, templates_dir=schema_1_templates(tmp_path))
    # Documents a crawl wrote before: ids of market + key alone, no market_host_known field.
    old_listing_id, old_vendor_id = sha256_id("nebula-market", "123"), sha256_id("nebula-market", "lunarpharmacy")
    client.index(index=indices.alias_name(prefix, "listings"), id=old_listing_id, refresh=True, document={
        "market": "nebula-market", "listing_id": "123", "title": "old title", "vendor": "LunarPharmacy",
        "onion_host": host, "fetched_at": FETCHED_AT})
    client.index(index=indices.alias_name(prefix, "vendors"), id=old_vendor_id, refresh=True, document={
        "market": "nebula-market", "name": "LunarPharmacy", "onion_host": host, "fetched_at": FETCHED_AT})

    status = {row.kind: row for row in indices.index_status(client, prefix)}
    assert {kind for kind, row in status.items() if row.needs_migration} == {"pages", "listings", "vendors"}
    # A crawl would have every document rejected by the old strict mappings: it refuses to start instead.
    settings = es_node.settings.replace(index_prefix=prefix, tor_socks="127.0.0.1:9", var_dir=str(tmp_path / "var"))
    with pytest.raises(UserError, match="onionscope index migrate pages`, `onionscope index migrate listings"):
        run_crawl(settings, create_crawl_job([f"http://{host}/"], "job-before-migration"))
    for kind in ("pages", "listings", "vendors"):
        indices.migrate(client, prefix, kind)
    assert not any(row.needs_migration for row in indices.index_status(client, prefix))

    # The listing page links to its vendor by the id the vendor has always had.
    detail = listing_detail(client, prefix, old_listing_id)
    assert detail is not None and detail["vendor_id"] == old_vendor_id
    # A re-crawl on the market's own host updates the same document instead of adding one.
    recrawled = Listing(market="nebula-market", listing_id="123", url=f"http://{host}/product/123/", title="new title",
                        fetched_at=COPIED_AT, job_id="j", onion_host=host, vendor="LunarPharmacy",
                        market_host_known=True)
    assert BulkIndexer(client, prefix, None, max_retries=0).index_items([recrawled]).failed == 0
    assert stored(client, prefix, "listings", old_listing_id)["title"] == "new title"
    client.indices.refresh(index=indices.alias_name(prefix, "listings"))
    assert client.count(index=indices.alias_name(prefix, "listings"))["count"] == 1
