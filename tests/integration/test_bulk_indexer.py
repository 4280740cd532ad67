"""The batch path of pipelines.item_indexer against the real Elasticsearch node: one read, two bulk
requests, ``create`` for new documents, and entity merges that lose nothing to a concurrent writer."""

from __future__ import annotations

import multiprocessing
from typing import Any

import pytest

from config.settings import load_settings
from crawler.items import Page, WalletMention
from pipelines import entities, indices
from pipelines.es_client import make_client
from pipelines.item_indexer import BulkIndexer

pytestmark = pytest.mark.integration

HOST = "y" * 52 + "abcd.onion"
BTC_ADDRESS = "1BoatSLRHtKNngkdXEeobR76b53LETtpyT"
WALLET_ID = entities.wallet_doc_id("btc", BTC_ADDRESS)
CRAWL_KINDS = ("pages", "listings", "vendors", "wallets", "onions", "changes")
ROUNDS = 25


def make_page(number: int, fetched_at: str = "2026-11-28T10:00:00Z") -> Page:
    url = f"http://{HOST}/page/{number}"
    return Page(url=url, canonical_url=url, onion_host=HOST, status=200, content_type="text/html",
                content_hash=f"h{number}", fetched_at=fetched_at, job_id="job-1", title=f"Page {number}",
                text=f"body of page {number}", wallets=[{"address": BTC_ADDRESS, "coin": "btc"}])


def make_mention(number: int, fetched_at: str = "2026-11-28T10:00:00Z") -> WalletMention:
    return WalletMention(address=BTC_ADDRESS, coin="btc", network="mainnet", address_type="p2pkh",
                         page_url=f"http://{HOST}/page/{number}", onion_host=HOST, fetched_at=fetched_at,
                         job_id="job-1")


class CountingClient:
    """The real client, recording each mget and bulk request (and, once, calling ``before_first_bulk``)."""

    def __init__(self, client: Any):
        self.client = client
        self.requests: list[tuple[str, list[str]]] = []
        self.before_first_bulk: Any = None

    def mget(self, **kwargs: Any) -> Any:
        self.requests.append(("mget", [doc["_index"] for doc in kwargs.get("docs", [])]))
        return self.client.mget(**kwargs)

    def bulk(self, *, operations: list[dict[str, Any]], **kwargs: Any) -> Any:
        self.requests.append(("bulk", [f"{op_type}:{header['_index'].rsplit('-', 1)[-1]}"
                                       for line in operations[::2] for op_type, header in line.items()]))
        if self.before_first_bulk is not None:
            interfere, self.before_first_bulk = self.before_first_bulk, None
            interfere()
        return self.client.bulk(operations=operations, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.client, name)


def test_a_batch_is_one_read_and_two_bulk_requests_and_a_recrawl_rewrites_no_unchanged_entity(
    es: tuple[Any, str],
) -> None:
    client, prefix = es
    indices.ensure_indices(client, prefix, kinds=CRAWL_KINDS)
    counting = CountingClient(client)
    indexer = BulkIndexer(counting, prefix, None, max_retries=0)
    batch = [make_page(1), make_page(2), make_mention(1)]

    first = indexer.index_items(batch)
    assert first.failed == 0 and first.created["pages"] == 2 and first.entities == {"wallets": 1, "onions": 1}
    # One read (pages for change tracking, the wallet and the onion), documents and wallet in one bulk,
    # then the onion, which counts the pages that bulk created.
    assert [kind for kind, _ in counting.requests] == ["mget", "bulk", "bulk"]
    assert sorted(counting.requests[1][1]) == ["create:pages", "create:pages", "create:wallets"]
    assert counting.requests[2][1] == ["create:onions"]
    wallets_alias = indices.alias_name(prefix, "wallets")
    stored = client.get(index=wallets_alias, id=WALLET_ID)
    assert stored["_source"]["page_count"] == 2 and stored["_source"]["mention_count"] == 1

    # A re-crawl of the same pages updates them; the wallet and the onion gain nothing, so they are not rewritten.
    counting.requests.clear()
    again = indexer.index_items([make_page(1), make_page(2)])
    assert again.failed == 0 and again.created["pages"] == 0 and again.indexed["pages"] == 2
    assert again.entities == {"wallets": 1, "onions": 1}
    assert [kind for kind, _ in counting.requests] == ["mget", "bulk"]
    assert counting.requests[1][1] == ["update:pages", "update:pages"]
    assert client.get(index=wallets_alias, id=WALLET_ID)["_seq_no"] == stored["_seq_no"]
    onion = client.get(index=indices.alias_name(prefix, "onions"), id=HOST)["_source"]
    assert onion["page_count"] == 2


