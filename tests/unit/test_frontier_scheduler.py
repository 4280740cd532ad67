"""The shared scheduler's lease rule (crawler.frontier.scheduler) against a real redis-server.

A lease is released only when Scrapy's engine has finished with the request
AND the bulk pipeline has written the batch holding its items; a worker that
stops early gives its unfinished leases back.  The engine and the pipeline
are small stand-ins here (the integration test tests/integration/test_shared_frontier.py
runs the real ones); Redis is real.
"""

from __future__ import annotations

import secrets
from types import SimpleNamespace
from typing import Any, Iterator

import pytest
import redis
from scrapy import Request, Spider
from scrapy.statscollectors import MemoryStatsCollector

from crawler.frontier import serializer
from crawler.frontier.leases import JobKeys
from crawler.frontier.scheduler import FLUSH_AFTER_SECONDS, LEASE_META, TAKE_BATCH, SharedScheduler
from scrapy_redis.dupefilter import RFPDupeFilter


class _Spider(Spider):
    name = "onion"

    def parse(self, response: Any, **kwargs: Any) -> Any:
        return None


class _Pipeline:
    """What the scheduler reads of pipelines.elasticsearch_bulk.ElasticsearchBulkPipeline."""

    def __init__(self) -> None:
        self.buffer: list[Any] = []
        self.batches_taken = 0
        self.batches_done = 0
        self.spool_failed = None
        self.flushes_asked = 0

    def persisted_barrier(self) -> int:
        return self.batches_taken + (1 if self.buffer else 0)

    def request_flush(self) -> None:
        self.flushes_asked += 1

    def write_batch(self) -> None:
        self.buffer = []
        self.batches_taken += 1
        self.batches_done = self.batches_taken


@pytest.fixture
def scheduler(redis_node: Any) -> Iterator[tuple[SharedScheduler, Any, _Pipeline]]:
    client = redis.Redis.from_url(redis_node.url)
    keys = JobKeys(f"test-{secrets.token_hex(4)}", "job")
    pipeline = _Pipeline()
    engine = SimpleNamespace(_slot=SimpleNamespace(inprogress=set()),
                             scraper=SimpleNamespace(itemproc=SimpleNamespace(middlewares=(pipeline,))))
    crawler = SimpleNamespace(engine=engine)
    from scrapy.settings import Settings

    stats = MemoryStatsCollector(SimpleNamespace(settings=Settings({"STATS_DUMP": False})))
    made = SharedScheduler(client, keys=keys, worker_id="w1", lease_seconds=60, heartbeat_seconds=5,
                           crawler=crawler, dupefilter=RFPDupeFilter(client, key=keys.seen), serializer=serializer)
    made.stats = stats
    spider = _Spider()
    made.spider = spider
    from crawler.frontier.scheduler import LeasedQueue

    made.queue = LeasedQueue(client, spider, keys.queue, serializer, store=made.store, worker_id="w1",
                             lease_seconds=60)
    try:
        yield made, engine, pipeline
    finally:
        client.delete(*keys.all_fixed())
        client.close()


def _take(scheduler: SharedScheduler, engine: Any) -> Request:
    request = scheduler.next_request()
    assert request is not None
    engine._slot.inprogress.add(request)  # as ExecutionEngine._download does
    return request


def test_the_seen_set_is_shared_and_requests_come_back_whole(scheduler: Any) -> None:
    made, engine, _ = scheduler
    spider = made.spider
    request = Request("http://a.onion/x?y=1", callback=spider.parse, meta={"depth": 2}, headers={"X-Test": "1"},
                      priority=-2)
    assert made.enqueue_request(request)
    assert not made.enqueue_request(Request("http://a.onion/x?y=1", callback=spider.parse))
    taken = _take(made, engine)
    assert (taken.url, taken.meta["depth"], taken.headers[b"X-Test"], taken.priority) == (
        "http://a.onion/x?y=1", 2, b"1", -2)
    assert taken.callback == spider.parse
    assert LEASE_META in taken.meta


