"""End to end: the demo world crawled through the private Tor network into the real Elasticsearch.

One crawl per module (a subprocess, as `onionscope crawl` runs), into
indices an older version left (pages at schema 3, before onion mentions):
the crawl refuses until `onionscope index migrate pages` has run.  Then:
every reachable page indexed exactly once against the generator's ground
truth, and the listings, vendors and wallets it holds; a second crawl creates no duplicate; `onionscope search` finds a known
phrase on the right page; no media was requested; and the crawler process
opened no connection except to tor's SOCKS port and Elasticsearch, and looked
up no host name at all (audit hook) -- also while the market sites set session
cookies and tldextract's cache is empty, as on a fresh machine.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import subprocess
import sys
from pathlib import Path
from typing import Any, Iterator
from urllib.parse import urlsplit

import pytest

from crawler.urls import canonical_url, is_media_url
from harness.demo.server import SESSION_COOKIES, read_peer_log
from harness.demo_world import DemoWorld

pytestmark = pytest.mark.integration

PROJECT_ROOT = Path(__file__).resolve().parents[2]


class CrawlRun:
    def __init__(self, world: DemoWorld, es_url: str, prefix: str, work_dir: Path):
        self.world = world
        self.es_url = es_url
        self.prefix = prefix
        self.work_dir = work_dir
        self.audit_log = work_dir / "audit.jsonl"
        # Empty, as on a machine that never ran tldextract: nothing may fill it from the network.
        self.tldextract_cache = work_dir / "tldextract-cache"

    def environment(self) -> dict[str, str]:
        environment = {k: v for k, v in os.environ.items() if not k.startswith(("ONIONSCOPE_", "TLDEXTRACT_"))}
        environment.update(
            TLDEXTRACT_CACHE=str(self.tldextract_cache),
            ONIONSCOPE_TOR_SOCKS=self.world.socks_endpoints[0],
            ONIONSCOPE_ES_URL=self.es_url,
            ONIONSCOPE_INDEX_PREFIX=self.prefix,
            ONIONSCOPE_VAR_DIR=str(self.work_dir / "var"),
            # No testnet manifest is consulted: only the variables above say where tor is.
            ONIONSCOPE_TESTNET_DIR=str(self.work_dir / "no-testnet"),
        )
        return environment

    def onionscope(self, *arguments: str, audited: bool = False) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m"]
        command += ["tests.integration.audited_onionscope", str(self.audit_log)] if audited else ["onionscope.cli"]
        return subprocess.run(
            [*command, *arguments], cwd=PROJECT_ROOT, env=self.environment(),
            capture_output=True, text=True, timeout=600, check=False,
        )

    def crawl(self, job: str) -> dict[str, Any]:
        seeds = [arg for seed in self.world.seeds for arg in ("--seed", seed)]
        # As `onionscope demo` does: the demo markets' hosts are new with every network, so they are confirmed.
        confirmations = [arg for pair in self.world.market_hosts for arg in ("--market-host", pair)]
        result = self.onionscope("crawl", "--job", job, "--json", "--quiet", *seeds, *confirmations, audited=True)
        assert result.returncode == 0, f"crawl failed:\n{result.stdout}\n{result.stderr[-4000:]}"
        return json.loads(result.stdout)


@pytest.fixture(scope="module")
def crawl_run(demo_world: DemoWorld, es_node: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[CrawlRun]:
    from pipelines.es_client import make_client
    from pipelines.indices import delete_prefix

    # A prefix of its own: two test sessions on one node never share (or delete) each other's indices.
    run = CrawlRun(demo_world, es_node.url, f"test-e2e-{secrets.token_hex(4)}", tmp_path_factory.mktemp("e2e"))
    client = make_client(es_node.settings)
    delete_prefix(client, run.prefix)
    _indices_of_pages_schema_3(client, run.prefix, run.work_dir)
    refused = run.onionscope("crawl", "--job", "e2e-refused", "--quiet", "--seed", run.world.seeds[0])
    assert refused.returncode == 1 and "`onionscope index migrate pages`" in refused.stderr, refused.stderr[-2000:]
    migrated = run.onionscope("index", "migrate", "pages")
    assert migrated.returncode == 0, migrated.stderr[-2000:]
    run.first = run.crawl("e2e-first")  # type: ignore[attr-defined]
    try:
        yield run
    finally:
        delete_prefix(client, run.prefix)
        client.close()


def _indices_of_pages_schema_3(client: Any, prefix: str, work_dir: Path) -> None:
    """The indices as a version before onion mentions left them (pages template at schema 3)."""
    from pipelines import indices
    from tests.integration.older_templates import older_templates

    templates = older_templates(work_dir / "templates-pages-3",
                                {"pages": (3, ("onion_mentions", "discovery_onions", "hidden_identifiers"))})
    indices.ensure_indices(client, prefix, templates_dir=templates)


def _indexed_pages(run: CrawlRun) -> list[dict[str, Any]]:
    from elasticsearch import Elasticsearch

    client = Elasticsearch(run.es_url)
    try:
        client.indices.refresh(index=f"{run.prefix}-pages")
        response = client.search(
            index=f"{run.prefix}-pages", size=5000, query={"match_all": {}},
            source=["canonical_url", "url", "job_id", "title", "fetched_at"],
        )
        return [dict(hit["_source"], _id=hit["_id"]) for hit in response["hits"]["hits"]]
    finally:
        client.close()


def _all_docs(run: CrawlRun, kind: str, fields: list[str]) -> list[dict[str, Any]]:
    from elasticsearch import Elasticsearch

    client = Elasticsearch(run.es_url)
    try:
        client.indices.refresh(index=f"{run.prefix}-{kind}")
        response = client.search(index=f"{run.prefix}-{kind}", size=5000, query={"match_all": {}}, source=fields)
        return [hit["_source"] for hit in response["hits"]["hits"]]
    finally:
        client.close()


def _expected_pages(world: DemoWorld) -> set[str]:
    return {canonical_url(url) for site in world.ground_truth["sites"].values() for url in site["pages"]}


def test_every_reachable_page_is_indexed_exactly_once(crawl_run: CrawlRun) -> None:
    pages = _indexed_pages(crawl_run)
    indexed = [page["canonical_url"] for page in pages]
    expected = _expected_pages(crawl_run.world)
    assert len(indexed) == len(set(indexed)), "a page was indexed twice"
    assert set(indexed) == expected, (
        f"missing {sorted(expected - set(indexed))[:5]}, unexpected {sorted(set(indexed) - expected)[:5]}"
    )
    assert crawl_run.first["items_spooled"] == 0  # type: ignore[attr-defined]
    assert crawl_run.first["indexed_by_kind"]["pages"] >= len(expected)  # type: ignore[attr-defined]


def test_listings_vendors_and_wallets_match_the_ground_truth(crawl_run: CrawlRun) -> None:
    truth = crawl_run.world.ground_truth
    listings = _all_docs(crawl_run, "listings", ["market", "listing_id", "title", "vendor"])
    assert {(d["market"], d["listing_id"], d["title"], d["vendor"]) for d in listings} == {
        (t["market"], t["listing_id"], t["title"], t["vendor"]) for t in truth["listings"]
    }
    vendors = _all_docs(crawl_run, "vendors", ["market", "name"])
    assert {(d["market"], d["name"]) for d in vendors} == {(t["market"], t["name"]) for t in truth["vendors"]}
    wallets = _all_docs(crawl_run, "wallets", ["address", "coin"])
    assert {d["address"] for d in wallets} == {t["address"] for t in truth["wallets"]}
    decoys = {decoy["text"] for decoy in truth["decoy_addresses"]}
    assert decoys and not decoys & {d["address"] for d in wallets}


def test_every_onion_a_page_names_is_indexed_on_it(crawl_run: CrawlRun) -> None:
    """Against ground_truth's onion_links (v3, text or href, hosts other than the page's own) and
    legacy_onion_mentions (v2 in text); every shown v3 mention is offered to discovery."""
    truth = crawl_run.world.ground_truth
    expected = {(link["page"], link["onion_host"], 3, {"href": "link", "text": "text"}[link["source"]])
                for link in truth["onion_links"]}
    expected |= {(page, mention["host"], 2, "text") for mention in truth["legacy_onion_mentions"]
                 for page in mention["pages"]}
    pages = _all_docs(crawl_run, "pages", ["canonical_url", "onion_mentions", "discovery_onions"])
    found = {(page["canonical_url"], m["host"], m["version"], m["where"])
             for page in pages for m in page.get("onion_mentions") or []}
    assert found == expected
    assert all(not m["obfuscated"] and not m["hidden"] for page in pages for m in page.get("onion_mentions") or [])
    offered = {(page["canonical_url"], host) for page in pages for host in page.get("discovery_onions") or []}
    assert offered == {(url, host) for url, host, version, _ in expected if version == 3}


def test_discover_record_by_default_queues_every_onion_the_demo_names(crawl_run: CrawlRun) -> None:
    """Against ground_truth's onion_links: each v3 host a page names is in the discovery queue (the
    default policy is record), those named only in text as seen in text on their pages; the seeds'
    hosts are crawled, the others (the forum's dead mirrors, phishing clones) new and never fetched."""
    from urllib.parse import urlsplit

    truth = crawl_run.world.ground_truth
    named = {link["onion_host"] for link in truth["onion_links"]}
    linked = {link["onion_host"] for link in truth["onion_links"] if link["source"] == "href"}
    text_only = named - linked
    assert text_only, "the demo forum names some onions only in text"
    queue = {doc["onion_host"]: doc for doc in _all_docs(
        crawl_run, "discovered-onions", ["onion_host", "status", "seen_in", "seen_on", "source_hosts"])}
    assert set(queue) == named
    seed_hosts = {urlsplit(seed).hostname for seed in crawl_run.world.seeds}
    for host, document in queue.items():
        assert document["status"] == ("crawled" if host in seed_hosts else "new"), host
    for host in text_only:
        assert queue[host]["seen_in"] == ["text"], host
        pages = {link["page"] for link in truth["onion_links"] if link["onion_host"] == host}
        assert pages & {entry["url"] for entry in queue[host]["seen_on"]}, host


def test_a_second_crawl_updates_and_creates_no_duplicates(crawl_run: CrawlRun) -> None:
    before = {page["_id"]: page for page in _indexed_pages(crawl_run)}
    second = crawl_run.crawl("e2e-second")
    after = {page["_id"]: page for page in _indexed_pages(crawl_run)}
    assert set(after) == set(before)
    assert second["pages"] == len(before)
    # Same documents, updated by the second job rather than duplicated.
    assert {page["job_id"] for page in after.values()} == {"e2e-second"}


def test_search_finds_a_known_phrase_on_the_right_page(crawl_run: CrawlRun) -> None:
    titles: dict[str, list[dict[str, Any]]] = {}
    for listing in crawl_run.world.ground_truth["listings"]:
        titles.setdefault(listing["title"], []).append(listing)
    # A title that is plain words and unique across every market.
    title, listing = next(
        (t, found[0]) for t, found in sorted(titles.items())
        if len(found) == 1 and re.fullmatch(r"[A-Za-z0-9 ]{12,}", t)
    )
    result = crawl_run.onionscope("search", f'"{title}"', "--kind", "pages", "--json", "--limit", "5")
    assert result.returncode == 0, result.stderr
    hits = json.loads(result.stdout)["hits"]
    assert hits, f"no hit for {title!r}"
    top = hits[0]["source"]
    assert canonical_url(top["url"]) == canonical_url(listing["url"])
    assert top["onion_host"] == urlsplit(listing["url"]).hostname


def test_no_media_was_ever_requested(crawl_run: CrawlRun) -> None:
    requests = read_peer_log(crawl_run.world.peer_log)
    assert requests, "the demo server saw no request at all"
    media = [entry["target"] for entry in requests if is_media_url("http://x" + entry["target"])]
    assert media == []
    # The demo sites do link to media, so the guard had something to refuse.
    assert any(site["media_urls"] for site in crawl_run.world.ground_truth["sites"].values())


def test_crawler_connects_only_to_tor_and_elasticsearch_and_resolves_nothing(crawl_run: CrawlRun) -> None:
    events = [json.loads(line) for line in crawl_run.audit_log.read_text().splitlines()]
    socks_host, socks_port = crawl_run.world.socks_endpoints[0].rsplit(":", 1)
    es = urlsplit(crawl_run.es_url)
    allowed = {(socks_host, int(socks_port)), (es.hostname, es.port)}
    connects = {tuple(event["address"]) for event in events if event["event"] == "connect"}
    assert connects, "the audit hook recorded no connection"
    assert (socks_host, int(socks_port)) in connects
    assert connects <= allowed, f"unexpected connections: {connects - allowed}"
    lookups = {event["host"] for event in events if event["event"] != "connect"}
    onion_hosts = set(crawl_run.world.onion_hosts.values())
    assert not lookups & onion_hosts
    # Only IP literals are ever passed to the resolver (urllib3 does that for the ES URL).
    assert all(re.fullmatch(r"[0-9.]+|[0-9a-f:]+", host) for host in lookups), lookups


def test_market_cookies_were_kept_and_sent_back_without_any_lookup(crawl_run: CrawlRun) -> None:
    requests = read_peer_log(crawl_run.world.peer_log)
    set_by = {entry["site"] for entry in requests if entry.get("set_cookie")}
    returned_to = {entry["site"] for entry in requests if entry.get("got_cookie")}
    # Every market answered with a host-only Set-Cookie, and the crawler's cookie
    # middleware stored it and sent it back on later requests to that onion.
    assert set(SESSION_COOKIES) <= set_by, f"no Set-Cookie from {set(SESSION_COOKIES) - set_by}"
    assert set(SESSION_COOKIES) <= returned_to, f"cookies never sent back to {set(SESSION_COOKIES) - returned_to}"
    assert crawl_run.first["network_refused"] == 0  # type: ignore[attr-defined]
    # ...and it looked nothing up to do that: no public suffix list was fetched, none cached.
    events = [json.loads(line) for line in crawl_run.audit_log.read_text().splitlines()]
    names = {event["host"] for event in events if event["event"] != "connect"
             and not re.fullmatch(r"[0-9.]+|[0-9a-f:]+", event["host"])}
    assert names == set(), f"host names looked up: {names}"
    assert not any(crawl_run.tldextract_cache.rglob("*")), "tldextract fetched or cached a suffix list"


def test_every_request_reached_the_sites_from_tor_never_from_the_crawler(crawl_run: CrawlRun) -> None:
    # tor does not bind an outbound address for loopback targets, so the peer
    # *address* cannot tell tor from a direct connection; the peer *process* can.
    # Every demo site is an onion service, so only the onion-service host may connect.
    tor_pids = {service["pid"] for service in crawl_run.world.manifest["onion_services"]}
    assert tor_pids and None not in tor_pids
    requests = read_peer_log(crawl_run.world.peer_log)
    owners = [entry.get("peer_pid") for entry in requests]
    resolved = [pid for pid in owners if pid is not None]
    assert len(resolved) >= 0.9 * len(owners), "too few connections could be traced to their process"
    # The crawler runs in its own process; this test process itself may have connected straight to
    # the shared demo server (test_crawl_behind_login logs in as the investigator's browser would).
    strangers = {pid for pid in resolved if pid not in tor_pids and pid != os.getpid()}
    assert not strangers, f"connections from processes other than the onion-service tor: {strangers}"
