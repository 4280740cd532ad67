"""pipelines.entity_cache: what a read would answer, a bounded size, and what it refuses to keep."""

from __future__ import annotations

from pipelines.entity_cache import EntityCache


def test_an_answer_is_what_a_read_would_give_and_a_fresh_copy_each_time() -> None:
    cache = EntityCache()
    cache.confirm({"p-wallets-000001": "uuid-1"})
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
    cache.confirm({"i": "u"})
    cache.store("onions", "h", "i", {"markets": ("m",)}, 1, 1)
    assert cache.answer("onions", "h")["_source"] == {"markets": ["m"]}


def test_the_least_recently_used_leave_first_within_the_byte_bound() -> None:
    cache = EntityCache(max_bytes=800)
    cache.confirm({"i": "u"})
    for number in range(10):
        cache.store("wallets", str(number), "i", {"pad": "x" * 80}, number, 1)
        cache.answer("wallets", "0")  # kept in use
    assert cache.bytes <= 800
    assert cache.answer("wallets", "0") is not None and cache.answer("wallets", "9") is not None
    assert cache.answer("wallets", "1") is None
    assert cache.bytes == sum(len(b'{"pad":"' + b"x" * 80 + b'"}') for _ in range(len(cache)))


def test_a_document_too_big_or_not_encodable_is_not_kept_and_replaces_the_old_version() -> None:
    cache = EntityCache(max_bytes=800)
    cache.confirm({"i": "u"})
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
    cache.confirm({"i": "u"})
    cache.store("onions", "h", "i", {}, 1, 1)
    assert cache.answer("onions", "h") is None


def test_versions_are_kept_only_for_the_confirmed_incarnation_of_an_index() -> None:
    """An index created again under the same name restarts its sequence numbers: nothing held in the old one
    may be used; nor anything held in an index that is no longer behind its alias."""
    cache = EntityCache()
    cache.store("onions", "h", "p-onions-v1", {"page_count": 1}, 0, 1)
    assert cache.answer("onions", "h") is None  # no index confirmed yet: its incarnation is unknown
    cache.confirm({"p-onions-v1": "first", "p-wallets-v1": "w"})
    cache.store("onions", "h", "p-onions-v1", {"page_count": 1}, 0, 1)
    cache.store("wallets", "w", "p-wallets-v1", {"page_count": 1}, 0, 1)
    cache.store("onions", "moved", "p-onions-v2", {"page_count": 1}, 0, 1)  # not confirmed: not kept
    assert ("onions", "h") in cache and ("onions", "moved") not in cache
    assert cache.confirm({"p-onions-v1": "first", "p-wallets-v1": "w"}) == 0
    assert cache.answer("onions", "h") is not None

    assert cache.confirm({"p-onions-v1": "second", "p-wallets-v1": "w"}) == 1  # deleted and created again
    assert cache.answer("onions", "h") is None and cache.answer("wallets", "w") is not None
    assert cache.confirm({"p-onions-v2": "third"}) == 1  # the wallets alias now points elsewhere (or nowhere)
    assert len(cache) == 0 and cache.bytes == 0


def test_clear_forgets_the_confirmed_indices_too() -> None:
    cache = EntityCache()
    cache.confirm({"i": "u"})
    cache.clear()
    cache.store("onions", "h", "i", {}, 1, 1)
    assert cache.answer("onions", "h") is None
