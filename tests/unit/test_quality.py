"""Scoring rules of the extraction quality report."""

from __future__ import annotations

from bench.quality import FieldScore, format_table, score_listings, score_vendors
from crawler.items import Listing, Vendor

URL = "http://" + "a" * 56 + ".onion/item/"


def truth(listing_id: str, **fields: object) -> dict[str, object]:
    record: dict[str, object] = {
        "market": "m", "listing_id": listing_id, "url": URL + listing_id, "title": f"t{listing_id}",
        "price_amount": 10.0, "price_currency": "USD", "vendor": "v", "ships_to": ["DE", "NL"],
        "crypto_prices": {}, "escrow": None,
    }
    record.update(fields)
    return record


def found(listing_id: str, **fields: object) -> Listing:
    values: dict[str, object] = dict(
        market="m", listing_id=listing_id, url=URL + listing_id, title=f"t{listing_id}", fetched_at="x", job_id="j",
        price_amount=10.0, price_currency="USD", vendor="v", ships_to=["DE", "NL"],
    )
    values.update(fields)
    return Listing(**values)  # type: ignore[arg-type]


def test_perfect_extraction_scores_one() -> None:
    scores = score_listings([truth("1"), truth("2")], [found("1"), found("2")])
    for name in ("item", "title", "price", "vendor", "ships_to"):
        assert (scores[name].precision, scores[name].recall) == (1.0, 1.0)
    assert scores["ships_to"].true_positives == 4


def test_wrong_missing_and_extra_values() -> None:
    scores = score_listings(
        [truth("1"), truth("2"), truth("3")],
        [found("1", title="other"), found("2", vendor=None, ships_to=["DE", "FR"]), found("9")],
    )
    title = scores["title"]
    assert (title.true_positives, title.false_positives, title.false_negatives) == (1, 2, 2)
    vendor = scores["vendor"]
    assert (vendor.true_positives, vendor.false_positives, vendor.false_negatives) == (1, 1, 2)
    ships = scores["ships_to"]
    assert (ships.true_positives, ships.false_positives, ships.false_negatives) == (3, 3, 3)
    assert scores["item"].precision == 2 / 3 and scores["item"].recall == 2 / 3


def test_price_needs_amount_and_currency_and_unshown_fields_count_as_extra() -> None:
    scores = score_listings([truth("1"), truth("2")], [found("1", price_currency="EUR"), found("2", escrow=True)])
    assert scores["price"].true_positives == 1 and scores["price"].false_positives == 1
    assert scores["escrow"].false_positives == 1 and scores["escrow"].precision == 0.0


def test_vendor_contacts_compare_kinds_and_handles() -> None:
    record = {
        "market": "m", "name": "Bob", "profile_url": URL + "v", "pgp_fingerprints": ["AB"], "wallets": [],
        "contacts": [{"type": "jabber", "value": "bob@x.example"}, {"type": "telegram", "value": "@Bob_shop"}],
        "rating": 4.5, "sales": None, "joined": "2024-01-02",
    }
    vendor = Vendor(
        market="m", name="Bob", fetched_at="x", job_id="j", profile_url=URL + "v", pgp_fingerprints=["AB"],
        contacts=[{"kind": "xmpp", "value": "bob@x.example"}, {"kind": "telegram", "value": "bob_shop"}],
        rating=4.5, joined="2024-01-02",
    )
    scores = score_vendors([record], [vendor])
    assert scores["contacts"].true_positives == 2 and scores["contacts"].false_positives == 0
    assert all(score.precision == 1.0 and score.recall == 1.0 for score in scores.values())


def test_empty_score_and_table() -> None:
    assert (FieldScore().precision, FieldScore().recall) == (1.0, 1.0)
    table = format_table("listings", {"title": FieldScore(9, 1, 0)})
    assert "title" in table and "0.900" in table and "1.000" in table
