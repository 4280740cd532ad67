"""Benchmark: bulk indexing throughput of the pipeline against plain bulk, side by side.

Run as ``.venv/bin/python -m bench.bulk_indexing [--pages N] [--batch B]``
with Elasticsearch up (``onionscope services up`` or ``ONIONSCOPE_ES_URL``).

Over the same synthetic pages (``--pages``, text of a realistic size, wallets
shared between pages), in one run, it prints docs/s for:

* ``streaming_bulk, index`` -- raw ``elasticsearch.helpers.streaming_bulk``
  with ``index`` actions into the same mapping, each document built from its
  item as the stream is consumed (:func:`pipelines.documents.document_for`,
  as the pipeline must): the limit, with no upsert, no entity work;
* ``streaming_bulk, prebuilt`` -- the same actions built before the clock
  starts: Elasticsearch's and the client's cost alone, a stricter limit;
* ``streaming_bulk, upsert`` -- raw ``streaming_bulk`` with the very update +
  upsert actions the pipeline would send for the pages (same ``_id``, same
  documents): Elasticsearch's cost of an upsert, without onionscope's Python;
* ``pipeline, first crawl`` -- :class:`pipelines.item_indexer.BulkIndexer`
  (documents, change tracking, wallet and onion entities merged and written
  with optimistic concurrency);
* ``pipeline, no entity cache`` -- the same with ``entity_cache_bytes=0``:
  every batch reads the wallet and onion documents it touches again
  (:mod:`pipelines.entity_cache`), as the pipeline did before the cache;
* ``pipeline, re-crawl`` -- the same pages again (every document is updated);
* ``re-crawl, no change tracking`` -- the same with ``track_changes=False``,
  batch by batch in turn with the tracked re-crawl: the difference is the
  cost of the read-before-write step (:mod:`pipelines.freshness.change_tracker`);

and the ratios pipeline / raw ``streaming_bulk`` (target >= 0.8 for the
first crawl against index actions).  The five first-crawl methods take turns
batch by batch (``--batch`` documents, one request each for the raw ones), in
an order that rotates from batch to batch, each into fresh indices of the same
template, so all see the same node load; this is repeated ``--rounds`` times
and the medians are printed, with each round's ratio (the range in brackets).
Everything it creates lives under a ``bench-<random>`` prefix and is deleted
at the end.
"""

from __future__ import annotations

import argparse
import os
import random
import secrets
import statistics
import time
from typing import Any, Iterable, Iterator

from elasticsearch import helpers

from crawler.items import Page
from config.settings import load_settings
from pipelines import indices
from pipelines.documents import document_for, upsert_action
from pipelines.item_indexer import BulkIndexer
from pipelines.es_client import ensure_reachable, make_client

WORDS = ("mephedrone crystal vendor escrow shipping stealth pack tracked europe germany netherlands price gram "
         "quality review feedback market listing bitcoin monero order dispute refund pgp key contact").split()


def synthetic_pages(count: int, seed: int = 7) -> list[Page]:
    rng = random.Random(seed)
    hosts = [secrets.token_hex(28) + ".onion" for _ in range(20)]
    wallets = [{"address": f"1Bench{n:028d}", "coin": "btc", "network": "mainnet"} for n in range(200)]
    pages = []
    for number in range(count):
        host = hosts[number % len(hosts)]
        url = f"http://{host}/item/{number}"
        text = " ".join(rng.choice(WORDS) for _ in range(400))
        pages.append(Page(
            url=url, canonical_url=url, onion_host=host, status=200, content_type="text/html",
            content_hash=secrets.token_hex(32), fetched_at="2026-11-28T12:00:00Z", job_id="bench",
            title=" ".join(rng.choice(WORDS) for _ in range(6)), text=text,
            links=[f"http://{host}/item/{rng.randrange(count)}" for _ in range(20)],
            wallets=[wallets[rng.randrange(len(wallets))]],
        ))
    return pages


def _streaming_bulk(client: Any, actions: Iterable[dict[str, Any]], batch: int) -> int:
    """Raw ``helpers.streaming_bulk``; returns the actions that succeeded (raises on the first failure)."""
    return sum(1 for ok, _ in helpers.streaming_bulk(client, actions, chunk_size=batch, max_retries=0) if ok)


