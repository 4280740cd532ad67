"""The blocklist at query time: documents indexed before an entry was added are never shown.

Every Elasticsearch request of the search side goes through the drivers of
:mod:`search.es_steps`, and they call :func:`filtered_body` on every query before sending it
and :func:`visible` on every document they fetch by id.  So searches, facets, counts, entity
pages, pivots, exports (HTML, JSON, CSV, STIX, MISP) and the CLI all leave out what the
blocklist (:mod:`config.blocklist`) names, with no code of their own.

Which blocklist: the one attached to the Elasticsearch client (:func:`attach`; the search
side's client factory :func:`search.connection.connect` and the API do it from their
settings, and it is re-read when the file changes); for a client nobody attached one to,
the blocklist of the settings in the environment (``ONIONSCOPE_*`` and the config file).

Per kind, a document is hidden when:

* pages: its ``onion_host``, its ``url`` (URL patterns, as Elasticsearch wildcards) or its
  ``content_hash`` is blocked;
* listings: its ``onion_host`` or ``url``; vendors: its ``onion_host`` or ``profile_url``;
* onions: its ``onion_host`` (not its ``last_url``: the host's other pages are not blocked, so
  neither is the host; ``last_url`` and ``last_title`` may still name a blocked page until the
  host is crawled again);
* wallets: any of its ``onion_hosts`` is blocked (a wallet seen on a blocked service is
  hidden, even if other services show it too: what a blocked site said is not shown).

Public API: :func:`attach`, :func:`blocklist_of` (client) -> :class:`~config.blocklist.Blocklist`,
:func:`must_not` (kind, blocklist) -> the query clauses, :func:`filtered_body` and
:func:`visible`.
"""

from __future__ import annotations

import weakref
from typing import Any

from config.blocklist import Blocklist, BlocklistFile

# kind -> (field of the onion host(s), field of the URL or None, field of the content hash or None)
FIELDS: dict[str, tuple[str, str | None, str | None]] = {
    "pages": ("onion_host", "url", "content_hash"),
    "listings": ("onion_host", "url", None),
    "vendors": ("onion_host", "profile_url", None),
    # An onion entity is its host: hidden when the host is blocked (its last_url may name a page
    # under a blocked pattern; the entity stays, as the host's other pages do).
    "onions": ("onion_host", None, None),
    # The discovery queue never takes a blocked host; one blocked later is hidden here.
    "discovered-onions": ("onion_host", None, None),
    "wallets": ("onion_hosts", None, None),
}

_ATTACHED: "weakref.WeakKeyDictionary[Any, BlocklistFile]" = weakref.WeakKeyDictionary()
_FROM_ENVIRONMENT: list[BlocklistFile] = []


def attach(client: Any, source: BlocklistFile) -> Any:
    """Make ``source`` the blocklist of every request sent with ``client``; returns ``client``."""
    _ATTACHED[client] = source
    return client


def blocklist_of(client: Any) -> Blocklist:
    """The blocklist that applies to ``client``'s requests (see the module docstring).
    Raises ConfigError when the environment's blocklist file is explicitly set and missing or bad."""
    source = _ATTACHED.get(client)
    if source is None:
        if not _FROM_ENVIRONMENT:
            from config.settings import load_settings

            _FROM_ENVIRONMENT.append(BlocklistFile.for_settings(load_settings()))
        source = _FROM_ENVIRONMENT[0]
    return source.current()


def kind_of(index: str) -> str | None:
    """The document kind an index or alias name ``<prefix>-<kind>`` holds, if it is one the blocklist covers."""
    for kind in sorted(FIELDS, key=len, reverse=True):
        if index.endswith(f"-{kind}"):
            return kind
    return None


def must_not(kind: str, blocklist: Blocklist) -> list[dict[str, Any]]:
    """The ``must_not`` clauses that hide ``kind``'s blocked documents (empty when nothing is blocked)."""
    host_field, url_field, hash_field = FIELDS[kind]
    clauses: list[dict[str, Any]] = []
    if blocklist.onion_hosts:
        clauses.append({"terms": {host_field: sorted(blocklist.onion_hosts)}})
    if url_field is not None:
        clauses.extend({"wildcard": {url_field: {"value": pattern}}} for pattern in blocklist.url_patterns)
    if hash_field is not None and blocklist.content_hashes:
        clauses.append({"terms": {hash_field: sorted(blocklist.content_hashes)}})
    return clauses


def filtered_body(index: str, body: dict[str, Any], blocklist: Blocklist) -> dict[str, Any]:
    """``body`` with its query wrapped so that blocked documents match nothing (scores unchanged)."""
    kind = kind_of(index)
    clauses = must_not(kind, blocklist) if kind is not None and blocklist else []
    if not clauses:
        return body
    query = body.get("query") or {"match_all": {}}
    return {**body, "query": {"bool": {"must": [query], "must_not": clauses}}}


def visible(index: str, answer: dict[str, Any] | None, blocklist: Blocklist) -> dict[str, Any] | None:
    """``answer`` (a get by id), or None when its document is blocked."""
    if answer is None or not blocklist or kind_of(index) is None:
        return answer
    return None if blocklist.blocks_document(answer.get("_source") or {}) else answer
