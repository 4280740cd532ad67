"""A synthetic investigation corpus for the search benchmark: markets, vendors, listings, pages, wallets.

Deterministic for a seed.  Entities are reused the way real markets reuse
them: a vendor sells on one to three markets under the same PGP key, vendors
keep a few wallets and some wallets are shared between vendors, pages on
forums paste the same addresses again.  Text is assembled from a drug-market
vocabulary (substances, forms, shipping and escrow phrases), so full-text
queries hit realistic term frequencies.

Public API:

* :func:`generate` (seed, listings, pages) -> iterator of ``(kind, _id, document)``
  -- documents shaped by :func:`pipelines.documents.document_for` (the index
  layout's normalisation) plus the wallet and onion entities;
* :func:`load` (client, prefix, seed, listings, pages) -> dict of counts --
  bulk-loads into ``<prefix>-*`` unless a marker says the same corpus is
  already there (then it returns at once);
* :func:`sample_wallets` (seed, count) -> wallet addresses that have listings,
  for pivot queries.
"""

from __future__ import annotations

import random
import string
import time
from collections import defaultdict
from datetime import datetime, timedelta, timezone
from typing import Any, Iterator

from config.schema import alias_name, stable_id, wallet_doc_id
from crawler.items import Listing, Page, Vendor
from pipelines.documents import document_for

MARKETS = ("alphabay", "torrez", "bohemia", "archetyp", "incognito", "abacus", "kerberos", "nemesis")
SUBSTANCES = {
    "fentanyl": "opioid", "heroin": "opioid", "oxycodone": "opioid", "carfentanil": "opioid", "nitazene": "opioid",
    "cocaine": "stimulant", "amphetamine": "stimulant", "methamphetamine": "stimulant", "mdma": "entactogen",
    "3-mmc": "synthetic cathinone", "4-mmc": "synthetic cathinone", "a-pvp": "synthetic cathinone",
    "ketamine": "dissociative", "lsd": "psychedelic", "psilocybin": "psychedelic", "dmt": "psychedelic",
    "cannabis": "cannabinoid", "hash": "cannabinoid", "thc vape": "cannabinoid", "spice": "synthetic cannabinoid",
    "alprazolam": "benzodiazepine", "etizolam": "benzodiazepine", "bromazolam": "benzodiazepine",
    "ghb": "depressant", "2c-b": "psychedelic", "tramadol": "opioid", "pregabalin": "gabapentinoid",
}
FORMS = ("powder", "crystals", "pills", "tabs", "blotters", "patches", "flower", "resin", "liquid", "capsules")
ADJECTIVES = ("pure", "uncut", "premium", "lab tested", "high grade", "pharma grade", "fishscale", "stealth packed")
COUNTRIES = ("NL", "DE", "BE", "FR", "ES", "GB", "PL", "CZ", "US", "CA", "AU", "IT", "SE", "DK", "CH", "AT", "CN", "IN")
PHRASES = (
    "next day delivery", "stealth shipping", "vacuum sealed", "tracking included", "escrow only",
    "finalize early for trusted buyers", "reship on loss", "bulk discounts available", "no refunds on customs",
    "ships worldwide", "ships within EU only", "lab report on request", "same day dispatch", "PGP required",
    "read my profile before ordering", "samples available", "multi sig escrow", "decoy packaging",
)
FILLER = (
    "quality", "order", "vendor", "customer", "shipping", "package", "price", "market", "review", "trusted",
    "feedback", "days", "weight", "grams", "batch", "product", "delivery", "message", "support", "profile",
    "stock", "listing", "escrow", "refund", "payment", "bitcoin", "monero", "wallet", "address", "send",
    "please", "contact", "forum", "thread", "scam", "warning", "police", "customs", "tracking", "stealth",
)
COINS = ("btc", "xmr", "ltc", "eth")
BASE58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
BECH32 = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
START = datetime(2025, 6, 1, tzinfo=timezone.utc)
SPAN_SECONDS = 240 * 24 * 3600


