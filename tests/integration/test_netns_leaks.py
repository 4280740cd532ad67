"""A whole crawl in a network namespace whose only ways out are tor's SOCKS port and Elasticsearch.

The crawl (``onionscope crawl``: the smallest demo site, plus a site whose pages link and redirect
to clearnet names, IPv4 and IPv6 literals) runs under ``unshare -n`` through
:mod:`tests.integration.netns_crawl`.  Inside, every address is local to ``lo``, so any
lookup (a UDP datagram to the resolver in /etc/resolv.conf) or direct connection (a TCP SYN
to a target) crosses ``lo``, is recorded, and can go nowhere else.  The only ways out are two
relays over Unix sockets, to tor's SOCKS port and to Elasticsearch.

The control case proves the recorder sees what it must: a process in the same namespace
that looks up a name and connects to two IP literals is recorded doing both.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any, Iterator
from urllib.parse import quote, urlsplit

import pytest

from harness.demo_world import DemoWorld
from tests import PROJECT_ROOT
from tests.integration.netns_crawl import CONTROL_NAME, CONTROL_V4, CONTROL_V6
from tests.integration.socket_relay import UnixToTcpRelay
from tests.integration.transport_network import publish_sites
from tests.integration.transport_sites import RecordingSite

pytestmark = pytest.mark.integration

# Targets a hostile onion page points at.  None is ever looked up or connected to: the crawl
# refuses them (scope), and the recorder would see it if anything tried.
CLEARNET_TARGETS = [
    "http://clearnet-link.example.com/",
    "https://198.51.100.20/ip-literal",
    "http://[2001:db8::20]/ipv6-literal",
    "http://203.0.113.5:8080/",
]
REDIRECT_TARGETS = ["http://clearnet-redirect.example.org/", "http://198.51.100.21/", "http://[2001:db8::21]/"]


def _unshare_works() -> bool:
    if shutil.which("unshare") is None or shutil.which("ip") is None:
        return False
    return subprocess.run(["unshare", "-n", "true"], capture_output=True, check=False).returncode == 0


@pytest.fixture(scope="module")
def hostile_site() -> Iterator[RecordingSite]:
    site = RecordingSite("hostile-links")
    yield site
    site.close()


@pytest.fixture(scope="module")
def netns_crawl(demo_world: DemoWorld, es_node: Any, testnet_network: Any, hostile_site: RecordingSite,
                ) -> Iterator[dict[str, Any]]:
    if not _unshare_works():
        pytest.skip("needs root, unshare -n and ip")
    from pipelines.es_client import make_client
    from pipelines.indices import delete_prefix

    _, onions = publish_sites(testnet_network, [hostile_site], prefix="netns")
    hostile = onions[hostile_site.name]
    links = [*CLEARNET_TARGETS, *(f"/redirect?to={quote(target, safe='')}" for target in REDIRECT_TARGETS),
             "/page/1"]
    hostile_seed = f"http://{hostile}/links?" + "&".join(f"to={quote(link, safe='')}" for link in links)
    socks_host, socks_port = demo_world.socks_endpoints[0].rsplit(":", 1)
    es = urlsplit(es_node.url)
    assert socks_host == "127.0.0.1" and es.hostname == "127.0.0.1"
    prefix = f"test-netns-{secrets.token_hex(4)}"
    # Short: a Unix socket path has at most 107 bytes.
    work = Path(tempfile.mkdtemp(prefix="onionscope-netns-"))
    relays = [UnixToTcpRelay(work / "socks.sock", int(socks_port)), UnixToTcpRelay(work / "es.sock", int(es.port))]
    environment = {
        "ONIONSCOPE_TOR_SOCKS": demo_world.socks_endpoints[0],
        "ONIONSCOPE_ES_URL": es_node.url,
        "ONIONSCOPE_INDEX_PREFIX": prefix,
        "ONIONSCOPE_VAR_DIR": str(work / "var"),
        "ONIONSCOPE_TESTNET_DIR": str(work / "no-testnet"),
        "TLDEXTRACT_CACHE": str(work / "tldextract-cache"),
    }
    # One demo site (the smallest; the end-to-end test crawls them all) keeps this under a minute.
    sizes = {urlsplit(seed).hostname: 0 for seed in demo_world.seeds}
    for site in demo_world.ground_truth["sites"].values():
        for url in site["pages"]:
            if urlsplit(url).hostname in sizes:
                sizes[urlsplit(url).hostname] += 1
    smallest = min(sizes, key=lambda host: (sizes[host], host))
    seeds = [*(seed for seed in demo_world.seeds if urlsplit(seed).hostname == smallest), hostile_seed]
    arguments = ["crawl", "--job", "netns", "--json", "--quiet",
                 *(arg for seed in seeds for arg in ("--seed", seed)),
                 *(arg for pair in demo_world.market_hosts for arg in ("--market-host", pair))]
    spec = {"relays": [[int(socks_port), str(work / "socks.sock")], [int(es.port), str(work / "es.sock")]],
            "crawl": arguments, "env": environment, "timeout": 400}
    base = {k: v for k, v in os.environ.items() if not k.startswith(("ONIONSCOPE_", "TLDEXTRACT_"))}
    client = make_client(es_node.settings)
    try:
        done = subprocess.run(["unshare", "-n", "--", sys.executable, "-m", "tests.integration.netns_crawl"],
                              input=json.dumps(spec), capture_output=True, text=True, cwd=PROJECT_ROOT,
                              env=base, timeout=600, check=False)
        assert done.returncode == 0, f"namespace runner failed:\n{done.stdout[-2000:]}\n{done.stderr[-4000:]}"
        report = json.loads(done.stdout)
        report["host_relay_connections"] = {"socks": relays[0].connections, "es": relays[1].connections}
        report["allowed"] = [["127.0.0.1", int(socks_port)], ["127.0.0.1", int(es.port)]]
        report["hostile_paths"] = list(hostile_site.paths)
        yield report
    finally:
        for relay in relays:
            relay.close()
        delete_prefix(client, prefix)
        client.close()
        shutil.rmtree(work, ignore_errors=True)


def test_the_recorder_sees_a_lookup_and_direct_connections_in_the_namespace(netns_crawl: dict[str, Any]) -> None:
    assert netns_crawl["interfaces"] == ["lo"]
    control = netns_crawl["control"]
    assert any(packet["proto"] == "udp" and packet["dport"] == 53 for packet in control), (
        f"the lookup of {CONTROL_NAME} was not recorded: {control}")
    assert any(packet["proto"] == "tcp" and (packet["dst"], packet["dport"]) == CONTROL_V4 for packet in control)
    if netns_crawl["ipv6"]:
        assert any(packet["proto"] == "tcp" and (packet["dst"], packet["dport"]) == CONTROL_V6 for packet in control)


def test_the_crawl_sent_nothing_but_tor_and_elasticsearch_connections(netns_crawl: dict[str, Any]) -> None:
    assert netns_crawl["crawl_returncode"] == 0, netns_crawl["crawl_stderr"]
    summary = json.loads(netns_crawl["crawl_stdout"])
    packets = netns_crawl["crawl"]
    allowed = {tuple(address) for address in netns_crawl["allowed"]}
    lookups = [packet for packet in packets if packet["proto"] == "udp"]
    strays = [packet for packet in packets if packet["proto"] == "tcp" and (packet["dst"], packet["dport"]) not in allowed]
    print(f"\nnetns crawl: {summary['pages']} pages in {netns_crawl['seconds']} s; "
          f"{len(packets)} connection attempts recorded, {len(lookups)} datagrams, {len(strays)} off the two relays; "
          f"relayed: {netns_crawl['host_relay_connections']}; out of scope: {summary['out_of_scope']}, "
          f"{summary['out_of_scope_redirects']} redirects")
    assert lookups == [], f"the crawl sent datagrams (lookups?): {lookups[:5]}"
    assert strays == [], f"the crawl tried direct connections: {strays[:5]}"
    assert summary["pages"] > 0 and summary["items_spooled"] == 0 and summary["network_refused"] == 0
    # The way out was used: the crawl did go through tor and reach Elasticsearch.
    assert netns_crawl["host_relay_connections"]["socks"] > 0 and netns_crawl["host_relay_connections"]["es"] > 0
    assert len([packet for packet in packets if packet["proto"] == "tcp"]) >= 2


def test_clearnet_and_ip_links_and_redirects_were_refused(netns_crawl: dict[str, Any]) -> None:
    summary = json.loads(netns_crawl["crawl_stdout"])
    refused = summary["out_of_scope"]
    assert refused.get("clearnet", 0) >= 1 and refused.get("ip_literal", 0) >= 2, refused
    assert summary["out_of_scope_redirects"] >= len(REDIRECT_TARGETS)
    # The onion served its redirects (so each was a real redirect to refuse) and its plain page.
    paths = netns_crawl["hostile_paths"]
    assert sum(path.startswith("/redirect") for path in paths) >= len(REDIRECT_TARGETS), paths
    assert "/page/1" in paths
