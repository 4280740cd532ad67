"""A shared job's request queue with leases, in Redis: what plain scrapy-redis lacks.

scrapy-redis's queues pop a request and forget it: a worker killed between
the pop and the indexing of the page loses it for good.  Here a pop is a
*lease*: one Lua script moves the request's token from the queue (a sorted
set, ordered by priority, then by the order of arrival) to the lease set (a
sorted set scored by the lease's deadline) and names the worker holding it.
The request's body stays in a hash until its lease is released.  A worker
renews its leases with every heartbeat; a lease whose deadline passes (its
worker was SIGKILLed, or cut off from Redis) is put back into the queue, at
its old place, by the next pop or heartbeat of any worker.  A release
(the page's documents are indexed or spooled) deletes the request for good
and counts the job's pages done.

Keys (``<base>`` = ``onionscope:<index prefix>:job:<job id>``): ``:queue``
(zset token -> score), ``:payload`` and ``:score`` (hashes token -> encoded
request, token -> queue score), ``:leases`` (zset token -> deadline in ms),
``:holder`` (hash token -> worker id), ``:seq`` (the token counter), ``:done``
and ``:requeued`` (counters), ``:seen`` (the seen-set, scrapy-redis's
dupefilter), ``:meta`` (hash: the job), ``:workers`` (zset worker -> last
beat), ``:worker:<id>`` (a key that lives while the worker beats),
``:worker-stats`` and ``:worker-info`` (hashes worker -> JSON).

Public API:

* :class:`JobKeys` ``(index_prefix, job_id)`` -- the names above;
* :class:`LeaseStore` ``(client, keys)``: :meth:`~LeaseStore.push` (data, score) -> token,
  :meth:`~LeaseStore.push_unseen` (seen_key, fingerprint, data, score) -> token or None (seen before),
  :meth:`~LeaseStore.take` (worker, lease_seconds) -> ``(token, data)`` or None,
  :meth:`~LeaseStore.take_many` (worker, lease_seconds, count) -> ``[(token, data), ...]``,
  :meth:`~LeaseStore.release` (worker, tokens) -> how many counted as done,
  :meth:`~LeaseStore.renew` (worker, tokens, lease_seconds) -> the tokens no longer held,
  :meth:`~LeaseStore.give_back` (worker, tokens) -> how many went back to the queue,
  :meth:`~LeaseStore.requeue_expired` () -> how many went back,
  :meth:`~LeaseStore.counts` () -> :class:`FrontierCounts`, :meth:`~LeaseStore.clear` ();
* :class:`FrontierCounts` -- queued, leased, expired, done, requeued.

Every method raises what redis-py raises (``redis.RedisError``, ``OSError``).
The clock is Redis's own (``TIME``), so workers with skewed clocks agree on deadlines.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable

# Tokens are zero-padded counters: within one score, the queue pops them in the order they came.
_TOKEN_DIGITS = 16

# KEYS: queue payload score seq; ARGV: score data -> token
_PUSH = """
local n = redis.call('INCR', KEYS[4])
local token = string.format('%016d', n)
redis.call('HSET', KEYS[2], token, ARGV[2])
redis.call('HSET', KEYS[3], token, ARGV[1])
redis.call('ZADD', KEYS[1], ARGV[1], token)
return token
"""

# Put leases whose deadline passed back in the queue. KEYS: queue leases holder score requeued; ARGV: now_ms limit
_REQUEUE_BODY = """
local expired = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
for _, token in ipairs(expired) do
  redis.call('ZREM', KEYS[2], token)
  redis.call('HDEL', KEYS[3], token)
  local score = redis.call('HGET', KEYS[4], token)
  if score then
    redis.call('ZADD', KEYS[1], score, token)
    redis.call('INCR', KEYS[5])
  end
end
"""

_NOW_MS = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
"""

_REQUEUE = _NOW_MS + """
ARGV[1] = now
""" + _REQUEUE_BODY + """
return #expired
"""

# KEYS: queue payload score seq seen; ARGV: score data fingerprint -> token, or false when seen before.
# The seen-set (scrapy-redis's dupefilter key) and _PUSH in one round trip.
_PUSH_UNSEEN = """
if redis.call('SADD', KEYS[5], ARGV[3]) == 0 then return false end
""" + _PUSH