def _onion(rng: random.Random) -> str:
    return "".join(rng.choice(string.ascii_lowercase + "234567") for _ in range(56)) + ".onion"


def _address(rng: random.Random, coin: str) -> str:
    if coin == "btc":
        return "bc1q" + "".join(rng.choice(BECH32) for _ in range(38))
    if coin == "xmr":
        return "4" + "".join(rng.choice(BASE58) for _ in range(94))
    if coin == "ltc":
        return "ltc1q" + "".join(rng.choice(BECH32) for _ in range(38))
    return "0x" + "".join(rng.choice("0123456789abcdef") for _ in range(40))


def _when(rng: random.Random) -> str:
    return (START + timedelta(seconds=rng.randrange(SPAN_SECONDS))).strftime("%Y-%m-%dT%H:%M:%SZ")


def _sentence(rng: random.Random, words: int, substance: str | None = None) -> str:
    parts = rng.choices(FILLER, k=words)
    for _ in range(max(1, words // 15)):
        parts.insert(rng.randrange(len(parts) + 1), rng.choice(PHRASES))
    if substance:
        parts.insert(rng.randrange(len(parts) + 1), substance)
    return " ".join(parts).capitalize() + "."


class _World:
    """Markets, vendors and wallets shared by the generator and the samplers."""

    def __init__(self, seed: int, vendor_count: int):
        rng = random.Random(seed)
        self.market_hosts = {market: _onion(rng) for market in MARKETS}
        self.vendors: list[dict[str, Any]] = []
        shared_pool: list[tuple[str, str]] = []
        for number in range(vendor_count):
            name = f"{rng.choice(('Dr', 'Mr', 'Green', 'Dark', 'Euro', 'Pharma', 'Dutch', 'Royal'))}{rng.choice(('Frost', 'Leaf', 'Chem', 'Shop', 'Express', 'King', 'Labs', 'Direct'))}{number}"
            markets = rng.sample(MARKETS, k=rng.choice((1, 1, 2, 2, 3)))
            wallets = [(coin, _address(rng, coin)) for coin in rng.choices(COINS, weights=(5, 4, 1, 1), k=rng.randint(1, 3))]
            if shared_pool and rng.random() < 0.15:
                wallets.append(rng.choice(shared_pool))  # a wallet shared with another vendor
            shared_pool.extend(wallets[:1])
            self.vendors.append({
                "name": name,
                "markets": markets,
                "wallets": wallets,
                "fingerprint": "".join(rng.choice("0123456789ABCDEF") for _ in range(40)),
                "substances": rng.sample(sorted(SUBSTANCES), k=rng.randint(1, 4)),
                "country": rng.choice(COUNTRIES),
            })


def _vendor_count(listings: int) -> int:
    return max(50, listings // 40)


def generate(seed: int, listings: int, pages: int) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """Every document of the corpus as ``(kind, _id, document)``."""
    world = _World(seed, _vendor_count(listings))
    rng = random.Random(seed + 1)
    wallet_refs: dict[tuple[str, str], dict[str, Any]] = {}

    def touch_wallet(coin: str, address: str, when: str, market: str, host: str, listing_id: str | None,
                     vendor: str | None, page_url: str) -> None:
        entry = wallet_refs.get((coin, address))
        if entry is None:
            entry = wallet_refs[(coin, address)] = {
                "first_seen": when, "last_seen": when, "listings": [], "vendors": set(), "markets": set(),
                "onion_hosts": set(), "pages": [], "mentions": 0,
            }
        entry["first_seen"] = min(entry["first_seen"], when)
        entry["last_seen"] = max(entry["last_seen"], when)
        if listing_id and len(entry["listings"]) < 1000:
            entry["listings"].append(listing_id)
        if len(entry["pages"]) < 1000:
            entry["pages"].append(page_url)
        if vendor:
            entry["vendors"].add(vendor)
        entry["markets"].add(market)
        entry["onion_hosts"].add(host)
        entry["mentions"] += 1

    for vendor in world.vendors:
        for market in vendor["markets"]:
            item = Vendor(
                market=market, name=vendor["name"], fetched_at=_when(rng), job_id="bench",
                profile_url=f"http://{world.market_hosts[market]}/vendor/{vendor['name']}",
                onion_host=world.market_hosts[market], pgp_fingerprints=[vendor["fingerprint"]],
                wallets=[address for _, address in vendor["wallets"]], rating=round(rng.uniform(3, 5), 2),
                sales=rng.randrange(5000),
            )
            document = document_for(item)
            document["first_seen"] = document["last_seen"] = item.fetched_at
            yield "vendors", item.doc_id(), document

    for number in range(listings):
        vendor = world.vendors[int(rng.paretovariate(1.2)) % len(world.vendors)]
        market = rng.choice(vendor["markets"])
        host = world.market_hosts[market]
        substance = rng.choice(vendor["substances"])
        form = rng.choice(FORMS)
        coin, address = rng.choice(vendor["wallets"])
        when = _when(rng)
        listing_id = f"{number:07d}"
        currency = rng.choice(("USD", "EUR", "BTC", "XMR"))
        item = Listing(
            market=market, listing_id=listing_id, url=f"http://{host}/listing/{listing_id}",
            title=f"{rng.choice((1, 2, 5, 10, 25, 50, 100))}g {substance} {form} {rng.choice(ADJECTIVES)}",
            fetched_at=when, job_id="bench", onion_host=host,
            description=_sentence(rng, rng.randint(30, 70), substance),
            price_amount=round(rng.uniform(5, 2000), 2), price_currency=currency,
            crypto_prices={coin: round(rng.uniform(0.0001, 5), 6)}, vendor=vendor["name"],
            category=SUBSTANCES[substance], ships_from=[vendor["country"]], ships_to=rng.sample(COUNTRIES, k=3),
            escrow=rng.random() < 0.8, stock=rng.randrange(1000), sales=rng.randrange(3000),
            rating=round(rng.uniform(3, 5), 2), substances=[substance], substance_classes=[SUBSTANCES[substance]],
            wallets=[address], language="en",
        )
        document = document_for(item)
        document["first_seen"] = document["last_seen"] = when
        touch_wallet(coin, address, when, market, host, item.doc_id(), vendor["name"], item.url)
        yield "listings", item.doc_id(), document

    forum_hosts = [_onion(rng) for _ in range(20)]
    for number in range(pages):
        on_market = rng.random() < 0.5
        market = rng.choice(MARKETS) if on_market else None
        host = world.market_hosts[market] if market else rng.choice(forum_hosts)
        url = f"http://{host}/{'page' if on_market else 'thread'}/{number}"
        when = _when(rng)
        substance = rng.choice(sorted(SUBSTANCES))
        wallets = []
        if rng.random() < 0.2:
            vendor = rng.choice(world.vendors)
            coin, address = rng.choice(vendor["wallets"])
            wallets.append({"address": address, "coin": coin, "network": "mainnet", "address_type": "synthetic"})
            touch_wallet(coin, address, when, market or "forum", host, None, None, url)
        item = Page(
            url=url, canonical_url=url, onion_host=host, status=200, content_type="text/html",
            content_hash=stable_id(url), fetched_at=when, job_id="bench",
            title=f"{substance.title()} {rng.choice(('review', 'warning', 'discussion', 'prices', 'vendor list'))}",
            text=_sentence(rng, rng.randint(80, 200), substance), language="en", market=market, wallets=wallets,
        )
        document = document_for(item)
        document["first_seen"] = document["last_seen"] = when
        yield "pages", item.doc_id(), document

    for (coin, address), entry in wallet_refs.items():
        yield "wallets", wallet_doc_id(coin, address), {
            "address": address, "coin": coin, "network": "mainnet", "address_type": "synthetic",
            "first_seen": entry["first_seen"], "last_seen": entry["last_seen"],
            "pages": entry["pages"], "page_count": len(entry["pages"]),
            "listings": entry["listings"], "listing_count": len(entry["listings"]),
            "vendors": sorted(entry["vendors"]), "vendor_count": len(entry["vendors"]),
            "markets": sorted(entry["markets"]), "market_count": len(entry["markets"]),
            "onion_hosts": sorted(entry["onion_hosts"]), "onion_count": len(entry["onion_hosts"]),
            "refs_truncated": len(entry["listings"]) >= 1000, "sources": ["listing"],
            "mention_count": entry["mentions"], "job_ids": ["bench"],
        }
    for market, host in world.market_hosts.items():
        yield "onions", host, {
            "onion_host": host, "first_seen": START.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "last_seen": (START + timedelta(seconds=SPAN_SECONDS)).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "page_count": 0, "last_status": 200, "up": True, "last_url": f"http://{host}/", "last_title": market,
            "markets": [market], "job_ids": ["bench"],
        }


def sample_wallets(seed: int, listings: int, count: int) -> list[str]:
    """Addresses of the busiest vendors (they certainly have listings)."""
    world = _World(seed, _vendor_count(listings))
    return [vendor["wallets"][0][1] for vendor in world.vendors[:count]]


def _marker_id(seed: int, listings: int, pages: int) -> str:
    return f"bench-corpus-seed{seed}-listings{listings}-pages{pages}"


def load(client: Any, prefix: str, seed: int, listings: int, pages: int, log: Any = print) -> dict[str, Any]:
    """Bulk-load the corpus into ``<prefix>-*`` unless it is already there; returns counts and seconds."""
    from elasticsearch import NotFoundError, helpers

    from pipelines.indices import current_index, delete_prefix, ensure_indices

    marker = _marker_id(seed, listings, pages)
    try:
        client.get(index=alias_name(prefix, "crawl-runs"), id=marker)
        log(f"corpus {marker} already loaded under prefix {prefix!r}; reusing it")
        return {"reused": True, "seconds": 0.0}
    except NotFoundError:
        pass
    delete_prefix(client, prefix)
    ensure_indices(client, prefix)
    concrete = {kind: current_index(client, prefix, kind) for kind in ("pages", "listings", "vendors", "wallets", "onions")}
    for index in concrete.values():
        client.indices.put_settings(index=index, settings={"index": {"refresh_interval": "-1"}})
    started = time.monotonic()
    counts: dict[str, int] = defaultdict(int)

    def actions() -> Iterator[dict[str, Any]]:
        for kind, doc_id, document in generate(seed, listings, pages):
            counts[kind] += 1
            total = sum(counts.values())
            if total % 50_000 == 0:
                log(f"  generated {total} documents ({time.monotonic() - started:.0f} s)")
            yield {"_op_type": "index", "_index": concrete[kind], "_id": doc_id, "_source": document}

    errors = 0
    for ok, _ in helpers.streaming_bulk(client.options(request_timeout=120), actions(), chunk_size=1000,
                                        max_chunk_bytes=20 * 1024 * 1024, raise_on_error=False):
        errors += 0 if ok else 1
    if errors:
        raise RuntimeError(f"{errors} corpus documents were rejected; the corpus does not fit the mappings")
    for index in concrete.values():
        client.indices.put_settings(index=index, settings={"index": {"refresh_interval": "1s"}})
    client.indices.refresh(index=",".join(concrete.values()))
    client.options(request_timeout=600).indices.forcemerge(index=",".join(concrete.values()), max_num_segments=1)
    client.index(index=alias_name(prefix, "crawl-runs"), id=marker, refresh="wait_for", document={
        "job_id": marker, "spider": "bench.corpus", "finish_reason": "finished",
        "started_at": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "items_indexed": sum(counts.values()),
    })
    seconds = time.monotonic() - started
    log(f"loaded {dict(counts)} in {seconds:.0f} s")
    return {"reused": False, "seconds": seconds, **counts}