def _index_actions(pages: list[Page], index: str) -> Iterator[dict[str, Any]]:
    """Plain ``index`` actions of the pages' documents (built as they are consumed)."""
    for page in pages:
        yield {"_op_type": "index", "_index": index, "_id": page.doc_id(),
               "_source": {**document_for(page), "first_seen": page.fetched_at, "last_seen": page.fetched_at}}


def _upsert_actions(pages: list[Page], index: str) -> Iterator[dict[str, Any]]:
    """The very update + upsert actions the pipeline sends for the pages (built as they are consumed)."""
    for page in pages:
        action = upsert_action(page, index)
        yield {"_op_type": "update", "_index": index, "_id": action["_id"],
               "retry_on_conflict": action["retry_on_conflict"], "doc": action["doc"], "upsert": action["upsert"]}


def _median(values: list[float]) -> float:
    return statistics.median(values)


def _spread(values: list[float], digits: int = 0) -> str:
    return f"{min(values):.{digits}f}-{max(values):.{digits}f}"


def first_crawl_round(client: Any, prefix: str, round_prefix: str, number: int, pages: list[Page], batch: int,
                      kinds: tuple[str, ...], uncached_prefix: str) -> tuple[dict[str, float], BulkIndexer]:
    """One round of the first-crawl comparison; returns (seconds spent per method, the pipeline's indexer).

    Each method writes into indices of its own (the same template), so each is a
    first crawl.  They take turns batch by batch, in an order that rotates from
    one batch to the next, so all see the same node load and none always goes first.
    """
    plain_index = indices.versioned_index_name(prefix, "pages", 100 + number)
    prebuilt_index = indices.versioned_index_name(prefix, "pages", 200 + number)
    upsert_index = indices.versioned_index_name(prefix, "pages", 300 + number)
    for index in (plain_index, prebuilt_index, upsert_index):
        client.indices.create(index=index)
    indices.ensure_indices(client, round_prefix, kinds=kinds)
    indexer = BulkIndexer(client, round_prefix, None, max_retries=0)
    indices.ensure_indices(client, uncached_prefix, kinds=kinds)
    uncached = BulkIndexer(client, uncached_prefix, None, max_retries=0, entity_cache_bytes=0)
    # Built before the clock starts: Elasticsearch's and the client's cost alone.
    prebuilt = list(_index_actions(pages, prebuilt_index))
    failed = 0

    def pipeline(chunk: list[Page], start: int, runner: BulkIndexer = indexer) -> None:
        nonlocal failed
        outcome = runner.index_items(chunk)
        failed += outcome.failed

    methods = {
        "index": lambda chunk, start: _streaming_bulk(client, _index_actions(chunk, plain_index), batch),
        "prebuilt": lambda chunk, start: _streaming_bulk(client, iter(prebuilt[start:start + len(chunk)]), batch),
        "upsert": lambda chunk, start: _streaming_bulk(client, _upsert_actions(chunk, upsert_index), batch),
        "pipeline": pipeline,
        "uncached": lambda chunk, start: pipeline(chunk, start, uncached),
    }
    names = list(methods)
    spent = dict.fromkeys(names, 0.0)
    for batch_number, start in enumerate(range(0, len(pages), batch)):
        chunk = pages[start:start + batch]
        turn = batch_number % len(names)
        for name in names[turn:] + names[:turn]:
            began = time.perf_counter()
            methods[name](chunk, start)
            spent[name] += time.perf_counter() - began
    if failed:
        raise RuntimeError(f"the pipeline failed {failed} operations; its figures would be meaningless")
    return spent, indexer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=5000)
    parser.add_argument("--batch", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    settings = load_settings()
    client = make_client(settings)
    ensure_reachable(client, settings)
    prefix = f"bench-{secrets.token_hex(4)}"
    pages = synthetic_pages(args.pages)
    kinds = ("pages", "listings", "wallets", "onions", "changes")
    prefixes = [prefix]
    load_before = os.getloadavg()[0]
    try:
        rates: dict[str, list[float]] = {"index": [], "prebuilt": [], "upsert": [], "pipeline": [], "uncached": []}
        ratios: list[float] = []
        for round_number in range(args.rounds):
            round_prefix, uncached_prefix = f"{prefix}-r{round_number}", f"{prefix}-u{round_number}"
            prefixes += [round_prefix, uncached_prefix]
            spent, indexer = first_crawl_round(client, prefix, round_prefix, round_number, pages, args.batch, kinds,
                                               uncached_prefix)
            for name, seconds in spent.items():
                rates[name].append(args.pages / seconds)
            ratios.append(spent["index"] / spent["pipeline"])
            indices.delete_prefix(client, uncached_prefix)
            if round_number < args.rounds - 1:
                indices.delete_prefix(client, round_prefix)
            else:
                indexer_prefix, last_indexer = round_prefix, indexer
        plain, prebuilt, upsert, first = (_median(rates[name]) for name in ("index", "prebuilt", "upsert", "pipeline"))
        prebuilt_ratios = [p / b for p, b in zip(rates["pipeline"], rates["prebuilt"])]
        uncached_ratios = [u / i for u, i in zip(rates["uncached"], rates["index"])]
        upsert_ratios = [p / u for p, u in zip(rates["pipeline"], rates["upsert"])]

        # Re-crawls with and without change tracking, batch by batch in turn, so both see the same node load.
        untracked = BulkIndexer(client, indexer_prefix, None, max_retries=0, track_changes=False)
        spent_again = {True: 0.0, False: 0.0}
        for batch_number, start in enumerate(range(0, len(pages), args.batch)):
            order = ((True, last_indexer), (False, untracked))
            for tracked, runner in (order if batch_number % 2 == 0 else order[::-1]):
                began = time.perf_counter()
                runner.index_items(pages[start:start + args.batch])
                spent_again[tracked] += time.perf_counter() - began
        again, untracked_rate = args.pages / spent_again[True], args.pages / spent_again[False]

        stored_index = indices.alias_name(indexer_prefix, "pages")
        client.indices.refresh(index=stored_index)
        stored = client.count(index=stored_index)["count"]
        print(f"pages: {args.pages}, batch: {args.batch}, rounds: {args.rounds} (medians; per-round range in "
              f"brackets), stored after two crawls: {stored}; load average {load_before:.1f} at the start, "
              f"{os.getloadavg()[0]:.1f} at the end")
        print(f"streaming_bulk, index      {plain:8.0f} docs/s [{_spread(rates['index'])}]   "
              "(raw elasticsearch.helpers.streaming_bulk, documents built as it goes)")
        print(f"streaming_bulk, prebuilt   {prebuilt:8.0f} docs/s [{_spread(rates['prebuilt'])}]   "
              "(the same actions built before the clock starts)")
        print(f"streaming_bulk, upsert     {upsert:8.0f} docs/s [{_spread(rates['upsert'])}]   "
              "(the pipeline's page actions, raw)")
        print(f"pipeline, first crawl      {first:8.0f} docs/s [{_spread(rates['pipeline'])}]")
        print(f"pipeline, no entity cache  {_median(rates['uncached']):8.0f} docs/s [{_spread(rates['uncached'])}]   "
              "(every batch reads its wallets and onions again)")
        print(f"ratio pipeline / streaming_bulk index     {_median(ratios):.2f} [{_spread(ratios, 2)}]   "
              "(target >= 0.80)")
        print(f"ratio no entity cache / streaming_bulk index  {_median(uncached_ratios):.2f} "
              f"[{_spread(uncached_ratios, 2)}]")
        print(f"ratio pipeline / streaming_bulk prebuilt  {_median(prebuilt_ratios):.2f} "
              f"[{_spread(prebuilt_ratios, 2)}]")
        print(f"ratio pipeline / streaming_bulk upsert    {_median(upsert_ratios):.2f} [{_spread(upsert_ratios, 2)}]")
        print(f"pipeline, re-crawl         {again:8.0f} docs/s   ratio to streaming_bulk index {again / plain:.2f}")
        print(f"re-crawl, no change tracking {untracked_rate:8.0f} docs/s   "
              f"(change tracking costs {1 - again / untracked_rate:+.0%} of it)")
    finally:
        for each in prefixes:
            indices.delete_prefix(client, each)
        client.close()


if __name__ == "__main__":
    main()
