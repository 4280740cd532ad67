from __future__ import annotations

import copy
import dataclasses
from typing import Any

import pytest

from crawler.items import Listing, Page, Vendor, WalletMention
from pipelines import documents
from pipelines.documents import document_for, normalise_fingerprint, replayed_document, upsert_action


def test_listing_document_derives_coins_and_normalises_currencies() -> None:
    listing = Listing(market="m", listing_id="1", url="http://x.onion/l", title="t", fetched_at="2026-11-28T23:25:18Z",
                      job_id="j", price_currency="xmr", crypto_prices={"BTC": 0.1, "ltc": 2})
    document = document_for(listing)
    assert document["coins"] == ["btc", "ltc", "xmr"]
    assert document["price_currency"] == "XMR" and document["crypto_prices"] == {"btc": 0.1, "ltc": 2.0}
    fiat = document_for(Listing(market="m", listing_id="1", url="http://x.onion/l", title="t",
                                fetched_at="2026-11-28T23:25:18Z", job_id="j", price_currency="usd"))
    assert fiat["coins"] == []


def test_page_document_lower_cases_hosts_emails_and_coins() -> None:
    page = Page(url="http://X.onion/", canonical_url="http://x.onion/", onion_host="X.ONION", status=200,
                content_type="text/html", content_hash="h", fetched_at="2026-11-28T23:25:18Z", job_id="j",
                emails=["Bob@Example.org", "bob@example.org"],
                wallets=[{"address": "1AbC", "coin": "BTC"}, {"address": "0XABC", "normalized": "0xAbC", "coin": "eth"}],
                pgp_fingerprints=["0xabcd ef01"])
    document = document_for(page)
    assert document["onion_host"] == "x.onion" and document["emails"] == ["bob@example.org"]
    assert document["wallets"] == [
        {"address": "1AbC", "coin": "btc"},  # the address keeps its case
        {"address": "0xAbC", "address_as_written": "0XABC", "normalized": "0xAbC", "coin": "eth"},
    ]
    assert document["pgp_fingerprints"] == ["ABCDEF01"]


def test_vendor_gets_a_folded_name() -> None:
    vendor = Vendor(market="m", name="ChemKİNG", fetched_at="2026-11-28T23:25:18Z", job_id="j")
    assert document_for(vendor)["name_folded"] == "ChemKİNG".casefold()


def test_upsert_sets_first_seen_only_on_insert() -> None:
    vendor = Vendor(market="m", name="v", fetched_at="2026-11-28T23:25:18Z", job_id="j")
    action = upsert_action(vendor, "p-vendors")
    assert action["_op_type"] == "update" and action["_id"] == vendor.doc_id() and action["_index"] == "p-vendors"
    assert "first_seen" not in action["doc"] and action["doc"]["last_seen"] == "2026-11-28T23:25:18Z"
    assert action["upsert"]["first_seen"] == action["upsert"]["last_seen"] == "2026-11-28T23:25:18Z"


def _rich_items() -> list[Any]:
    evidence = {"warc": "a.warc.gz", "offset": 12, "headers": {"server": ["x"]}}
    page = Page(url="http://X.onion/", canonical_url="http://x.onion/", onion_host="X.ONION", status=200,
                content_type="text/html", content_hash="h", fetched_at="2026-11-28T23:25:18Z", job_id="j",
                links=["http://x.onion/a", "http://x.onion/b"], emails=["Bob@Example.org"],
                wallets=[{"address": "0XABC", "normalized": "0xAbC", "coin": "eth", "where": ["text", "link"]}],
                contacts=[{"kind": "jabber", "value": "a@b"}], posts=[{"author": "a", "posted_at": None}],
                site_type_confidence=0.5, evidence=evidence)
    listing = Listing(market="m", listing_id="1", url="http://x.onion/l", title="4-MMC 10g",
                      fetched_at="2026-11-28T23:25:18Z", job_id="j", price_amount=50.0, price_currency="usd",
                      crypto_prices={"BTC": 0.1}, ships_to=["DE", "NL"], evidence=dict(evidence))
    vendor = Vendor(market="m", name="V", fetched_at="2026-11-28T23:25:18Z", job_id="j",
                    contacts=[{"kind": "pgp", "value": "k"}], pgp_fingerprints=["ab cd"])
    return [page, listing, vendor]


