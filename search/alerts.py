"""Alerts: after a crawl run, what is new for each watchlist entry; and reading alerts back.

After each crawl run (``onionscope crawl``, a scheduled job's run: see
:mod:`onionscope.alerting`), :func:`alert_run` runs every watchlist entry
(:mod:`search.watchlists`) as a search over the pages, listings and vendors
that carry the run's job id (every document the run indexed or re-indexed
does), with the search's own compiler and limits.

What one alert is: a fetched page where an entry matched, in one version of
that page.  A listing or vendor hit belongs to the page it was read from
(``url`` / ``profile_url``, the page's ``_id`` by the schema's rule), so a
wallet shown on a listing page is *one* alert, with the listing and the page
among its hits.  The version is the page's ``content_hash`` (sha256 of the
body); a listing or vendor whose page was not indexed is its own target,
versioned by a hash of its fields.  The alert's ``_id`` is
:func:`config.schema.alert_doc_id` (entry, page, version) and it is written
with ``op_type=create``: a re-crawl that finds the same page unchanged makes
no new alert, a page that changed and still matches makes one, and running
the same run's evaluation twice (a discovery child crawl shares its parent's
job id) changes nothing.

Each alert holds what matched (the entry: kind, value, list), the hit (kind,
id, title, URL, onion, and the matched documents), and an evidence link from
:func:`evidence_link` -- the seam to the WARC evidence store, which answers
None until ``search.evidence`` provides ``evidence_link(hit)``.

Public API:

* :func:`alert_run` (client, prefix, job_id, ...) -> :class:`RunAlerts`;
* :func:`evidence_link` (hit) -> str or None;
* :func:`list_alerts` (client, prefix, viewer_id=None, everything=False, unread_only=False, limit=100) -> list of dicts;
* :func:`unread_count_steps` (prefix, viewer_id, everything) -- :mod:`search.es_steps` requests -> int;
* :func:`mark_read` (client, prefix, alert_id, reader_id, viewer_id=None, everything=False) -> the alert;
  raises :class:`AlertNotFound`;
* :func:`alerts_index` (prefix).

Elasticsearch errors propagate unchanged.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Iterable

from config.errors import UserError
from config.i18n import gettext
from config.schema import alert_doc_id, alias_name, page_doc_id
from search.es_steps import Steps
from search.query import QueryError, QueryLimits, build_query, parse
from search.watchlists import SEARCHED_KINDS, WatchEntry, list_entries

logger = logging.getLogger(__name__)

# Matches read per entry, kind and run; more are counted (``truncated``) and left for the next change.
MAX_MATCHES_PER_ENTRY = 1000
MSEARCH_CHUNK = 50
MAX_LIST = 500
# A hit's stored fields: enough to show and to deliver it, never the page text.
HIT_FIELDS = ("url", "canonical_url", "profile_url", "onion_host", "title", "name", "market", "listing_id",
              "vendor", "price_amount", "price_currency", "wallets", "pgp_fingerprints", "content_hash",
              "fetched_at", "job_id", "page_type", "category", "evidence")
# Fields that say nothing about a listing's or vendor's content (when and by which run it was seen).
_VOLATILE = {"fetched_at", "first_seen", "last_seen", "job_id", "removed_at", "content_changed_at", "extractor",
             "evidence"}  # each fetch has its own WARC record
# Which hit names the alert when a page holds several: the most specific.
_SPECIFIC = {"listings": 0, "vendors": 1, "pages": 2}


class AlertNotFound(UserError):
    """No alert with that id (or none the caller may see)."""


@dataclass
class RunAlerts:
    """What :func:`alert_run` did: entries run, matched pages, alerts created and already there."""

    job_id: str
    entries: int = 0
    matches: int = 0
    created: int = 0
    existing: int = 0
    truncated: int = 0
    refused_entries: list[str] = field(default_factory=list)
    alert_ids: list[str] = field(default_factory=list)
    # alert id -> the WARC evidence pointer of the page it matched (pages' ``evidence``), when kept.
    evidence_refs: dict[str, dict[str, Any]] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"job_id": self.job_id, "entries": self.entries, "matches": self.matches, "created": self.created,
                "existing": self.existing, "truncated": self.truncated, "refused_entries": self.refused_entries}


def alerts_index(prefix: str) -> str:
    return alias_name(prefix, "alerts")


def evidence_link(hit: dict[str, Any]) -> str | None:
    """The evidence link of a hit (``{"id", "kind", "source"}``, as a search hit), or None.

    The seam to the WARC evidence store: ``search.evidence.evidence_link``
    when that module exists, else None (no evidence captured yet).
    """
    try:
        from search.evidence import evidence_link as link  # type: ignore[import-not-found]
    except ImportError:
        return None
    return link(hit)


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _fields_version(source: dict[str, Any]) -> str:
    """A hash of a listing's or vendor's content (its fields, without when and by whom it was seen)."""
    content = {key: value for key, value in source.items() if key not in _VOLATILE}
    return "f:" + hashlib.sha256(json.dumps(content, sort_keys=True, default=str).encode()).hexdigest()


def _page_of(kind: str, source: dict[str, Any]) -> str | None:
    """The ``_id`` of the page a listing or vendor was read from (None when it does not say)."""
    from crawler.urls import canonical_url

    url = source.get("url") if kind == "listings" else source.get("profile_url")
    if not isinstance(url, str) or not url:
        return None
    try:
        return page_doc_id(canonical_url(url))
    except ValueError:
        return None


def _run_query(entry: WatchEntry, kind: str, job_id: str, limits: QueryLimits | None) -> dict[str, Any]:
    node = parse(entry.query, limits)
    return {
        "query": {"bool": {"must": [build_query(node, kind, limits)], "filter": [{"term": {"job_id": job_id}}]}},
        "size": MAX_MATCHES_PER_ENTRY,
        "_source": list(HIT_FIELDS),
        "track_total_hits": True,
        "sort": [{"_doc": "asc"}],
    }


def _matches(client: Any, prefix: str, entries: list[WatchEntry], job_id: str, limits: QueryLimits | None,
             summary: RunAlerts) -> dict[str, list[tuple[str, str, dict[str, Any]]]]:
    """entry id -> [(kind, _id, source)] of the run's documents it matches."""
    from search.es_steps import Msearch, run

    searches: list[tuple[str, str, dict[str, Any]]] = []
    for entry in entries:
        try:
            for kind in SEARCHED_KINDS:
                searches.append((entry.entry_id, kind, _run_query(entry, kind, job_id, limits)))
        except QueryError as exc:  # saved under older limits or an older language: skipped, said
            logger.warning("watchlist entry %s (%s) is not run: %s", entry.entry_id, entry.query[:80], exc)
            summary.refused_entries.append(entry.entry_id)
    found: dict[str, list[tuple[str, str, dict[str, Any]]]] = {}
    for start in range(0, len(searches), MSEARCH_CHUNK):
        chunk = searches[start:start + MSEARCH_CHUNK]
        answers = run(client, _msearch_steps(Msearch(tuple((alias_name(prefix, kind), body)
                                                            for _, kind, body in chunk))))
        for (entry_id, kind, _), answer in zip(chunk, answers):
            hits = answer["hits"]["hits"]
            total = int(answer["hits"]["total"]["value"])
            summary.truncated += max(0, total - len(hits))
            found.setdefault(entry_id, []).extend((kind, hit["_id"], hit.get("_source") or {}) for hit in hits)
    return found