def test_a_writer_coming_first_between_the_read_and_the_write_loses_nothing(es: tuple[Any, str]) -> None:
    """Another worker creates a page and adds a sighting to the wallet after this batch read them."""
    client, prefix = es
    indices.ensure_indices(client, prefix, kinds=CRAWL_KINDS)
    counting = CountingClient(client)
    indexer = BulkIndexer(counting, prefix, None, max_retries=0)
    other = BulkIndexer(client, prefix, None, max_retries=0)
    earlier = "2026-11-27T09:00:00Z"
    counting.before_first_bulk = lambda: other.index_items([make_page(2, earlier), make_page(99, earlier),
                                                            make_mention(99, earlier)])

    outcome = indexer.index_items([make_page(1), make_page(2), make_mention(1)])

    assert outcome.failed == 0 and outcome.indexed["pages"] == 2
    assert outcome.created["pages"] == 1  # page 2 was the other worker's: updated, not created again
    assert outcome.entity_conflicts == 2  # the wallet and the onion changed under this batch: read again
    pages_alias = indices.alias_name(prefix, "pages")
    page_two = client.get(index=pages_alias, id=make_page(2).doc_id())["_source"]
    assert (page_two["first_seen"], page_two["last_seen"]) == (earlier, "2026-11-28T10:00:00Z")
    wallet = client.get(index=indices.alias_name(prefix, "wallets"), id=WALLET_ID)["_source"]
    assert sorted(wallet["pages"]) == sorted(make_page(n).canonical_url for n in (1, 2, 99))
    assert wallet["mention_count"] == 2 and wallet["first_seen"] == earlier
    onion = client.get(index=indices.alias_name(prefix, "onions"), id=HOST)["_source"]
    assert onion["page_count"] == 3  # pages 1, 2 and 99, each counted once by the worker that created it


def _index_in_a_process(es_url: str, prefix: str, worker: int, ready: Any, go: Any, results: Any) -> None:
    """One crawl worker: ROUNDS batches, each with a page both workers fetch, one of its own, and a mention."""
    client = make_client(load_settings().replace(es_url=es_url))
    indexer = BulkIndexer(client, prefix, None, max_retries=3, backoff_seconds=0.01)
    ready.set()
    go.wait(120)
    failed = conflicts = 0
    for number in range(ROUNDS):
        fetched_at = f"2026-11-28T10:{number:02d}:{worker:02d}Z"
        own = 1000 * (worker + 1) + number
        outcome = indexer.index_items([make_page(number, fetched_at), make_page(own, fetched_at),
                                       make_mention(own, fetched_at)])
        failed += outcome.failed
        conflicts += outcome.entity_conflicts
    client.close()
    results.put((worker, failed, conflicts))


def test_two_processes_writing_the_same_pages_wallet_and_onion_lose_no_update(
    es: tuple[Any, str], es_node: Any,
) -> None:
    client, prefix = es
    indices.ensure_indices(client, prefix, kinds=CRAWL_KINDS)
    context = multiprocessing.get_context("spawn")
    go, results = context.Event(), context.Queue()
    readies = [context.Event() for _ in range(2)]
    workers = [context.Process(target=_index_in_a_process, args=(es_node.url, prefix, worker, readies[worker], go,
                                                                 results))
               for worker in range(2)]
    for process in workers:
        process.start()
    try:
        assert all(ready.wait(180) for ready in readies), "a worker process did not start"
        go.set()
        reports = sorted(results.get(timeout=600) for _ in workers)
    finally:
        for process in workers:
            process.join(timeout=60)
            if process.is_alive():
                process.kill()
    assert [(worker, failed) for worker, failed, _ in reports] == [(0, 0), (1, 0)]
    distinct_pages = ROUNDS + 2 * ROUNDS  # the shared ones once, and each worker's own
    pages_alias = indices.alias_name(prefix, "pages")
    client.indices.refresh(index=pages_alias)
    assert client.count(index=pages_alias)["count"] == distinct_pages
    wallet = client.get(index=indices.alias_name(prefix, "wallets"), id=WALLET_ID)["_source"]
    # Every page of both workers is a reference, and every mention counted: no merge overwrote the other's.
    assert wallet["page_count"] == distinct_pages and wallet["mention_count"] == 2 * ROUNDS
    onion = client.get(index=indices.alias_name(prefix, "onions"), id=HOST)["_source"]
    assert onion["page_count"] == distinct_pages  # each page created once, counted once


