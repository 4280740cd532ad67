"""Watchlists: what analysts watch (queries, wallets, vendors, PGP keys, onions), who owns each entry, who sees it.

An entry is one of :data:`ENTRY_KINDS`:

* ``query`` -- a query in the query language (:mod:`search.query`), as typed;
* ``wallet`` -- a wallet address (``wallet:<address>``);
* ``vendor`` -- a vendor identity, by name (``vendor:"<name>"``; add a PGP
  fingerprint entry to follow the key behind a name);
* ``pgp`` -- a PGP fingerprint or key id (``pgp:<fingerprint>``);
* ``onion`` -- an onion host (``onion:<host>``).

Every entry is stored with its query in the query language (field
``query``), so the alerts after a crawl (:mod:`search.alerts`) run each entry
the one way a search runs: parsed, compiled with the search's limits, values
only ever values.  An entry whose query the search parser refuses is refused
when it is saved, with the parser's own :class:`search.query.QueryError`
(the API answers it as a search's 400).

Ownership: an entry is either ``shared`` (every token sees it and its alerts)
or owned by the token that made it (``owner_id``: its token id), seen by that
token and by admins.  ``list`` names the list it belongs to (default
``watchlist``).  An entry made on the command line without ``--owner`` is
shared.  Who may remove an entry: its owner, any analyst for a shared entry,
an admin for any (and the command line).

Public API:

* :data:`ENTRY_KINDS`, :data:`SEARCHED_KINDS`, :class:`WatchEntry`;
* :func:`entry_query` (kind, value) -> the query text of an entry; raises
  :class:`config.errors.UserError` for an unknown kind or an empty value;
* :func:`check_entry` (kind, value, limits=None) -> the query text, after
  parsing and compiling it for every searched kind; raises
  :class:`search.query.QueryError` (a bad query: the search's message) or
  UserError;
* :func:`add_entry` (client, prefix, kind, value, ...) -> :class:`WatchEntry`;
* :func:`list_entries` (client, prefix, viewer_id=None, everything=False) -> list of entries;
* :func:`get_entry` (client, prefix, entry_id) -> entry or None;
* :func:`remove_entry` (client, prefix, entry_id, remover_id=None, remover_role=None) -> the removed entry;
  raises :class:`EntryNotFound` (also for an entry the remover may not see) or
  :class:`EntryForbidden`.

Elasticsearch errors propagate unchanged.
"""

from __future__ import annotations

import unicodedata
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from config.errors import UserError
from config.i18n import N_, _
from config.schema import alias_name, normalise_fingerprint, onion_host_from_input, watch_entry_doc_id
from search.query import QueryError, QueryLimits, build_query, parse, quote_value
from search.query.tree import MatchAll

ENTRY_KINDS = ("query", "wallet", "vendor", "pgp", "onion")
# The kinds an entry is matched against: documents that carry the crawl's job id.
SEARCHED_KINDS = ("pages", "listings", "vendors")
DEFAULT_LIST = "watchlist"
MAX_VALUE_CHARS = 2000
MAX_LIST_CHARS = 100
MAX_NOTE_CHARS = 1000
MAX_ENTRIES = 10_000
_FIELD_OF_KIND = {"wallet": "wallet", "vendor": "vendor", "pgp": "pgp", "onion": "onion"}


class EntryNotFound(UserError):
    """No entry with that id (or none the caller may see)."""


class EntryForbidden(UserError):
    """The caller sees the entry but may not remove it."""


@dataclass(frozen=True)
class WatchEntry:
    entry_id: str
    kind: str
    value: str
    query: str
    list: str
    shared: bool
    owner_id: str
    owner_name: str
    note: str
    created_at: str

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    def visible_to(self, viewer_id: str | None) -> bool:
        """Shared, or owned by ``viewer_id``."""
        return self.shared or (viewer_id is not None and self.owner_id == viewer_id)


def _clean(text: str | None, limit: int) -> str:
    """``text`` without control characters, stripped and capped."""
    kept = "".join(char for char in (text or "") if unicodedata.category(char)[0] != "C" or char == " ")
    return kept.strip()[:limit]


def entry_query(kind: str, value: str) -> str:
    """The query-language text of an entry of ``kind`` watching ``value``.

    :raises config.errors.UserError: an unknown kind, or a value that is empty
        (after normalising) or longer than :data:`MAX_VALUE_CHARS`.
    """
    if kind not in ENTRY_KINDS:
        raise UserError(_("unknown watchlist entry kind {kind}; choose one of: {choices}", kind=repr(kind),
                          choices=", ".join(ENTRY_KINDS)))
    if len(value) > MAX_VALUE_CHARS:
        raise UserError(_("a watchlist value has at most {count} characters", count=MAX_VALUE_CHARS))
    text = value.strip()
    if kind == "query":
        return text
    if kind == "pgp":
        text = normalise_fingerprint(text)
    elif kind == "onion":
        text = onion_host_from_input(text)
    if not text:
        raise UserError(_("a {kind} entry needs a value", kind=kind))
    return f"{_FIELD_OF_KIND[kind]}:{quote_value(text)}"