def _msearch_steps(request: Any) -> Steps:
    answers = yield request
    return answers


def _pages(client: Any, prefix: str, page_ids: Iterable[str]) -> dict[str, dict[str, Any]]:
    ids = sorted(set(page_ids))
    if not ids:
        return {}
    response = client.mget(index=alias_name(prefix, "pages"), ids=ids, source=list(HIT_FIELDS))
    return {doc["_id"]: doc["_source"] for doc in response["docs"] if doc.get("found")}


def _alert_documents(entry: WatchEntry, matches: list[tuple[str, str, dict[str, Any]]],
                     pages: dict[str, dict[str, Any]], job_id: str, webhook_state: str) -> list[dict[str, Any]]:
    """One alert document per page (or page-less listing/vendor) among ``matches``."""
    groups: dict[str, list[tuple[str, str, dict[str, Any]]]] = {}
    for kind, doc_id, source in matches:
        target = doc_id if kind == "pages" else (_page_of(kind, source) or doc_id)
        if kind != "pages" and target not in pages:
            target = doc_id  # its page is not indexed: the listing or vendor is the target itself
        groups.setdefault(target, []).append((kind, doc_id, source))
    documents = []
    created_at = _now()
    for target, members in sorted(groups.items()):
        members.sort(key=lambda member: (_SPECIFIC[member[0]], member[1]))
        kind, doc_id, source = members[0]
        page = pages.get(target) or next((s for k, d, s in members if k == "pages" and d == target), None)
        if page is not None and page.get("content_hash"):
            version = "c:" + str(page["content_hash"])
            target_kind = "pages"
        else:
            version = _fields_version(source)
            target_kind = kind
        hit = {"id": doc_id, "kind": kind, "source": source}
        link = evidence_link(hit)
        if link is None and page is not None and doc_id != target:
            link = evidence_link({"id": target, "kind": "pages", "source": page})
        url = source.get("url") or source.get("profile_url") or (page or {}).get("url")
        title = source.get("title") or source.get("name") or (page or {}).get("title") or ""
        alert_id = alert_doc_id(entry.entry_id, target, version)
        evidence = source.get("evidence") or (page or {}).get("evidence")
        documents.append({
            "_evidence_ref": evidence if isinstance(evidence, dict) else None,
            "alert_id": alert_id,
            "entry_id": entry.entry_id,
            "entry_kind": entry.kind,
            "entry_value": entry.value,
            "list": entry.list,
            "shared": entry.shared,
            "owner_id": entry.owner_id,
            "job_id": job_id,
            "created_at": created_at,
            "doc_kind": target_kind,
            "doc_id": target,
            "version": version,
            "url": url,
            "onion_host": source.get("onion_host") or (page or {}).get("onion_host"),
            "title": str(title)[:500],
            "evidence_link": link,
            "hit": {
                "kind": kind, "id": doc_id, "title": str(title)[:500], "url": url,
                "query": entry.query,
                "matched": [{"kind": k, "id": d} for k, d, _ in members],
                "source": {key: value for key, value in source.items() if key not in ("content_hash", "evidence")},
            },
            "webhook_state": webhook_state,
            "webhook_attempts": 0,
            "deliveries": [],
        })
    return documents