def _entity_reads(requests: list[tuple[str, list[str]]], prefix: str) -> list[str]:
    """The wallet and onion indices the recorded mget requests read."""
    entity_indices = {indices.alias_name(prefix, kind) for kind in ("wallets", "onions")}
    return [index for kind, read in requests if kind == "mget" for index in read if index in entity_indices]


def test_a_later_batch_reads_no_entity_the_indexer_holds_and_loses_nothing(es: tuple[Any, str]) -> None:
    """The entity cache: the wallet and onion written by batch 1 are not read again by batch 2."""
    client, prefix = es
    indices.ensure_indices(client, prefix, kinds=CRAWL_KINDS)
    counting = CountingClient(client)
    indexer = BulkIndexer(counting, prefix, None, max_retries=0)

    assert indexer.index_items([make_page(1), make_mention(1)]).failed == 0
    assert len(_entity_reads(counting.requests, prefix)) == 2  # nothing held yet: both read
    counting.requests.clear()
    outcome = indexer.index_items([make_page(2), make_mention(2)])
    assert outcome.failed == 0 and outcome.entities == {"wallets": 1, "onions": 1}
    assert _entity_reads(counting.requests, prefix) == []
    assert outcome.stats["elasticsearch/entity_cache_stale"] == 0
    wallet = client.get(index=indices.alias_name(prefix, "wallets"), id=WALLET_ID)["_source"]
    assert wallet["page_count"] == 2 and wallet["mention_count"] == 2
    assert client.get(index=indices.alias_name(prefix, "onions"), id=HOST)["_source"]["page_count"] == 2

    # Without the cache (entity_cache_bytes=0) every batch reads them, as before.
    plain = CountingClient(client)
    uncached = BulkIndexer(plain, prefix, None, max_retries=0, entity_cache_bytes=0)
    uncached.index_items([make_page(3), make_mention(3)])
    plain.requests.clear()
    uncached.index_items([make_page(4), make_mention(4)])
    assert len(_entity_reads(plain.requests, prefix)) == 2


def test_an_entity_another_writer_changed_since_the_cache_held_it_is_read_and_merged_again(
    es: tuple[Any, str],
) -> None:
    client, prefix = es
    indices.ensure_indices(client, prefix, kinds=CRAWL_KINDS)
    indexer = BulkIndexer(client, prefix, None, max_retries=0)
    other = BulkIndexer(client, prefix, None, max_retries=0)
    indexer.index_items([make_page(1), make_mention(1)])
    earlier = "2026-11-27T09:00:00Z"
    other.index_items([make_page(99, earlier), make_mention(99, earlier)])  # after this indexer cached both

    outcome = indexer.index_items([make_page(2), make_mention(2)])

    assert outcome.failed == 0 and outcome.spooled == 0
    assert outcome.stats["elasticsearch/entity_cache_stale"] == 2  # the wallet and the onion: refused, read again
    assert outcome.entities == {"wallets": 1, "onions": 1}
    wallet = client.get(index=indices.alias_name(prefix, "wallets"), id=WALLET_ID)["_source"]
    assert sorted(wallet["pages"]) == sorted(make_page(n).canonical_url for n in (1, 2, 99))
    assert wallet["mention_count"] == 3 and wallet["first_seen"] == earlier
    assert client.get(index=indices.alias_name(prefix, "onions"), id=HOST)["_source"]["page_count"] == 3


