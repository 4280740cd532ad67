"""pipelines.entity_cache: what a read would answer, a bounded size, and what it refuses to keep."""

from __future__ import annotations

from pipelines.entity_cache import EntityCache


def test_an_answer_is_what_a_read_would_give_and_a_fresh_copy_each_time() -> None:
    cache = EntityCache()
    cache.store("wallets", "btc:1abc", "p-wallets-000001", {"pages": ["a"], "page_count": 1}, 7, 1)
    answer = cache.answer("wallets", "btc:1abc")
    assert answer == {"_index": "p-wallets-000001", "_id": "btc:1abc", "found": True,
                      "_source": {"pages": ["a"], "page_count": 1}, "_seq_no": 7, "_primary_term": 1,
                      "cached": True}
    answer["_source"]["pages"].append("b")
    assert cache.answer("wallets", "btc:1abc")["_source"]["pages"] == ["a"]
    assert cache.answer("onions", "btc:1abc") is None


def test_tuples_come_back_as_the_lists_elasticsearch_would_return() -> None:
    cache = EntityCache()
    cache.store("onions", "h", "i", {"markets": ("m",)}, 1, 1)
    assert cache.answer("onions", "h")["_source"] == {"markets": ["m"]}


def test_the_least_recently_used_leave_first_within_the_byte_bound() -> None:
    cache = EntityCache(max_bytes=800)
    for number in range(10):
        cache.store("wallets", str(number), "i", {"pad": "x" * 80}, number, 1)
        cache.answer("wallets", "0")  # kept in use
    assert cache.bytes <= 800
    assert cache.answer("wallets", "0") is not None and cache.answer("wallets", "9") is not None
    assert cache.answer("wallets", "1") is None
    assert cache.bytes == sum(len(b'{"pad":"' + b"x" * 80 + b'"}') for _ in range(len(cache)))


def test_a_document_too_big_or_not_encodable_is_not_kept_and_replaces_the_old_version() -> None:
    cache = EntityCache(max_bytes=800)
    cache.store("wallets", "w", "i", {"small": 1}, 1, 1)
    cache.store("wallets", "w", "i", {"big": "x" * 200}, 2, 1)  # more than an eighth of the bound
    assert cache.answer("wallets", "w") is None and cache.bytes == 0
    cache.store("wallets", "w", "i", {"bad": "\ud800"}, 3, 1)  # a lone surrogate: orjson refuses it
    assert cache.answer("wallets", "w") is None
    cache.store("wallets", "w", "i", {"ok": 1}, 4, 1)
    cache.drop("wallets", "w")
    assert cache.answer("wallets", "w") is None and cache.bytes == 0 and len(cache) == 0


def test_a_zero_bound_keeps_nothing() -> None:
    cache = EntityCache(max_bytes=0)
    cache.store("onions", "h", "i", {}, 1, 1)
    assert cache.answer("onions", "h") is None