# KEYS: queue leases holder score requeued payload; ARGV: worker lease_ms count -> {token, data, ...}
_TAKE = _NOW_MS + """
local worker, lease_ms, count = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
ARGV[1] = now
ARGV[2] = 100
""" + _REQUEUE_BODY + """
local first = redis.call('ZRANGE', KEYS[1], 0, count - 1)
local taken = {}
for _, token in ipairs(first) do
  redis.call('ZREM', KEYS[1], token)
  redis.call('ZADD', KEYS[2], now + lease_ms, token)
  redis.call('HSET', KEYS[3], token, worker)
  table.insert(taken, token)
  table.insert(taken, redis.call('HGET', KEYS[6], token))
end
return taken
"""

# KEYS: queue leases holder score payload done; ARGV: worker token... -> done count
# A token still held by this worker is done.  One whose lease ran out and that waits in the
# queue again is done too (taken out before anyone fetches it a second time); one that another
# worker holds now is left to that worker (its page is fetched again and overwrites the same
# document: ids are the URL's).
_RELEASE = """
local done = 0
for i = 2, #ARGV do
  local token = ARGV[i]
  local holder = redis.call('HGET', KEYS[3], token)
  local finish = false
  if holder == ARGV[1] then
    redis.call('ZREM', KEYS[2], token)
    redis.call('HDEL', KEYS[3], token)
    finish = true
  elseif not holder and redis.call('ZREM', KEYS[1], token) == 1 then
    finish = true
  end
  if finish then
    redis.call('HDEL', KEYS[5], token)
    redis.call('HDEL', KEYS[4], token)
    redis.call('INCR', KEYS[6])
    done = done + 1
  end
end
return done
"""

# KEYS: leases holder; ARGV: worker lease_ms token... -> tokens this worker no longer holds
_RENEW = _NOW_MS + """
local lost = {}
for i = 3, #ARGV do
  local token = ARGV[i]
  if redis.call('HGET', KEYS[2], token) == ARGV[1] then
    redis.call('ZADD', KEYS[1], 'XX', now + tonumber(ARGV[2]), token)
  else
    table.insert(lost, token)
  end
end
return lost
"""

# KEYS: queue leases holder score; ARGV: worker token... -> how many went back
_GIVE_BACK = """
local back = 0
for i = 2, #ARGV do
  local token = ARGV[i]
  if redis.call('HGET', KEYS[3], token) == ARGV[1] then
    redis.call('ZREM', KEYS[2], token)
    redis.call('HDEL', KEYS[3], token)
    redis.call('ZADD', KEYS[1], redis.call('HGET', KEYS[4], token), token)
    back = back + 1
  end
end
return back
"""


class JobKeys:
    """The Redis key names of one shared job (see the module docstring)."""

    def __init__(self, index_prefix: str, job_id: str):
        self.base = f"onionscope:{index_prefix}:job:{job_id}"

    def __getattr__(self, name: str) -> str:
        if name.startswith("_"):
            raise AttributeError(name)
        return f"{self.base}:{name.replace('_', '-')}"

    def worker(self, worker_id: str) -> str:
        return f"{self.base}:worker:{worker_id}"

    def all_fixed(self) -> list[str]:
        """Every key of the job apart from the per-worker liveness keys."""
        names = ("queue", "payload", "score", "leases", "holder", "seq", "done", "requeued", "seen", "meta",
                 "workers", "worker_stats", "worker_info", "record_lock")
        return [getattr(self, name) for name in names]


@dataclass(frozen=True)
class FrontierCounts:
    """A shared job's frontier at one moment."""

    queued: int
    leased: int
    expired: int
    done: int
    requeued: int


def _text(value: Any) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