@pytest.mark.parametrize("delete_old", [False, True], ids=["old-index-kept-read-only", "old-index-deleted"])
def test_an_entity_cached_before_a_migration_is_written_to_the_new_index_only(
    es: tuple[Any, str], delete_old: bool,
) -> None:
    """A migration between two batches moves the alias: the cached version's index refuses the write (write
    block) or is gone, so the document is read through the alias and merged into the new index."""
    client, prefix = es
    indices.ensure_indices(client, prefix, kinds=CRAWL_KINDS)
    indexer = BulkIndexer(client, prefix, None, max_retries=0)
    indexer.index_items([make_page(1), make_mention(1)])
    indexer.index_items([make_page(2), make_mention(2)])  # the cached versions are now past 0 in the old index
    old = {kind: indices.current_index(client, prefix, kind) for kind in ("wallets", "onions")}
    for kind in ("wallets", "onions"):
        indices.migrate(client, prefix, kind, delete_old=delete_old)

    outcome = indexer.index_items([make_page(3), make_mention(3)])

    assert outcome.failed == 0 and outcome.spooled == 0
    assert outcome.stats["elasticsearch/entity_cache_stale"] == 2
    wallet = client.get(index=indices.alias_name(prefix, "wallets"), id=WALLET_ID)
    assert wallet["_index"] != old["wallets"]
    assert wallet["_source"]["page_count"] == 3 and wallet["_source"]["mention_count"] == 3
    assert client.get(index=indices.alias_name(prefix, "onions"), id=HOST)["_source"]["page_count"] == 3
    if not delete_old:  # the rollback point kept what it held at the migration, nothing more
        assert client.get(index=old["wallets"], id=WALLET_ID)["_source"]["page_count"] == 2
    else:  # no write went to the deleted index: it would have been created again, empty, from the template
        assert not any(client.indices.exists(index=old[kind]) for kind in ("wallets", "onions"))


def test_an_entity_cached_before_its_index_was_deleted_and_created_again_keeps_the_other_writers_sighting(
    es: tuple[Any, str],
) -> None:
    """The index is deleted and created under the same name (by hand, or another process's set-up); another
    writer puts the same wallet and onion in it first.  A fresh index restarts its sequence numbers, so
    that writer's documents carry the very version the cache holds (seq_no 0, primary term 1): a write
    conditional on it would go through and overwrite them with the old index's documents."""
    client, prefix = es
    indices.ensure_indices(client, prefix, kinds=CRAWL_KINDS)
    indexer = BulkIndexer(client, prefix, None, max_retries=0)
    indexer.index_items([make_page(1), make_mention(1)])
    indices.delete_prefix(client, prefix)
    indices.ensure_indices(client, prefix, kinds=CRAWL_KINDS)
    earlier = "2026-11-27T09:00:00Z"
    BulkIndexer(client, prefix, None, max_retries=0).index_items([make_page(99, earlier), make_mention(99, earlier)])
    other = client.get(index=indices.alias_name(prefix, "onions"), id=HOST)
    assert (other["_seq_no"], other["_primary_term"]) == (0, 1)  # what the cache holds for the old index

    outcome = indexer.index_items([make_page(2), make_mention(2)])

    assert outcome.failed == 0 and outcome.spooled == 0
    wallet = client.get(index=indices.alias_name(prefix, "wallets"), id=WALLET_ID)["_source"]
    # The other writer's sighting stays; page 1 went with the deleted index and comes not back.
    assert sorted(wallet["pages"]) == sorted(make_page(n).canonical_url for n in (2, 99))
    assert wallet["mention_count"] == 2 and wallet["first_seen"] == earlier
    onion = client.get(index=indices.alias_name(prefix, "onions"), id=HOST)["_source"]
    assert onion["page_count"] == 2 and onion["first_seen"] == earlier
    assert outcome.stats["elasticsearch/entity_cache_stale"] == 2  # dropped before planning: read again


