"""The shared job's Scrapy scheduler: scrapy-redis's, with leases and heartbeats.

:class:`SharedScheduler` is scrapy-redis's :class:`scrapy_redis.scheduler.Scheduler`
(its Redis connection from ``REDIS_URL``, its seen-set
:class:`scrapy_redis.dupefilter.RFPDupeFilter` under the job's ``:seen`` key,
``SCHEDULER_PERSIST``) with the queue replaced by :class:`LeasedQueue`, a
scrapy-redis queue over :class:`crawler.frontier.leases.LeaseStore`, and
requests written as JSON (:mod:`crawler.frontier.serializer`), never pickled.

When is a leased request done?  Not when it is downloaded, nor when the
spider has parsed it: its documents wait in the bulk pipeline's buffer
(:class:`pipelines.elasticsearch_bulk.ElasticsearchBulkPipeline`) until a
batch is written.  So the scheduler watches each leased request until Scrapy's
engine has finished with it (response or failure handled, every item through
every pipeline's ``process_item``, every new request queued in Redis), then
notes the pipeline's barrier (``persisted_barrier()``: the batch that will hold
its items) and releases the lease once that batch is indexed or spooled
(``batches_done``).  A lease waiting longer than :data:`FLUSH_AFTER_SECONDS`
asks the pipeline to write its buffer now.  Requests a worker makes from a
response (links, redirects, retries) are pushed to Redis before the response's
own lease is released, so nothing is ever only in a dead worker's memory.

What "exactly once" means here: a worker SIGKILLed after fetching a page
but before its batch was written held the lease; the lease runs out and
another worker fetches and indexes the page -- the dead worker indexed
nothing.  A worker killed after its batch was written but before it
released the lease leaves a page that is fetched and written again: page,
listing and vendor ids are derived from the canonical URL
(:mod:`pipelines.documents`), so the second write updates the same
documents.  No page is lost; none is stored twice.

The job is over for a worker when nothing is queued and nothing is leased
by anyone (:meth:`SharedScheduler.has_pending_requests`): while another
worker holds leases, this one waits, since those may still bring new
requests or run out and come back.

Scrapy settings read (set by :func:`crawler.frontier.shared_scrapy_settings`):
``REDIS_URL``, ``SHARED_FRONTIER_JOB_KEY_BASE`` (index prefix and job id),
``SHARED_FRONTIER_WORKER_ID``, ``SHARED_FRONTIER_LEASE_SECONDS``,
``SHARED_FRONTIER_HEARTBEAT_SECONDS``.

Public API: :class:`SharedScheduler`, :class:`LeasedQueue`, :data:`LEASE_META`,
:data:`FLUSH_AFTER_SECONDS`, :func:`requests_in_progress` (engine) -> the
requests the engine has not finished with.

Stats: ``frontier/leased``, ``frontier/released``, ``frontier/given_back``,
``frontier/leases_lost`` (leases that ran out while this worker still had
them: it was cut off from Redis for longer than the lease),
``scheduler/enqueued/redis``, ``scheduler/dequeued/redis``.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from dataclasses import dataclass
from typing import Any

from scrapy import Request
from scrapy_redis import connection
from scrapy_redis.dupefilter import RFPDupeFilter
from scrapy_redis.queue import Base as RedisQueueBase
from scrapy_redis.scheduler import Scheduler as RedisScheduler

from crawler.frontier import serializer
from crawler.frontier.leases import JobKeys, LeaseStore
from crawler.frontier.workers import WorkerRegistry, mark_finished

logger = logging.getLogger(__name__)

# The request's lease token, set on the request a worker took (not stored in Redis).
LEASE_META = "frontier_lease"
# A request done but waiting this long for its batch makes the pipeline write its buffer.
FLUSH_AFTER_SECONDS = 2.0
# How often the scheduler looks for requests the engine has finished with.
RECONCILE_SECONDS = 0.25
# Requests leased per round trip to Redis.  The engine asks for one request at a time; the
# rest wait in the worker, leased (renewed, given back at close, requeued when the worker dies).
TAKE_BATCH = 8


def requests_in_progress(engine: Any) -> set[Request]:
    """The requests ``engine`` took from the scheduler and has not finished with (download and scrape).

    Scrapy keeps them in its engine slot's ``inprogress`` set and removes a
    request only after its response (or failure) went through the spider and
    every item through the pipelines' ``process_item``.  Scrapy has no public
    accessor for it; this is the one place that reads it (pinned Scrapy 2.19).
    """
    slot = getattr(engine, "_slot", None)
    return set(getattr(slot, "inprogress", ())) if slot is not None else set()


class LeasedQueue(RedisQueueBase):
    """A scrapy-redis queue whose pop is a lease (:class:`~crawler.frontier.leases.LeaseStore`)."""

    def __init__(self, server: Any, spider: Any, key: str, serializer: Any = serializer,
                 store: LeaseStore | None = None, worker_id: str = "", lease_seconds: float = 120.0):
        super().__init__(server, spider, key, serializer)
        self.store = store
        self.worker_id = worker_id
        self.lease_seconds = lease_seconds

    def __len__(self) -> int:
        return int(self.server.zcard(self.store.keys.queue))

    def push(self, request: Request) -> None:
        request.meta.pop(LEASE_META, None)  # a child's lease is its own, given when it is taken
        self.store.push(self._encode_request(request), -request.priority)

    def push_unseen(self, request: Request, seen_key: str, fingerprint: str) -> bool:
        """Queue ``request`` unless ``fingerprint`` is in the seen-set ``seen_key`` (one round trip);
        returns whether it was queued."""
        request.meta.pop(LEASE_META, None)
        return self.store.push_unseen(seen_key, fingerprint, self._encode_request(request), -request.priority) is not None

    def pop(self, timeout: int = 0) -> Request | None:
        taken = self.pop_many(1)
        return taken[0] if taken else None

    def pop_many(self, count: int) -> list[Request]:
        """Lease up to ``count`` requests in one round trip; each carries its lease token in ``meta``."""
        requests = []
        for token, data in self.store.take_many(self.worker_id, self.lease_seconds, count):
            request = self._decode_request(data)
            request.meta[LEASE_META] = token
            requests.append(request)
        return requests

    def clear(self) -> None:
        self.store.clear()


@dataclass
class _Held:
    request: Request
    taken_at: float
    barrier: int | None = None
    done_at: float | None = None
    # False while the request waits in the worker (leased in a batch, not yet given to the engine).
    handed: bool = True


class SharedScheduler(RedisScheduler):
    """scrapy-redis's scheduler with leased pops, lease release after indexing, and heartbeats."""

    def __init__(self, server: Any, *, keys: JobKeys, worker_id: str, lease_seconds: float,
                 heartbeat_seconds: float, crawler: Any = None, **kwargs: Any):
        super().__init__(server, persist=True, **kwargs)
        self.keys = keys
        self.worker_id = worker_id
        self.lease_seconds = lease_seconds
        self.heartbeat_seconds = heartbeat_seconds
        self.crawler = crawler
        self.store = LeaseStore(server, keys)
        self.registry = WorkerRegistry(server, keys, worker_id, heartbeat_seconds)
        self.held: dict[str, _Held] = {}
        # Tokens of leased requests not yet given to the engine, in queue order (see TAKE_BATCH).
        self._ready: deque[str] = deque()
        self._loops: list[Any] = []
        self.job_complete = False

    @classmethod
    def from_crawler(cls, crawler: Any) -> "SharedScheduler":
        settings = crawler.settings
        server = connection.from_settings(settings)
        server.ping()
        base = settings.get("SHARED_FRONTIER_JOB_KEY_BASE")
        if not base:
            raise ValueError("SharedScheduler needs SHARED_FRONTIER_JOB_KEY_BASE (crawler.frontier.shared_scrapy_settings)")
        prefix, job_id = base
        keys = JobKeys(prefix, job_id)
        scheduler = cls(
            server, keys=keys, worker_id=settings.get("SHARED_FRONTIER_WORKER_ID"),
            lease_seconds=settings.getfloat("SHARED_FRONTIER_LEASE_SECONDS"),
            heartbeat_seconds=settings.getfloat("SHARED_FRONTIER_HEARTBEAT_SECONDS"),
            crawler=crawler, dupefilter=RFPDupeFilter(server, key=keys.seen, debug=settings.getbool("DUPEFILTER_DEBUG")),
            serializer=serializer,
        )
        scheduler.stats = crawler.stats
        return scheduler

    # ------------------------------------------------------------------ Scrapy's scheduler interface

    def open(self, spider: Any) -> None:
        from twisted.internet import task

        self.spider = spider
        self.queue = LeasedQueue(self.server, spider, self.keys.queue, serializer, store=self.store,
                                 worker_id=self.worker_id, lease_seconds=self.lease_seconds)
        spider.shared_frontier = self
        self.registry.beat(self._stats())
        queued = len(self.queue)
        if queued:
            spider.log(f"joining shared job: {queued} requests queued")
        for interval, function in ((RECONCILE_SECONDS, self.reconcile), (self.heartbeat_seconds, self.heartbeat)):
            loop = task.LoopingCall(self._guarded, function)
            loop.start(interval, now=False)
            self._loops.append(loop)

    def enqueue_request(self, request: Request) -> bool:
        if request.dont_filter:
            self.queue.push(request)
        elif not self.queue.push_unseen(request, self.df.key, self.df.request_fingerprint(request)):
            # The seen-set check and the push are one round trip (scrapy-redis makes two).
            self.df.log(request, self.spider)
            return False
        if self.stats is not None:
            self.stats.inc_value("scheduler/enqueued/redis")
        return True

    def next_request(self) -> Request | None:
        if not self._ready:
            # Up to TAKE_BATCH leases in one round trip; the engine gets them one by one.
            taken = self.queue.pop_many(TAKE_BATCH)
            now = time.monotonic()
            for request in taken:
                token = request.meta[LEASE_META]
                self.held[token] = _Held(request, now, handed=False)
                self._ready.append(token)
            self._count("frontier/leased", len(taken))
            if not self._ready:
                return None
        held = self.held[self._ready.popleft()]
        held.handed = True
        held.taken_at = time.monotonic()
        if self.stats is not None:
            self.stats.inc_value("scheduler/dequeued/redis")
        return held.request

    def has_pending_requests(self) -> bool:
        return bool(self.held) or self.store.pending()

    def close(self, reason: str) -> None:
        for loop in self._loops:
            if loop.running:
                loop.stop()
        self._loops = []
        # The engine has finished with every request and the pipelines have written their buffers.
        self.reconcile(closing=True)
        if self.held:
            back = self.store.give_back(self.worker_id, list(self.held))
            self._count("frontier/given_back", back)
            logger.warning("%d leased requests went back to the shared queue (their pages were not indexed)", back)
            self.held.clear()
        self._ready.clear()
        self.job_complete = not self.store.pending()
        if self.job_complete and reason == "finished":
            mark_finished(self.server, self.keys)
        self.registry.finish(reason, self._stats())

    # ------------------------------------------------------------------ leases

    def _pipeline(self) -> Any:
        engine = getattr(self.crawler, "engine", None)
        itemproc = getattr(getattr(engine, "scraper", None), "itemproc", None)
        for component in getattr(itemproc, "middlewares", ()):
            if hasattr(component, "persisted_barrier"):
                return component
        return None

    def reconcile(self, closing: bool = False) -> int:
        """Release the leases whose requests are finished and whose documents are written; returns how many."""
        if not self.held:
            return 0
        pipeline = self._pipeline()
        in_progress = set() if closing else requests_in_progress(getattr(self.crawler, "engine", None))
        now = time.monotonic()
        done: list[str] = []
        waiting = False
        for token, held in self.held.items():
            if not held.handed:
                continue  # never given to the engine, never fetched: close gives it back
            if held.barrier is None:
                if held.request in in_progress:
                    continue
                held.barrier = pipeline.persisted_barrier() if pipeline is not None else 0
                held.done_at = now
            written = pipeline.batches_done if pipeline is not None else 0
            if held.barrier <= written and not getattr(pipeline, "spool_failed", None):
                done.append(token)
            elif held.done_at is not None and now - held.done_at >= FLUSH_AFTER_SECONDS:
                waiting = True
        if waiting and pipeline is not None and not closing:
            pipeline.request_flush()
        if done:
            self.store.release(self.worker_id, done)
            for token in done:
                del self.held[token]
            self._count("frontier/released", len(done))
        return len(done)

    def heartbeat(self) -> None:
        """Renew this worker's leases, say it is alive, publish its stats, requeue others' expired leases."""
        lost = self.store.renew(self.worker_id, list(self.held), self.lease_seconds)
        if lost:
            # Cut off from Redis for longer than a lease: another worker may fetch these again.
            self._count("frontier/leases_lost", len(lost))
            logger.warning("%d leases ran out while this worker held them (frontier_lease_seconds too short, or "
                           "Redis was out of reach); another worker may fetch those pages again", len(lost))
        self.store.requeue_expired()
        self.registry.beat(self._stats())

    def _guarded(self, function: Any) -> None:
        try:
            function()
        except Exception as error:  # Redis away for a moment: the next beat tries again
            logger.error("shared frontier: %s failed: %s: %s", getattr(function, "__name__", function),
                         type(error).__name__, error)
            self._count("frontier/redis_errors", 1)

    def _stats(self) -> dict[str, Any]:
        return dict(self.stats.get_stats()) if self.stats is not None else {}

    def _count(self, key: str, count: int) -> None:
        if self.stats is not None and count:
            self.stats.inc_value(key, count)
