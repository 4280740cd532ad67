"""A small, known investigation world indexed through the real bulk pipeline (not a test).

Three markets; vendor "DrGreen" on alpha and "Dr_Green" on beta share a PGP
fingerprint and a wallet; a third vendor shares nothing; a listing whose
title is a script tag; pages on two onion hosts.  :func:`seed_world`
indexes it with :class:`pipelines.item_indexer.BulkIndexer` (so the
wallet and onion entities are real merges) and returns what tests assert on.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import uuid

import pytest

from crawler.items import Listing, Page, Vendor, WalletMention

ALPHA_HOST = "alpha" + "a" * 51 + ".onion"
BETA_HOST = "betab" + "b" * 51 + ".onion"
GAMMA_HOST = "gamma" + "c" * 51 + ".onion"
SHARED_BTC = "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq"
ALPHA_ONLY_XMR = "4" + "7" * 94
FINGERPRINT = "0123456789ABCDEF0123456789ABCDEF01234567"
XSS_TITLE = "<script>window.__xss=1</script>"


@dataclass
class World:
    listing_ids: dict[str, str] = field(default_factory=dict)
    vendor_ids: dict[str, str] = field(default_factory=dict)
    items: list[Any] = field(default_factory=list)


def build_items() -> World:
    world = World()
    fetched = "2026-01-{day:02d}T12:00:00Z"
    vendors = [
        Vendor(market="alpha", name="DrGreen", fetched_at=fetched.format(day=5), job_id="t", onion_host=ALPHA_HOST,
               pgp_fingerprints=[FINGERPRINT], wallets=[SHARED_BTC, ALPHA_ONLY_XMR], rating=4.8, sales=120),
        Vendor(market="beta", name="Dr_Green", fetched_at=fetched.format(day=6), job_id="t", onion_host=BETA_HOST,
               pgp_fingerprints=[FINGERPRINT], wallets=[SHARED_BTC]),
        Vendor(market="gamma", name="Loner", fetched_at=fetched.format(day=7), job_id="t", onion_host=GAMMA_HOST),
    ]
    for vendor in vendors:
        world.vendor_ids[f"{vendor.market}/{vendor.name}"] = vendor.doc_id()
    listings = [
        Listing(market="alpha", listing_id="a1", url=f"http://{ALPHA_HOST}/listing/a1",
                title="Fentanyl powder 99% pure", description="Pharmaceutical fentanyl, next day delivery in EU.",
                fetched_at=fetched.format(day=10), job_id="t", onion_host=ALPHA_HOST, price_amount=120.0,
                price_currency="USD", crypto_prices={"btc": 0.002, "xmr": 0.8}, vendor="DrGreen", category="Opioids",
                ships_from=["NL"], ships_to=["DE", "FR"], substances=["fentanyl"], substance_classes=["opioid"],
                wallets=[SHARED_BTC], language="en"),
        Listing(market="alpha", listing_id="a2", url=f"http://{ALPHA_HOST}/listing/a2",
                title="3-MMC crystals", description="Synthetic cathinone, stealth shipping.",
                fetched_at=fetched.format(day=12), job_id="t", onion_host=ALPHA_HOST, price_amount=40.0,
                price_currency="XMR", vendor="DrGreen", category="Stimulants", ships_from=["NL"],
                substances=["3-mmc"], substance_classes=["synthetic cathinone"], wallets=[ALPHA_ONLY_XMR],
                language="en"),
        Listing(market="beta", listing_id="b1", url=f"http://{BETA_HOST}/item/b1",
                title="Fentanyl patches", description="Fentanyl transdermal patches, 50 mcg.",
                fetched_at=fetched.format(day=14), job_id="t", onion_host=BETA_HOST, price_amount=0.003,
                price_currency="BTC", vendor="Dr_Green", category="Opioids", ships_from=["DE"],
                substances=["fentanyl"], substance_classes=["opioid"], wallets=[SHARED_BTC], language="en"),
        Listing(market="gamma", listing_id="g1", url=f"http://{GAMMA_HOST}/p/g1", title=XSS_TITLE + " fentanyl",
                description="A listing whose title tries to run a script.", fetched_at=fetched.format(day=15),
                job_id="t", onion_host=GAMMA_HOST, price_amount=10.0, price_currency="EUR", vendor="Loner",
                ships_from=["US"], substances=["fentanyl"], language="en"),
    ]
    for listing in listings:
        world.listing_ids[f"{listing.market}/{listing.listing_id}"] = listing.doc_id()
    pages = [
        Page(url=f"http://{ALPHA_HOST}/", canonical_url=f"http://{ALPHA_HOST}/", onion_host=ALPHA_HOST, status=200,
             content_type="text/html", content_hash="h1", fetched_at=fetched.format(day=10), job_id="t",
             title="Alpha Market home", text="Welcome to Alpha Market. Fentanyl and stimulants from trusted vendors.",
             language="en", market="alpha",
             wallets=[{"address": SHARED_BTC, "coin": "btc", "network": "mainnet", "address_type": "p2wpkh"}]),
        Page(url=f"http://{ALPHA_HOST}/rules", canonical_url=f"http://{ALPHA_HOST}/rules", onion_host=ALPHA_HOST,
             status=200, content_type="text/html", content_hash="h2", fetched_at=fetched.format(day=11), job_id="t",
             title="Rules", text="No finalize early. Escrow is mandatory.", language="en", market="alpha"),
        Page(url=f"http://{GAMMA_HOST}/", canonical_url=f"http://{GAMMA_HOST}/", onion_host=GAMMA_HOST, status=503,
             content_type="text/html", content_hash="h3", fetched_at=fetched.format(day=15), job_id="t",
             title=XSS_TITLE, text="maintenance", language="en", market="gamma"),
    ]
    mentions = [
        WalletMention(address=SHARED_BTC, coin="btc", network="mainnet", address_type="p2wpkh",
                      page_url=listing.url, onion_host=listing.onion_host, fetched_at=listing.fetched_at, job_id="t",
                      market=listing.market, listing_id=listing.listing_id, vendor=listing.vendor, source="listing")
        for listing in listings if SHARED_BTC in listing.wallets
    ] + [
        WalletMention(address=ALPHA_ONLY_XMR, coin="xmr", network="mainnet", address_type="standard",
                      page_url=listings[1].url, onion_host=ALPHA_HOST, fetched_at=listings[1].fetched_at, job_id="t",
                      market="alpha", listing_id="a2", vendor="DrGreen", source="listing"),
    ]
    world.items = [*vendors, *listings, *pages, *mentions]
    return world


def seed_world(client: Any, prefix: str) -> World:
    """Set up the indices under ``prefix`` and index the world; returns ids to assert on."""
    from pipelines.item_indexer import BulkIndexer
    from pipelines.indices import ensure_indices

    ensure_indices(client, prefix)
    world = build_items()
    outcome = BulkIndexer(client, prefix, None, max_retries=1, backoff_seconds=0.1).index_items(world.items)
    failed = getattr(outcome, "failed", None) or getattr(outcome, "failures", None)
    assert not failed, f"seeding failed: {failed}"
    client.indices.refresh(index=f"{prefix}-*")
    return world


@pytest.fixture(scope="module")
def search_es(es_node):
    """(client, unique index prefix, settings) on the node of ``es_node``, for a whole module.

    Module-scoped (the shared ``es`` fixture is per test) so one seeded world
    serves every test of a module; the prefix is deleted afterwards.
    """
    from pipelines.es_client import make_client
    from pipelines.indices import delete_prefix

    client = make_client(es_node.settings)
    prefix = f"test-search-{uuid.uuid4().hex[:10]}"
    try:
        yield client, prefix, es_node.settings.replace(index_prefix=prefix)
    finally:
        delete_prefix(client, prefix)
        client.close()
