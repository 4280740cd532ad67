"""The investigator query language: parse it, and turn it into Elasticsearch DSL.

One language serves the API, the web UI and the CLI::

    fentanyl "next day delivery" market:alpha coin:xmr -escrow
    (mdma OR molly) AND NOT country:nl date:2026-01-01..2026-02-01
    vendor:"Dr Green" after:2026-03-01 before:2026-04-01

It is three parts along its seams:

* :mod:`search.query.syntax` -- text -> tokens -> syntax tree (:func:`parse`, :func:`quote_value`);
* :mod:`search.query.tree` -- the tree's nodes, :class:`QueryError`, :func:`field_values`;
* :mod:`search.query.compiler` -- tree -> Elasticsearch ``query`` (:func:`build_query`);
* :mod:`search.query.limits` -- what one query may cost (:class:`QueryLimits`,
  :class:`QueryLimitError` naming the setting whose limit was hit);

and the field catalogue it reads, which is the index schema's: :data:`FIELDS`
(every ``field:`` the language knows; :data:`config.schema.QUERY_FIELDS`) and
:data:`KINDS` (the kinds one can search and the fields each searches by text;
:data:`config.schema.SEARCH_KINDS`).

Public API: :func:`parse` (text) -> :data:`Node`, raising :class:`QueryError`
with the 1-based ``column`` of the problem; :func:`build_query` (node, kind)
-> a ``query`` dict made of bool/match/term/range clauses, in which crawled
text and user input are only ever values (nothing is interpolated into a
``query_string``); :func:`field_values`; :func:`quote_value`; the bounds
:data:`MAX_QUERY_CHARS`, :data:`MAX_CLAUSES`, :data:`MAX_DEPTH`.

Nothing here touches the network.
"""

from __future__ import annotations

from config.schema import QUERY_FIELDS as FIELDS
from config.schema import SEARCH_KINDS as KINDS
from search.query.compiler import build_query
from search.query.limits import QueryLimitError, QueryLimits
from search.query.syntax import MAX_CLAUSES, MAX_DEPTH, MAX_QUERY_CHARS, OPERATORS, parse, quote_value
from search.query.tree import (
    And,
    DateRange,
    FieldMatch,
    MatchAll,
    Node,
    Not,
    Or,
    Phrase,
    QueryError,
    Word,
    field_values,
)

__all__ = [
    "FIELDS", "KINDS", "MAX_CLAUSES", "MAX_DEPTH", "MAX_QUERY_CHARS", "OPERATORS", "And", "DateRange", "FieldMatch",
    "MatchAll", "Node", "Not", "Or", "Phrase", "QueryError", "QueryLimitError", "QueryLimits", "Word", "build_query", "field_values", "parse",
    "quote_value",
]
