from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crawler.items import Page, WalletMention, stable_id
from pipelines.entities import (
    MAX_REFERENCES,
    OnionSighting,
    WalletSighting,
    merge_onion,
    merge_wallet,
    onion_sighting_from_page,
    wallet_doc_id,
    wallet_sightings_from_item,
)

ADDRESS = "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq"


def sighting(seen_at: str, **extra: object) -> WalletSighting:
    values = dict(address=ADDRESS, coin="btc", network="mainnet", address_type="p2wpkh", seen_at=seen_at, job_id="j1")
    values.update(extra)
    return WalletSighting(**values)  # type: ignore[arg-type]


def test_new_wallet_takes_first_and_last_seen_from_its_sightings() -> None:
    document = merge_wallet(None, [sighting("2026-11-28T10:00:00Z", market="a"), sighting("2026-11-20T10:00:00Z", market="b")])
    assert (document["first_seen"], document["last_seen"]) == ("2026-11-20T10:00:00Z", "2026-11-28T10:00:00Z")
    assert document["markets"] == ["a", "b"] and document["market_count"] == 2
    assert document["mention_count"] == 2


def test_merge_keeps_earlier_first_seen_and_moves_last_seen() -> None:
    existing = merge_wallet(None, [sighting("2026-11-10T00:00:00Z", vendor="v1")])
    merged = merge_wallet(existing, [sighting("2026-11-05T00:00:00Z", vendor="v2"), sighting("2026-11-30T00:00:00Z", vendor="v1")])
    assert (merged["first_seen"], merged["last_seen"]) == ("2026-11-05T00:00:00Z", "2026-11-30T00:00:00Z")
    assert merged["vendors"] == ["v1", "v2"] and merged["vendor_count"] == 2
    assert existing["vendors"] == ["v1"]  # the input document is not modified


def test_references_are_capped_and_flagged() -> None:
    sightings = [sighting("2026-11-28T10:00:00Z", page_url=f"http://x.onion/{n}") for n in range(MAX_REFERENCES + 5)]
    document = merge_wallet(None, sightings)
    assert document["page_count"] == MAX_REFERENCES and document["refs_truncated"] is True


def test_sightings_of_two_wallets_do_not_merge() -> None:
    with pytest.raises(ValueError):
        merge_wallet(None, [sighting("2026-11-28T10:00:00Z"), sighting("2026-11-28T10:00:00Z", address="other")])


@given(st.lists(st.sampled_from(["2026-11-01T00:00:00Z", "2026-11-15T00:00:00Z", "2026-12-01T00:00:00Z"]), min_size=1),
       st.randoms())
def test_merge_order_does_not_change_the_dates_or_sets(dates: list[str], random: object) -> None:
    sightings = [sighting(date, market=f"m{index % 3}") for index, date in enumerate(dates)]
    shuffled = list(sightings)
    random.shuffle(shuffled)  # type: ignore[attr-defined]
    one_by_one: dict | None = None
    for item in shuffled:
        one_by_one = merge_wallet(one_by_one, [item])
    at_once = merge_wallet(None, sightings)
    assert one_by_one is not None
    for key in ("first_seen", "last_seen", "market_count", "mention_count"):
        assert one_by_one[key] == at_once[key]
    assert sorted(one_by_one["markets"]) == sorted(at_once["markets"])


def test_wallet_mention_becomes_a_sighting_linked_to_its_listing() -> None:
    mention = WalletMention(address=ADDRESS, coin="BTC", network="Mainnet", address_type="p2wpkh",
                            page_url="http://x.onion/l/9", onion_host="X.onion", fetched_at="2026-11-28T10:00:00Z",
                            job_id="j1", market="m", listing_id="9", vendor="v")
    [found] = wallet_sightings_from_item(mention)
    assert found.coin == "btc" and found.network == "mainnet" and found.onion_host == "x.onion"
    # Not said to be one of m's known hosts: the listing id carries the host.
    assert found.listing_doc_id == stable_id("m", "x.onion", "9")
    [on_known_host] = wallet_sightings_from_item(dataclasses.replace(mention, market_host_known=True))
    assert on_known_host.listing_doc_id == stable_id("m", "9")
    assert wallet_doc_id("BTC", ADDRESS) == wallet_doc_id("btc", ADDRESS) == stable_id("btc", ADDRESS)


def page(status: int, fetched_at: str, wallets: list[dict] | None = None) -> Page:
    return Page(url="http://x.onion/", canonical_url="http://x.onion/", onion_host="x.onion", status=status,
                content_type="text/html", content_hash="h", fetched_at=fetched_at, job_id="j", title="t",
                wallets=wallets or [])


def test_page_wallets_use_the_normalised_address_and_skip_those_without_a_coin() -> None:
    written = ADDRESS.upper()
    found = wallet_sightings_from_item(page(200, "2026-11-28T10:00:00Z", [
        {"address": written, "normalized": ADDRESS, "coin": "BTC"}, {"address": "x"}]))
    assert [(s.address, s.coin, s.source) for s in found] == [(ADDRESS, "btc", "page")]
    # The spider's WalletMention for the same address is what counts as the mention.
    assert merge_wallet(None, found)["mention_count"] == 0


def test_onion_liveness_follows_the_latest_fetch_only() -> None:
    alive = merge_onion(None, [onion_sighting_from_page(page(200, "2026-11-28T10:00:00Z"))], new_pages=3)
    down = merge_onion(alive, [onion_sighting_from_page(page(503, "2026-11-29T10:00:00Z"))])
    assert (down["up"], down["last_status"], down["page_count"]) == (False, 503, 3)
    replayed_old = merge_onion(down, [onion_sighting_from_page(page(200, "2026-11-27T10:00:00Z"))], new_pages=1)
    assert replayed_old["up"] is False and replayed_old["first_seen"] == "2026-11-27T10:00:00Z"
    assert replayed_old["page_count"] == 4


def test_onion_sightings_of_two_hosts_do_not_merge() -> None:
    with pytest.raises(ValueError):
        merge_onion(None, [OnionSighting("a.onion", "2026", 200, "u", "t", "j"), OnionSighting("b.onion", "2026", 200, "u", "t", "j")])
