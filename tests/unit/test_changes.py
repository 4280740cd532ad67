"""Change records (pipelines.freshness.changes), the read-before-write step (change_tracker), removal plans."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from crawler.freshness.liveness import DOWN, UP, Attempt, BackoffPolicy, HostCheckBuilder
from crawler.items import Listing, Page
from pipelines.bulk_writer import BatchOutcome
from pipelines.freshness.change_tracker import ChangeTracker
from pipelines.freshness.changes import listing_changes, page_change, run_change_counts
from pipelines.freshness.liveness_history import check_document, merge_liveness
from pipelines.freshness.removals import GUARD_MIN_REMOVALS, plan_removals

HOST = "a" * 56 + ".onion"


def _listing(price: float | None = 10.0, currency: str | None = "USD", stock: int | None = 5,
             vendor: str | None = "acme", extractor: str = "profile", at: str = "2026-12-02T00:00:00Z") -> Listing:
    return Listing(market="tundra-shop", listing_id="T1", url=f"http://{HOST}/item/T1.html", title="Thing",
                   fetched_at=at, job_id="job-2", onion_host=HOST, price_amount=price, price_currency=currency,
                   stock=stock, vendor=vendor, extractor=extractor, market_host_known=True)


def _stored(**overrides: Any) -> dict[str, Any]:
    stored = {"price_amount": 10.0, "price_currency": "USD", "stock": 5, "vendor": "acme", "extractor": "profile",
              "last_seen": "2026-12-01T00:00:00Z", "market": "tundra-shop", "listing_id": "T1",
              "url": f"http://{HOST}/item/T1.html", "title": "Thing", "onion_host": HOST}
    stored.update(overrides)
    return stored


def test_a_price_stock_or_vendor_change_keeps_the_old_and_the_new_value() -> None:
    after = {"price_amount": 12.5, "price_currency": "usd", "stock": 0, "vendor": "other", "crypto_prices": {"btc": 1}}
    changes = listing_changes(_stored(crypto_prices={"btc": 2}), after, doc_id="L1", changed_at="2026-12-02T00:00:00Z",
                              job_id="job-2")
    assert [(c.field, c.old, c.new) for c in changes] == [
        ("price", {"amount": 10.0, "currency": "USD"}, {"amount": 12.5, "currency": "USD"}),
        ("stock", 5, 0), ("vendor", "acme", "other")]
    price = changes[0].to_doc()
    assert (price["old_value"], price["new_value"]) == ("10 USD", "12.5 USD")
    assert (price["old_amount"], price["new_amount"], price["new_currency"]) == (10.0, 12.5, "USD")
    assert price["previous_seen_at"] == "2026-12-01T00:00:00Z" and price["market"] == "tundra-shop"
    assert changes[1].to_doc()["new_amount"] == 0.0
    # The record's id is stable: a replay rewrites it rather than adding another.
    assert changes[0].doc_id_of_record() == listing_changes(
        _stored(), after, doc_id="L1", changed_at="2026-12-02T00:00:00Z", job_id="x")[0].doc_id_of_record()


def test_no_change_when_a_side_is_missing_or_the_price_is_the_same() -> None:
    same = {"price_amount": 10.0 + 1e-12, "price_currency": "USD", "stock": None, "vendor": ""}
    assert listing_changes(_stored(), same, doc_id="L1", changed_at="t", job_id="j") == []
    currency = {"price_amount": 10.0, "price_currency": "EUR"}
    assert [c.field for c in listing_changes(_stored(), currency, doc_id="L1", changed_at="t", job_id="j")] == ["price"]


def test_a_page_changes_when_its_content_hash_does() -> None:
    change = page_change({"content_hash": "aa", "last_seen": "2026-12-01T00:00:00Z"},
                         {"content_hash": "bb", "canonical_url": f"http://{HOST}/"}, doc_id="P", changed_at="t", job_id="j")
    assert change is not None and (change.old, change.new, change.url) == ("aa", "bb", f"http://{HOST}/")
    assert page_change({"content_hash": "aa"}, {"content_hash": "aa"}, doc_id="P", changed_at="t", job_id="j") is None


class StoredCluster:
    """Answers mget from a dict of stored sources; counts the reads."""

    def __init__(self, sources: dict[str, dict[str, Any]], fail: bool = False):
        self.sources = sources
        self.fail = fail
        self.reads: list[list[str]] = []

    def mget(self, *, docs: list[dict[str, Any]]) -> dict[str, Any]:
        if self.fail:
            raise ConnectionError("refused")
        self.reads.append([doc["_id"] for doc in docs])
        return {"docs": [{"_id": doc["_id"], "found": doc["_id"] in self.sources,
                          "_source": self.sources.get(doc["_id"])} for doc in docs]}


def test_the_tracker_reads_once_per_batch_and_compares_with_the_run_start() -> None:
    detail = _listing(price=12.0)
    cluster = StoredCluster({detail.doc_id(): _stored()})
    tracker, outcome = ChangeTracker(cluster, "p"), BatchOutcome()
    found = tracker.batch([_listing(price=12.0, extractor="card"), detail], outcome)
    assert len(cluster.reads) == 1  # one mget for the batch
    assert [(r.field, r.new["amount"]) for r in found.records] == [("price", 12.0)]  # recorded once
    # The next batch of the same run: no read, and the same change is not recorded again.
    again = tracker.batch([_listing(price=12.0)], BatchOutcome())
    assert len(cluster.reads) == 1 and again.records == []
    assert outcome.stats["freshness/listings_changed"] == 1
    assert [op.kind for op in found.operations("p")] == ["changes"]


def test_a_card_does_not_contradict_the_listings_own_page() -> None:
    card = _listing(price=9.99, extractor="card")
    cluster = StoredCluster({card.doc_id(): _stored()})  # stored from a detail page ("profile")
    assert ChangeTracker(cluster, "p").batch([card], BatchOutcome()).records == []
    # A listing only ever seen as a card is compared card to card.
    cluster = StoredCluster({card.doc_id(): _stored(extractor="card")})
    assert [r.field for r in ChangeTracker(cluster, "p").batch([card], BatchOutcome()).records] == ["price"]


def test_a_removed_listing_seen_again_returns() -> None:
    listing = _listing()
    cluster = StoredCluster({listing.doc_id(): _stored(removed_at="2026-12-01T12:00:00Z")})
    outcome = BatchOutcome()
    found = ChangeTracker(cluster, "p").batch([listing], outcome)
    assert found.doc_fields[("listings", listing.doc_id())] == {"removed_at": None}
    assert [(r.field, r.old, r.new) for r in found.records] == [("returned", "2026-12-01T12:00:00Z", listing.fetched_at)]
    assert outcome.stats["freshness/listings_returned"] == 1


def _page(content_hash: str) -> Page:
    return Page(url=f"http://{HOST}/", canonical_url=f"http://{HOST}/", onion_host=HOST, status=200,
                content_type="text/html", content_hash=content_hash, fetched_at="2026-12-02T00:00:00Z", job_id="job-2")


def test_a_changed_page_gets_a_record_and_a_new_content_changed_at() -> None:
    changed, same = _page("new"), _page("old")
    key = ("pages", changed.doc_id())
    found = ChangeTracker(StoredCluster({changed.doc_id(): {"content_hash": "old", "content_changed_at": "x"}}),
                          "p").batch([changed], BatchOutcome())
    assert [r.field for r in found.records] == ["content_hash"]
    assert found.doc_fields[key] == {"content_changed_at": changed.fetched_at}
    assert found.upsert_fields[key] == {"content_changed_at": changed.fetched_at}
    unchanged = ChangeTracker(StoredCluster({same.doc_id(): {"content_hash": "old", "content_changed_at": "x"}}),
                              "p").batch([same], BatchOutcome())
    assert unchanged.records == [] and key not in unchanged.doc_fields


def test_a_failed_read_writes_the_batch_without_change_records() -> None:
    outcome = BatchOutcome()
    found = ChangeTracker(StoredCluster({}, fail=True), "p").batch([_page("x"), _listing()], outcome)
    assert found.records == [] and found.doc_fields == {}
    assert outcome.stats["freshness/change_reads_failed"] == 1
    assert found.upsert_fields  # a new page still starts its change history


def test_run_change_counts_come_from_the_stats() -> None:
    stats = {"elasticsearch/created/listings": 4, "freshness/listings_changed": 2, "freshness/listings_removed": 1,
             "freshness/pages_changed": 7}
    assert run_change_counts(stats) == {"listings_new": 4, "listings_changed": 2, "listings_removed": 1,
                                        "pages_changed": 7}
    assert run_change_counts({}) == dict.fromkeys(("listings_new", "listings_changed", "listings_removed",
                                                   "pages_changed"), 0)


def _candidates(count: int) -> list[tuple[str, dict[str, Any]]]:
    return [(f"L{n}", {"url": f"http://{HOST}/item/{n}.html"}) for n in range(count)]


def test_a_listing_whose_page_was_seen_unchanged_is_seen_not_removed() -> None:
    from config.schema import page_doc_id

    unchanged = {page_doc_id(f"http://{HOST}/item/1.html"): "2026-12-02T00:00:00Z"}
    plan = plan_removals(_candidates(3), unchanged, total=30)
    assert [doc_id for doc_id, _ in plan.removed] == ["L0", "L2"]
    assert plan.seen == [("L1", "2026-12-02T00:00:00Z")]
    partial = plan_removals(_candidates(3), unchanged, total=30, mark_removed=False)
    assert partial.removed == [] and partial.seen == plan.seen


def test_a_mass_disappearance_marks_nothing() -> None:
    plan = plan_removals(_candidates(GUARD_MIN_REMOVALS), {}, total=GUARD_MIN_REMOVALS + 2)
    assert plan.removed == [] and plan.refused and "broken extraction" in plan.refused
    few = plan_removals(_candidates(GUARD_MIN_REMOVALS - 1), {}, total=GUARD_MIN_REMOVALS)
    assert len(few.removed) == GUARD_MIN_REMOVALS - 1 and few.refused is None


def _host_check(job: str, up: bool, at: str) -> Any:
    builder = HostCheckBuilder(HOST, job)
    builder.add(Attempt(HOST, at, up, None if up else "connection_refused", 200 if up else None, 40, f"http://{HOST}/"))
    return builder.build()


def test_the_onion_entity_keeps_recent_checks_and_the_back_off() -> None:
    now = datetime(2026, 12, 2, 0, 5, tzinfo=timezone.utc)
    policy = BackoffPolicy(base_seconds=600, max_seconds=3600)
    down = merge_liveness({"onion_host": HOST, "page_count": 3, "up": True, "last_seen": "2026-12-01T00:00:00Z"},
                          _host_check("j2", False, "2026-12-02T00:00:00Z"), now, policy)
    assert down is not None and down["up"] is False and down["consecutive_down"] == 1
    assert (down["down_since"], down["next_check_at"]) == ("2026-12-02T00:00:00Z", "2026-12-02T00:10:00Z")
    assert down["last_seen"] == "2026-12-01T00:00:00Z" and down["page_count"] == 3
    up = merge_liveness(down, _host_check("j3", True, "2026-12-02T01:00:00Z"), now, policy)
    assert up is not None and up["up"] is True and up["consecutive_down"] == 0 and up["next_check_at"] is None
    assert [entry["state"] for entry in up["recent_checks"]] == [DOWN, UP]
    assert up["last_seen"] == "2026-12-02T01:00:00Z" and up["job_ids"] == ["j2", "j3"]
    document = check_document(_host_check("j2", False, "2026-12-02T00:00:00Z"))
    assert (document["state"], document["up"], document["reason"]) == (DOWN, False, "connection_refused")
    assert document["samples"][0]["latency_ms"] == 40


def test_an_item_older_than_what_is_stored_records_nothing() -> None:
    late = _listing(price=99.0, at="2026-11-30T00:00:00Z")  # spooled, replayed after a newer crawl
    cluster = StoredCluster({late.doc_id(): _stored(last_seen="2026-12-01T00:00:00Z")})
    assert ChangeTracker(cluster, "p").batch([late], BatchOutcome()).records == []
    page = _page("new")
    stored = {page.doc_id(): {"content_hash": "old", "content_changed_at": "x", "last_seen": "2026-12-03T00:00:00Z"}}
    found = ChangeTracker(StoredCluster(stored), "p").batch([page], BatchOutcome())
    assert found.records == [] and ("pages", page.doc_id()) not in found.doc_fields
