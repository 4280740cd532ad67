"""Reading the discovery queue (``<prefix>-discovered-onions``): the newest onions, and its size by status.

Written once as :mod:`search.es_steps` generators for the API's ``/discovered``
page and both ``/metrics`` endpoints.  The blocklist applies to every request
(the drivers add it), so a host blocked after it was queued is not shown.

Public API:

* :func:`discovered_steps` (prefix, status=None, limit=100) -> the queue
  documents, newest first (by ``first_seen``), optionally of one status;
* :func:`queue_size_steps` (prefix) -> ``{status: count}`` for every status
  (0 where there is none);
* :data:`STATUSES`, :data:`MAX_LIMIT`.

A missing alias answers as an empty queue.  Elasticsearch errors propagate.
"""

from __future__ import annotations

from typing import Any

from config.schema import alias_name
from search.es_steps import Search, Steps

STATUSES = ("new", "probed", "crawled", "blocked")
MAX_LIMIT = 500
FIELDS = ("onion_host", "status", "first_seen", "last_seen", "seen_count", "seen_in", "seen_on", "source_hosts",
          "job_ids", "up", "reason", "title", "last_status", "probed_at")


def discovered_steps(prefix: str, status: str | None = None, limit: int = 100) -> Steps:
    """Queue documents, newest first, at most ``limit`` (capped at :data:`MAX_LIMIT`); ``status`` filters."""
    query: dict[str, Any] = {"term": {"status": status}} if status else {"match_all": {}}
    response = yield Search(alias_name(prefix, "discovered-onions"), {
        "size": max(0, min(limit, MAX_LIMIT)), "query": query, "_source": list(FIELDS),
        "sort": [{"first_seen": {"order": "desc", "unmapped_type": "date"}},
                 {"onion_host": {"order": "asc", "unmapped_type": "keyword"}}],
    })
    return [{name: hit["_source"].get(name) for name in FIELDS} for hit in response["hits"]["hits"]]


def queue_size_steps(prefix: str) -> Steps:
    """``{status: documents}`` of the queue, every status of :data:`STATUSES` present."""
    response = yield Search(alias_name(prefix, "discovered-onions"), {
        "size": 0, "aggs": {"statuses": {"terms": {"field": "status", "size": 16}}},
    })
    sizes = {status: 0 for status in STATUSES}
    for bucket in ((response.get("aggregations") or {}).get("statuses") or {}).get("buckets", []):
        sizes[str(bucket["key"])] = int(bucket["doc_count"])
    return sizes
