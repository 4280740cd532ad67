"""What a crawl is told when it opens: its seed hosts' stored pages and recent liveness checks.

Read once, when the indexing pipeline opens, and loaded into the spider's
:class:`crawler.freshness.context.FreshnessContext`:

* :func:`stored_pages` -- the seed hosts' pages that a conditional request or
  the recrawl policy can use: those with an ``etag`` or ``last_modified``, or
  unchanged for at least the policy's ``stable_seconds``.  Paged with
  ``search_after``, at most ``limit`` (the caller passes the crawl's page
  budget): about 300 bytes each in memory;
* :func:`recent_checks` -- each seed host's ``recent_checks`` from its onion
  entity (one ``mget``), what the back-off reads;
* :func:`links_reader` -- a callable that reads one stored page's links (one
  ``get``, at most :data:`MAX_LINKS`), for a page answered "not modified".

Only the seed hosts are loaded: an onion reached with ``--follow-offsite`` is
fetched unconditionally and never backs off in that crawl.  Elasticsearch
errors propagate, except from the links reader, which logs and returns no
links (the page's children are then reached only by other paths).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any, Callable, Iterable

from elasticsearch import NotFoundError

from config.schema import alias_name, onion_doc_id, page_doc_id
from crawler.freshness.instants import utc_iso
from crawler.freshness.liveness import CheckSummary
from crawler.freshness.recrawl import RecrawlPolicy, StoredPage

logger = logging.getLogger(__name__)

PAGE_SIZE = 1000
MAX_LINKS = 1000
PAGE_FIELDS = ["canonical_url", "etag", "last_modified", "content_changed_at", "last_seen"]


def _body(response: Any) -> dict[str, Any]:
    return getattr(response, "body", response)


def stored_pages(client: Any, prefix: str, hosts: Iterable[str], *, policy: RecrawlPolicy, now: datetime,
                 limit: int) -> list[StoredPage]:
    """The stored pages of ``hosts`` that carry validators or may not be due; at most ``limit``."""
    hosts = sorted(set(hosts))
    if not hosts or limit <= 0:
        return []
    useful: list[dict[str, Any]] = [{"exists": {"field": "etag"}}, {"exists": {"field": "last_modified"}}]
    if policy.enabled:
        stable_since = utc_iso(now - timedelta(seconds=policy.stable_seconds))
        useful.append({"range": {"content_changed_at": {"lte": stable_since}}})
    query = {"bool": {"filter": [{"terms": {"onion_host": hosts}}], "should": useful, "minimum_should_match": 1}}
    pages: list[StoredPage] = []
    after: list[Any] | None = None
    while len(pages) < limit:
        body: dict[str, Any] = {"query": query, "size": min(PAGE_SIZE, limit - len(pages)), "_source": PAGE_FIELDS,
                                "sort": [{"canonical_url": "asc"}], "track_total_hits": False}
        if after is not None:
            body["search_after"] = after
        hits = _body(client.search(index=alias_name(prefix, "pages"), **body))["hits"]["hits"]
        for hit in hits:
            page = StoredPage.from_doc(hit.get("_source") or {})
            if page is not None:
                pages.append(page)
        if len(hits) < body["size"]:
            break
        after = hits[-1]["sort"]
    return pages


def recent_checks(client: Any, prefix: str, hosts: Iterable[str]) -> dict[str, list[CheckSummary]]:
    """Each host's stored recent checks (hosts without an onion document are left out)."""
    ids = sorted({onion_doc_id(host) for host in hosts})
    if not ids:
        return {}
    docs = _body(client.mget(index=alias_name(prefix, "onions"), ids=ids, source=["recent_checks"]))["docs"]
    found: dict[str, list[CheckSummary]] = {}
    for doc in docs:
        if not doc.get("found"):
            continue
        entries = (doc.get("_source") or {}).get("recent_checks") or []
        summaries = [s for s in (CheckSummary.from_doc(entry) for entry in entries) if s is not None]
        if summaries:
            found[str(doc["_id"])] = summaries
    return found


def links_reader(client: Any, prefix: str) -> Callable[[str], list[str]]:
    """A function: canonical URL -> the links stored on that page (blocking; [] when none or on error)."""
    index = alias_name(prefix, "pages")

    def read(canonical_url: str) -> list[str]:
        try:
            response = client.get(index=index, id=page_doc_id(canonical_url), source=["links"])
        except NotFoundError:
            return []
        except Exception as exc:
            logger.warning("could not read the stored links of %s (%s); its children are reached only by other "
                           "paths in this crawl", canonical_url, type(exc).__name__)
            return []
        links = (_body(response).get("_source") or {}).get("links") or []
        return [str(link) for link in links if isinstance(link, str)][:MAX_LINKS]

    return read
