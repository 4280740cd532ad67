"""A shared job in Redis: its record (start or join), its workers' heartbeats and their stats.

The first worker of a job writes the job (:class:`crawler.job.CrawlJob`:
seeds, start time, options) into ``<base>:meta``; a worker that joins while
the job runs takes the job from there, so every worker's records name the
same job and start time.  A job whose frontier ran empty is marked
``finished``; a worker that comes after that starts it anew (queue, leases,
seen-set and worker records cleared).

Each worker beats every ``frontier_heartbeat_seconds``: it sets
``<base>:worker:<id>`` with a time to live of three beats (it counts as
alive while the key exists), scores itself in ``<base>:workers`` and writes
its stats (JSON) into ``<base>:worker-stats``.  Its host name, PID, start and
end go into ``<base>:worker-info``.

Public API:

* :func:`new_worker_id` () -> ``<host>-<pid>-<random>``;
* :func:`start_or_join` (client, keys, job) -> ``(job, joined)``;
* :func:`mark_finished` (client, keys);
* :class:`WorkerRegistry` (client, keys, worker_id, heartbeat_seconds): :meth:`~WorkerRegistry.beat`,
  :meth:`~WorkerRegistry.finish`, :meth:`~WorkerRegistry.alive`, :meth:`~WorkerRegistry.runs`;
* :func:`alive_workers` (client, keys) -> the ids of the workers alive now;
* :func:`worker_runs` (client, keys) -> per worker ``{"worker_id", "info", "stats"}``.

Raises what redis-py raises.  Stats values are numbers and short strings
(Scrapy's stats through :func:`json_safe`), never page content.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import time
from datetime import datetime, timezone
from typing import Any

from crawler.frontier.leases import JobKeys
from crawler.job import CrawlJob, CrawlOptions

# A worker counts as gone after this many missed beats.
MISSED_BEATS = 3


def new_worker_id() -> str:
    """``<host name>-<pid>-<random>``: unique per worker process, readable in ``jobs status``."""
    host = "".join(c if c.isalnum() or c in "-." else "-" for c in socket.gethostname())[:40] or "host"
    return f"{host}-{os.getpid()}-{secrets.token_hex(2)}"


def _utc_now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _text(value: Any) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


def json_safe(value: Any) -> Any:
    """``value`` with datetimes as ISO strings and anything else JSON cannot hold as its ``str``."""
    if isinstance(value, dict):
        return {str(key): json_safe(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(item) for item in value]
    if isinstance(value, datetime):
        return value.isoformat()
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)


def _job_from_meta(meta: dict[str, str]) -> CrawlJob:
    options = json.loads(meta["options"])
    options["market_hosts"] = tuple(options.get("market_hosts") or ())
    return CrawlJob(job_id=meta["job_id"], seeds=tuple(json.loads(meta["seeds"])), started_at=meta["started_at"],
                    options=CrawlOptions(**options), shared=True)


def start_or_join(client: Any, keys: JobKeys, job: CrawlJob) -> tuple[CrawlJob, bool]:
    """The shared job to run: the running one of the same id (joined), else ``job``, written now.

    Returns ``(job, joined)``.  A job marked finished is started anew: its
    queue, leases, seen-set and worker records are deleted first.
    """
    lock = client.lock(keys.base + ":start-lock", timeout=30, blocking_timeout=30)
    with lock:
        meta = {_text(k): _text(v) for k, v in client.hgetall(keys.meta).items()}
        if meta.get("state") == "running":
            return _job_from_meta(meta), True
        if meta:
            client.delete(*keys.all_fixed())
        document = job.to_doc()
        client.hset(keys.meta, mapping={
            "job_id": job.job_id, "seeds": json.dumps(list(job.seeds)), "started_at": job.started_at,
            "options": json.dumps(document["options"]), "state": "running",
        })
        return job, False


def mark_finished(client: Any, keys: JobKeys) -> None:
    """Record that the job's frontier ran empty (the next worker of this id starts it anew)."""
    client.hset(keys.meta, mapping={"state": "finished", "finished_at": _utc_now()})


def job_state(client: Any, keys: JobKeys) -> dict[str, str]:
    """The job's record in Redis (job_id, seeds, started_at, options, state, finished_at), or {}."""
    return {_text(k): _text(v) for k, v in client.hgetall(keys.meta).items()}


class WorkerRegistry:
    """One worker's heartbeat, stats and record in its job's keys."""

    def __init__(self, client: Any, keys: JobKeys, worker_id: str, heartbeat_seconds: float):
        self.client = client
        self.keys = keys
        self.worker_id = worker_id
        self.heartbeat_seconds = heartbeat_seconds
        self.info: dict[str, Any] = {"worker_id": worker_id, "hostname": socket.gethostname()[:255],
                                     "pid": os.getpid(), "started_at": _utc_now()}

    def beat(self, stats: dict[str, Any] | None = None) -> None:
        """Say this worker is alive (for three beats) and write its stats and record."""
        ttl_ms = max(1, int(self.heartbeat_seconds * MISSED_BEATS * 1000))
        pipe = self.client.pipeline(transaction=True)
        pipe.set(self.keys.worker(self.worker_id), "1", px=ttl_ms)
        pipe.zadd(self.keys.workers, {self.worker_id: time.time()})
        pipe.hset(self.keys.worker_info, self.worker_id, json.dumps(self.info))
        if stats is not None:
            pipe.hset(self.keys.worker_stats, self.worker_id, json.dumps(json_safe(stats)))
        pipe.execute()

    def finish(self, reason: str, stats: dict[str, Any] | None = None) -> None:
        """Write the worker's end (reason, time, final stats) and stop counting it as alive."""
        self.info.update(finished_at=_utc_now(), finish_reason=str(reason)[:128])
        pipe = self.client.pipeline(transaction=True)
        pipe.delete(self.keys.worker(self.worker_id))
        pipe.hset(self.keys.worker_info, self.worker_id, json.dumps(self.info))
        if stats is not None:
            pipe.hset(self.keys.worker_stats, self.worker_id, json.dumps(json_safe(stats)))
        pipe.execute()


def alive_workers(client: Any, keys: JobKeys) -> list[str]:
    """The ids of the job's workers whose heartbeat key still lives, sorted."""
    known = [_text(worker) for worker in client.zrange(keys.workers, 0, -1)]
    if not known:
        return []
    pipe = client.pipeline(transaction=False)
    for worker in known:
        pipe.exists(keys.worker(worker))
    return sorted(worker for worker, exists in zip(known, pipe.execute()) if exists)


def worker_runs(client: Any, keys: JobKeys) -> list[dict[str, Any]]:
    """Every worker the job had: ``{"worker_id", "alive", "info", "stats"}``, by worker id."""
    infos = {_text(k): json.loads(v) for k, v in client.hgetall(keys.worker_info).items()}
    stats = {_text(k): json.loads(v) for k, v in client.hgetall(keys.worker_stats).items()}
    alive = set(alive_workers(client, keys))
    return [{"worker_id": worker, "alive": worker in alive, "info": infos.get(worker, {}),
             "stats": stats.get(worker, {})} for worker in sorted(set(infos) | set(stats))]
