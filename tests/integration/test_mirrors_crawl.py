"""Mirrors and clones crawled: the demo world's mirror and phishing clone through the private Tor network.

nebula-market and its mirror, old-bazaar and its phishing clone (:mod:`harness.demo.copies`)
are crawled with `onionscope crawl` as `onionscope demo` crawls them (market hosts confirmed,
copies not); the crawl ends with the `onionscope index sites` step, whose groups must be
exactly the two the demo world plants, correctly labelled, and every onion typed a market.
"""

from __future__ import annotations

import secrets
from typing import Any, Iterator

import pytest

from harness.demo.site_names import CLONE_SITE, MIRROR_SITE, NEBULA, OLD_BAZAAR
from harness.demo_world import DemoWorld
from tests.integration.test_crawl_end_to_end import CrawlRun

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def crawled(demo_world: DemoWorld, es_node: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    from pipelines.es_client import make_client
    from pipelines.indices import delete_prefix

    assert demo_world.copies, "the demo world publishes no mirror or clone"
    run = CrawlRun(demo_world, es_node.url, f"test-mirrors-{secrets.token_hex(4)}", tmp_path_factory.mktemp("mirrors"))
    client = make_client(es_node.settings)
    hosts = {**demo_world.onion_hosts, MIRROR_SITE: demo_world.copies["mirror"]["onion_host"],
             CLONE_SITE: demo_world.copies["clone"]["onion_host"]}
    seeds = [f"http://{hosts[site]}/" for site in (NEBULA, MIRROR_SITE, OLD_BAZAAR, CLONE_SITE)]
    confirmations = [argument for pair in demo_world.market_hosts for argument in ("--market-host", pair)]
    try:
        result = run.onionscope("crawl", "--job", "mirrors", "--json", "--quiet",
                                *[argument for seed in seeds for argument in ("--seed", seed)], *confirmations)
        assert result.returncode == 0, result.stderr[-4000:]
        import json

        yield {"summary": json.loads(result.stdout), "hosts": hosts, "client": client, "prefix": run.prefix,
               "world": demo_world}
    finally:
        delete_prefix(client, run.prefix)
        client.close()


def test_the_crawl_ends_with_the_planted_mirror_pair_and_phishing_clone(crawled):
    sites = crawled["summary"]["sites"]
    assert "error" not in sites, sites
    site_of = {host: site for site, host in crawled["hosts"].items()}
    found = sorted((group["label"], sorted(site_of[host] for host in group["members"])) for group in sites["groups"])
    expected = sorted((group["label"], group["sites"]) for group in crawled["world"].copies["expected_groups"])
    assert found == expected
    assert sites["site_types"] == {"market": 4}


def test_the_onion_documents_carry_the_group_and_the_reasons(crawled):
    client, prefix, hosts = crawled["client"], crawled["prefix"], crawled["hosts"]
    clone = client.get(index=f"{prefix}-onions", id=hosts[CLONE_SITE])["_source"]
    assert clone["mirror_group_label"] == "possible-phishing-clone"
    assert sorted(clone["mirror_group_members"]) == sorted([hosts[CLONE_SITE], hosts[OLD_BAZAAR]])
    assert any("different wallets" in reason for reason in clone["mirror_group_reasons"])
    mirror = client.get(index=f"{prefix}-onions", id=hosts[MIRROR_SITE])["_source"]
    assert mirror["mirror_group_label"] == "mirrors" and mirror["site_type"] == "market"
