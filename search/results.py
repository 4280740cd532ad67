"""Running a search and shaping what comes back: hits, highlights, facets, cursors.

Public API:

* :func:`search` (client, index_prefix, query_text, kind, ...) -> :class:`SearchResult`;
  raises :class:`search.query.QueryError` for a bad query or cursor and lets
  the Elasticsearch client's errors through (the API maps them to 503/502).
* :func:`search_steps` -- the same as :mod:`search.es_steps` requests (the API's async path).
* :func:`build_search_body` -- the request body alone (the benchmark sends it
  straight to Elasticsearch to compare).
* :func:`encode_cursor` / :func:`decode_cursor` -- opaque ``search_after``
  cursors bound to the query, kind and sort they came from, signed by
  :mod:`search.signing` (the same signer as the session cookies); a cursor
  also carries how many hits came before it, so paging stops at the result
  window (setting ``search_max_window``).
* :func:`snippet_segments` -- a highlighted fragment as ``[{"text", "hit"}]``
  segments, so no crawled text is ever treated as markup by any renderer.
* :func:`hit_json` (hit) -> one hit as JSON; :func:`shape_hit` (raw hit, kind) -> :class:`Hit`.
* :func:`shape_facets` -- the facets of an answer, values shown in the
  schema's vocabulary (coins by ticker on every kind).

What each kind searches, highlights, sorts by and shows as title, and which
facets it has, are the index schema's (:data:`config.schema.SEARCH_KINDS`,
:data:`config.schema.FACETS`).

Highlights use private-use characters as tags rather than HTML: the renderer
escapes every segment and adds its own ``<mark>``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from config.i18n import N_
from config.schema import FACETS, SEARCH_KINDS, alias_name
from config.settings import DEFAULTS
from search.es_steps import Search, Steps, run
from search.query import Node, QueryError, QueryLimitError, QueryLimits, build_query, parse
from search.signing import CURSOR_PURPOSE, BadSignedValue, sign_value, unsign_value

HIGHLIGHT_PRE = "\ue000"
HIGHLIGHT_POST = "\ue001"
SORTS = ("relevance", "date")
MAX_LIMIT = 100
# Hits one search can page through (setting search_max_window).
DEFAULT_RESULT_WINDOW = int(DEFAULTS["search_max_window"].default)
FACET_SIZE = 10
SNIPPET_CHARS = 180
# Fields too large to ship with every hit; highlights carry the relevant part.
HEAVY_FIELDS = ("text", "links", "onion_links", "contacts")


@dataclass
class Hit:
    id: str
    kind: str
    title: str
    score: float | None
    source: dict[str, Any]
    snippets: list[list[dict[str, Any]]]


@dataclass
class SearchResult:
    query: str
    kind: str
    sort: str
    total: int
    total_is_exact: bool
    hits: list[Hit]
    facets: dict[str, list[dict[str, Any]]]
    next_cursor: str | None
    took_ms: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "query": self.query,
            "kind": self.kind,
            "sort": self.sort,
            "total": self.total,
            "total_is_exact": self.total_is_exact,
            "took_ms": self.took_ms,
            "next_cursor": self.next_cursor,
            "facets": self.facets,
            "hits": [hit_json(hit) for hit in self.hits],
        }


def hit_json(hit: Hit) -> dict[str, Any]:
    """One hit as the API's and CLI's JSON shows it."""
    return {"id": hit.id, "kind": hit.kind, "title": hit.title, "score": hit.score, "snippets": hit.snippets,
            "source": hit.source}


def _sort_clause(kind: str, sort: str) -> list[dict[str, Any]]:
    spec = SEARCH_KINDS[kind]
    by_date = {spec.date_field: {"order": "desc", "missing": "_last", "unmapped_type": "date"}}
    tiebreak = [
        {name: {"order": "asc", "missing": "_last", "unmapped_type": "keyword"}} for name in spec.tiebreak
    ]
    if sort == "date":
        return [by_date, *tiebreak]
    return [{"_score": {"order": "desc"}}, by_date, *tiebreak]


def build_search_body(
    node: Node,
    kind: str,
    *,
    sort: str = "relevance",
    limit: int = 20,
    search_after: list[Any] | None = None,
    with_facets: bool = True,
    with_highlights: bool = True,
    limits: QueryLimits | None = None,
) -> dict[str, Any]:
    """The body of one Elasticsearch ``_search`` for ``node`` over ``kind``.

    Raises :class:`QueryError` for an unknown sort or kind and
    :class:`~search.query.QueryLimitError` for a query over ``limits``.
    """
    if sort not in SORTS:
        raise QueryError(N_("unknown sort '{sort}' (choose {first} or {second})"), None, None, sort=sort, first=SORTS[0],
                         second=SORTS[1])
    body: dict[str, Any] = {
        "query": build_query(node, kind, limits),
        "size": max(0, min(limit, MAX_LIMIT)),
        "sort": _sort_clause(kind, sort),
        "_source": {"excludes": list(HEAVY_FIELDS)},
        "track_total_hits": 10_000,
    }
    if search_after is not None:
        body["search_after"] = search_after
    if with_highlights:
        body["highlight"] = {
            "pre_tags": [HIGHLIGHT_PRE],
            "post_tags": [HIGHLIGHT_POST],
            "fragment_size": SNIPPET_CHARS,
            "number_of_fragments": 2,
            "no_match_size": SNIPPET_CHARS,
            # Pages keep up to 200k characters; bound the highlighter's work.
            "max_analyzed_offset": 100_000,
            # The title is highlighted whole; long text fields give fragments.
            "fields": {
                name: ({"number_of_fragments": 0} if name == SEARCH_KINDS[kind].title_highlight else {})
                for name in SEARCH_KINDS[kind].highlight_fields
            },
        }
    if with_facets:
        body["aggs"] = {
            name: {"terms": {"field": facet.fields[kind], "size": FACET_SIZE}}
            for name, facet in FACETS.items()
            if kind in facet.fields
        }
    return body


def snippet_segments(fragment: str) -> list[dict[str, Any]]:
    """Split a highlighted fragment into plain and highlighted segments.

    Stray markers (crawled text may contain the private-use characters too)
    only toggle highlighting; they can never produce markup.
    """
    if HIGHLIGHT_PRE not in fragment and HIGHLIGHT_POST not in fragment:
        return [{"text": fragment, "hit": False}] if fragment else []
    # str.split, not a regex: several times faster on these strings.  Text
    # right after a start marker is highlighted; text after an end marker, or
    # before any marker, is not (a stray marker only toggles, as above).
    segments: list[dict[str, Any]] = []
    for index, part in enumerate(fragment.split(HIGHLIGHT_PRE)):
        pieces = part.split(HIGHLIGHT_POST)
        if pieces[0]:
            segments.append({"text": pieces[0], "hit": index > 0})
        for piece in pieces[1:]:
            if piece:
                segments.append({"text": piece, "hit": False})
    return segments


def _query_fingerprint(query_text: str, kind: str, sort: str) -> str:
    return hashlib.sha256("\0".join((query_text, kind, sort)).encode()).hexdigest()[:24]


def encode_cursor(secret: bytes, query_text: str, kind: str, sort: str, sort_values: list[Any],
                  offset: int = 0) -> str:
    """An opaque cursor for the page after the hit whose sort values are given (signed by :mod:`search.signing`).

    ``offset`` is how many hits came before the page it opens.
    """
    return sign_value(secret, CURSOR_PURPOSE,
                      {"q": _query_fingerprint(query_text, kind, sort), "a": sort_values, "n": offset})


def decode_cursor(secret: bytes, cursor: str, query_text: str, kind: str, sort: str) -> list[Any]:
    """The ``search_after`` values in ``cursor``; raises QueryError if it was altered or is for another query."""
    return _decode_cursor(secret, cursor, query_text, kind, sort)[0]


def _decode_cursor(secret: bytes, cursor: str, query_text: str, kind: str, sort: str) -> tuple[list[Any], int]:
    try:
        data = unsign_value(secret, CURSOR_PURPOSE, cursor)
    except BadSignedValue:
        raise QueryError(N_("the cursor is not valid; start the search again")) from None
    if not isinstance(data, dict):
        raise QueryError(N_("the cursor is not valid; start the search again"))
    if data.get("q") != _query_fingerprint(query_text, kind, sort):
        raise QueryError(N_("the cursor belongs to another query; start the search again"))
    values = data.get("a")
    offset = data.get("n", 0)
    if not isinstance(values, list) or not isinstance(offset, int) or isinstance(offset, bool) or offset < 0:
        raise QueryError(N_("the cursor is not valid; start the search again"))
    return values, offset


def shape_facets(aggregations: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """The facets of an answer: per facet, ``[{"value", "count"}]`` with the most frequent first.

    Values are shown as the schema says (:attr:`config.schema.Facet.show`):
    coins by ticker, so ``bitcoin`` on pages and wallets and ``btc`` on
    listings are one value ``btc``, and buckets shown alike add up their counts.
    """
    facets: dict[str, list[dict[str, Any]]] = {}
    for name, agg in aggregations.items():
        buckets = [(str(bucket["key"]), int(bucket["doc_count"])) for bucket in agg.get("buckets", [])]
        show = FACETS[name].show if name in FACETS else None
        if show is None:
            facets[name] = [{"value": value, "count": count} for value, count in buckets]
            continue
        counts: dict[str, int] = {}
        for value, count in buckets:
            shown = show(value) or value
            counts[shown] = counts.get(shown, 0) + count
        # Merged buckets keep Elasticsearch's order: count first, then value.
        facets[name] = [{"value": value, "count": count}
                        for value, count in sorted(counts.items(), key=lambda item: (-item[1], item[0]))]
    return facets


def shape_hit(raw_hit: dict[str, Any], kind: str) -> Hit:
    """One Elasticsearch hit as a :class:`Hit` with segment snippets."""
    source = dict(raw_hit.get("_source") or ())
    snippets: list[list[dict[str, Any]]] = []
    highlight = raw_hit.get("highlight")
    if highlight:
        title_highlight = SEARCH_KINDS[kind].title_highlight
        for name in SEARCH_KINDS[kind].highlight_fields:
            if name != title_highlight:
                fragments = highlight.get(name)
                if fragments:
                    snippets.extend(map(snippet_segments, fragments))
        title_fragments = highlight.get(title_highlight)
        if title_fragments:
            for fragment in title_fragments:
                if HIGHLIGHT_PRE in fragment:
                    source["_title_segments"] = snippet_segments(title_fragments[0])
                    break
    return Hit(
        id=str(raw_hit.get("_id")),
        kind=kind,
        title=str(source.get(SEARCH_KINDS[kind].title_field) or ""),
        score=raw_hit.get("_score"),
        source=source,
        snippets=snippets,
    )


def search_steps(
    index_prefix: str,
    query_text: str,
    *,
    kind: str = "pages",
    sort: str = "relevance",
    limit: int = 20,
    cursor: str | None = None,
    cursor_secret: bytes = b"",
    with_facets: bool = True,
    with_highlights: bool = True,
    limits: QueryLimits | None = None,
    result_window: int = DEFAULT_RESULT_WINDOW,
) -> Steps:
    """:func:`search` as :mod:`search.es_steps` requests (the API runs it with the async client).

    Raises :class:`QueryError` for a malformed query, unknown kind or sort, or
    a cursor that was altered or belongs to another query;
    :class:`~search.query.QueryLimitError` for a query over ``limits`` or a
    page that would end past the first ``result_window`` hits (no cursor is
    handed out for such a page).  Elasticsearch errors (unreachable, missing
    index) propagate unchanged.
    """
    if kind not in SEARCH_KINDS:
        raise QueryError(N_("unknown kind '{kind}' (choose {choices})"), None, None, kind=kind,
                         choices=", ".join(SEARCH_KINDS))
    if not 1 <= limit <= MAX_LIMIT:
        raise QueryError(N_("limit must be between 1 and {maximum}"), None, None, maximum=MAX_LIMIT)
    node = parse(query_text, limits)
    search_after, offset = _decode_cursor(cursor_secret, cursor, query_text, kind, sort) if cursor else (None, 0)
    if offset + limit > result_window:
        raise QueryLimitError(N_("this page would end past hit {window}: a search pages through at most its "
                                 "first {window} hits; narrow the query"), "search_max_window", window=result_window)
    body = build_search_body(
        node,
        kind,
        sort=sort,
        limit=limit,
        search_after=search_after,
        with_facets=with_facets,
        with_highlights=with_highlights,
        limits=limits,
    )
    raw = yield Search(alias_name(index_prefix, kind), body, lenient=False)
    raw_hits = raw["hits"]["hits"]
    total = raw["hits"]["total"]
    next_cursor = None
    served = offset + len(raw_hits)
    # A next page of the same size must fit in the window, or no cursor is handed out.
    if len(raw_hits) == body["size"] and raw_hits and served + limit <= result_window:
        next_cursor = encode_cursor(cursor_secret, query_text, kind, sort, raw_hits[-1]["sort"], served)
    return SearchResult(
        query=query_text,
        kind=kind,
        sort=sort,
        total=int(total["value"]),
        total_is_exact=total.get("relation") == "eq",
        hits=[shape_hit(raw_hit, kind) for raw_hit in raw_hits],
        facets=shape_facets(raw.get("aggregations") or {}),
        next_cursor=next_cursor,
        took_ms=int(raw.get("took", 0)),
    )


def search(client: Any, index_prefix: str, query_text: str, **options: Any) -> SearchResult:
    """Parse ``query_text``, run it against ``<index_prefix>-<kind>`` and shape the answer.

    Options as :func:`search_steps`: kind, sort, limit, cursor, cursor_secret,
    with_facets, with_highlights, limits, result_window.  Raises :class:`QueryError` for a malformed
    query, unknown kind or sort, or a cursor that was altered or belongs to
    another query; Elasticsearch errors propagate unchanged.
    """
    return run(client, search_steps(index_prefix, query_text, **options))
