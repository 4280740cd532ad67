"""Where an interrupted crawl job goes on: read back from what it indexed and what it fetched.

The index is the job's durable state: a page document carrying the job's id
was written (or spooled and written back), so it is done and never fetched
again; its stored links (and their depth) are what the job had still to
follow.  The job's fetch journal (:class:`crawler.job.FetchJournal`) says what
it fetched before the interruption, so the resumed crawl can count the pages
it fetches a second time (those whose items were still in memory, in flight
or in a batch when the crawl died).

Public API:

* :func:`resume_point` (client, index_prefix, job_id, seeds, ...) ->
  :class:`crawler.job.ResumePoint`.  Raises the client's errors
  (``elasticsearch.ApiError``, ``elastic_transport.TransportError``) when the
  pages cannot be read.
"""

from __future__ import annotations

from typing import Any, Callable, Iterable

from crawler.job import ResumePoint
from crawler.urls import canonical_url, is_media_url
from pipelines.indices import alias_name

PAGE_BATCH = 500


def _canonical(url: str) -> str | None:
    try:
        return canonical_url(url)
    except ValueError:
        return None


def indexed_pages(client: Any, index_prefix: str, job_id: str) -> Iterable[dict[str, Any]]:
    """The job's page documents (``canonical_url``, ``links``, ``depth``), in URL order, a batch at a time."""
    index = alias_name(index_prefix, "pages")
    if not client.indices.exists(index=index):
        return
    search_after: list[Any] | None = None
    while True:
        response = client.search(
            index=index, size=PAGE_BATCH, query={"term": {"job_id": job_id}},
            sort=[{"canonical_url": {"order": "asc", "missing": "_last"}}], source=["canonical_url", "links", "depth"], search_after=search_after,
        )
        hits = response["hits"]["hits"]
        yield from (hit["_source"] for hit in hits)
        if len(hits) < PAGE_BATCH:
            return
        search_after = hits[-1]["sort"]


def resume_point(
    client: Any, index_prefix: str, job_id: str, seeds: Iterable[str], *,
    fetched_before: frozenset[str] = frozenset(), max_depth: int | None = None,
    refusal: Callable[[str], str | None] = lambda url: None, follow_links: bool = True,
) -> ResumePoint:
    """What ``job_id`` indexed under ``index_prefix`` and what it still has to fetch.

    The frontier is every seed not yet indexed (depth 0) and every link of an
    indexed page shallower than ``max_depth`` (None: any) that is not indexed
    itself, in scope (``refusal`` returns None) and not media, at the
    shallowest depth it was found.  ``fetched_before``: the job's journal.
    Raises the client's errors when the pages cannot be read.
    """
    pages = list(indexed_pages(client, index_prefix, job_id))
    indexed = frozenset(page["canonical_url"] for page in pages if page.get("canonical_url"))
    frontier: dict[str, int] = {}
    for seed in seeds:
        canonical = _canonical(seed)
        if canonical is not None and canonical not in indexed:
            frontier.setdefault(seed, 0)
    if follow_links:
        for page in sorted(pages, key=lambda page: int(page.get("depth") or 0)):
            depth = int(page.get("depth") or 0)
            if max_depth is not None and depth >= max_depth:
                continue
            for link in page.get("links") or []:
                canonical = _canonical(link)
                if canonical is None or canonical in indexed or is_media_url(link) or refusal(link) is not None:
                    continue
                if depth + 1 < frontier.get(link, depth + 2):
                    frontier[link] = depth + 1
    ordered = sorted(frontier.items(), key=lambda entry: (entry[1], entry[0]))
    return ResumePoint(indexed=indexed, frontier=tuple(ordered), fetched_before=fetched_before)
