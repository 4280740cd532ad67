"""A 3-node Elasticsearch cluster loses a node mid-crawl: nothing is lost, nothing is written twice.

The shared node is never touched: the test starts a local 3-node cluster of its own
(``onionscope services up --nodes 3`` through the project's harness: another var dir, free
loopback ports), crawls a gated chain of pages (:mod:`tests.integration.gated_site`) behind an
onion service of the private Tor network into it, and while the crawl is mid-way

1. SIGKILLs the node that holds the primary of the pages index (moved off node 0, the one the
   crawl talks to, if it was there), while the crawl waits at the gate, then lets the crawl go
   on with two nodes (the replica is promoted);
2. starts the lost node again on its data folder (``start`` launches only the missing one), at
   the gate again, and lets the crawl finish.

Then the count in the index equals the count extracted (the pages the crawl fetched, the pages the
site served), every page is there once, the spool is empty, and cluster health turns green with
every shard copied twice (``index_replicas`` 0-1 gave every index a replica on the cluster).  It
prints the figures.  The cluster starts while the private Tor network does (both are session
fixtures); on a busy 2-core machine each cluster start takes one to two minutes.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any, Iterator

import pytest

from pipelines.spool import spool_files
from tests import PROJECT_ROOT
from tests.integration.gated_site import GatedChainSite
from tests.integration.transport_network import publish_sites

pytestmark = pytest.mark.integration

NODES = 3
CHAIN_PAGES = 40
BEFORE_KILL = 8
WHILE_DOWN = 12


def free_port_block(count: int, offset: int = 100) -> int:
    """A port P with P..P+count-1 and P+offset..P+offset+count-1 free on 127.0.0.1 (HTTP and transport).

    Below the private Tor networks' blocks (25000 and up, tests.fixtures.testnet) and the kernel's
    ephemeral ports (32768 and up): the network starts while the nodes do, and must not take theirs.
    """
    for _attempt in range(200):
        base = 12000 + secrets.randbelow(12000)
        ports = [base + index for index in range(count)] + [base + offset + index for index in range(count)]
        try:
            probes = []
            for port in ports:
                probe = socket.socket()
                probes.append(probe)
                probe.bind(("127.0.0.1", port))
        except OSError:
            continue
        finally:
            for probe in probes:
                probe.close()
        return base
    raise AssertionError("no block of free loopback ports")


@pytest.fixture(scope="session")
def cluster_starting() -> Iterator[tuple[Any, "Future[Any]"]]:
    """(settings, future of the StartResult): a 3-node cluster of our own, started in the background.

    Session-scoped only so that it is set up before the private Tor network and starts while
    that network does; only this module uses it.  Stopped and deleted afterwards.
    """
    from config.settings import load_settings
    from harness import elasticsearch_node

    # Under the project, not /tmp/pytest-of-root (mode 0700, which the node's user cannot enter).
    var_dir = PROJECT_ROOT / "var" / f"test-es-cluster-{uuid.uuid4().hex[:8]}"
    var_dir.mkdir(parents=True)
    port = free_port_block(NODES)
    settings = load_settings(environ={}).replace(var_dir=str(var_dir), es_port=port,
                                                 es_url=f"http://127.0.0.1:{port}", es_heap="512m")
    pool = ThreadPoolExecutor(max_workers=1)
    starting = pool.submit(elasticsearch_node.start, settings, 900, NODES)
    try:
        yield settings, starting
    finally:
        starting.exception()  # never stop while a start is still under way
        pool.shutdown()
        elasticsearch_node.stop(settings)
        shutil.rmtree(var_dir, ignore_errors=True)


@pytest.fixture
def chain_site() -> Iterator[GatedChainSite]:
    site = GatedChainSite("cluster-chain", CHAIN_PAGES)
    yield site
    site.close()


def _spooled_lines(spool_dir: Path) -> int:
    count = 0
    for path in spool_files(spool_dir):
        try:
            count += sum(1 for line in path.read_text().splitlines() if line.strip())
        except FileNotFoundError:
            pass
    return count


def _primary_off_node_zero(client: Any, index: str, node_urls: list[str]) -> tuple[int, str]:
    """(node number, node name) of the node holding the primary of ``index``, moved off node 0 if it was there.

    Node 0 is the one the crawl talks to; the node lost must be another, and losing the primary's
    node is the case that matters (its replica must be promoted while writes go on).
    """
    nodes = client.nodes.info(filter_path="nodes.*.name,nodes.*.http.publish_address").body["nodes"].values()
    number_of = {node["name"]: next(number for number, url in enumerate(node_urls)
                                    if url.rsplit(":", 1)[1] == node["http"]["publish_address"].rsplit(":", 1)[1])
                 for node in nodes}
    copies = client.cat.shards(index=index, format="json", h="prirep,node,state").body
    by_role = {row["prirep"]: row["node"] for row in copies if row["state"] == "STARTED"}
    assert set(by_role) == {"p", "r"}, f"the pages index should have a started primary and replica: {copies}"
    primary = by_role["p"]
    if number_of[primary] == 0:
        [spare] = [name for name in number_of if name not in by_role.values()]
        concrete = next(iter(client.indices.get_alias(name=index).body))
        client.cluster.reroute(commands=[{"move": {"index": concrete, "shard": 0, "from_node": primary,
                                                   "to_node": spare}}])
        client.cluster.health(index=index, wait_for_no_relocating_shards=True, wait_for_status="green",
                              timeout="300s")
        moved = client.cat.shards(index=index, format="json", h="prirep,node,state").body
        primary = next(row["node"] for row in moved if row["prirep"] == "p" and row["state"] == "STARTED")
    assert number_of[primary] != 0
    return number_of[primary], primary


# Two cluster starts (one to two minutes each on a busy machine) and a crawl.
@pytest.mark.timeout(1800)
def test_a_node_killed_mid_crawl_loses_and_duplicates_nothing_and_the_cluster_turns_green(
    cluster_starting: tuple[Any, "Future[Any]"], testnet: dict, testnet_network: Any,
    chain_site: GatedChainSite, tmp_path: Path,
) -> None:
    from harness import elasticsearch_node
    from pipelines.es_client import make_client

    settings, starting = cluster_starting
    _, onions = publish_sites(testnet_network, [chain_site], prefix="cluster")
    onion = onions[chain_site.name]
    started = starting.result()
    assert len(started.nodes) == NODES and started.health == "green"
    node_urls = [url for url, _pid in started.nodes]
    client0 = testnet["clients"][0]
    prefix = f"test-cluster-{secrets.token_hex(4)}"
    var_dir = tmp_path / "var"
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("ONIONSCOPE_", "TLDEXTRACT_"))}
    environment.update(
        TLDEXTRACT_CACHE=str(tmp_path / "tldextract-cache"),
        ONIONSCOPE_TOR_SOCKS=f"127.0.0.1:{client0['socks_port']}",
        ONIONSCOPE_ES_URL=settings.es_url,  # node 0: it coordinates; another node is lost
        ONIONSCOPE_INDEX_PREFIX=prefix,
        ONIONSCOPE_VAR_DIR=str(var_dir),
        ONIONSCOPE_TESTNET_DIR=str(tmp_path / "no-testnet"),
        # Small batches, so items reach the cluster (and its shards) all through the crawl.
        ONIONSCOPE_BULK_BATCH_SIZE="2",
        # A request held at the gate while a node restarts must not time out.
        ONIONSCOPE_DOWNLOAD_TIMEOUT="400",
    )
    client = make_client(settings)
    stdout, stderr = tmp_path / "crawl.out", tmp_path / "crawl.err"
    with stdout.open("w") as out, stderr.open("w") as err:
        crawl = subprocess.Popen(
            [sys.executable, "-m", "onionscope.cli", "crawl", "--job", "es-cluster", "--json",
             "--seed", f"http://{onion}/chain/0", "--depth", str(CHAIN_PAGES)],
            cwd=PROJECT_ROOT, env=environment, stdout=out, stderr=err,
        )
    try:
        assert chain_site.wait_served(BEFORE_KILL, 300), "the crawl did not get going"
        chain_site.hold()
        pages_index = f"{prefix}-pages"
        client.cluster.health(index=pages_index, wait_for_status="green", timeout="120s")
        replicas = client.indices.get_settings(index=pages_index).body
        assert [value["settings"]["index"]["number_of_replicas"] for value in replicas.values()] == ["1"]
        victim, victim_name = _primary_off_node_zero(client, pages_index, node_urls)
        victim_layout = elasticsearch_node.cluster_layouts(settings, NODES)[victim]
        assert victim_layout.node_name == victim_name
        victim_pid = elasticsearch_node.running_pid(victim_layout)
        assert victim_pid is not None
        was_master = client.cat.master(format="json").body[0]["node"] == victim_layout.node_name
        os.kill(victim_pid, signal.SIGKILL)
        killed_at = time.monotonic()
        two = client.cluster.health(wait_for_nodes=str(NODES - 1), timeout="120s").body
        assert two["number_of_nodes"] == NODES - 1 and not two["timed_out"]
        chain_site.release()
        # The crawl goes on with two nodes.
        assert chain_site.wait_served(BEFORE_KILL + WHILE_DOWN, 300), "the crawl stalled after the node was lost"
        chain_site.hold()
        health_while_down = client.cluster.health().body["status"]
        restarted_at = time.monotonic()
        back = elasticsearch_node.start(settings, timeout=900)  # launches the missing node only
        restart = time.monotonic() - restarted_at
        down_for = time.monotonic() - killed_at
        assert not back.already_running and dict(back.nodes)[node_urls[victim]] != victim_pid
        assert [pid for url, pid in back.nodes if url != node_urls[victim]] == \
               [pid for url, pid in started.nodes if url != node_urls[victim]], "a node that ran was restarted"
        chain_site.release()
        crawl.wait(timeout=600)
    finally:
        chain_site.release()
        if crawl.poll() is None:
            crawl.kill()
            crawl.wait()
    try:
        green = client.cluster.health(wait_for_status="green", wait_for_no_relocating_shards=True,
                                      wait_for_no_initializing_shards=True, timeout="300s").body
        client.indices.refresh(index=pages_index)
        hits = client.search(index=pages_index, size=1000, source=["canonical_url"])["hits"]["hits"]
        indexed = [hit["_source"]["canonical_url"] for hit in hits]
        counted = int(client.count(index=pages_index)["count"])
        onion_document = client.get(index=f"{prefix}-onions", id=onion)["_source"]
        copies = client.cat.shards(index=f"{prefix}-*", format="json", h="index,shard,prirep,state").body
    finally:
        from pipelines.indices import delete_prefix

        delete_prefix(client, prefix)
        client.close()
    summary = json.loads(stdout.read_text())
    left_in_spool = _spooled_lines(var_dir / "spool")
    print(f"\nElasticsearch cluster: {NODES} nodes started in {started.seconds:.1f} s; node {victim} "
          f"(primary of the pages index{', elected master' if was_master else ''}) SIGKILLed mid-crawl, health "
          f"{health_while_down} without it, back after {down_for:.1f} s (restart {restart:.1f} s), green again; "
          f"{summary['pages']} pages extracted, {len(indexed)} in the index ({len(indexed) - len(set(indexed))} "
          f"duplicates), {summary['items_spooled']} items spooled, {left_in_spool} left in the spool; "
          f"crawl {summary['elapsed_seconds']} s, exit {crawl.returncode}")
    assert crawl.returncode == 0, stderr.read_text()[-3000:]
    assert sorted(set(chain_site.served)) == list(range(CHAIN_PAGES))
    assert summary["pages"] == CHAIN_PAGES
    assert len(indexed) == len(set(indexed)) == counted == CHAIN_PAGES, "a page is missing from the index or in it twice"
    assert onion_document["page_count"] == CHAIN_PAGES
    assert left_in_spool == 0
    assert green["status"] == "green" and green["number_of_nodes"] == NODES and not green["timed_out"]
    # Every shard of every index of the crawl has its primary and one replica, both active.  The
    # balancer may still be moving copies onto the node that came back: a RELOCATING copy is active.
    per_shard: dict[tuple[str, str], list[str]] = {}
    for row in copies:
        state = "active" if row["state"] in ("STARTED", "RELOCATING") else row["state"]
        per_shard.setdefault((row["index"], row["shard"]), []).append(f"{row['prirep']}:{state}")
    assert per_shard
    assert {shard: states for shard, states in per_shard.items() if sorted(states) != ["p:active", "r:active"]} == {}
