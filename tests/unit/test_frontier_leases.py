"""The shared frontier's leases (crawler.frontier.leases) against a real redis-server.

The server is started by the project's harness (tests/fixtures/redis.py) on a
free loopback port; each test uses keys of its own.
"""

from __future__ import annotations

import secrets
import time
from typing import Any, Iterator

import pytest
import redis

from crawler.frontier.leases import JobKeys, LeaseStore


@pytest.fixture
def store(redis_node: Any) -> Iterator[LeaseStore]:
    client = redis.Redis.from_url(redis_node.url)
    keys = JobKeys(f"test-{secrets.token_hex(4)}", "job-1")
    try:
        yield LeaseStore(client, keys)
    finally:
        client.delete(*keys.all_fixed())
        client.close()


def _wait_past(store: LeaseStore, seconds: float) -> None:
    # Redis's clock decides deadlines: wait on it, not on ours.
    start = store.client.time()
    while True:
        now = store.client.time()
        if (now[0] - start[0]) + (now[1] - start[1]) / 1e6 > seconds:
            return
        time.sleep(0.01)


def test_take_leases_in_priority_then_arrival_order(store: LeaseStore) -> None:
    store.push(b"a", 0)
    store.push(b"b", -1)  # higher priority (lower score) first
    store.push(b"c", 0)
    taken = [store.take("w1", 60)[1] for _ in range(3)]
    assert taken == [b"b", b"a", b"c"]
    assert store.take("w1", 60) is None
    counts = store.counts()
    assert (counts.queued, counts.leased, counts.done) == (0, 3, 0)


def test_a_taken_request_is_neither_queued_nor_taken_twice(store: LeaseStore) -> None:
    for number in range(50):
        store.push(f"r{number}".encode(), 0)
    seen = []
    while (taken := store.take("w1" if len(seen) % 2 else "w2", 60)) is not None:
        seen.append(taken[1])
    assert sorted(seen) == sorted(f"r{number}".encode() for number in range(50))
    assert store.pending()


def test_release_counts_the_page_done_and_forgets_the_request(store: LeaseStore) -> None:
    store.push(b"a", 0)
    token, _ = store.take("w1", 60)
    assert store.release("w1", [token]) == 1
    counts = store.counts()
    assert (counts.queued, counts.leased, counts.done) == (0, 0, 1)
    assert not store.pending()
    assert store.client.hlen(store.keys.payload) == 0


def test_an_expired_lease_goes_back_to_the_queue_at_its_old_place(store: LeaseStore) -> None:
    store.push(b"first", 0)
    store.push(b"second", 0)
    token, data = store.take("dead-worker", 0.2)
    assert data == b"first"
    _wait_past(store, 0.3)
    # The next take puts the expired lease back first, so the request keeps its place.
    token_again, data_again = store.take("w2", 60)
    assert (token_again, data_again) == (token, b"first")
    assert store.counts().requeued == 1


def test_a_lease_past_its_deadline_that_nobody_took_back_stays_with_its_worker(store: LeaseStore) -> None:
    store.push(b"a", 0)
    token, _ = store.take("w1", 0.2)
    _wait_past(store, 0.3)
    assert store.renew("w1", [token], 60) == []
    assert store.requeue_expired() == 0


def test_renewed_leases_do_not_expire(store: LeaseStore) -> None:
    store.push(b"a", 0)
    token, _ = store.take("w1", 0.3)
    for _ in range(4):
        _wait_past(store, 0.15)
        assert store.renew("w1", [token], 0.3) == []
    assert store.requeue_expired() == 0
    assert store.counts().leased == 1


def test_a_worker_whose_lease_ran_out_cannot_release_anothers_lease(store: LeaseStore) -> None:
    store.push(b"a", 0)
    token, _ = store.take("slow", 0.2)
    _wait_past(store, 0.3)
    assert store.requeue_expired() == 1  # another worker's heartbeat
    assert store.renew("slow", [token], 60) == [token]  # the slow worker learns it lost the lease
    retaken, _ = store.take("other", 60)
    assert retaken == token
    assert store.release("slow", [token]) == 0
    assert store.counts().leased == 1
    assert store.release("other", [token]) == 1


def test_a_late_release_takes_a_requeued_request_out_before_anyone_fetches_it_again(store: LeaseStore) -> None:
    store.push(b"a", 0)
    token, _ = store.take("slow", 0.2)
    _wait_past(store, 0.3)
    assert store.requeue_expired() == 1
    assert store.release("slow", [token]) == 1  # its page was written after all
    assert store.take("other", 60) is None
    assert store.counts().done == 1


def test_give_back_returns_only_the_workers_own_leases(store: LeaseStore) -> None:
    store.push(b"a", 0)
    store.push(b"b", 0)
    mine, _ = store.take("w1", 60)
    theirs, _ = store.take("w2", 60)
    assert store.give_back("w1", [mine, theirs]) == 1
    counts = store.counts()
    assert (counts.queued, counts.leased) == (1, 1)


def test_take_many_leases_a_batch_in_queue_order_in_one_call(store: LeaseStore) -> None:
    tokens = [store.push(f"r{number}".encode(), 0) for number in range(5)]
    taken = store.take_many("w1", 60, 3)
    assert [token for token, _ in taken] == tokens[:3]
    assert [data for _, data in taken] == [b"r0", b"r1", b"r2"]
    counts = store.counts()
    assert (counts.queued, counts.leased) == (2, 3)
    assert [data for _, data in store.take_many("w2", 60, 8)] == [b"r3", b"r4"]
    assert store.take_many("w2", 60, 8) == []
    assert store.take("w2", 60) is None


def test_push_unseen_queues_a_fingerprint_once_and_shares_the_seen_set(store: LeaseStore) -> None:
    seen = store.keys.seen
    first = store.push_unseen(seen, "fp-1", b"request", 0)
    assert first is not None
    assert store.push_unseen(seen, "fp-1", b"request again", 0) is None
    assert store.client.sismember(seen, "fp-1")
    assert store.counts().queued == 1
    assert store.take("w1", 60) == (first, b"request")