def test_a_lease_is_released_only_after_the_engine_finished_and_its_batch_was_written(scheduler: Any) -> None:
    made, engine, pipeline = scheduler
    made.enqueue_request(Request("http://a.onion/", callback=made.spider.parse))
    request = _take(made, engine)
    assert made.reconcile() == 0  # still downloading or being parsed
    engine._slot.inprogress.discard(request)
    pipeline.buffer.append("its page item")  # parsed: its item waits in the bulk buffer
    assert made.reconcile() == 0 and made.store.counts().leased == 1
    pipeline.write_batch()
    assert made.reconcile() == 1
    counts = made.store.counts()
    assert (counts.leased, counts.done) == (0, 1)
    assert not made.has_pending_requests()


def test_a_batch_taken_before_the_request_finished_does_not_count_until_written(scheduler: Any) -> None:
    made, engine, pipeline = scheduler
    made.enqueue_request(Request("http://a.onion/", callback=made.spider.parse))
    request = _take(made, engine)
    pipeline.batches_taken = 1  # its items are in a batch being written now
    engine._slot.inprogress.discard(request)
    assert made.reconcile() == 0
    pipeline.batches_done = 1
    assert made.reconcile() == 1


def test_a_finished_request_waiting_for_its_batch_asks_the_pipeline_to_write(scheduler: Any, monkeypatch: Any) -> None:
    made, engine, pipeline = scheduler
    made.enqueue_request(Request("http://a.onion/", callback=made.spider.parse))
    request = _take(made, engine)
    engine._slot.inprogress.discard(request)
    pipeline.buffer.append("item")
    assert made.reconcile() == 0 and pipeline.flushes_asked == 0
    clock = [1000.0]
    monkeypatch.setattr("crawler.frontier.scheduler.time.monotonic", lambda: clock[0])
    made.held[request.meta[LEASE_META]].done_at = clock[0]
    clock[0] += FLUSH_AFTER_SECONDS + 0.1
    assert made.reconcile() == 0 and pipeline.flushes_asked == 1


def test_closing_gives_back_what_was_not_written(scheduler: Any) -> None:
    made, engine, pipeline = scheduler
    for path in ("a", "b"):
        made.enqueue_request(Request(f"http://a.onion/{path}", callback=made.spider.parse))
    first, second = _take(made, engine), _take(made, engine)
    pipeline.spool_failed = "disk full"  # neither Elasticsearch nor the spool took the items
    made.close("spool_failed")
    counts = made.store.counts()
    assert (counts.queued, counts.leased, counts.done) == (2, 0, 0)
    assert made.stats.get_value("frontier/given_back") == 2
    assert not made.job_complete


def test_requests_cost_one_round_trip_to_queue_and_a_batch_costs_one_to_lease(scheduler: Any,
                                                                                monkeypatch: Any) -> None:
    """The reactor waits on every synchronous Redis call: queueing a request (seen-set check and
    push) is one call, and TAKE_BATCH requests are leased in one (bench.crawl's shared crawl)."""
    made, engine, _ = scheduler
    calls: list[str] = []
    original = made.server.execute_command

    def counted(*arguments: Any, **options: Any) -> Any:
        calls.append(str(arguments[0]))
        return original(*arguments, **options)

    monkeypatch.setattr(made.server, "execute_command", counted)
    count = 2 * TAKE_BATCH
    for number in range(count):
        assert made.enqueue_request(Request(f"http://a.onion/{number}", callback=made.spider.parse))
    assert not made.enqueue_request(Request("http://a.onion/0", callback=made.spider.parse))
    assert len(calls) == count + 1
    calls.clear()
    taken = [_take(made, engine) for _ in range(count)]
    assert [request.url for request in taken] == [f"http://a.onion/{number}" for number in range(count)]
    assert len(calls) == 2


def test_leased_requests_not_yet_given_to_the_engine_are_never_released_and_go_back_at_close(
        scheduler: Any) -> None:
    made, engine, pipeline = scheduler
    for path in ("a", "b", "c"):
        made.enqueue_request(Request(f"http://a.onion/{path}", callback=made.spider.parse))
    first = _take(made, engine)  # the batch leased all three; the engine has one
    assert made.store.counts().leased == 3
    engine._slot.inprogress.discard(first)
    assert made.reconcile() == 1  # only the one fetched and written (nothing buffered)
    counts = made.store.counts()
    assert (counts.leased, counts.done) == (2, 1)
    assert made.has_pending_requests()
    made.close("shutdown")
    counts = made.store.counts()
    assert (counts.queued, counts.leased, counts.done) == (2, 0, 1)
    assert made.stats.get_value("frontier/given_back") == 2
