"""The ``_id`` rule of listings and vendors: a known market's documents cannot be reached from another onion."""

from __future__ import annotations

import hashlib

from crawler.extractors.onions import v3_onion_from_pubkey
from crawler.items import Listing, Vendor, WalletMention

MARKET_HOST = v3_onion_from_pubkey(hashlib.sha256(b"the market").digest())
OTHER_HOST = v3_onion_from_pubkey(hashlib.sha256(b"a copy of the market").digest())
FETCHED_AT = "2026-11-28T10:00:00Z"


def sha256_of(*parts: str) -> str:
    # The documented rule written out independently: sha256 of the parts joined by NUL.
    return hashlib.sha256("\0".join(parts).encode("utf-8")).hexdigest()


def listing(host: str, **extra: object) -> Listing:
    return Listing(market="nebula-market", listing_id="123", url=f"http://{host}/product/123/", title="t",
                   fetched_at=FETCHED_AT, job_id="j", onion_host=host, **extra)  # type: ignore[arg-type]


def vendor(host: str, **extra: object) -> Vendor:
    return Vendor(market="nebula-market", name="LunarPharmacy", fetched_at=FETCHED_AT, job_id="j",
                  onion_host=host, **extra)  # type: ignore[arg-type]


def test_the_same_market_and_key_on_two_onions_are_two_documents() -> None:
    # Nothing says either host is the market's: each id carries its host.
    assert listing(MARKET_HOST).doc_id() != listing(OTHER_HOST).doc_id()
    assert vendor(MARKET_HOST).doc_id() != vendor(OTHER_HOST).doc_id()


def test_an_item_on_a_known_host_keeps_the_market_and_key_id() -> None:
    # The ids documents written before the host rule have, so a re-crawl updates them.
    assert listing(MARKET_HOST, market_host_known=True).doc_id() == sha256_of("nebula-market", "123")
    assert vendor(MARKET_HOST, market_host_known=True).doc_id() == sha256_of("nebula-market", "lunarpharmacy")
    # A mirror listed for the same market shares the document.
    assert listing(OTHER_HOST, market_host_known=True).doc_id() == listing(MARKET_HOST, market_host_known=True).doc_id()


def test_an_item_on_an_unknown_host_is_keyed_by_its_host() -> None:
    assert listing(OTHER_HOST).doc_id() == sha256_of("nebula-market", OTHER_HOST, "123")
    assert listing(OTHER_HOST.upper()).doc_id() == listing(OTHER_HOST).doc_id()
    assert vendor(OTHER_HOST).doc_id() == sha256_of("nebula-market", OTHER_HOST, "lunarpharmacy")
    assert listing(OTHER_HOST).doc_id() != listing(MARKET_HOST, market_host_known=True).doc_id()
    assert vendor(OTHER_HOST).doc_id() != vendor(MARKET_HOST, market_host_known=True).doc_id()


def test_a_wallet_mention_names_the_listing_by_the_same_rule() -> None:
    for host, known in ((MARKET_HOST, True), (OTHER_HOST, False)):
        mention = WalletMention(address="bc1q", coin="bitcoin", network="mainnet", address_type="p2wpkh",
                                page_url=f"http://{host}/product/123/", onion_host=host, fetched_at=FETCHED_AT,
                                job_id="j", market="nebula-market", listing_id="123", market_host_known=known)
        assert mention.listing_doc_id() == listing(host, market_host_known=known).doc_id()
    without_listing = WalletMention(address="bc1q", coin="bitcoin", network="mainnet", address_type="p2wpkh",
                                    page_url="u", onion_host=OTHER_HOST, fetched_at=FETCHED_AT, job_id="j")
    assert without_listing.listing_doc_id() is None


def test_a_wallet_mention_doc_id_is_its_wallet_entity_id_whatever_the_coin_case() -> None:
    from pipelines.entities import wallet_doc_id

    for coin in ("bitcoin", "Bitcoin", "BTC"):
        mention = WalletMention(address="bc1q", coin=coin, network="mainnet", address_type="p2wpkh", page_url="u",
                                onion_host=OTHER_HOST, fetched_at=FETCHED_AT, job_id="j")
        assert mention.doc_id() == wallet_doc_id(coin, "bc1q") == sha256_of(coin.lower(), "bc1q")