class LeaseStore:
    """The leased request queue of one job (see the module docstring)."""

    def __init__(self, client: Any, keys: JobKeys):
        self.client = client
        self.keys = keys
        self._push = client.register_script(_PUSH)
        self._push_unseen = client.register_script(_PUSH_UNSEEN)
        self._take = client.register_script(_TAKE)
        self._release = client.register_script(_RELEASE)
        self._renew = client.register_script(_RENEW)
        self._give_back = client.register_script(_GIVE_BACK)
        self._requeue = client.register_script(_REQUEUE)

    def push(self, data: bytes, score: float) -> str:
        """Queue one encoded request (lower scores first; equal scores in arrival order); returns its token."""
        keys = self.keys
        return _text(self._push(keys=[keys.queue, keys.payload, keys.score, keys.seq], args=[score, data]))

    def push_unseen(self, seen_key: str, fingerprint: str, data: bytes, score: float) -> str | None:
        """Add ``fingerprint`` to the seen-set ``seen_key`` and, when it was not there, queue the request.

        One round trip for what the dupefilter's ``SADD`` and :meth:`push` do in two.
        Returns the request's token, or None when the fingerprint was seen before.
        """
        keys = self.keys
        token = self._push_unseen(keys=[keys.queue, keys.payload, keys.score, keys.seq, seen_key],
                                  args=[score, data, fingerprint])
        return _text(token) if token else None

    def take(self, worker: str, lease_seconds: float) -> tuple[str, bytes] | None:
        """Lease the first queued request to ``worker``; returns ``(token, data)``, or None when the queue is empty.

        Leases past their deadline go back to the queue first (up to 100 per call).
        """
        taken = self.take_many(worker, lease_seconds, 1)
        return taken[0] if taken else None

    def take_many(self, worker: str, lease_seconds: float, count: int) -> list[tuple[str, bytes]]:
        """Lease up to ``count`` queued requests to ``worker`` in one round trip, first in queue order first.

        Returns ``[(token, data), ...]`` (empty when the queue is empty).  Leases past
        their deadline go back to the queue first (up to 100 per call).
        """
        keys = self.keys
        answer = self._take(keys=[keys.queue, keys.leases, keys.holder, keys.score, keys.requeued, keys.payload],
                            args=[worker, int(lease_seconds * 1000), max(1, int(count))]) or []
        return [(_text(answer[i]), answer[i + 1]) for i in range(0, len(answer), 2)]

    def release(self, worker: str, tokens: Iterable[str]) -> int:
        """The requests of ``tokens`` are done (their pages indexed); returns how many counted as done."""
        tokens = list(tokens)
        if not tokens:
            return 0
        keys = self.keys
        return int(self._release(keys=[keys.queue, keys.leases, keys.holder, keys.score, keys.payload, keys.done],
                                 args=[worker, *tokens]))

    def renew(self, worker: str, tokens: Iterable[str], lease_seconds: float) -> list[str]:
        """Move the deadlines of ``worker``'s leases on; returns the tokens it no longer holds (they ran out)."""
        tokens = list(tokens)
        if not tokens:
            return []
        keys = self.keys
        lost = self._renew(keys=[keys.leases, keys.holder], args=[worker, int(lease_seconds * 1000), *tokens])
        return [_text(token) for token in lost or []]

    def give_back(self, worker: str, tokens: Iterable[str]) -> int:
        """Put ``worker``'s leases of ``tokens`` back in the queue now (a worker stopping early); returns how many."""
        tokens = list(tokens)
        if not tokens:
            return 0
        keys = self.keys
        return int(self._give_back(keys=[keys.queue, keys.leases, keys.holder, keys.score], args=[worker, *tokens]))

    def requeue_expired(self, limit: int = 1000) -> int:
        """Put leases past their deadline back in the queue; returns how many."""
        keys = self.keys
        return int(self._requeue(keys=[keys.queue, keys.leases, keys.holder, keys.score, keys.requeued],
                                 args=[0, limit]))

    def counts(self) -> FrontierCounts:
        """Queued and leased requests, leases past their deadline, pages done, requests requeued."""
        keys = self.keys
        seconds, micros = self.client.time()
        now_ms = int(seconds) * 1000 + int(micros) // 1000
        pipe = self.client.pipeline(transaction=True)
        pipe.zcard(keys.queue)
        pipe.zcard(keys.leases)
        pipe.zcount(keys.leases, "-inf", now_ms)
        pipe.get(keys.done)
        pipe.get(keys.requeued)
        queued, leased, expired, done, requeued = pipe.execute()
        return FrontierCounts(int(queued), int(leased), int(expired), int(done or 0), int(requeued or 0))

    def pending(self) -> bool:
        """True while anything is queued or leased (by any worker): the job is not finished."""
        pipe = self.client.pipeline(transaction=True)
        pipe.zcard(self.keys.queue)
        pipe.zcard(self.keys.leases)
        queued, leased = pipe.execute()
        return bool(queued or leased)

    def clear(self) -> None:
        """Delete the queue, the leases and the counters (not the seen-set)."""
        keys = self.keys
        self.client.delete(keys.queue, keys.payload, keys.score, keys.leases, keys.holder, keys.done, keys.requeued)
