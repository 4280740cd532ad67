"""Indices, migrations and the bulk pipeline against the real Elasticsearch node."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Callable

import pytest
from scrapy.utils.test import get_crawler

from crawler.items import Listing, Page, Vendor, WalletMention
from crawler.job import create_crawl_job
from config.errors import UserError
from config.settings import load_settings
from tests import PROJECT_ROOT
from pipelines import entities, indices, item_indexer, spool
from pipelines.documents import upsert_action
from pipelines.elasticsearch_bulk import ElasticsearchBulkPipeline
from pipelines.item_indexer import BulkIndexer
from pipelines.spool_replay import replay_spool
from pipelines.es_client import ensure_reachable, make_client
from tests.integration.older_templates import older_templates

pytestmark = pytest.mark.integration

HOST = "x" * 52 + "abcd.onion"
BTC_ADDRESS = "1BoatSLRHtKNngkdXEeobR76b53LETtpyT"
# Only what a batch writes: every index costs cluster-state updates on a busy node.
CRAWL_KINDS = ("pages", "listings", "vendors", "wallets", "onions")


def make_page(number: int, fetched_at: str = "2026-11-28T10:00:00Z", content_hash: str = "h", **extra: Any) -> Page:
    url = f"http://{HOST}/page/{number}"
    return Page(url=url, canonical_url=url, onion_host=HOST, status=200, content_type="text/html",
                content_hash=content_hash, fetched_at=fetched_at, job_id="job-1",
                title=f"Page {number}", text=f"body of page {number} mephedrone", **extra)


def refreshed_count(client: Any, index: str) -> int:
    client.indices.refresh(index=index)
    return int(client.count(index=index)["count"])


def test_ensure_indices_is_idempotent(es: tuple[Any, str]) -> None:
    client, prefix = es
    first = indices.ensure_indices(client, prefix)
    second = indices.ensure_indices(client, prefix)
    assert first == second
    assert set(first) == set(indices.KINDS)
    for kind, index in first.items():
        assert index == indices.versioned_index_name(prefix, kind, 1)
        assert list(client.indices.get_alias(name=indices.alias_name(prefix, kind)).body) == [index]
    mapping = client.indices.get_mapping(index=first["pages"]).body[first["pages"]]["mappings"]
    assert mapping["dynamic"] == "strict"
    assert mapping["properties"]["fetched_at"]["type"] == "date"
    settings = client.indices.get_settings(index=first["pages"]).body[first["pages"]]["settings"]["index"]
    assert (settings["number_of_shards"], settings["number_of_replicas"]) == ("1", "0")


def test_replicas_setting_reaches_the_templates_and_the_indices_behind_the_aliases(es: tuple[Any, str]) -> None:
    """Default 0-1: green on one node.  A changed setting reaches existing indices; a caller without settings keeps it."""
    client, prefix = es
    created = indices.ensure_indices(client, prefix, kinds=("wallets",), **indices.shard_overrides(
        load_settings(environ={})))
    index = created["wallets"]

    def index_settings() -> dict[str, Any]:
        return client.indices.get_settings(index=index).body[index]["settings"]["index"]

    assert (index_settings()["number_of_replicas"], index_settings()["auto_expand_replicas"]) == ("0", "0-1")
    assert client.cluster.health(index=index, wait_for_status="green", timeout="30s")["status"] == "green"
    # An operator fixes one replica (a cluster): the template and the existing index follow.
    indices.ensure_indices(client, prefix, kinds=("wallets",), replicas=1)
    assert index_settings()["number_of_replicas"] == "1" and index_settings()["auto_expand_replicas"] == "false"
    template = client.indices.get_index_template(name=indices.alias_name(prefix, "wallets")).body
    assert template["index_templates"][0]["index_template"]["template"]["settings"]["index"]["number_of_replicas"] == "1"
    # A caller without settings (a token, a run record) does not undo it.
    indices.ensure_indices(client, prefix, kinds=("wallets",))
    template = client.indices.get_index_template(name=indices.alias_name(prefix, "wallets")).body
    assert template["index_templates"][0]["index_template"]["template"]["settings"]["index"]["number_of_replicas"] == "1"
    assert index_settings()["number_of_replicas"] == "1"


def test_index_written_before_setup_is_adopted_behind_the_alias(es: tuple[Any, str]) -> None:
    client, prefix = es
    squatter = indices.alias_name(prefix, "audit")
    client.index(index=squatter, id="a1", document={"at": "2026-11-28T10:00:00Z", "query": "x"}, refresh=True)
    result = indices.ensure_indices(client, prefix, kinds=("audit",))
    assert result["audit"] == indices.versioned_index_name(prefix, "audit", 1)
    assert client.get(index=squatter, id="a1")["_source"]["query"] == "x"
    assert indices.current_index(client, prefix, "audit") == result["audit"]


def test_migration_moves_alias_and_keeps_every_document(es: tuple[Any, str]) -> None:
    client, prefix = es
    indices.ensure_indices(client, prefix, kinds=("pages",))
    indexer = BulkIndexer(client, prefix, None, max_retries=0)
    indexer.index_items([make_page(number) for number in range(1234)])
    alias = indices.alias_name(prefix, "pages")
    client.indices.refresh(index=alias)
    before_ids = {hit["_id"] for hit in client.search(index=alias, size=2000, _source=False)["hits"]["hits"]}

    report = indices.migrate(client, prefix, "pages", batch_size=500)

    assert report.source_index.endswith("-v1") and report.target_index.endswith("-v2")
    assert report.source_docs == report.copied_docs == report.target_docs == 1234
    assert indices.current_index(client, prefix, "pages") == report.target_index
    after_ids = {hit["_id"] for hit in client.search(index=alias, size=2000, _source=False)["hits"]["hits"]}
    assert after_ids == before_ids
    # The old index is kept as a read-only rollback point.
    old_settings = client.indices.get_settings(index=report.source_index).body[report.source_index]["settings"]
    assert old_settings["index"]["blocks"]["write"] == "true"
    second = indices.migrate(client, prefix, "pages", delete_old=True)
    assert second.target_index.endswith("-v3") and second.target_docs == 1234
    assert not client.indices.exists(index=second.source_index)


def test_reindexing_the_same_page_updates_instead_of_duplicating(es: tuple[Any, str]) -> None:
    client, prefix = es
    indices.ensure_indices(client, prefix, kinds=CRAWL_KINDS)
    indexer = BulkIndexer(client, prefix, None, max_retries=0)
    first = indexer.index_items([make_page(1, "2026-11-28T10:00:00Z"), make_page(2, "2026-11-28T10:00:00Z")])
    second = indexer.index_items([make_page(1, "2026-11-29T10:00:00Z")])
    assert first.created["pages"] == 2 and second.created["pages"] == 0 and second.indexed["pages"] == 1
    alias = indices.alias_name(prefix, "pages")
    assert refreshed_count(client, alias) == 2
    source = client.get(index=alias, id=make_page(1).doc_id())["_source"]
    assert (source["first_seen"], source["last_seen"]) == ("2026-11-28T10:00:00Z", "2026-11-29T10:00:00Z")
    onion = client.get(index=indices.alias_name(prefix, "onions"), id=HOST)["_source"]
    assert onion["page_count"] == 2
    assert (onion["first_seen"], onion["last_seen"], onion["up"]) == ("2026-11-28T10:00:00Z", "2026-11-29T10:00:00Z", True)


def test_wallet_entity_collects_pages_listings_vendors_and_markets(es: tuple[Any, str]) -> None:
    client, prefix = es
    indices.ensure_indices(client, prefix, kinds=CRAWL_KINDS)
    indexer = BulkIndexer(client, prefix, None, max_retries=0)
    mentions = [
        WalletMention(address=BTC_ADDRESS, coin="btc", network="mainnet", address_type="p2pkh",
                      page_url=f"http://{HOST}/listing/{market}", onion_host=HOST,
                      fetched_at=f"2026-11-2{day}T10:00:00Z", job_id="job-1", market=market,
                      listing_id="L1", vendor="ChemKing", source="listing")
        for day, market in ((5, "market-a"), (8, "market-b"))
    ]
    listing = Listing(market="market-a", listing_id="L1", url=f"http://{HOST}/listing/L1", title="4-MMC 10g",
                      fetched_at="2026-11-25T10:00:00Z", job_id="job-1", crypto_prices={"BTC": 0.002},
                      price_currency="usd", vendor="ChemKing", wallets=[BTC_ADDRESS], onion_host=HOST)
    vendor = Vendor(market="market-b", name="ChemKing", fetched_at="2026-11-28T10:00:00Z", job_id="job-1",
                    pgp_fingerprints=["abcd 1234"], wallets=[BTC_ADDRESS])
    outcome = indexer.index_items([*mentions, listing, vendor])
    assert outcome.failed == 0 and outcome.entities["wallets"] == 1
    wallet = client.get(index=indices.alias_name(prefix, "wallets"),
                        id=entities.wallet_doc_id("btc", BTC_ADDRESS))["_source"]
    assert wallet["markets"] == ["market-a", "market-b"] and wallet["market_count"] == 2
    assert wallet["listings"] == [listing.doc_id(), Listing(market="market-b", listing_id="L1", url="", title="",
                                                            fetched_at="", job_id="", onion_host=HOST).doc_id()]
    assert (wallet["first_seen"], wallet["last_seen"]) == ("2026-11-25T10:00:00Z", "2026-11-28T10:00:00Z")
    stored_listing = client.get(index=indices.alias_name(prefix, "listings"), id=listing.doc_id())["_source"]
    assert stored_listing["coins"] == ["btc"] and stored_listing["crypto_prices"] == {"btc": 0.002}
    stored_vendor = client.get(index=indices.alias_name(prefix, "vendors"), id=vendor.doc_id())["_source"]
    assert stored_vendor["pgp_fingerprints"] == ["ABCD1234"] and stored_vendor["name_folded"] == "chemking"
    client.indices.refresh(index=indices.alias_name(prefix, "wallets"))
    hits = client.search(index=indices.alias_name(prefix, "wallets"),
                         query={"term": {"address": BTC_ADDRESS}})["hits"]["hits"]
    assert len(hits) == 1


def test_concurrent_writers_lose_no_wallet_sighting(es: tuple[Any, str]) -> None:
    client, prefix = es
    indices.ensure_indices(client, prefix, kinds=CRAWL_KINDS)
    writers, rounds = 4, 15

    def write(worker: int) -> None:
        indexer = BulkIndexer(make_client_like(client), prefix, None, max_retries=3, backoff_seconds=0.01)
        for number in range(rounds):
            page = make_page(worker * 1000 + number, fetched_at=f"2026-11-28T10:{number:02d}:00Z",
                             wallets=[{"address": BTC_ADDRESS, "coin": "btc"}])
            outcome = indexer.index_items([page])
            assert outcome.failed == 0

    threads = [threading.Thread(target=write, args=(worker,)) for worker in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wallet = client.get(index=indices.alias_name(prefix, "wallets"),
                        id=entities.wallet_doc_id("btc", BTC_ADDRESS))["_source"]
    # Every writer's every page is in: no merge overwrote another's (each page is one reference).
    assert wallet["page_count"] == writers * rounds


def test_a_bug_in_the_wallet_merge_is_counted_and_its_sightings_spooled_not_swallowed(
    es: tuple[Any, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    client, prefix = es
    indices.ensure_indices(client, prefix, kinds=CRAWL_KINDS)
    writer = spool.SpoolWriter(tmp_path / "spool")
    indexer = BulkIndexer(client, prefix, writer, max_retries=0, backoff_seconds=0.01)

    def broken_merge(existing: Any, sightings: Any) -> Any:
        raise RuntimeError("wallet merge broke")

    monkeypatch.setattr(entities, "merge_wallet", broken_merge)
    page = make_page(1, wallets=[{"address": BTC_ADDRESS, "coin": "btc"}])
    outcome = indexer.index_items([page])
    writer.close()
    assert outcome.indexed["pages"] == 1 and outcome.entities["onions"] == 1
    assert (outcome.unexpected_errors, outcome.failed, outcome.spooled) == (1, 1, 1)
    [record] = spooled_records(tmp_path / "spool")
    assert (record["record"], record["kind"], record["id"]) == ("entity", "wallets",
                                                                entities.wallet_doc_id("btc", BTC_ADDRESS))
    assert "wallet merge broke" in record["error"] and record["sightings"][0]["page_url"] == page.canonical_url

    # A spool that refuses the record is raised to the caller (the Scrapy pipeline then stops the crawl).
    class RefusingSpool:
        def write(self, record: dict[str, Any]) -> Path:
            raise OSError("disk full")

    refusing = BulkIndexer(client, prefix, RefusingSpool(), max_retries=0)
    with pytest.raises(OSError, match="disk full"):
        refusing.index_items([make_page(2, wallets=[{"address": BTC_ADDRESS, "coin": "btc"}])])


def make_client_like(client: Any) -> Any:
    # One client per thread, as the crawl and a replay would each have.
    return client.options()


def test_mapping_violation_is_spooled_and_counted_not_dropped(es: tuple[Any, str], tmp_path: Path) -> None:
    client, prefix = es
    indices.ensure_indices(client, prefix, kinds=CRAWL_KINDS)
    writer = spool.SpoolWriter(tmp_path / "spool")
    indexer = BulkIndexer(client, prefix, writer, max_retries=2, backoff_seconds=0.01)
    broken = make_page(7)
    broken.depth = "deep"  # type: ignore[assignment]  # an integer field: the strict mapping refuses it
    outcome = indexer.index_items([broken, make_page(8)])
    writer.close()
    assert outcome.indexed["pages"] == 1 and outcome.failed == 1 and outcome.spooled == 1
    assert outcome.retries == 0  # a mapping error is final: no pointless retries
    [path] = spool.spool_files(tmp_path / "spool")
    with spool.claim(path) as records:
        assert records is not None
        assert [record["id"] for record in records] == [broken.doc_id()]
        assert "400" in records[0]["error"] and "depth" in records[0]["error"]


def test_write_block_is_retried_then_spooled_and_replay_indexes_it(es: tuple[Any, str], tmp_path: Path) -> None:
    client, prefix = es
    created = indices.ensure_indices(client, prefix, kinds=CRAWL_KINDS)
    client.indices.add_block(index=created["pages"], block="write")
    client.indices.add_block(index=created["onions"], block="write")
    writer = spool.SpoolWriter(tmp_path / "spool")
    sleeps: list[float] = []
    indexer = BulkIndexer(client, prefix, writer, max_retries=3, backoff_seconds=0.01, sleep=sleeps.append)
    outcome = indexer.index_items([make_page(1), make_page(2)])
    writer.close()
    assert outcome.indexed["pages"] == 0 and outcome.spooled == 3  # two pages and the onion entity
    assert sleeps[:3] == [0.01, 0.02, 0.04]  # exponential backoff between the retries

    busy = spool.SpoolWriter(tmp_path / "spool")
    busy.write({"record": "document", "kind": "pages", "id": "held-by-a-running-crawl"})
    client.indices.put_settings(index=created["pages"], settings={"index.blocks.write": False})
    client.indices.put_settings(index=created["onions"], settings={"index.blocks.write": False})
    report = replay_spool(client, tmp_path / "spool", prefix, max_retries=0)
    busy.close()
    assert (report.replayed, report.still_failing, report.busy_files) == (3, 0, 1)
    assert refreshed_count(client, indices.alias_name(prefix, "pages")) == 2
    onion = client.get(index=indices.alias_name(prefix, "onions"), id=HOST)["_source"]
    assert onion["last_status"] == 200
    assert onion["page_count"] == 2  # pages created by the replay count on their onion
    assert spool.spool_files(tmp_path / "spool") == [busy.path]


def test_unreachable_elasticsearch_is_retried_then_spooled(es_settings: Any, tmp_path: Path) -> None:
    dead = es_settings.replace(es_url="http://127.0.0.1:9")
    client = make_client(dead)
    writer = spool.SpoolWriter(tmp_path / "spool")
    sleeps: list[float] = []
    indexer = BulkIndexer(client, es_settings.index_prefix, writer, max_retries=2, backoff_seconds=0.5,
                          sleep=sleeps.append)
    outcome = indexer.index_items([make_page(1)])
    writer.close()
    assert outcome.spooled == 2 and outcome.failed == 2  # the page and its onion entity
    assert sleeps == [0.5, 1.0, 0.5, 1.0]
    with pytest.raises(UserError, match="not reachable"):
        ensure_reachable(client, dead)


def test_scrapy_pipeline_indexes_flushes_on_close_and_records_the_crawl_run(
    es_settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The way `scrapy crawl` runs it: settings come from ONIONSCOPE_* variables.
    for key in ("es_url", "index_prefix", "var_dir", "bulk_batch_size"):
        monkeypatch.setenv(f"ONIONSCOPE_{key.upper()}", str(es_settings[key] if key != "bulk_batch_size" else 3))
    crawler = get_crawler()
    crawler.stats.open_spider()
    pipeline = ElasticsearchBulkPipeline.from_crawler(crawler)
    assert pipeline.batch_size == 3 and pipeline.index_prefix == es_settings.index_prefix
    client = pipeline.client
    prefix = es_settings.index_prefix

    async def crawl() -> None:
        pipeline.open_spider()
        for number in range(7):  # two full batches and a remainder flushed on close
            await pipeline.process_item(make_page(number))
        await pipeline.close_spider()

    asyncio.run(crawl())
    spider = SimpleNamespace(name="onion", crawl_job=create_crawl_job([f"http://{HOST}/"], "job-42"))
    pipeline.record_crawl_run(spider, "finished")  # what the spider_closed handler runs in a thread
    assert refreshed_count(client, indices.alias_name(prefix, "pages")) == 7
    assert crawler.stats.get_value("elasticsearch/indexed/pages") == 7
    run = client.get(index=indices.alias_name(prefix, "crawl-runs"), id="job-42")["_source"]
    assert run["pages_indexed"] == 7 and run["finish_reason"] == "finished" and run["seeds"] == [f"http://{HOST}/"]


def test_template_change_is_installed_and_reaches_the_index_through_migration(
    es: tuple[Any, str], tmp_path: Path
) -> None:
    client, prefix = es
    indices.ensure_indices(client, prefix, kinds=("vendors",))
    BulkIndexer(client, prefix, None, max_retries=0).index_items(
        [Vendor(market="m", name=f"v{n}", fetched_at="2026-11-28T10:00:00Z", job_id="j") for n in range(5)]
    )
    changed = tmp_path / "templates"
    shutil.copytree(indices.DEFAULT_TEMPLATES_DIR, changed)
    template = json.loads((changed / "vendors.json").read_text())
    version = template["schema_version"]
    template["schema_version"] = version + 1
    template["mappings"]["_meta"]["schema_version"] = version + 1
    template["mappings"]["properties"]["reputation_note"] = {"type": "text"}
    (changed / "vendors.json").write_text(json.dumps(template))

    indices.ensure_indices(client, prefix, kinds=("vendors",), templates_dir=changed)
    [row] = [r for r in indices.index_status(client, prefix, templates_dir=changed) if r.kind == "vendors"]
    assert row.needs_migration and (row.index_schema_version, row.template_schema_version) == (version, version + 1)

    report = indices.migrate(client, prefix, "vendors", templates_dir=changed)
    assert report.target_docs == 5
    [row] = [r for r in indices.index_status(client, prefix, templates_dir=changed) if r.kind == "vendors"]
    assert not row.needs_migration and row.index == report.target_index
    mapping = client.indices.get_mapping(index=report.target_index).body[report.target_index]["mappings"]
    assert mapping["properties"]["reputation_note"]["type"] == "text"


def test_index_command_sets_up_reports_and_replays(es: tuple[Any, str], tmp_path: Path) -> None:
    client, prefix = es
    environment = {**os.environ, "ONIONSCOPE_INDEX_PREFIX": prefix, "ONIONSCOPE_VAR_DIR": str(tmp_path / "var")}
    if "ONIONSCOPE_ES_URL" not in os.environ:
        environment["ONIONSCOPE_ES_URL"] = client.transport.node_pool.get().base_url

    def onionscope(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "onionscope.cli", *args], capture_output=True, text=True,
                              env=environment, cwd=PROJECT_ROOT, timeout=300)

    setup = onionscope("index", "setup")
    assert setup.returncode == 0, setup.stderr
    assert f"{prefix}-pages -> {prefix}-pages-v1" in setup.stdout
    writer = spool.SpoolWriter(tmp_path / "var" / "spool")
    page = make_page(3)
    writer.write({"record": "document", "kind": "pages", "index_prefix": prefix, "id": page.doc_id(),
                  "op_type": "index", "meta": {}, "body": {"url": page.url, "fetched_at": page.fetched_at},
                  "error": "test", "attempts": 1})
    writer.close()
    replay = onionscope("index", "replay-spool")
    assert replay.returncode == 0, replay.stdout + replay.stderr
    assert "1 records: 1 indexed, 0 still failing" in replay.stdout
    status = onionscope("index", "status")
    assert status.returncode == 0 and f"{prefix}-pages -> {prefix}-pages-v1: 1 documents" in status.stdout


def test_a_real_scrapy_crawl_goes_through_validate_deduplicate_and_bulk(es: tuple[Any, str], tmp_path: Path) -> None:
    from tests.integration.items_only_crawl import DISTINCT_PAGES, HOST as CRAWL_HOST

    client, prefix = es
    environment = {**os.environ, "ONIONSCOPE_INDEX_PREFIX": prefix, "ONIONSCOPE_VAR_DIR": str(tmp_path / "var"),
                   "ONIONSCOPE_BULK_BATCH_SIZE": "3"}
    if "ONIONSCOPE_ES_URL" not in os.environ:
        environment["ONIONSCOPE_ES_URL"] = client.transport.node_pool.get().base_url
    crawl = subprocess.run([sys.executable, "-m", "tests.integration.items_only_crawl", "20"], capture_output=True,
                           text=True, env=environment, cwd=PROJECT_ROOT, timeout=300)
    assert crawl.returncode == 0, crawl.stderr[-3000:]
    [line] = [line for line in crawl.stdout.splitlines() if line.startswith("STATS ")]
    stats = json.loads(line[len("STATS "):])
    assert stats["elasticsearch/indexed/pages"] == DISTINCT_PAGES
    assert stats["deduplicate/dropped/pages"] == 20 - DISTINCT_PAGES
    assert stats["validate/dropped/bad_url"] == 1
    assert "elasticsearch/failed" not in stats
    assert refreshed_count(client, indices.alias_name(prefix, "pages")) == DISTINCT_PAGES
    run = client.get(index=indices.alias_name(prefix, "crawl-runs"), id="items-only-crawl")["_source"]
    assert (run["finish_reason"], run["pages_indexed"], run["items_dropped"]) == ("finished", DISTINCT_PAGES, 14)
    assert client.get(index=indices.alias_name(prefix, "onions"), id=CRAWL_HOST)["_source"]["page_count"] == DISTINCT_PAGES
    assert spool.spool_files(tmp_path / "var" / "spool") == []


class BulkRaisesOnce:
    """The real client, except that the first bulk request writing to ``index`` raises: an injected fault."""

    def __init__(self, client: Any, index: str):
        self.client = client
        self.index = index
        self.raised = False

    def bulk(self, *, operations: list[dict[str, Any]], **kwargs: Any) -> Any:
        targets = {next(iter(line.values())).get("_index") for line in operations[::2]}
        if not self.raised and self.index in targets:
            self.raised = True
            raise RuntimeError("injected fault in the bulk send")
        return self.client.bulk(operations=operations, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.client, name)


async def crawl_as_scrapy_would(pipeline: ElasticsearchBulkPipeline, items: list[Any]) -> None:
    # Scrapy logs an exception a pipeline raises and goes on with the crawl; so does this.
    for item in items:
        with contextlib.suppress(Exception):
            await pipeline.process_item(item)
    with contextlib.suppress(Exception):
        await pipeline.close_spider()


def spooled_records(spool_dir: Path) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = []
    for path in spool.spool_files(spool_dir):
        with spool.claim(path) as claimed:
            assert claimed is not None
            records += claimed
    return records


def test_an_exception_in_the_bulk_send_leaves_every_item_indexed_or_spooled(
    es: tuple[Any, str], tmp_path: Path
) -> None:
    client, prefix = es
    indices.ensure_indices(client, prefix, kinds=CRAWL_KINDS)
    faulty = BulkRaisesOnce(client, indices.alias_name(prefix, "pages"))
    crawler = get_crawler()
    crawler.stats.open_spider()
    spool_dir = tmp_path / "spool"
    pipeline = ElasticsearchBulkPipeline(
        faulty, prefix, spool_dir, batch_size=5, max_retries=2, backoff_seconds=0.01,  # type: ignore[arg-type]
        stats=crawler.stats)
    # What the spool holds and `index replay-spool` are tested here; the crawl writing back its own
    # spool when it closes is tested in test_es_outage.py.
    pipeline.replay_own_spool = lambda: 0  # type: ignore[method-assign]
    pages = [make_page(number, wallets=[{"address": BTC_ADDRESS, "coin": "btc"}]) for number in range(12)]

    asyncio.run(crawl_as_scrapy_would(pipeline, pages))
    pipeline.spool_writer.close()
    assert faulty.raised
    records = spooled_records(spool_dir)
    spooled_pages = {record["id"] for record in records if record["kind"] == "pages"}
    pages_alias = indices.alias_name(prefix, "pages")
    client.indices.refresh(index=pages_alias)
    indexed_pages = {hit["_id"] for hit in client.search(index=pages_alias, size=100, _source=False)["hits"]["hits"]}
    # Every page is in exactly one place: indexed or spooled (the first batch of five is the spooled one).
    assert len(spooled_pages) == 5 and len(indexed_pages) == 7
    assert spooled_pages | indexed_pages == {page.doc_id() for page in pages}
    # The wallet write went in the same request: its five sightings are spooled with the pages.
    [wallet_record] = [record for record in records if record["kind"] == "wallets"]
    assert wallet_record["record"] == "entity" and len(wallet_record["sightings"]) == 5
    assert all("injected fault" in record["error"] for record in records)
    stats = crawler.stats.get_stats()
    assert stats["elasticsearch/unexpected_errors"] == 1
    assert stats["elasticsearch/spooled"] == stats["elasticsearch/failed"] == len(records) == 6

    report = replay_spool(client, spool_dir, prefix, max_retries=0)
    assert (report.replayed, report.still_failing) == (6, 0)
    assert refreshed_count(client, pages_alias) == 12
    onion = client.get(index=indices.alias_name(prefix, "onions"), id=HOST)["_source"]
    assert onion["page_count"] == 12  # the replayed pages count on their onion too
    wallet = client.get(index=indices.alias_name(prefix, "wallets"),
                        id=entities.wallet_doc_id("btc", BTC_ADDRESS))["_source"]
    assert wallet["page_count"] == 12


def test_a_batch_that_raises_as_a_whole_is_spooled_as_items_and_replayed(
    es: tuple[Any, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    client, prefix = es
    indices.ensure_indices(client, prefix, kinds=CRAWL_KINDS)
    crawler = get_crawler()
    crawler.stats.open_spider()
    spool_dir = tmp_path / "spool"
    pipeline = ElasticsearchBulkPipeline(client, prefix, spool_dir, batch_size=4, backoff_seconds=0.01,
                                         stats=crawler.stats)
    pipeline.replay_own_spool = lambda: 0  # type: ignore[method-assign]  # (as above)
    real_upsert_action = item_indexer.upsert_action

    def upsert_action_with_a_bug(item: Any, index: str) -> dict[str, Any]:
        if item.title == "Page 2":
            raise KeyError("a bug that one item triggers")
        return real_upsert_action(item, index)

    monkeypatch.setattr(item_indexer, "upsert_action", upsert_action_with_a_bug)
    pages = [make_page(number) for number in range(6)]

    asyncio.run(crawl_as_scrapy_would(pipeline, pages))
    pipeline.spool_writer.close()
    records = spooled_records(spool_dir)
    assert sorted((record["record"], record["id"]) for record in records) == sorted(
        ("item", page.doc_id()) for page in pages[:4])
    assert crawler.stats.get_value("elasticsearch/unexpected_errors") == 1
    pages_alias = indices.alias_name(prefix, "pages")
    assert refreshed_count(client, pages_alias) == 2

    monkeypatch.undo()  # the bug is fixed; the replay indexes the items
    report = replay_spool(client, spool_dir, prefix, max_retries=0)
    assert (report.records, report.replayed, report.still_failing) == (4, 4, 0)
    assert refreshed_count(client, pages_alias) == 6
    assert client.get(index=indices.alias_name(prefix, "onions"), id=HOST)["_source"]["page_count"] == 6
    assert spool.spool_files(spool_dir) == []


def spool_an_old_crawl(client: Any, prefix: str, spool_dir: Path, pages: list[Page]) -> None:
    """Index ``pages`` while their index refuses writes, as in an outage: their records go to the spool."""
    pages_index = indices.current_index(client, prefix, "pages")
    client.indices.add_block(index=pages_index, block="write")
    writer = spool.SpoolWriter(spool_dir)
    try:
        outcome = BulkIndexer(client, prefix, writer, max_retries=0).index_items(pages)
    finally:
        writer.close()
        client.indices.put_settings(index=pages_index, settings={"index.blocks.write": False})
    assert outcome.spooled == len(pages) and outcome.indexed["pages"] == 0


def test_replaying_an_old_record_keeps_the_newer_crawl(es: tuple[Any, str], tmp_path: Path) -> None:
    client, prefix = es
    indices.ensure_indices(client, prefix, kinds=CRAWL_KINDS)
    old_page = make_page(1, "2026-11-28T10:00:00Z", content_hash="old")
    old_page.title = "old title"
    spool_an_old_crawl(client, prefix, tmp_path / "spool", [old_page])
    new_page = make_page(1, "2026-11-29T10:00:00Z", content_hash="new")
    new_page.title = "new title"
    BulkIndexer(client, prefix, None, max_retries=0).index_items([new_page])

    report = replay_spool(client, tmp_path / "spool", prefix, max_retries=0)

    assert (report.replayed, report.still_failing) == (1, 0)
    source = client.get(index=indices.alias_name(prefix, "pages"), id=old_page.doc_id())["_source"]
    assert (source["last_seen"], source["title"], source["content_hash"]) == (
        "2026-11-29T10:00:00Z", "new title", "new")
    assert source["first_seen"] == "2026-11-28T10:00:00Z"  # the old crawl saw it first
    onion = client.get(index=indices.alias_name(prefix, "onions"), id=HOST)["_source"]
    assert (onion["page_count"], onion["last_seen"]) == (1, "2026-11-29T10:00:00Z")  # counted once


def test_replay_writes_each_record_to_the_prefix_it_was_spooled_for(es: tuple[Any, str], tmp_path: Path) -> None:
    client, prefix = es
    indices.ensure_indices(client, prefix, kinds=CRAWL_KINDS)
    spool_an_old_crawl(client, prefix, tmp_path / "spool", [make_page(1), make_page(2)])
    gone_prefix = f"{prefix}gone"  # a prefix whose indices were deleted since
    writer = spool.SpoolWriter(tmp_path / "spool")
    page = make_page(3)
    writer.write({"record": "document", "kind": "pages", "index_prefix": gone_prefix, "id": page.doc_id(),
                  "op_type": "update", "meta": {}, "body": upsert_action_body(page), "error": "test", "attempts": 1})
    writer.close()
    other_prefix = f"{prefix}other"  # what `index replay-spool` runs with today
    try:
        report = replay_spool(client, tmp_path / "spool", other_prefix, max_retries=0)
        assert (report.replayed, report.still_failing) == (2, 1)
        assert refreshed_count(client, indices.alias_name(prefix, "pages")) == 2
        assert client.get(index=indices.alias_name(prefix, "onions"), id=HOST)["_source"]["page_count"] == 2
        # Nothing went to the prefix of the command, and no index was created without its template.
        for absent in (other_prefix, gone_prefix):
            assert not client.indices.exists(index=f"{absent}-*", allow_no_indices=False)
        [left] = spooled_records(tmp_path / "spool")
        assert (left["index_prefix"], left["id"]) == (gone_prefix, page.doc_id()) and "index_not_found" in left["error"]
    finally:
        indices.delete_prefix(client, other_prefix)
        indices.delete_prefix(client, gone_prefix)


def upsert_action_body(page: Page) -> dict[str, Any]:
    action = upsert_action(page, "unused")
    return {"doc": action["doc"], "upsert": action["upsert"]}


class CrawlBeforeTheFirstBulk:
    """The real client; right before its first bulk request, ``crawl`` runs (the synchronisation point)."""

    def __init__(self, client: Any, crawl: Callable[[], None]):
        self.client = client
        self.crawl: Callable[[], None] | None = crawl

    def bulk(self, **kwargs: Any) -> Any:
        if self.crawl is not None:
            crawl, self.crawl = self.crawl, None
            crawl()
        return self.client.bulk(**kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.client, name)


def test_a_crawl_writing_between_the_replays_read_and_write_is_kept(es: tuple[Any, str], tmp_path: Path) -> None:
    client, prefix = es
    indices.ensure_indices(client, prefix, kinds=CRAWL_KINDS)
    BulkIndexer(client, prefix, None, max_retries=0).index_items([make_page(1, "2026-11-27T10:00:00Z")])
    old_page = make_page(1, "2026-11-28T10:00:00Z", content_hash="old")
    spool_an_old_crawl(client, prefix, tmp_path / "spool", [old_page])
    new_page = make_page(1, "2026-11-29T10:00:00Z", content_hash="new")

    def crawl_the_newer_page() -> None:
        assert BulkIndexer(client, prefix, None, max_retries=0).index_items([new_page]).indexed["pages"] == 1

    # The replay reads the page (last seen on the 27th, older than its record), then the crawl
    # writes the 29th, then the replay writes: its write must not land on the crawl's.
    racing = CrawlBeforeTheFirstBulk(client, crawl_the_newer_page)
    report = replay_spool(racing, tmp_path / "spool", prefix, max_retries=0)  # type: ignore[arg-type]

    assert racing.crawl is None and (report.replayed, report.still_failing) == (1, 0)
    source = client.get(index=indices.alias_name(prefix, "pages"), id=old_page.doc_id())["_source"]
    assert (source["first_seen"], source["last_seen"], source["content_hash"]) == (
        "2026-11-27T10:00:00Z", "2026-11-29T10:00:00Z", "new")


ONION_FIELDS = ("onion_mentions", "discovery_onions", "hidden_identifiers")


def pages_schema_3_templates(tmp_path: Path) -> Path:
    """The templates as they were before onion mentions: pages at schema 3, without the onion fields."""
    return older_templates(tmp_path / "templates-pages-3", {"pages": (3, ONION_FIELDS)})


def test_pages_from_before_onion_mentions_migrate_and_then_take_them(es: tuple[Any, str], tmp_path: Path) -> None:
    client, prefix = es
    indices.ensure_indices(client, prefix, kinds=CRAWL_KINDS, templates_dir=pages_schema_3_templates(tmp_path))
    alias = indices.alias_name(prefix, "pages")
    old = make_page(1)
    old_document = {key: value for key, value in upsert_action(old, alias)["upsert"].items() if key not in ONION_FIELDS}
    client.index(index=alias, id=old.doc_id(), document=old_document, refresh=True)
    mentioned, trap = "m" * 52 + "abcd.onion", "t" * 52 + "abcd.onion"
    page = make_page(2, onion_mentions=[
        {"host": mentioned, "version": 3, "where": "text", "obfuscated": True, "hidden": False},
        {"host": trap, "version": 3, "where": "link", "obfuscated": False, "hidden": True},
    ], discovery_onions=[mentioned], hidden_identifiers=[trap])

    [row] = [r for r in indices.index_status(client, prefix) if r.kind == "pages"]
    current = json.loads((indices.DEFAULT_TEMPLATES_DIR / "pages.json").read_text(encoding="utf-8"))["schema_version"]
    assert current >= 4  # onion mentions came with schema 4
    assert row.needs_migration and (row.index_schema_version, row.template_schema_version) == (3, current)
    # The old strict mapping rejects the new fields: this is why the crawl refuses to start.
    assert BulkIndexer(client, prefix, None, max_retries=0).index_items([page]).failed == 1

    report = indices.migrate(client, prefix, "pages")
    assert report.target_docs == 1
    assert BulkIndexer(client, prefix, None, max_retries=0).index_items([page]).failed == 0
    client.indices.refresh(index=alias)
    assert client.get(index=alias, id=old.doc_id())["_source"]["title"] == "Page 1"  # kept, same id

    def found(query: dict[str, Any]) -> list[str]:
        return [hit["_id"] for hit in client.search(index=alias, query=query)["hits"]["hits"]]

    assert found({"term": {"onion_mentions.host": mentioned}}) == [page.doc_id()]
    assert found({"bool": {"filter": [{"term": {"onion_mentions.host": trap}},
                                      {"term": {"onion_mentions.hidden": True}}]}}) == [page.doc_id()]
    assert found({"term": {"discovery_onions": mentioned}}) == [page.doc_id()]
    assert found({"term": {"hidden_identifiers": trap}}) == [page.doc_id()]
