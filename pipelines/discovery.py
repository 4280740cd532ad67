"""The discovery queue: every onion a crawled page names, in a link or in its text, with where and when.

One document per onion host in ``<prefix>-discovered-onions`` (``_id`` =
:func:`config.schema.discovered_onion_doc_id`): ``first_seen``,
``last_seen``, ``seen_count`` (pages that named it), ``job_ids``, ``seen_on``
(up to :data:`MAX_SEEN_ON` places: page URL, its host, ``link`` or
``text``), ``seen_in`` (link, text), ``source_hosts`` and ``status``:

* ``new`` -- named by a page, never fetched;
* ``crawled`` -- a seed host of the crawl that named it, a host a crawl
  already fetched (it has an onion document), or crawled by ``discover: crawl``;
* ``probed`` -- its front page was fetched once (``discover: probe``); ``up``,
  ``reason``, ``title``, ``last_status`` and ``probed_at`` say what it answered.

A host on the blocklist (:mod:`config.blocklist`) is never queued: it is
counted (``discovery/blocklisted``) and nothing about it is stored.

Public API:

* :func:`page_onions` (page) -> the hosts a page offers to discovery:
  ``discovery_onions`` when the page carries that field, else ``onion_links``;
* :func:`page_sightings` (page, job_id) -> :class:`Sighting` per host;
* :func:`merge_discovered` (existing, sightings, known) -> the queue document;
* :class:`DiscoveryRecorder` (blocklist, seed_hosts) --
  :meth:`~DiscoveryRecorder.write` (writer, items, outcome): one ``mget`` of
  the onion documents and one read-merge-write round of the queue per batch;
  raises nothing (a failed queue write is logged and counted as
  ``discovery/failed``; the next page naming the host queues it again);
* :func:`probed_fields` (onion, up, reason, title, last_status, probed_at) ->
  the fields a probe sets on a queue document.
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass
from typing import Any, Iterable

from config.schema import alias_name, discovered_onion_doc_id, normalise_onion_host, onion_doc_id

logger = logging.getLogger(__name__)

KIND = "discovered-onions"
NEW, PROBED, CRAWLED, BLOCKED = "new", "probed", "crawled", "blocked"
STATUSES = (NEW, PROBED, CRAWLED, BLOCKED)
MAX_SEEN_ON = 20
MAX_JOB_IDS = 50
MAX_SOURCE_HOSTS = 50
MAX_URL_CHARS = 2048


@dataclass(frozen=True)
class Sighting:
    """One page naming one onion host."""

    host: str
    url: str
    source_host: str
    where: tuple[str, ...]  # "link", "text" or both
    seen_at: str
    job_id: str


def page_onions(page: Any) -> list[str]:
    """The onion hosts ``page`` offers to discovery, lower case, in page order, without duplicates.

    ``discovery_onions`` (shown, checksum-valid v3 onions in links and text)
    when the page carries that field, else ``onion_links`` (onions in links);
    the page's own host is left out.
    """
    hosts = getattr(page, "discovery_onions", None)
    if hosts is None:
        hosts = getattr(page, "onion_links", None) or []
    own = normalise_onion_host(getattr(page, "onion_host", "") or "")
    seen: dict[str, None] = {}
    for host in hosts:
        host = normalise_onion_host(str(host))
        if host and host != own:
            seen.setdefault(host, None)
    return list(seen)


def _where(page: Any, host: str) -> tuple[str, ...]:
    places = {str(mention.get("where")) for mention in getattr(page, "onion_mentions", None) or []
              if isinstance(mention, dict) and normalise_onion_host(str(mention.get("host", ""))) == host
              and not mention.get("hidden") and mention.get("where") in ("link", "text")}
    if not places and getattr(page, "discovery_onions", None) is None:
        places = {"link"}  # onion_links are links
    return tuple(sorted(places))


def page_sightings(page: Any, job_id: str | None = None) -> list[Sighting]:
    """One :class:`Sighting` per onion host ``page`` names (see :func:`page_onions`)."""
    url = str(getattr(page, "url", ""))[:MAX_URL_CHARS]
    source = normalise_onion_host(getattr(page, "onion_host", "") or "")
    seen_at = str(getattr(page, "fetched_at", ""))
    job = str(job_id or getattr(page, "job_id", "") or "")
    return [Sighting(host, url, source, _where(page, host), seen_at, job) for host in page_onions(page)]


def merge_discovered(existing: dict[str, Any] | None, sightings: list[Sighting], known: bool) -> dict[str, Any]:
    """The queue document of one host after ``sightings`` (all of that host).

    ``known``: the host was crawled (a seed of this crawl or an onion document
    exists), so a ``new`` document becomes ``crawled``; a probed or crawled
    status never goes back to ``new``.  ``seen_on`` keeps the first
    :data:`MAX_SEEN_ON` distinct pages; ``seen_count`` counts every sighting.
    """
    document = dict(existing or {})
    host = sightings[0].host
    document["onion_host"] = discovered_onion_doc_id(host)
    times = [s.seen_at for s in sightings if s.seen_at]
    if times:
        document["first_seen"] = min(filter(None, [document.get("first_seen"), *times]))
        document["last_seen"] = max(filter(None, [document.get("last_seen"), *times]))
    document["seen_count"] = int(document.get("seen_count") or 0) + len(sightings)
    seen_on = list(document.get("seen_on") or [])
    urls = {entry.get("url") for entry in seen_on if isinstance(entry, dict)}
    for sighting in sightings:
        if len(seen_on) >= MAX_SEEN_ON:
            break
        if sighting.url not in urls:
            urls.add(sighting.url)
            seen_on.append({"url": sighting.url, "onion_host": sighting.source_host, "where": list(sighting.where),
                            "seen_at": sighting.seen_at, "job_id": sighting.job_id})
    document["seen_on"] = seen_on
    document["seen_in"] = sorted({*(document.get("seen_in") or []), *(w for s in sightings for w in s.where)})
    sources = list(document.get("source_hosts") or [])
    for sighting in sightings:
        if sighting.source_host and sighting.source_host not in sources:
            sources.append(sighting.source_host)
    document["source_hosts"] = sources[:MAX_SOURCE_HOSTS]
    jobs = list(document.get("job_ids") or [])
    for sighting in sightings:
        if sighting.job_id and sighting.job_id not in jobs:
            jobs.append(sighting.job_id)
    document["job_ids"] = jobs[-MAX_JOB_IDS:]
    status = document.get("status")
    if status not in STATUSES or status == NEW:
        document["status"] = CRAWLED if known else NEW
    return document


def probed_fields(up: bool, reason: str | None, title: str | None, last_status: int | None,
                  probed_at: str) -> dict[str, Any]:
    """The fields a probe sets on a queue document (status ``probed``); the title is capped at 512 characters."""
    return {"status": PROBED, "up": bool(up), "reason": reason, "title": (title or "")[:512] or None,
            "last_status": last_status, "probed_at": probed_at}


class DiscoveryRecorder:
    """Queues the onions named by each indexed batch (see the module docstring).

    ``blocklist``: a :class:`config.blocklist.Blocklist` (hosts on it are never
    queued); ``seed_hosts``: the crawl's seed hosts (never ``new``).
    Cost: one ``mget`` on the onions index and one on the queue per batch.
    """

    def __init__(self, blocklist: Any = None, seed_hosts: Iterable[str] = ()):
        self.blocklist = blocklist
        self.seed_hosts = {normalise_onion_host(host) for host in seed_hosts if host}

    def _blocked(self, host: str) -> bool:
        return bool(self.blocklist) and self.blocklist.refusal(f"http://{host}/") == "onion_host"

    def sightings(self, items: Iterable[Any], outcome: Any = None) -> dict[str, list[Sighting]]:
        """The batch's sightings by queue ``_id``, blocklisted hosts left out (and counted in ``outcome``)."""
        by_host: dict[str, list[Sighting]] = {}
        for item in items:
            if getattr(item, "kind", None) != "pages":
                continue
            for sighting in page_sightings(item):
                if self._blocked(sighting.host):
                    if outcome is not None:
                        outcome.stats["discovery/blocklisted"] += 1
                    continue
                by_host.setdefault(discovered_onion_doc_id(sighting.host), []).append(sighting)
        return by_host

    def write(self, writer: Any, items: list[Any], outcome: Any) -> None:
        """Queue the onions that the pages among ``items`` name; counts ``discovery/*`` in ``outcome.stats``."""
        by_host = self.sightings(items, outcome)
        if not by_host:
            return
        crawled_now = {normalise_onion_host(getattr(item, "onion_host", "") or "") for item in items
                       if getattr(item, "kind", None) == "pages"}
        known = set(self.seed_hosts) | crawled_now
        unknown = [host for host in by_host if host not in known]
        if unknown:
            try:
                response = writer.client.mget(index=alias_name(writer.index_prefix, "onions"),
                                              ids=[onion_doc_id(host) for host in unknown])
                known |= {doc["_id"] for doc in response.body["docs"] if doc.get("found")}
            except Exception as exc:  # the queue still records them, as new
                logger.warning("could not read the onion documents of %d discovered hosts: %s", len(unknown), exc)
        merges = {host: functools.partial(merge_discovered, sightings=sightings, known=host in known)
                  for host, sightings in by_host.items()}
        try:
            written, failures = writer.merge_write(KIND, alias_name(writer.index_prefix, KIND), merges, outcome)
        except Exception as exc:
            logger.error("the discovery queue could not be written for %d hosts: %s", len(merges), exc)
            outcome.stats["discovery/failed"] += len(merges)
            return
        outcome.stats["discovery/queued"] += len(written)
        for host, (error, attempts) in sorted(failures.items()):
            outcome.stats["discovery/failed"] += 1
            logger.error("discovered onion %s could not be queued after %d attempts (%s)", host, attempts, error)
