"""Site types and mirror groups of the demo world, through the real extraction, bulk pipeline and Elasticsearch node.

The demo generator writes its sites and, with :mod:`harness.demo.copies`, a mirror of
nebula-market and a phishing clone of old-bazaar (its wallets swapped).  Every page of
every site goes through :func:`crawler.extractors.document.extract_document` (market
hosts confirmed, as the demo crawl does) and :class:`pipelines.item_indexer.BulkIndexer`
into the real node; then ``onionscope index sites`` runs, as after a crawl, and the
onion documents, the API and ``/onions/{host}`` must show the planted groups, correctly
labelled, and each site's type.  (The pages are read from the generator's files, not
fetched over the private Tor network: the crawl itself is test_crawl_end_to_end's.)
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient

from config.paths import markets_dir
from harness.demo import paths
from harness.demo.copies import COPY_SITES, generate_copies
from harness.demo.generator import generate_world, placeholder_onion_hosts
from harness.demo.hosts import derived_onion_host
from harness.demo.site_names import FORUM_NAME, MARKET_NAMES, NEBULA, OLD_BAZAAR

pytestmark = pytest.mark.integration
PROJECT_ROOT = Path(__file__).resolve().parents[2]
SEED = 11


def _site_pages(out: Path, site: str, host: str, truth_pages: list[str], original_host: str):
    for url in truth_pages:
        parts = urlsplit(url)
        relative = paths.file_for_target(parts.path, parts.query)
        file = out / "sites" / site / relative
        if file.is_file():
            yield url.replace(original_host, host), file.read_bytes()


@pytest.fixture(scope="module")
def world(es_node, tmp_path_factory):
    from crawler.extractors.document import extract_document
    from crawler.extractors.market_profiles import MarketProfiles
    from pipelines.es_client import make_client
    from pipelines.indices import delete_prefix, ensure_indices
    from pipelines.item_indexer import BulkIndexer

    out = tmp_path_factory.mktemp("demo")
    hosts = placeholder_onion_hosts(SEED)
    truth = generate_world(SEED, hosts, out)
    copy_hosts = {site: derived_onion_host(SEED, f"site-{site}") for site in COPY_SITES}
    copies = generate_copies(SEED, truth, out, copy_hosts)
    all_hosts = {**hosts, **copy_hosts}
    profiles = MarketProfiles.load(markets_dir())
    profiles.bind_hosts([(market, hosts[market]) for market in MARKET_NAMES])
    client = make_client(es_node.settings)
    prefix = f"test-sites-{uuid.uuid4().hex[:10]}"
    settings = es_node.settings.replace(index_prefix=prefix, var_dir=str(tmp_path_factory.mktemp("var")))
    try:
        ensure_indices(client, prefix)
        indexer = BulkIndexer(client, prefix, None, max_retries=1, backoff_seconds=0.1)
        sources = {site: site for site in hosts}
        sources.update({copies["mirror"]["site"]: copies["mirror"]["of"], copies["clone"]["site"]: copies["clone"]["of"]})
        for site, source in sources.items():
            items = []
            for url, html in _site_pages(out, site, all_hosts[site], truth["sites"][source]["pages"], hosts[source]):
                items.extend(extract_document(html, url, "2026-03-01T00:00:00Z", "sites-test", profiles).items())
            outcome = indexer.index_items(items)
            assert not outcome.failed, outcome.failed
        client.indices.refresh(index=f"{prefix}-*")
        yield {"client": client, "prefix": prefix, "settings": settings, "hosts": all_hosts, "copies": copies}
    finally:
        delete_prefix(client, prefix)
        client.close()


def _onion(world, site: str) -> dict:
    return world["client"].get(index=f"{world['prefix']}-onions", id=world["hosts"][site])["_source"]


def test_index_sites_finds_the_mirror_pair_and_the_phishing_clone(world):
    environment = dict(os.environ)
    environment.update({"ONIONSCOPE_ES_URL": world["settings"].es_url, "ONIONSCOPE_INDEX_PREFIX": world["prefix"],
                        "ONIONSCOPE_VAR_DIR": str(world["settings"].var_dir)})
    ran = subprocess.run([sys.executable, "-m", "onionscope.cli", "index", "sites", "--json"], capture_output=True,
                         text=True, env=environment, cwd=PROJECT_ROOT, timeout=300)
    assert ran.returncode == 0, ran.stderr
    report = json.loads(ran.stdout)
    site_of = {host: site for site, host in world["hosts"].items()}
    found = sorted((group["label"], sorted(site_of[host] for host in group["members"])) for group in report["groups"])
    expected = sorted((group["label"], group["sites"]) for group in world["copies"]["expected_groups"])
    assert found == expected

    mirror, original = _onion(world, "nebula-mirror"), _onion(world, NEBULA)
    assert mirror["mirror_group"] == original["mirror_group"] and mirror["mirror_group_label"] == "mirrors"
    assert any("share" in reason and "PGP keys" in reason for reason in mirror["mirror_group_reasons"])
    clone = _onion(world, "bazaar-clone")
    assert clone["mirror_group_label"] == "possible-phishing-clone"
    assert any("different wallets" in reason for reason in clone["mirror_group_reasons"])
    assert _onion(world, "tundra-shop").get("mirror_group") is None


def test_every_demo_onion_gets_its_site_type(world):
    from pipelines.onion_sites import index_sites

    index_sites(world["client"], world["prefix"])
    for market in (*MARKET_NAMES, "nebula-mirror", "bazaar-clone"):
        onion = _onion(world, market)
        assert onion["site_type"] == "market", (market, onion["site_type_evidence"])
        assert 0.5 <= onion["site_type_confidence"] <= 1 and onion["site_type_evidence"]
    forum = _onion(world, FORUM_NAME)
    assert forum["site_type"] == "forum", forum["site_type_evidence"]
    # Pages are typed one by one too, and type: finds them.
    from search.results import search
    threads = search(world["client"], world["prefix"], f"type:forum onion:{world['hosts'][FORUM_NAME]}", kind="pages")
    everything = search(world["client"], world["prefix"], f"onion:{world['hosts'][FORUM_NAME]}", kind="pages")
    assert threads.total >= 0.8 * everything.total and threads.total > 0
    onions = search(world["client"], world["prefix"], "type:market", kind="onions", limit=20)
    assert {hit.source["onion_host"] for hit in onions.hits} == {world["hosts"][site] for site in
                                                               (*MARKET_NAMES, "nebula-mirror", "bazaar-clone")}
    assert {bucket["value"] for bucket in onions.facets["site_type"]} == {"market"}


def test_the_onion_page_shows_its_group_and_why(world):
    from search.api import create_app
    from search.auth import create_token
    from pipelines.onion_sites import index_sites

    index_sites(world["client"], world["prefix"])
    token, _ = create_token(world["client"], world["prefix"], "viewer", "sites")
    headers = {"authorization": f"Bearer {token}"}
    with TestClient(create_app(world["settings"], world["client"])) as http:
        clone_host = world["hosts"]["bazaar-clone"]
        data = http.get(f"/onions/{clone_host}", headers={**headers, "accept": "application/json"}).json()
        assert data["mirror_group"]["mirror_group_label"] == "possible-phishing-clone"
        assert set(data["mirror_group"]["mirror_group_members"]) == {clone_host, world["hosts"][OLD_BAZAAR]}
        assert data["site_type"]["site_type"] == "market"
        html = http.get(f"/onions/{clone_host}", headers={**headers, "accept": "text/html"}).text
        assert 'data-label="possible-phishing-clone"' in html and "possible phishing clone" in html
        assert f'href="/onions/{world["hosts"][OLD_BAZAAR]}"' in html and "different wallets" in html


def test_index_sites_right_after_the_crawls_last_batch_reads_every_page_of_it(es):
    """`onionscope crawl` runs the step as soon as the crawl's last batch is written, before the node's
    next scheduled refresh (about a second, later when it is busy; switched off here, so the test does not
    depend on the node's timing): the step must still read those pages, or their onions stay untyped."""
    import dataclasses

    from pipelines.indices import current_index, ensure_indices
    from pipelines.item_indexer import BulkIndexer
    from pipelines.onion_sites import index_sites
    from tests.integration.test_bulk_indexer import HOST, make_page

    client, prefix = es
    ensure_indices(client, prefix)
    client.indices.put_settings(index=current_index(client, prefix, "pages"), settings={"refresh_interval": "-1"})
    pages = [dataclasses.replace(make_page(n), site_type="forum", site_type_confidence=0.9) for n in (1, 2, 3)]
    assert BulkIndexer(client, prefix, None, max_retries=0).index_items(pages).failed == 0

    report = index_sites(client, prefix)

    assert report.onions == 1 and report.site_types == {"forum": 1}
    onion = client.get(index=f"{prefix}-onions", id=HOST)["_source"]
    assert onion["site_type"] == "forum" and onion["site_type_pages"] == 3