def check_entry(kind: str, value: str, limits: QueryLimits | None = None) -> str:
    """The query text of the entry, once the search's parser and compiler accept it for every searched kind.

    :raises search.query.QueryError: the query is malformed or over ``limits``
        (the same error, and message, as a search with that query), or it
        matches everything (an empty query).
    :raises config.errors.UserError: as :func:`entry_query`.
    """
    text = entry_query(kind, value)
    node = parse(text, limits)
    if isinstance(node, MatchAll):
        raise QueryError(N_("a watchlist query needs at least one term (an empty query would match every page)"))
    for searched in SEARCHED_KINDS:
        build_query(node, searched, limits)
    return text


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def watchlists_index(prefix: str) -> str:
    return alias_name(prefix, "watchlists")


def _entry(source: dict[str, Any]) -> WatchEntry | None:
    try:
        return WatchEntry(
            entry_id=str(source["entry_id"]), kind=str(source["kind"]), value=str(source.get("value") or ""),
            query=str(source["query"]), list=str(source.get("list") or DEFAULT_LIST),
            shared=bool(source.get("shared")), owner_id=str(source.get("owner_id") or ""),
            owner_name=str(source.get("owner_name") or ""), note=str(source.get("note") or ""),
            created_at=str(source.get("created_at") or ""),
        )
    except (KeyError, TypeError):
        return None


def _ensure_indices(client: Any, prefix: str, templates_dir: Path | None) -> None:
    from pipelines.indices import ensure_indices

    ensure_indices(client, prefix, templates_dir=templates_dir)


def add_entry(
    client: Any, prefix: str, kind: str, value: str, *, owner_id: str = "", owner_name: str = "",
    shared: bool = False, list_name: str | None = None, note: str | None = None,
    limits: QueryLimits | None = None, templates_dir: Path | None = None,
) -> WatchEntry:
    """Check and store a new entry; returns it.

    An entry without ``owner_id`` is always shared (nobody else could see it).
    The indices are set up first when they do not exist yet.

    :raises search.query.QueryError: as :func:`check_entry`.
    :raises config.errors.UserError: as :func:`entry_query`.
    """
    query = check_entry(kind, value, limits)
    entry = WatchEntry(
        entry_id=watch_entry_doc_id(),
        kind=kind,
        value=_clean(value, MAX_VALUE_CHARS),
        query=query,
        list=_clean(list_name, MAX_LIST_CHARS) or DEFAULT_LIST,
        shared=bool(shared or not owner_id),
        owner_id=owner_id,
        owner_name=_clean(owner_name, MAX_LIST_CHARS),
        note=_clean(note, MAX_NOTE_CHARS),
        created_at=_now(),
    )
    _ensure_indices(client, prefix, templates_dir)
    client.index(index=watchlists_index(prefix), id=entry.entry_id, document=entry.to_json(),
                 op_type="create", refresh="wait_for")
    return entry


def list_entries(client: Any, prefix: str, viewer_id: str | None = None, everything: bool = False) -> list[WatchEntry]:
    """The entries ``viewer_id`` sees (shared and its own; ``everything``: all), newest first, at most :data:`MAX_ENTRIES`."""
    from elasticsearch import NotFoundError

    query: dict[str, Any] = {"match_all": {}}
    if not everything:
        visible: list[dict[str, Any]] = [{"term": {"shared": True}}]
        if viewer_id:
            visible.append({"term": {"owner_id": viewer_id}})
        query = {"bool": {"should": visible, "minimum_should_match": 1}}
    try:
        response = client.search(index=watchlists_index(prefix), query=query, size=MAX_ENTRIES,
                                  sort=[{"created_at": "desc"}, {"entry_id": "asc"}])
    except NotFoundError:
        return []
    entries = [_entry(hit["_source"]) for hit in response["hits"]["hits"]]
    return [entry for entry in entries if entry is not None]


def get_entry(client: Any, prefix: str, entry_id: str) -> WatchEntry | None:
    """The entry ``entry_id``, or None."""
    from elasticsearch import NotFoundError

    if not entry_id or len(entry_id) > 64:
        return None
    try:
        response = client.get(index=watchlists_index(prefix), id=entry_id)
    except NotFoundError:
        return None
    return _entry(response["_source"])


def remove_entry(client: Any, prefix: str, entry_id: str, remover_id: str | None = None,
                 remover_role: str | None = None) -> WatchEntry:
    """Delete entry ``entry_id``; returns it.  ``remover_role`` None is the command line (may remove any).

    Its alerts stay (they are the record of what was seen).

    :raises EntryNotFound: no such entry, or one the remover may not see.
    :raises EntryForbidden: a viewer, or an analyst removing another token's entry.
    """
    entry = get_entry(client, prefix, entry_id)
    everything = remover_role in (None, "admin")
    if entry is None or not (everything or entry.visible_to(remover_id)):
        raise EntryNotFound(_("no watchlist entry {entry_id}; `onionscope watch list` shows the ids",
                              entry_id=repr(entry_id[:64])))
    if remover_role is not None and remover_role not in ("analyst", "admin"):
        raise EntryForbidden(_("removing a watchlist entry needs an analyst or admin token"))
    client.delete(index=watchlists_index(prefix), id=entry.entry_id, refresh="wait_for")
    return entry
