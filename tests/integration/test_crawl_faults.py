"""Faults under a real crawl: the demo world through the private Tor network into the real Elasticsearch.

* The disk fills up while the crawl spools (Elasticsearch refuses every write: a write block on
  the test's indices).  The spool folder is a real 128 KiB tmpfs, so the spool meets a real
  ENOSPC: the crawl stops with a clear error, and every record spooled before stays readable --
  ``onionscope index replay-spool`` writes them all once there is room and Elasticsearch
  takes writes again.

* The crawler is SIGKILLed mid-job (a gated chain of pages, so the kill lands mid-way, with
  items fetched but not yet indexed).  ``onionscope crawl --resume --job NAME`` goes on: the
  pages indexed before the kill are not fetched again, every page ends up in the index once,
  and the summary counts the pages fetched a second time (checked against the job's journal).

Each test prints its figures (pages fetched, records spooled, items lost, seconds).
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Iterator

import pytest

from harness.demo_world import DemoWorld
from pipelines.spool import claim, spool_files
from tests import PROJECT_ROOT
from tests.integration.gated_site import GatedChainSite
from tests.integration.transport_network import publish_sites

pytestmark = pytest.mark.integration

CRAWL_KINDS = ("pages", "listings", "vendors", "wallets", "onions", "crawl-runs")


class FaultCrawl:
    """`onionscope crawl` of the demo world in a subprocess, with its own prefix and var dir."""

    def __init__(self, world: DemoWorld | None, es_url: str, work_dir: Path, socks: str | None = None,
                 **settings: str):
        self.world = world
        self.socks = socks or (world.socks_endpoints[0] if world is not None else "")
        self.es_url = es_url
        self.prefix = f"test-faults-{secrets.token_hex(4)}"
        self.work_dir = work_dir
        self.var_dir = work_dir / "var"
        self.settings = settings

    def environment(self) -> dict[str, str]:
        environment = {k: v for k, v in os.environ.items() if not k.startswith(("ONIONSCOPE_", "TLDEXTRACT_"))}
        environment.update(
            TLDEXTRACT_CACHE=str(self.work_dir / "tldextract-cache"),
            ONIONSCOPE_TOR_SOCKS=self.socks,
            ONIONSCOPE_ES_URL=self.es_url,
            ONIONSCOPE_INDEX_PREFIX=self.prefix,
            ONIONSCOPE_VAR_DIR=str(self.var_dir),
            ONIONSCOPE_TESTNET_DIR=str(self.work_dir / "no-testnet"),
        )
        environment.update({f"ONIONSCOPE_{name.upper()}": value for name, value in self.settings.items()})
        return environment

    def crawl_arguments(self, job: str) -> list[str]:
        assert self.world is not None
        seeds = [arg for seed in self.world.seeds for arg in ("--seed", seed)]
        confirmations = [arg for pair in self.world.market_hosts for arg in ("--market-host", pair)]
        return ["crawl", "--job", job, "--json", "--quiet", *seeds, *confirmations]

    def onionscope(self, *arguments: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "onionscope.cli", *arguments], cwd=PROJECT_ROOT,
                              env=self.environment(), capture_output=True, text=True, timeout=timeout, check=False)


def expected_page_count(world: DemoWorld) -> int:
    from crawler.urls import canonical_url

    return len({canonical_url(url) for site in world.ground_truth["sites"].values() for url in site["pages"]})


def spooled_records(spool_dir: Path) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = []
    for path in spool_files(spool_dir):
        with claim(path) as claimed:
            assert claimed is not None, f"{path} is still locked after the crawl ended"
            records += claimed
    return records


@pytest.fixture
def tmpfs_spool(tmp_path: Path) -> Iterator[Path]:
    """``<tmp>/var/spool`` on a real 128 KiB tmpfs (root only), unmounted at teardown."""
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a tmpfs needs root")
    spool_dir = tmp_path / "var" / "spool"
    spool_dir.mkdir(parents=True)
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=128k,mode=0700", "tmpfs", str(spool_dir)],
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        yield spool_dir
    finally:
        subprocess.run(["umount", "-l", str(spool_dir)], check=False)


def _set_write_block(client: Any, prefix: str, blocked: bool) -> None:
    from pipelines.indices import current_index

    for kind in CRAWL_KINDS:
        client.indices.put_settings(index=current_index(client, prefix, kind),
                                    settings={"index.blocks.write": blocked})


def test_a_full_disk_while_spooling_stops_the_crawl_and_keeps_the_spool_readable(
    demo_world: DemoWorld, es_node: Any, tmp_path: Path, tmpfs_spool: Path,
) -> None:
    from pipelines.es_client import make_client
    from pipelines.indices import delete_prefix, ensure_indices

    run = FaultCrawl(demo_world, es_node.url, tmp_path, bulk_max_retries="0", bulk_batch_size="10")
    client = make_client(es_node.settings)
    try:
        ensure_indices(client, run.prefix)
        # Elasticsearch takes no write: every item goes to the spool, which fills up.
        _set_write_block(client, run.prefix, True)
        began = time.monotonic()
        done = run.onionscope(*run.crawl_arguments("disk-full"))
        seconds = time.monotonic() - began
        summary = json.loads(done.stdout)
        records = spooled_records(tmpfs_spool)
        total = expected_page_count(demo_world)
        print(f"\ndisk full: stopped after {summary['pages']} of {total} pages in {seconds:.1f} s; "
              f"{len(records)} records spooled and readable ({summary['items_spooled']} counted), "
              f"{summary['items_lost']} items lost (neither indexed nor spooled); finish: {summary['finish_reason']}")
        assert done.returncode == 1
        assert "spool could not be written" in done.stderr and "is full" in done.stderr, done.stderr[-3000:]
        assert str(tmpfs_spool) in summary["spool_error"]
        assert summary["finish_reason"] == "spool_failed"
        # Stopped early: it did not go on crawling what it could not keep.
        assert summary["pages"] < total
        # Every record is whole: none was torn by the full disk.
        assert records and all(record.get("record") in ("document", "entity", "item") for record in records), \
            [record for record in records if record.get("record") not in ("document", "entity", "item")][:2]
        assert len(records) >= summary["items_spooled"] > 0

        # Room again, writes allowed again: the replay takes every record.
        _set_write_block(client, run.prefix, False)
        subprocess.run(["mount", "-o", "remount,size=4m", str(tmpfs_spool)], check=True)
        replay = run.onionscope("index", "replay-spool")
        assert replay.returncode == 0, replay.stdout + replay.stderr
        assert spool_files(tmpfs_spool) == []
        client.indices.refresh(index=f"{run.prefix}-pages")
        spooled_pages = {record["id"] for record in records
                         if record.get("kind") == "pages" and record.get("record") in ("document", "item")}
        indexed = int(client.count(index=f"{run.prefix}-pages")["count"])
        assert indexed == len(spooled_pages) > 0
    finally:
        try:
            _set_write_block(client, run.prefix, False)
        finally:
            delete_prefix(client, run.prefix)
            client.close()


CHAIN_PAGES = 30
BEFORE_KILL = 10


@pytest.fixture
def chain_site() -> Iterator[GatedChainSite]:
    site = GatedChainSite("kill-chain", CHAIN_PAGES)
    yield site
    site.close()


def _indexed_urls(client: Any, prefix: str) -> list[str]:
    client.indices.refresh(index=f"{prefix}-pages")
    hits = client.search(index=f"{prefix}-pages", size=1000, source=["canonical_url"])["hits"]["hits"]
    return [hit["_source"]["canonical_url"] for hit in hits]


def test_a_crawl_killed_mid_job_resumes_without_duplicates_and_counts_what_it_fetched_again(
    testnet: dict, testnet_network: Any, es_node: Any, chain_site: GatedChainSite, tmp_path: Path,
) -> None:
    from crawler.job import journal_path
    from pipelines.es_client import make_client
    from pipelines.indices import delete_prefix

    _, onions = publish_sites(testnet_network, [chain_site], prefix="kill")
    onion = onions[chain_site.name]
    socks = f"127.0.0.1:{testnet['clients'][0]['socks_port']}"
    run = FaultCrawl(None, es_node.url, tmp_path, socks=socks, bulk_batch_size="4")
    arguments = ["crawl", "--job", "killed-job", "--json", "--quiet", "--seed", f"http://{onion}/chain/0",
                 "--depth", str(CHAIN_PAGES)]
    client = make_client(es_node.settings)
    journal = journal_path(run.var_dir, "killed-job")
    try:
        began = time.monotonic()
        # A session of its own, so the kill takes the extraction worker too (as a machine crash would).
        first = subprocess.Popen([sys.executable, "-m", "onionscope.cli", *arguments], cwd=PROJECT_ROOT,
                                 env=run.environment(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                 start_new_session=True)
        try:
            assert chain_site.wait_served(BEFORE_KILL, 300), "the crawl did not get going"
            chain_site.hold()
            os.killpg(first.pid, signal.SIGKILL)
            first.wait(timeout=60)
        finally:
            if first.poll() is None:
                os.killpg(first.pid, signal.SIGKILL)
                first.wait()
        assert first.returncode == -signal.SIGKILL
        indexed_at_kill = set(_indexed_urls(client, run.prefix))
        fetched_before_kill = journal.read_text().splitlines()
        chain_site.release()

        resumed = run.onionscope(*arguments, "--resume")
        seconds = time.monotonic() - began
        assert resumed.returncode == 0, resumed.stdout + resumed.stderr[-3000:]
        summary = json.loads(resumed.stdout)
        fetched_after_kill = journal.read_text().splitlines()[len(fetched_before_kill):]
        indexed = _indexed_urls(client, run.prefix)
        again = set(fetched_before_kill) & set(fetched_after_kill)
        print(f"\nSIGKILL mid-job: {len(fetched_before_kill)} pages fetched before the kill, {len(indexed_at_kill)} "
              f"indexed; the resumed run fetched {len(fetched_after_kill)} ({summary['pages_fetched_again']} again); "
              f"{len(indexed)} pages in the index, {len(indexed) - len(set(indexed))} duplicates, "
              f"{CHAIN_PAGES - len(set(indexed))} lost; {seconds:.1f} s in all")
        assert summary["resumed"] and summary["pages_already_indexed"] == len(indexed_at_kill) > 0
        # Nothing indexed before the kill was fetched again; what was fetched again is counted.
        assert not indexed_at_kill & set(fetched_after_kill)
        assert summary["pages_fetched_again"] == len(again)
        assert len(again) <= len(set(fetched_before_kill) - indexed_at_kill)
        # Nothing lost, nothing twice.
        assert len(indexed) == len(set(indexed)) == CHAIN_PAGES
    finally:
        chain_site.release()
        delete_prefix(client, run.prefix)
        client.close()