def _create(client: Any, prefix: str, documents: list[dict[str, Any]], summary: RunAlerts) -> None:
    """Write ``documents`` with ``op_type=create``: an alert already there stays as it is."""
    if not documents:
        return
    operations: list[dict[str, Any]] = []
    for document in documents:
        operations.append({"create": {"_index": alerts_index(prefix), "_id": document["alert_id"]}})
        operations.append(document)
    response = client.bulk(operations=operations, refresh="wait_for")
    failures = []
    for item in response["items"]:
        result = item["create"]
        if result.get("status") == 201:
            summary.created += 1
            summary.alert_ids.append(result["_id"])
        elif result.get("status") == 409:
            summary.existing += 1
        else:
            failures.append(result.get("error"))
    if failures:
        raise UserError(gettext("{count} alert(s) could not be written: {first}", count=len(failures),
                                first=str(failures[0])[:300]))


def alert_run(client: Any, prefix: str, job_id: str, *, limits: QueryLimits | None = None,
              webhook: bool = False, templates_dir: Any = None) -> RunAlerts:
    """Make the alerts of run ``job_id``: every watchlist entry against the documents the run indexed.

    ``webhook``: the new alerts wait for the webhook (``webhook_state``
    ``pending``; else ``off``).  Idempotent: a second call for the same run
    creates nothing.  Returns what it did.

    :raises config.errors.UserError: Elasticsearch refused to write alerts.
    """
    from pipelines.indices import ensure_indices

    summary = RunAlerts(job_id)
    entries = list_entries(client, prefix, everything=True)
    summary.entries = len(entries)
    if not entries:
        return summary
    ensure_indices(client, prefix, templates_dir=templates_dir)
    for kind in SEARCHED_KINDS:
        client.indices.refresh(index=alias_name(prefix, kind), ignore_unavailable=True, allow_no_indices=True)
    found = _matches(client, prefix, entries, job_id, limits, summary)
    by_id = {entry.entry_id: entry for entry in entries}
    page_ids = [page for matches in found.values() for kind, _, source in matches if kind != "pages"
                for page in [_page_of(kind, source)] if page]
    pages = _pages(client, prefix, page_ids)
    documents = []
    for entry_id, matches in found.items():
        entry_documents = _alert_documents(by_id[entry_id], matches, pages, job_id, "pending" if webhook else "off")
        summary.matches += len(entry_documents)
        documents.extend(entry_documents)
    refs = {document["alert_id"]: document.pop("_evidence_ref") for document in documents}
    _create(client, prefix, documents, summary)
    summary.evidence_refs = {alert_id: refs[alert_id] for alert_id in summary.alert_ids if refs.get(alert_id)}
    return summary


