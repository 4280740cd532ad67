"""Benchmark: bulk indexing throughput of the pipeline against plain bulk, side by side.

Run as ``.venv/bin/python -m bench.bulk_indexing [--pages N] [--batch B]``
with Elasticsearch up (``onionscope services up`` or ``ONIONSCOPE_ES_URL``).

Over the same synthetic pages (``--pages``, text of a realistic size, wallets
shared between pages), in one run, it prints docs/s for:

* ``plain bulk`` -- ``helpers.bulk`` ``index`` actions into the same mapping:
  the limit, with no upsert, no entity work (run twice, the second counts:
  the first warms the node up);
* ``pipeline, first crawl`` -- :class:`pipelines.item_indexer.BulkIndexer`
  (update+upsert per page, then wallet and onion entities merged and written
  with optimistic concurrency);
* ``pipeline, re-crawl`` -- the same pages again (every document is updated);

and the ratios pipeline / plain.  Everything it creates lives under a
``bench-<random>`` prefix and is deleted at the end.
"""

from __future__ import annotations

import argparse
import random
import secrets
import time

from elasticsearch import helpers

from crawler.items import Page
from config.settings import load_settings
from pipelines import indices
from pipelines.documents import document_for
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=5000)
    parser.add_argument("--batch", type=int, default=200)
    args = parser.parse_args()

    settings = load_settings()
    client = make_client(settings)
    ensure_reachable(client, settings)
    prefix = f"bench-{secrets.token_hex(4)}"
    pages = synthetic_pages(args.pages)
    try:
        created = indices.ensure_indices(client, prefix, kinds=("pages", "wallets", "onions"))
        plain_rates = []
        # Twice, into two indices with the same template: the first pass also warms the JVM up.
        for version in (98, 99):
            plain_index = indices.versioned_index_name(prefix, "pages", version)
            client.indices.create(index=plain_index)
            began = time.perf_counter()
            actions = ({"_index": plain_index, "_id": page.doc_id(), "_source": {**document_for(page),
                        "first_seen": page.fetched_at, "last_seen": page.fetched_at}} for page in pages)
            helpers.bulk(client, actions, chunk_size=args.batch)
            plain_rates.append(args.pages / (time.perf_counter() - began))
        plain = plain_rates[-1]

        indexer = BulkIndexer(client, prefix, None, max_retries=0)
        began = time.perf_counter()
        for start in range(0, len(pages), args.batch):
            indexer.index_items(pages[start:start + args.batch])
        first = args.pages / (time.perf_counter() - began)

        began = time.perf_counter()
        for start in range(0, len(pages), args.batch):
            indexer.index_items(pages[start:start + args.batch])
        again = args.pages / (time.perf_counter() - began)

        client.indices.refresh(index=created["pages"])
        stored = client.count(index=created["pages"])["count"]
        print(f"pages: {args.pages}, batch: {args.batch}, stored after two crawls: {stored}")
        print(f"plain bulk             {plain:8.0f} docs/s")
        print(f"pipeline, first crawl  {first:8.0f} docs/s   ratio to plain {first / plain:.2f}")
        print(f"pipeline, re-crawl     {again:8.0f} docs/s   ratio to plain {again / plain:.2f}")
    finally:
        indices.delete_prefix(client, prefix)
        client.close()


if __name__ == "__main__":
    main()
