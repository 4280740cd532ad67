"""Elasticsearch stopped for a minute mid-crawl: nothing is lost, nothing is written twice.

The shared node is never touched: the test starts a private node of its own (the project's
harness, another port and var dir), crawls a gated chain of pages (:mod:`tests.integration.gated_site`)
behind an onion service of the private Tor network, and while the crawl is mid-way

1. stops the node for real (SIGTERM, as ``onionscope services down`` does) for at least
   :data:`OUTAGE_SECONDS`, while the crawl goes on fetching pages: their items fail, are retried
   and then spooled to disk;
2. starts it again on the same data folder, and lets the crawl finish.

Then the count in the index equals the count extracted (the pages the crawl fetched, the pages
the site served), every page is there once, and the spool is empty: the crawl wrote what it
spooled once Elasticsearch was back.  It prints the figures (pages, spooled, outage and restart
seconds).  It takes about four minutes on a busy 2-core machine (the outage alone is one, each node
start 20-60 s).
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any, Iterator

import pytest

from pipelines.spool import spool_files
from tests import PROJECT_ROOT
from tests.integration.gated_site import GatedChainSite
from tests.integration.launched_client import free_port
from tests.integration.transport_network import publish_sites

pytestmark = pytest.mark.integration

OUTAGE_SECONDS = 60.0
CHAIN_PAGES = 40
BEFORE_OUTAGE = 8
DURING_OUTAGE = 12


@pytest.fixture
def private_node() -> Iterator[Any]:
    """A node of our own (settings), started now and stopped and deleted afterwards."""
    from config.settings import load_settings
    from harness import elasticsearch_node

    # Under the project, not /tmp/pytest-of-root (mode 0700, which the node's user cannot enter).
    var_dir = PROJECT_ROOT / "var" / f"test-es-outage-{uuid.uuid4().hex[:8]}"
    var_dir.mkdir(parents=True)
    port = free_port()
    settings = load_settings(environ={}).replace(var_dir=str(var_dir), es_port=port,
                                                 es_url=f"http://127.0.0.1:{port}", es_heap="256m")
    try:
        elasticsearch_node.start(settings, timeout=600)
        yield settings
    finally:
        elasticsearch_node.stop(settings)
        shutil.rmtree(var_dir, ignore_errors=True)


@pytest.fixture
def chain_site() -> Iterator[GatedChainSite]:
    site = GatedChainSite("outage-chain", CHAIN_PAGES)
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


def _wait(condition: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


# A node start takes about 20 s on an idle machine, minutes on a busy one; it starts twice here.
@pytest.mark.timeout(1800)
def test_elasticsearch_down_for_a_minute_mid_crawl_loses_and_duplicates_nothing(
    testnet: dict, testnet_network: Any, private_node: Any, chain_site: GatedChainSite, tmp_path: Path,
) -> None:
    from harness import elasticsearch_node
    from pipelines.es_client import make_client

    _, onions = publish_sites(testnet_network, [chain_site], prefix="outage")
    onion = onions[chain_site.name]
    client0 = testnet["clients"][0]
    prefix = f"test-outage-{secrets.token_hex(4)}"
    var_dir = tmp_path / "var"
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("ONIONSCOPE_", "TLDEXTRACT_"))}
    environment.update(
        TLDEXTRACT_CACHE=str(tmp_path / "tldextract-cache"),
        ONIONSCOPE_TOR_SOCKS=f"127.0.0.1:{client0['socks_port']}",
        ONIONSCOPE_ES_URL=private_node.es_url,
        ONIONSCOPE_INDEX_PREFIX=prefix,
        ONIONSCOPE_VAR_DIR=str(var_dir),
        ONIONSCOPE_TESTNET_DIR=str(tmp_path / "no-testnet"),
        # Small batches, so items of the pages fetched during the outage reach Elasticsearch (and fail) then.
        ONIONSCOPE_BULK_BATCH_SIZE="2",
        ONIONSCOPE_BULK_MAX_RETRIES="2",
        # A request held at the gate while the node restarts must not time out.
        ONIONSCOPE_DOWNLOAD_TIMEOUT="400",
    )
    stdout, stderr = tmp_path / "crawl.out", tmp_path / "crawl.err"
    with stdout.open("w") as out, stderr.open("w") as err:
        crawl = subprocess.Popen(
            [sys.executable, "-m", "onionscope.cli", "crawl", "--job", "es-outage", "--json",
             "--seed", f"http://{onion}/chain/0", "--depth", str(CHAIN_PAGES)],
            cwd=PROJECT_ROOT, env=environment, stdout=out, stderr=err,
        )
    try:
        assert chain_site.wait_served(BEFORE_OUTAGE, 180), "the crawl did not get going"
        stopped_at = time.monotonic()
        assert elasticsearch_node.stop(private_node), "the private node was not running"
        assert elasticsearch_node.status(private_node).health is None
        # The crawl goes on while Elasticsearch is down.
        assert chain_site.wait_served(BEFORE_OUTAGE + DURING_OUTAGE, 180), "the crawl stalled during the outage"
        chain_site.hold()
        _wait(lambda: _spooled_lines(var_dir / "spool") > 0, 180, "the crawl to spool what failed")
        time.sleep(max(0.0, OUTAGE_SECONDS - (time.monotonic() - stopped_at)))
        spooled_during_outage = _spooled_lines(var_dir / "spool")
        outage = time.monotonic() - stopped_at
        restarted_at = time.monotonic()
        elasticsearch_node.start(private_node, timeout=600)
        restart = time.monotonic() - restarted_at
        chain_site.release()
        crawl.wait(timeout=600)
    finally:
        chain_site.release()
        if crawl.poll() is None:
            crawl.kill()
            crawl.wait()
    summary = json.loads(stdout.read_text())
    client = make_client(private_node)
    try:
        client.indices.refresh(index=f"{prefix}-pages")
        hits = client.search(index=f"{prefix}-pages", size=1000, source=["canonical_url", "title"])["hits"]["hits"]
        indexed = [hit["_source"]["canonical_url"] for hit in hits]
        onion_document = client.get(index=f"{prefix}-onions", id=onion)["_source"]
    finally:
        client.close()
    left_in_spool = _spooled_lines(var_dir / "spool")
    print(f"\nElasticsearch outage: down {outage:.1f} s (+{restart:.1f} s to restart) mid-crawl; "
          f"{summary['pages']} pages extracted, {len(indexed)} in the index ({len(indexed) - len(set(indexed))} "
          f"duplicates), {spooled_during_outage} records spooled during the outage, {summary['items_spooled']} "
          f"spooled in all, {summary.get('items_replayed')} written back by the crawl, {left_in_spool} left in "
          f"the spool; crawl {summary['elapsed_seconds']} s, exit {crawl.returncode}")
    assert outage >= OUTAGE_SECONDS
    assert spooled_during_outage > 0 and summary["items_spooled"] > 0
    assert sorted(set(chain_site.served)) == list(range(CHAIN_PAGES))
    assert summary["pages"] == CHAIN_PAGES
    assert len(indexed) == len(set(indexed)) == CHAIN_PAGES, "a page is missing from the index or in it twice"
    assert onion_document["page_count"] == CHAIN_PAGES
    assert left_in_spool == 0, "the crawl left spooled records behind although Elasticsearch came back"
    assert crawl.returncode == 0, stderr.read_text()[-3000:]