# --- reading alerts ----------------------------------------------------------------


def _visibility(viewer_id: str | None, everything: bool) -> list[dict[str, Any]]:
    if everything:
        return []
    visible: list[dict[str, Any]] = [{"term": {"shared": True}}]
    if viewer_id:
        visible.append({"term": {"owner_id": viewer_id}})
    return [{"bool": {"should": visible, "minimum_should_match": 1}}]


def _alerts_query(viewer_id: str | None, everything: bool, unread_only: bool) -> dict[str, Any]:
    query: dict[str, Any] = {"bool": {"filter": _visibility(viewer_id, everything)}}
    if unread_only:
        query["bool"]["must_not"] = [{"exists": {"field": "read_at"}}]
    return query


def list_alerts(client: Any, prefix: str, viewer_id: str | None = None, everything: bool = False,
                unread_only: bool = False, limit: int = 100) -> list[dict[str, Any]]:
    """The alerts ``viewer_id`` sees (those of shared entries and of its own; ``everything``: all), newest first."""
    from elasticsearch import NotFoundError

    try:
        response = client.search(index=alerts_index(prefix), query=_alerts_query(viewer_id, everything, unread_only),
                                 size=max(1, min(limit, MAX_LIST)),
                                 sort=[{"created_at": "desc"}, {"alert_id": "asc"}])
    except NotFoundError:
        return []
    return [hit["_source"] for hit in response["hits"]["hits"]]


def unread_count_steps(prefix: str, viewer_id: str | None, everything: bool) -> Steps:
    """The number of unread alerts ``viewer_id`` sees, as :mod:`search.es_steps` requests (0 without alerts)."""
    from search.es_steps import Search

    answer = yield Search(alerts_index(prefix), {"query": _alerts_query(viewer_id, everything, True), "size": 0,
                                                 "track_total_hits": True})
    return int(answer["hits"]["total"]["value"]) if answer and "hits" in answer else 0


def mark_read(client: Any, prefix: str, alert_id: str, reader_id: str, viewer_id: str | None = None,
              everything: bool = False) -> dict[str, Any]:
    """Mark alert ``alert_id`` read by ``reader_id`` (kept if already read); returns the alert.

    :raises AlertNotFound: no such alert, or one the caller may not see.
    """
    from elasticsearch import NotFoundError

    if not alert_id or len(alert_id) > 64:
        raise AlertNotFound(gettext("no such alert"))
    try:
        source = client.get(index=alerts_index(prefix), id=alert_id)["_source"]
    except NotFoundError:
        raise AlertNotFound(gettext("no alert {alert_id}", alert_id=repr(alert_id))) from None
    if not everything and not (source.get("shared") or (viewer_id and source.get("owner_id") == viewer_id)):
        raise AlertNotFound(gettext("no alert {alert_id}", alert_id=repr(alert_id)))
    if not source.get("read_at"):
        changes = {"read_at": _now(), "read_by": reader_id}
        client.update(index=alerts_index(prefix), id=alert_id, doc=changes, refresh="wait_for")
        source = {**source, **changes}
    return source


__all__ = ["AlertNotFound", "RunAlerts", "alert_run", "alerts_index", "evidence_link", "list_alerts",
           "mark_read", "unread_count_steps"]
