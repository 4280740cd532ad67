"""The shared crawl frontier: many workers, one job, one queue in Redis (``onionscope crawl --shared``).

Workers on any number of machines run the same job: they share its request
queue, its seen-set and its stats through Redis, with scrapy-redis's scheduler
and dupefilter, extended where they fall short:

* :mod:`crawler.frontier.leases` -- a pop is a lease that runs out when its worker
  stops renewing it, so a SIGKILLed worker loses nothing;
* :mod:`crawler.frontier.scheduler` -- the Scrapy scheduler: leases are released
  only once the request's documents are written;
* :mod:`crawler.frontier.workers` -- start or join a job, heartbeats, each worker's stats;
* :mod:`crawler.frontier.serializer` -- requests as JSON in Redis, never pickle.

Public API here:

* :func:`frontier_redis_url` (settings) -> ``redis_url``, else the local Redis's URL;
* :func:`connect` (settings) -> a redis-py client (raises :class:`FrontierUnavailable`
  naming the URL when Redis does not answer ``PING``);
* :func:`shared_scrapy_settings` (settings, index_prefix, job_id, worker_id) -> the
  Scrapy settings that put a crawl on the shared frontier;
* :func:`job_keys` (settings, job_id) -> :class:`~crawler.frontier.leases.JobKeys`;
* :class:`FrontierUnavailable` (a :class:`~config.errors.UserError`).

Importing this package connects to nothing.
"""

from __future__ import annotations

from typing import Any

from config.errors import UserError
from config.i18n import _
from crawler.frontier.leases import JobKeys

SCHEDULER_PATH = "crawler.frontier.scheduler.SharedScheduler"


class FrontierUnavailable(UserError):
    """The shared frontier's Redis does not answer; the message names it and what to do."""


def frontier_redis_url(settings: Any) -> str:
    """``redis_url`` when set, else the local Redis that `onionscope services up` starts (127.0.0.1:redis_port)."""
    return settings.redis_url or f"redis://127.0.0.1:{int(settings.redis_port)}/0"


def connect(settings: Any) -> Any:
    """A redis-py client of the frontier's Redis, checked with PING; raises FrontierUnavailable."""
    import redis

    url = frontier_redis_url(settings)
    client = redis.Redis.from_url(url, socket_timeout=30, socket_connect_timeout=10)
    try:
        client.ping()
    except (redis.RedisError, OSError) as error:
        client.close()
        hint = (_("start it with `onionscope services up`") if not settings.redis_url
                else _("check ONIONSCOPE_REDIS_URL"))
        # redis-py's own words stay as they are, except the usual case, said in the command's language.
        problem = (_("connection refused") if "refused" in str(error).lower()
                   else f"{type(error).__name__}: {str(error)[:200]}")
        raise FrontierUnavailable(_("Redis at {url} is not reachable ({problem}); {hint}", url=_redacted(url),
                                    problem=problem, hint=hint)) from None
    return client


def _redacted(url: str) -> str:
    """The URL without a password (``redis://user:secret@host`` -> ``redis://user:***@host``)."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    if parts.password is None:
        return url
    user = parts.username or ""
    host = parts.hostname or ""
    netloc = f"{user}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def job_keys(settings: Any, job_id: str) -> JobKeys:
    """The Redis keys of the shared job ``job_id`` under this index prefix."""
    return JobKeys(settings.index_prefix, job_id)


def shared_scrapy_settings(settings: Any, job_id: str, worker_id: str) -> dict[str, Any]:
    """Scrapy settings for a worker of the shared job ``job_id``: the scheduler, Redis, leases, heartbeat."""
    return {
        "SCHEDULER": SCHEDULER_PATH,
        "REDIS_URL": frontier_redis_url(settings),
        "SHARED_FRONTIER_JOB_KEY_BASE": (settings.index_prefix, job_id),
        "SHARED_FRONTIER_WORKER_ID": worker_id,
        "SHARED_FRONTIER_LEASE_SECONDS": settings.frontier_lease_seconds,
        "SHARED_FRONTIER_HEARTBEAT_SECONDS": settings.frontier_heartbeat_seconds,
        "SCHEDULER_PERSIST": True,
    }