def test_an_entity_deleted_since_the_cache_held_it_is_created_again_from_the_batch(es: tuple[Any, str]) -> None:
    """A held document deleted by hand: the conditional write finds no document (409), and the entity is
    read again (not found) and created from the batch's sightings, not dropped."""
    client, prefix = es
    indices.ensure_indices(client, prefix, kinds=CRAWL_KINDS)
    indexer = BulkIndexer(client, prefix, None, max_retries=0)
    indexer.index_items([make_page(1), make_mention(1)])
    client.delete(index=indices.alias_name(prefix, "onions"), id=HOST, refresh=True)
    client.delete(index=indices.alias_name(prefix, "wallets"), id=WALLET_ID, refresh=True)

    outcome = indexer.index_items([make_page(2), make_mention(2)])

    assert outcome.failed == 0 and outcome.spooled == 0 and outcome.entities == {"wallets": 1, "onions": 1}
    assert outcome.stats["elasticsearch/entity_cache_stale"] == 2
    wallet = client.get(index=indices.alias_name(prefix, "wallets"), id=WALLET_ID)["_source"]
    assert wallet["pages"] == [make_page(2).canonical_url] and wallet["mention_count"] == 1
    assert client.get(index=indices.alias_name(prefix, "onions"), id=HOST)["_source"]["page_count"] == 1


def test_entities_evicted_from_a_small_cache_are_read_again_and_lose_nothing(es: tuple[Any, str]) -> None:
    """A cache too small for a batch's entities: those that left it are read again, and every wallet
    counts every page that named it."""
    client, prefix = es
    indices.ensure_indices(client, prefix, kinds=CRAWL_KINDS)
    indexer = BulkIndexer(client, prefix, None, max_retries=0, entity_cache_bytes=4096)
    addresses = [f"1BoatSLRHtKNngkdXEeobR76b53LETt{suffix:03d}" for suffix in range(20)]

    def batch(number: int) -> list[Any]:
        page = make_page(number)
        page.wallets = [{"address": address, "coin": "btc"} for address in addresses]
        return [page]

    for number in range(1, 5):
        outcome = indexer.index_items(batch(number))
        assert outcome.failed == 0 and outcome.entities == {"wallets": len(addresses), "onions": 1}
    assert 0 < len(indexer.entity_cache) < len(addresses) + 1  # some were evicted, some held
    for address in addresses:
        wallet = client.get(index=indices.alias_name(prefix, "wallets"),
                            id=entities.wallet_doc_id("btc", address))["_source"]
        assert wallet["page_count"] == 4, address
    assert client.get(index=indices.alias_name(prefix, "onions"), id=HOST)["_source"]["page_count"] == 4


def test_when_the_entity_indices_cannot_be_asked_nothing_held_is_used_and_nothing_lost(es: tuple[Any, str]) -> None:
    """The uuid check fails (a node that refuses index metadata, say): the held versions are not trusted,
    the batch reads its entities as without the cache, and writes them all."""
    client, prefix = es
    indices.ensure_indices(client, prefix, kinds=CRAWL_KINDS)
    counting = CountingClient(client)
    indexer = BulkIndexer(counting, prefix, None, max_retries=0)
    indexer.index_items([make_page(1), make_mention(1)])
    assert len(indexer.entity_cache) == 2

    class Refusing:
        def get_settings(self, **kwargs: Any) -> Any:
            raise ConnectionError("index metadata refused")

        def __getattr__(self, name: str) -> Any:
            return getattr(client.indices, name)

    counting.indices = Refusing()  # type: ignore[attr-defined]
    counting.requests.clear()
    outcome = indexer.index_items([make_page(2), make_mention(2)])

    assert outcome.failed == 0 and outcome.entities == {"wallets": 1, "onions": 1}
    assert outcome.stats["elasticsearch/entity_cache_stale"] == 2
    assert "elasticsearch/entity_cache_hits" not in outcome.stats
    assert len(_entity_reads(counting.requests, prefix)) == 2  # read again, as without the cache
    assert len(indexer.entity_cache) == 0  # nothing is kept until a check answers
    wallet = client.get(index=indices.alias_name(prefix, "wallets"), id=WALLET_ID)["_source"]
    assert wallet["page_count"] == 2 and wallet["mention_count"] == 2
    assert client.get(index=indices.alias_name(prefix, "onions"), id=HOST)["_source"]["page_count"] == 2
