"""Benchmark: bulk indexing throughput of the pipeline against plain bulk, side by side.

Run as ``.venv/bin/python -m bench.bulk_indexing [--pages N] [--batch B]``
with Elasticsearch up (``onionscope services up`` or ``ONIONSCOPE_ES_URL``).

Over the same synthetic pages (``--pages``, text of a realistic size, wallets
shared between pages), in one run, it prints docs/s for:

* ``streaming_bulk, index`` -- raw ``elasticsearch.helpers.streaming_bulk``
  with ``index`` actions into the same mapping: the limit, with no upsert, no
  entity work (run twice, the second counts: the first warms the node up);
* ``streaming_bulk, upsert`` -- raw ``streaming_bulk`` with the very update +
  upsert actions the pipeline sends for the pages (same ``_id``, same
  documents), into a fresh copy of the pages index: Elasticsearch's cost of
  the pipeline's write, without onionscope's Python around it;
* ``pipeline, first crawl`` -- :class:`pipelines.item_indexer.BulkIndexer`
  (update+upsert per page, then wallet and onion entities merged and written
  with optimistic concurrency);
* ``pipeline, re-crawl`` -- the same pages again (every document is updated);
* ``re-crawl, no change tracking`` -- the same with ``track_changes=False``,
  batch by batch in turn with the tracked re-crawl: the difference is the
  cost of the read-before-write step (one ``mget`` per batch,
  :mod:`pipelines.freshness.change_tracker`);

and the ratios pipeline / raw ``streaming_bulk`` (target >= 0.8 for the
first crawl against index actions).  The raw runs and the pipeline's first
crawl are interleaved ``--rounds`` times and the best of each counts, so all
see the same node load.  Everything it creates lives under a
``bench-<random>`` prefix and is deleted at the end.
"""

from __future__ import annotations

import argparse
import os
import random
import secrets
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=5000)
    parser.add_argument("--batch", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()

    settings = load_settings()
    client = make_client(settings)
    ensure_reachable(client, settings)
    prefix = f"bench-{secrets.token_hex(4)}"
    pages = synthetic_pages(args.pages)
    kinds = ("pages", "listings", "wallets", "onions", "changes")
    prefixes = [prefix]
    try:
        created = indices.ensure_indices(client, prefix, kinds=kinds)
        rates: dict[str, list[float]] = {"index": [], "upsert": [], "first": []}
        index_number = 0
        for round_number in range(args.rounds):
            # Each run writes into indices of its own with the same template, so each is a first crawl.
            index_number += 1
            plain_index = indices.versioned_index_name(prefix, "pages", 100 + index_number)
            client.indices.create(index=plain_index)
            began = time.perf_counter()
            written = _streaming_bulk(client, ({"_op_type": "index", "_index": plain_index, "_id": page.doc_id(),
                                                "_source": {**document_for(page), "first_seen": page.fetched_at,
                                                            "last_seen": page.fetched_at}} for page in pages),
                                      args.batch)
            rates["index"].append(written / (time.perf_counter() - began))

            upsert_index = indices.versioned_index_name(prefix, "pages", 200 + index_number)
            client.indices.create(index=upsert_index)
            began = time.perf_counter()

            def upserts() -> Iterator[dict[str, Any]]:
                for page in pages:
                    action = upsert_action(page, upsert_index)
                    yield {"_op_type": "update", "_index": upsert_index, "_id": action["_id"],
                           "retry_on_conflict": action["retry_on_conflict"],
                           "doc": action["doc"], "upsert": action["upsert"]}

            written = _streaming_bulk(client, upserts(), args.batch)
            rates["upsert"].append(written / (time.perf_counter() - began))

            round_prefix = f"{prefix}-r{round_number}"
            prefixes.append(round_prefix)
            indices.ensure_indices(client, round_prefix, kinds=kinds)
            indexer = BulkIndexer(client, round_prefix, None, max_retries=0)
            began = time.perf_counter()
            for start in range(0, len(pages), args.batch):
                indexer.index_items(pages[start:start + args.batch])
            rates["first"].append(args.pages / (time.perf_counter() - began))
            if round_number < args.rounds - 1:
                indices.delete_prefix(client, round_prefix)
            else:
                indexer_prefix, last_indexer = round_prefix, indexer
        plain, upsert, first = (max(rates[name]) for name in ("index", "upsert", "first"))

        # Re-crawls with and without change tracking, batch by batch in turn, so both see the same node load.
        untracked = BulkIndexer(client, indexer_prefix, None, max_retries=0, track_changes=False)
        spent = {True: 0.0, False: 0.0}
        for start in range(0, len(pages), args.batch):
            for tracked, runner in ((True, last_indexer), (False, untracked)):
                began = time.perf_counter()
                runner.index_items(pages[start:start + args.batch])
                spent[tracked] += time.perf_counter() - began
        again, untracked_rate = args.pages / spent[True], args.pages / spent[False]

        stored_index = indices.alias_name(indexer_prefix, "pages")
        client.indices.refresh(index=stored_index)
        stored = client.count(index=stored_index)["count"]
        print(f"pages: {args.pages}, batch: {args.batch}, rounds: {args.rounds} (best counts), "
              f"stored after two crawls: {stored}; load average {os.getloadavg()[0]:.1f}")
        print(f"streaming_bulk, index    {plain:8.0f} docs/s   (raw elasticsearch.helpers.streaming_bulk)")
        print(f"streaming_bulk, upsert   {upsert:8.0f} docs/s   (the pipeline's page actions, raw)")
        print(f"pipeline, first crawl    {first:8.0f} docs/s   ratio to streaming_bulk index {first / plain:.2f} "
              f"(target >= 0.80), to upsert {first / upsert:.2f}")
        print(f"pipeline, re-crawl       {again:8.0f} docs/s   ratio to streaming_bulk index {again / plain:.2f}")
        print(f"re-crawl, no change tracking {untracked_rate:8.0f} docs/s   "
              f"(change tracking costs {1 - again / untracked_rate:+.0%} of it)")
        del created
    finally:
        for each in prefixes:
            indices.delete_prefix(client, each)
        client.close()


if __name__ == "__main__":
    main()