@pytest.mark.parametrize("item", _rich_items(), ids=lambda item: item.kind)
def test_documents_are_built_as_from_asdict_and_share_nothing_with_the_item(
    item: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    with monkeypatch.context() as patched:  # the document as dataclasses.asdict's copy of the fields gives it
        patched.setattr(documents, "_fields_of", dataclasses.asdict, raising=False)
        expected = document_for(item)
    assert expected["fetched_at"] == item.fetched_at and set(dataclasses.asdict(item)) <= set(expected)

    # JSON-like fields are copied without copy.deepcopy (dataclasses.asdict's cost: half a page's indexing time).
    def no_deepcopy(value: Any, memo: Any = None) -> Any:
        raise AssertionError(f"deepcopy of {type(value).__name__}")

    monkeypatch.setattr(copy, "deepcopy", no_deepcopy)
    document = document_for(item)
    monkeypatch.undo()
    assert document == expected
    for name, value in dataclasses.asdict(item).items():
        if isinstance(value, (list, dict)) and value:
            assert document[name] is not getattr(item, name)
    # Changing the item afterwards leaves the document as it was.
    if isinstance(item, Page):
        item.wallets[0]["where"].append("hidden")
        item.evidence["headers"]["server"].append("y")  # type: ignore[index]
        item.links.append("http://x.onion/c")
        assert document == expected


def test_wallet_mentions_are_not_documents_of_their_own() -> None:
    with pytest.raises(TypeError):
        document_for(WalletMention(address="a", coin="btc", network="n", address_type="t", page_url="u",
                                   onion_host="h", fetched_at="f", job_id="j"))
    assert normalise_fingerprint(" 0xAbCd 1234 ") == "ABCD1234"


STORED = {"title": "new title", "first_seen": "2026-11-29T10:00:00Z", "last_seen": "2026-11-30T10:00:00Z",
          "fetched_at": "2026-11-30T10:00:00Z"}


def test_an_older_replayed_update_keeps_the_stored_values_and_only_moves_first_seen_back() -> None:
    old = {"title": "old title", "fetched_at": "2026-11-28T10:00:00Z", "last_seen": "2026-11-28T10:00:00Z"}
    body = {"doc": old, "upsert": {**old, "first_seen": "2026-11-28T10:00:00Z"}}
    assert replayed_document(STORED, "update", body) == {**STORED, "first_seen": "2026-11-28T10:00:00Z"}
    # Same instant in another spelling: still ordered by time, not by text.
    body_offset = {"doc": {**old, "last_seen": "2026-11-30T11:00:00+02:00"}, "upsert": {**old}}
    assert replayed_document(STORED, "update", body_offset)["title"] == "new title"


def test_a_newer_replayed_update_applies_like_the_original_write() -> None:
    newer = {"title": "newest", "fetched_at": "2026-12-01T10:00:00Z", "last_seen": "2026-12-01T10:00:00Z"}
    body = {"doc": newer, "upsert": {**newer, "first_seen": "2026-12-01T10:00:00Z"}}
    assert replayed_document(STORED, "update", body) == {
        "title": "newest", "first_seen": "2026-11-29T10:00:00Z", "last_seen": "2026-12-01T10:00:00Z",
        "fetched_at": "2026-12-01T10:00:00Z"}
    assert replayed_document(None, "update", body) == {**newer, "first_seen": "2026-12-01T10:00:00Z"}


def test_replayed_index_writes_compare_finished_at_and_an_undated_write_never_wins() -> None:
    run = {"job_id": "j", "finished_at": "2026-11-28T10:00:00Z", "pages_indexed": 3}
    later_run = {"job_id": "j", "finished_at": "2026-11-28T11:00:00Z", "pages_indexed": 9}
    assert replayed_document(later_run, "index", run) == later_run
    assert replayed_document(run, "index", later_run) == later_run
    assert replayed_document(STORED, "index", {"title": "undated"}) == STORED
    assert replayed_document({"title": "undated"}, "index", run) == run
def test_a_card_update_never_blanks_what_its_detail_page_gave() -> None:
    """A result page's card and its detail page are one document; the card's update holds only
    what the card shows, so a card crawled after the detail page keeps the description."""
    card = Listing(market="m", listing_id="17", url="http://x.onion/item/17", title="Ketamine 1g",
                   fetched_at="2026-11-28T23:25:18Z", job_id="j", price_amount=40.0, price_currency="EUR",
                   vendor="kman", extractor="card")
    detail = Listing(market="m", listing_id="17", url="http://x.onion/item/17", title="Ketamine 1g",
                     fetched_at="2026-11-28T23:25:18Z", job_id="j", description="Needle point crystals",
                     category="Dissociatives", extractor="generic")
    card_action, detail_action = upsert_action(card, "p-listings"), upsert_action(detail, "p-listings")
    assert card_action["_id"] == detail_action["_id"]
    assert card_action["doc"]["price_amount"] == 40.0 and card_action["doc"]["vendor"] == "kman"
    for blanked in ("description", "category", "ships_to", "escrow", "extractor"):
        assert blanked not in card_action["doc"]
    assert card_action["upsert"]["description"] == ""  # a new document still has every field
    assert detail_action["doc"]["description"] == "Needle point crystals"
