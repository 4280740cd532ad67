"""Incremental recrawl: which stored pages are due again, and the validators a conditional request sends.

The policy (:class:`RecrawlPolicy`), stated once:

* every page document keeps ``content_changed_at``, the fetch at which its
  content hash last changed (its first fetch, to begin with), and
  ``last_seen``, its latest fetch (a 304 "not modified" counts);
* a page seen unchanged for ``stable_for = last_seen - content_changed_at``
  shorter than ``stable_seconds`` is due at every crawl;
* a page stable for longer is due again once ``min(stable_for / 2,
  max_interval_seconds)`` has passed since ``last_seen``: a page unchanged for
  four days waits two, one unchanged for months waits ``max_interval_seconds``;
* a seed URL is always due; a page the crawl knows nothing about is due;
* ``stable_seconds`` 0 turns the policy off (every page is due).

Conditional requests: a page stored with an ``ETag`` gets ``If-None-Match``,
one with ``Last-Modified`` gets ``If-Modified-Since``, whether or not the
policy would skip it.  A validator a site sent is stored only when it is a
well-formed header value (:func:`safe_etag`, :func:`safe_last_modified`), so
nothing a site sends can add a header or a line to our requests.

Public API:

* :class:`RecrawlPolicy` (stable_seconds, max_interval_seconds);
* :class:`StoredPage` -- what the crawl is told about a stored page;
* :func:`next_due_at` (page, policy) -> datetime or None (due now);
* :func:`is_due` (page, now, policy) -> bool;
* :func:`conditional_headers` (page) -> the request headers;
* :func:`safe_etag` (value) / :func:`safe_last_modified` (value) -> the value, or None.

Pure functions; nothing here does I/O.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any

from crawler.freshness.instants import parse_instant

MAX_ETAG_CHARS = 256
MAX_LAST_MODIFIED_CHARS = 64
# RFC 9110 entity-tag: optional W/, then a quoted string of visible ASCII other than '"'.
_ETAG = re.compile(r'(?:W/)?"[\x21\x23-\x7e]*"')
_HTTP_DATE_CHARS = re.compile(r"[A-Za-z0-9 ,:\-]+")


@dataclass(frozen=True)
class RecrawlPolicy:
    """How long a page must be unchanged before it is fetched less often, and the longest wait."""

    stable_seconds: float = 2 * 86400.0
    max_interval_seconds: float = 7 * 86400.0

    @property
    def enabled(self) -> bool:
        return self.stable_seconds > 0


@dataclass(frozen=True)
class StoredPage:
    """A stored page as the crawl needs it: its validators and its change history."""

    canonical_url: str
    etag: str | None = None
    last_modified: str | None = None
    content_changed_at: str | None = None
    last_seen: str | None = None

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> "StoredPage | None":
        """The page a stored document's source describes, or None without a canonical URL."""
        url = doc.get("canonical_url")
        if not isinstance(url, str) or not url:
            return None
        return cls(url, safe_etag(doc.get("etag")), safe_last_modified(doc.get("last_modified")),
                   doc.get("content_changed_at") if isinstance(doc.get("content_changed_at"), str) else None,
                   doc.get("last_seen") if isinstance(doc.get("last_seen"), str) else None)


def next_due_at(page: StoredPage, policy: RecrawlPolicy) -> datetime | None:
    """When ``page`` is due again under ``policy``; None when it is due at every crawl."""
    if not policy.enabled:
        return None
    changed, seen = parse_instant(page.content_changed_at), parse_instant(page.last_seen)
    if changed is None or seen is None:
        return None
    stable_for = (seen - changed).total_seconds()
    if stable_for < policy.stable_seconds:
        return None
    return seen + timedelta(seconds=min(stable_for / 2, policy.max_interval_seconds))


def is_due(page: StoredPage, now: datetime, policy: RecrawlPolicy) -> bool:
    """True when ``page`` should be fetched by a crawl at ``now``."""
    due_at = next_due_at(page, policy)
    return due_at is None or now >= due_at


def conditional_headers(page: StoredPage) -> dict[str, str]:
    """``If-None-Match`` / ``If-Modified-Since`` for the validators ``page`` holds (none: empty)."""
    headers: dict[str, str] = {}
    if page.etag:
        headers["If-None-Match"] = page.etag
    if page.last_modified:
        headers["If-Modified-Since"] = page.last_modified
    return headers


def safe_etag(value: Any) -> str | None:
    """``value`` when it is a well-formed entity tag of at most :data:`MAX_ETAG_CHARS`, else None."""
    if isinstance(value, bytes):
        value = value.decode("latin-1")
    if not isinstance(value, str):
        return None
    value = value.strip()
    if len(value) > MAX_ETAG_CHARS or not _ETAG.fullmatch(value):
        return None
    return value


def safe_last_modified(value: Any) -> str | None:
    """``value`` when it is an HTTP date (``Sun, 06 Nov 1994 08:49:37 GMT``), else None."""
    if isinstance(value, bytes):
        value = value.decode("latin-1")
    if not isinstance(value, str):
        return None
    value = value.strip()
    if not value or len(value) > MAX_LAST_MODIFIED_CHARS or not _HTTP_DATE_CHARS.fullmatch(value):
        return None
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return value if parsed is not None else None
