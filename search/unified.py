"""The one search box: a query over every kind at once, or over one kind; the CLI, the API and the UI all call it.

The default search (kind ``all``) runs the query over pages, listings, vendors,
wallets and onions in one ``_msearch``: each kind answers with its count and
its top hits, built by the very request body a search of that kind alone sends
(:func:`search.results.build_search_body`), so the count shown beside a kind is
the total that clicking through to it finds.  Asking for one kind is the
per-kind search of :mod:`search.results` with its facets and cursors.

Public API:

* :data:`ALL`, :data:`DEFAULT_KIND` (``"all"``), :data:`UNIFIED_KINDS` (the kinds it covers, in order shown),
  :data:`SCOPES` (``all`` and every searchable kind: what ``kind`` may be);
* :class:`UnifiedResult` -- counts per kind, top hits per kind; ``to_json()`` is the API's and CLI's JSON;
* :func:`unified_steps` (index_prefix, query_text, top, limits) -- the search over every kind as
  :mod:`search.es_steps` requests;
* :func:`find_steps` (index_prefix, query_text, kind=DEFAULT_KIND, **options) -- THE entry point:
  ``kind="all"`` gives a :class:`UnifiedResult`, any other kind a :class:`search.results.SearchResult`;
  :func:`find` runs it with the blocking client.

Both raise :class:`search.query.QueryError` for a malformed query, unknown kind
or sort, and :class:`search.query.QueryLimitError` for a query over the limits;
Elasticsearch errors propagate unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Union

from config.i18n import N_
from config.schema import SEARCH_KINDS, alias_name
from search.es_steps import Msearch, Steps, run
from search.query import QueryError, QueryLimits, parse
from search.results import MAX_LIMIT, Hit, SearchResult, build_search_body, hit_json, search_steps, shape_hit

ALL = "all"
DEFAULT_KIND = ALL
UNIFIED_KINDS: tuple[str, ...] = ("pages", "listings", "vendors", "wallets", "onions")
SCOPES: tuple[str, ...] = (ALL, *SEARCH_KINDS)
DEFAULT_TOP = 3


@dataclass
class UnifiedResult:
    """The answer of a search over every kind: per kind, its total (exact or a lower bound) and its top hits."""

    query: str
    counts: dict[str, int]
    counts_exact: dict[str, bool]
    hits: dict[str, list[Hit]]
    took_ms: int = 0
    kind: str = ALL
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def total_is_exact(self) -> bool:
        return all(self.counts_exact.values())

    def to_json(self) -> dict[str, Any]:
        return {
            "query": self.query,
            "kind": self.kind,
            "total": self.total,
            "total_is_exact": self.total_is_exact,
            "took_ms": self.took_ms,
            "counts": dict(self.counts),
            "counts_exact": dict(self.counts_exact),
            "hits": {kind: [hit_json(hit) for hit in hits] for kind, hits in self.hits.items()},
        }


def unified_steps(index_prefix: str, query_text: str, *, top: int = DEFAULT_TOP,
                  limits: QueryLimits | None = None) -> Steps:
    """The query over :data:`UNIFIED_KINDS` in one multi-search; returns a :class:`UnifiedResult`.

    Each kind's body is the per-kind search's (relevance order, highlights),
    without facets and with ``top`` hits.  Raises QueryError / QueryLimitError
    as :func:`search.results.search_steps` does.
    """
    if not 1 <= top <= MAX_LIMIT:
        raise QueryError(N_("limit must be between 1 and {maximum}"), None, None, maximum=MAX_LIMIT)
    node = parse(query_text, limits)
    bodies = [(kind, build_search_body(node, kind, limit=top, with_facets=False, limits=limits))
              for kind in UNIFIED_KINDS]
    answers = yield Msearch(tuple((alias_name(index_prefix, kind), body) for kind, body in bodies))
    counts: dict[str, int] = {}
    exact: dict[str, bool] = {}
    hits: dict[str, list[Hit]] = {}
    took = 0
    for (kind, _body), answer in zip(bodies, answers):
        total = (answer.get("hits") or {}).get("total") or {"value": 0, "relation": "eq"}
        counts[kind] = int(total["value"])
        exact[kind] = total.get("relation") == "eq"
        hits[kind] = [shape_hit(raw_hit, kind) for raw_hit in (answer.get("hits") or {}).get("hits", [])]
        took = max(took, int(answer.get("took", 0)))
    return UnifiedResult(query=query_text, counts=counts, counts_exact=exact, hits=hits, took_ms=took)


def find_steps(index_prefix: str, query_text: str, *, kind: str = DEFAULT_KIND, limit: int = 20,
               top: int = DEFAULT_TOP, limits: QueryLimits | None = None, **options: Any) -> Steps:
    """The search of the search box: every kind (``kind="all"``, the default) or one kind with facets.

    ``options`` (sort, cursor, cursor_secret, with_facets, with_highlights,
    result_window) are the per-kind search's (:func:`search.results.search_steps`);
    ``top`` is the hits shown per kind of the search over every kind.  Returns
    a :class:`UnifiedResult` or a :class:`~search.results.SearchResult`.
    """
    if kind == ALL:
        if options.get("cursor"):
            raise QueryError(N_("a search over every kind has no next page; choose one kind to page through it"))
        if options.get("sort", "relevance") != "relevance":
            raise QueryError(N_("a search over every kind sorts by relevance; choose one kind to sort by date"))
        return (yield from unified_steps(index_prefix, query_text, top=top, limits=limits))
    if kind not in SEARCH_KINDS:
        raise QueryError(N_("unknown kind '{kind}' (choose {choices})"), None, None, kind=kind, choices=", ".join(SCOPES))
    return (yield from search_steps(index_prefix, query_text, kind=kind, limit=limit, limits=limits, **options))


AnyResult = Union[UnifiedResult, SearchResult]


def find(client: Any, index_prefix: str, query_text: str, **options: Any) -> AnyResult:
    """:func:`find_steps` run with the blocking client (the CLI's and exports' path)."""
    return run(client, find_steps(index_prefix, query_text, **options))
