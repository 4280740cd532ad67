"""The query language's compiler: syntax tree -> Elasticsearch ``query`` DSL.

Public API:

* :func:`build_query` (node, kind, limits=None) -> a ``query`` dict for Elasticsearch,
  made of bool/multi_match/term/wildcard/range clauses and nothing else (no
  regexp, fuzzy, prefix, script or ``query_string``).  Crawled text and user
  input are only ever values inside those clauses: nothing is interpolated into
  a ``query_string``, so no input can change the shape of the query.  The
  clauses and wildcards made are counted against the
  :class:`~search.query.limits.QueryLimits`.

Which fields a word searches (per kind, with boosts) and which keyword fields a
``field:value`` matches are the index schema's (:data:`config.schema.SEARCH_KINDS`,
:data:`config.schema.QUERY_FIELDS`); this module only decides the clauses.

Pure functions; nothing here touches the network.
"""

from __future__ import annotations

import re
from typing import Any

from config.i18n import N_
from config.schema import DATE_FIELDS, QUERY_FIELDS, SEARCH_KINDS, SearchKind
from search.query.limits import QueryLimitError, QueryLimits, count_terms
from search.query.tree import And, DateRange, FieldMatch, MatchAll, Node, Not, Or, Phrase, QueryError, Word


class _Budget:
    """Counts the clauses and wildcards a query expands to, and stops at its limits."""

    def __init__(self, limits: QueryLimits):
        self.limits = limits
        self.clauses = 0
        self.wildcards = 0

    def spend(self, clauses: int, column: int | None, wildcards: int = 0) -> None:
        self.clauses += clauses
        self.wildcards += wildcards
        if self.wildcards > self.limits.max_wildcards:
            raise QueryLimitError(N_("query makes more than {count} wildcard (suffix) matches"),
                                  "query_max_wildcards", column, count=self.limits.max_wildcards)
        if self.clauses > self.limits.max_clauses:
            raise QueryLimitError(N_("query expands to more than {count} Elasticsearch clauses "
                                     "(a word counts once per field it searches)"), "query_max_clauses", column,
                                  count=self.limits.max_clauses)


def _field_clause(node: FieldMatch, budget: _Budget) -> dict[str, Any]:
    spec = QUERY_FIELDS[node.name]
    if spec.suffix_below is not None and len(node.value) < spec.suffix_below:
        # A key id (16 hex digits) or short id: match the end of a full fingerprint.
        clauses = [
            {"wildcard": {es_field: {"value": "*" + _escape_wildcard(node.value), "case_insensitive": True}}}
            for es_field in spec.es_fields
        ]
        budget.spend(len(clauses), node.column, wildcards=len(clauses))
    else:
        # A coin is stored by name on wallets and by ticker on listing prices: match every spelling.
        values = spec.aliases(node.value) if spec.aliases is not None else (node.value,)
        clauses = []
        for es_field in spec.es_fields:
            for value in values:
                term: dict[str, Any] = {"value": value}
                if spec.case_insensitive:
                    term["case_insensitive"] = True
                clauses.append({"term": {es_field: term}})
        budget.spend(len(clauses), node.column)
    if len(clauses) == 1:
        return clauses[0]
    return {"bool": {"should": clauses, "minimum_should_match": 1}}


def _escape_wildcard(value: str) -> str:
    return re.sub(r"([*?\\])", r"\\\1", value)


def _date_clause(node: DateRange) -> dict[str, Any]:
    bounds: dict[str, str] = {}
    if node.start:
        bounds["gte"] = node.start
    if node.end:
        bounds["lt"] = node.end
    clauses = [{"range": {es_field: dict(bounds)}} for es_field in DATE_FIELDS]
    return {"bool": {"should": clauses, "minimum_should_match": 1}}


def _is_filter(node: Node) -> bool:
    """True for clauses that only narrow results (no relevance of their own)."""
    if isinstance(node, (FieldMatch, DateRange)):
        return True
    if isinstance(node, Not):
        return True
    if isinstance(node, (And, Or)):
        return all(_is_filter(child) for child in node.children)
    return False


def _build(node: Node, kind: SearchKind, budget: _Budget) -> dict[str, Any]:
    if isinstance(node, MatchAll):
        return {"match_all": {}}
    if isinstance(node, (Word, Phrase)):
        # Elasticsearch makes a clause per analysed term and field.
        budget.spend(count_terms(node.text) * len(kind.text_fields), node.column)
        match_type = "best_fields" if isinstance(node, Word) else "phrase"
        return {"multi_match": {"query": node.text, "fields": list(kind.text_fields), "type": match_type}}
    if isinstance(node, FieldMatch):
        return _field_clause(node, budget)
    if isinstance(node, DateRange):
        budget.spend(len(DATE_FIELDS), node.column)
        return _date_clause(node)
    if isinstance(node, Not):
        return {"bool": {"must_not": [_build(node.child, kind, budget)]}}
    if isinstance(node, Or):
        return {"bool": {"should": [_build(child, kind, budget) for child in node.children],
                         "minimum_should_match": 1}}
    if isinstance(node, And):
        must: list[dict[str, Any]] = []
        filters: list[dict[str, Any]] = []
        must_not: list[dict[str, Any]] = []
        for child in node.children:
            if isinstance(child, Not):
                must_not.append(_build(child.child, kind, budget))
            elif _is_filter(child):
                filters.append(_build(child, kind, budget))
            else:
                must.append(_build(child, kind, budget))
        bool_query: dict[str, Any] = {}
        if must:
            bool_query["must"] = must
        if filters:
            bool_query["filter"] = filters
        if must_not:
            bool_query["must_not"] = must_not
        return {"bool": bool_query}
    raise TypeError(f"not a query node: {node!r}")


def build_query(node: Node, kind: str, limits: QueryLimits | None = None) -> dict[str, Any]:
    """The Elasticsearch ``query`` for ``node`` over documents of ``kind``.

    Raises :class:`QueryError` for an unknown kind, and
    :class:`~search.query.limits.QueryLimitError` when the query expands to
    more clauses or wildcards than ``limits`` (default :class:`QueryLimits`)
    allow.  A filter-only query (for example ``market:alpha``) runs in filter
    context, so it is cached and scores nothing.
    """
    spec = SEARCH_KINDS.get(kind)
    if spec is None:
        raise QueryError(N_("unknown kind '{kind}' (choose {choices})"), None, None, kind=kind,
                         choices=", ".join(SEARCH_KINDS))
    query = _build(node, spec, _Budget(limits or QueryLimits()))
    if _is_filter(node) and not isinstance(node, MatchAll):
        return {"bool": {"filter": [query]}}
    return query
