"""The investigator query language: parse it, and turn it into Elasticsearch DSL.

One language serves the API, the web UI and the CLI::

    fentanyl "next day delivery" market:alpha coin:xmr -escrow
    (mdma OR molly) AND NOT country:nl date:2026-01-01..2026-02-01
    vendor:"Dr Green" after:2026-03-01 before:2026-04-01

Public API:

* :func:`parse` (text) -> :class:`Node` (the syntax tree); raises
  :class:`QueryError` carrying the 1-based ``column`` of the problem.
* :func:`build_query` (node, kind) -> a ``query`` dict for Elasticsearch,
  made of bool/match/match_phrase/term/range clauses.  Crawled text and user
  input are only ever values inside those clauses: nothing is interpolated into
  a ``query_string``, so no input can change the shape of the query.
* :data:`FIELDS` -- every ``field:`` the language knows; :data:`KINDS` -- the
  document kinds one can search and the fields each searches by text.
* :data:`FACETS` -- the terms aggregations shown beside results.

Nothing here touches the network.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Callable, Union

from crawler.extractors.wallet_codecs import coin_aliases
from config.errors import UserError

# Bounds that keep a hostile or accidental query from costing the cluster much.
MAX_QUERY_CHARS = 2000
MAX_CLAUSES = 64
MAX_DEPTH = 16
OPERATORS = ("AND", "OR", "NOT")


class QueryError(UserError):
    """A query (or search parameter) that is not accepted; ``column`` (1-based) points into the query text.

    ``column`` is None for problems outside the query text (an unknown kind,
    sort or export format, a bad limit or cursor).
    """

    def __init__(self, message: str, column: int | None = None, hint: str | None = None):
        where = f" at column {column}" if column is not None else ""
        super().__init__(f"{message}{where}" + (f"; {hint}" if hint else ""))
        self.reason = message
        self.column = column
        self.hint = hint


# --- syntax tree -------------------------------------------------------------


@dataclass(frozen=True)
class Word:
    text: str
    column: int


@dataclass(frozen=True)
class Phrase:
    text: str
    column: int


@dataclass(frozen=True)
class FieldMatch:
    """``field:value``; ``value`` is already normalised for its field."""

    name: str
    value: str
    column: int


@dataclass(frozen=True)
class DateRange:
    """Inclusive ``start``, exclusive ``end``; either may be None (open)."""

    start: str | None
    end: str | None
    column: int


@dataclass(frozen=True)
class And:
    children: tuple["Node", ...]


@dataclass(frozen=True)
class Or:
    children: tuple["Node", ...]


@dataclass(frozen=True)
class Not:
    child: "Node"


@dataclass(frozen=True)
class MatchAll:
    pass


Node = Union[Word, Phrase, FieldMatch, DateRange, And, Or, Not, MatchAll]


# --- fields --------------------------------------------------------------------


def _lower(value: str) -> str:
    return value.strip().lower()


def _as_is(value: str) -> str:
    return value.strip()


def _pgp(value: str) -> str:
    # Fingerprints are written in groups of four and in either case.
    return re.sub(r"\s+", "", value).upper().removeprefix("0X")


def _onion(value: str) -> str:
    host = value.strip().lower()
    host = re.sub(r"^[a-z][a-z0-9+.-]*://", "", host)
    host = host.split("/", 1)[0].split(":", 1)[0]
    if host and not host.endswith(".onion"):
        host += ".onion"
    return host


@dataclass(frozen=True)
class FieldSpec:
    """How ``name:value`` is searched: exact terms on keyword fields, any of which may match."""

    name: str
    es_fields: tuple[str, ...]
    normalise: Callable[[str], str]
    help: str
    case_insensitive: bool = True


FIELDS: dict[str, FieldSpec] = {
    spec.name: spec
    for spec in (
        FieldSpec("market", ("market", "markets"), _as_is, "market name"),
        FieldSpec("vendor", ("vendor", "name", "vendors"), _as_is, "vendor name"),
        FieldSpec("coin", ("coin", "coins", "wallets.coin"), _lower, "coin ticker or name: btc, xmr, monero..."),
        FieldSpec("wallet", ("address", "wallets", "wallets.address"), _as_is, "wallet address", case_insensitive=False),
        FieldSpec("pgp", ("pgp_fingerprints",), _pgp, "PGP fingerprint or key id (spaces ignored)"),
        FieldSpec("onion", ("onion_host", "onion_hosts"), _onion, "onion host"),
        FieldSpec("substance", ("substances", "substance_classes"), _as_is, "substance or substance class"),
        FieldSpec("country", ("ships_from", "ships_to"), _as_is, "country shipped from or to (ISO code)"),
        FieldSpec("lang", ("language",), _lower, "language code: en, de, ru..."),
        FieldSpec("email", ("emails",), _lower, "e-mail address"),
        FieldSpec("category", ("category",), _as_is, "listing category"),
    )
}
DATE_FIELDS = ("date", "after", "before")
# Dates of a document: when it was fetched, or (entities) when last seen.
DATE_ES_FIELDS = ("fetched_at", "last_seen")
KNOWN_FIELD_NAMES = tuple(FIELDS) + DATE_FIELDS


@dataclass(frozen=True)
class KindSpec:
    """A searchable document kind: its alias suffix and its full-text fields (with boosts)."""

    name: str
    text_fields: tuple[str, ...]
    highlight_fields: tuple[str, ...]
    date_field: str


# Field names follow docs/ARCHITECTURE.md "Index fields" (pipelines/indices.py).
KINDS: dict[str, KindSpec] = {
    "listings": KindSpec(
        "listings",
        ("title^3", "description", "vendor.text^2", "category.text"),
        ("title", "description"),
        "fetched_at",
    ),
    "pages": KindSpec("pages", ("title^3", "text"), ("title", "text"), "fetched_at"),
    "vendors": KindSpec("vendors", ("name.text^3",), ("name.text",), "fetched_at"),
    "wallets": KindSpec("wallets", ("address^3",), ("address",), "last_seen"),
}

# facet name -> the keyword field its terms aggregation counts, per kind.
FACETS: dict[str, dict[str, str]] = {
    "market": {"pages": "market", "listings": "market", "vendors": "market", "wallets": "markets"},
    "vendor": {"listings": "vendor", "vendors": "name", "wallets": "vendors"},
    "coin": {"pages": "wallets.coin", "listings": "coins", "wallets": "coin"},
    "substance": {"listings": "substances"},
    "country": {"listings": "ships_from"},
    "language": {"pages": "language", "listings": "language"},
}


# --- tokenizer -----------------------------------------------------------------


@dataclass(frozen=True)
class _Token:
    type: str  # "(", ")", "word", "phrase", "field", "op", "not"
    text: str
    column: int
    value: str = ""  # for "field": the raw value; "phrase" flag in quoted
    quoted: bool = False


_FIELD_NAME = re.compile(r"[A-Za-z_]+")
_WORD_STOP = set(' \t\r\n\f\v()"')


def _tokenize(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    position = 0
    length = len(text)
    while position < length:
        char = text[position]
        if char.isspace():
            position += 1
            continue
        column = position + 1
        if char in "()":
            tokens.append(_Token(char, char, column))
            position += 1
            continue
        if char == '"':
            end = text.find('"', position + 1)
            if end < 0:
                raise QueryError("unterminated quote", column)
            tokens.append(_Token("phrase", text[position + 1 : end], column))
            position = end + 1
            continue
        if char == "-" and position + 1 < length and not text[position + 1].isspace():
            # A leading minus negates what follows (a word, phrase, field or group).
            tokens.append(_Token("not", "-", column))
            position += 1
            continue
        end = position
        while end < length and text[end] not in _WORD_STOP:
            end += 1
        word = text[position:end]
        position = end
        if word in OPERATORS:
            tokens.append(_Token("not" if word == "NOT" else "op", word, column))
            continue
        name, colon, rest = word.partition(":")
        if colon and _FIELD_NAME.fullmatch(name) and not rest.startswith("//"):
            if rest == "" and position < length and text[position] == '"':
                end = text.find('"', position + 1)
                if end < 0:
                    raise QueryError("unterminated quote", position + 1)
                rest = text[position + 1 : end]
                position = end + 1
                tokens.append(_Token("field", name, column, rest, quoted=True))
            else:
                tokens.append(_Token("field", name, column, rest))
            continue
        if not any(char.isalnum() for char in word):
            # Pure punctuation analyses to no terms and would match nothing.
            continue
        tokens.append(_Token("word", word, column))
    return tokens


# --- parser --------------------------------------------------------------------


class _Parser:
    def __init__(self, text: str, tokens: list[_Token]):
        self.text = text
        self.tokens = tokens
        self.index = 0
        self.clauses = 0

    def peek(self) -> _Token | None:
        return self.tokens[self.index] if self.index < len(self.tokens) else None

    def take(self) -> _Token:
        token = self.tokens[self.index]
        self.index += 1
        return token

    def end_column(self) -> int:
        return len(self.text) + 1

    def parse(self) -> Node:
        if not self.tokens:
            return MatchAll()
        node = self.parse_or(0)
        token = self.peek()
        if token is not None:
            # Only a stray ")" can be left over: everything else starts a term.
            raise QueryError("unbalanced ')'", token.column)
        return node

    def parse_or(self, depth: int) -> Node:
        children = [self.parse_and(depth)]
        while (token := self.peek()) is not None and token.type == "op" and token.text == "OR":
            self.take()
            children.append(self.parse_and(depth))
        return children[0] if len(children) == 1 else Or(tuple(children))

    def parse_and(self, depth: int) -> Node:
        children = [self.parse_unary(depth)]
        while (token := self.peek()) is not None and token.type != ")" and not (
            token.type == "op" and token.text == "OR"
        ):
            if token.type == "op" and token.text == "AND":
                self.take()
            children.append(self.parse_unary(depth))
        return children[0] if len(children) == 1 else And(tuple(children))

    def parse_unary(self, depth: int) -> Node:
        token = self.peek()
        if token is not None and token.type == "not":
            self.take()
            if depth >= MAX_DEPTH:
                raise QueryError(f"query nests deeper than {MAX_DEPTH} levels", token.column)
            return Not(self.parse_unary(depth + 1))
        return self.parse_primary(depth)

    def parse_primary(self, depth: int) -> Node:
        token = self.peek()
        if token is None:
            raise QueryError("expected a word, phrase or field:value after the operator", self.end_column())
        self.take()
        if token.type == "(":
            if depth >= MAX_DEPTH:
                raise QueryError(f"query nests deeper than {MAX_DEPTH} levels", token.column)
            inner = self.peek()
            if inner is not None and inner.type == ")":
                raise QueryError("empty parentheses", token.column)
            node = self.parse_or(depth + 1)
            closing = self.peek()
            if closing is None or closing.type != ")":
                raise QueryError("unclosed '('", token.column)
            self.take()
            return node
        if token.type == ")":
            raise QueryError("unbalanced ')'", token.column)
        if token.type == "op":
            raise QueryError(f"'{token.text}' needs a term on each side", token.column)
        self.count_clause(token.column)
        if token.type == "phrase":
            if not token.text.strip():
                raise QueryError("empty phrase", token.column)
            return Phrase(token.text, token.column)
        if token.type == "field":
            return _field_node(token)
        return Word(token.text, token.column)

    def count_clause(self, column: int) -> None:
        self.clauses += 1
        if self.clauses > MAX_CLAUSES:
            raise QueryError(f"query has more than {MAX_CLAUSES} terms", column)


def _field_node(token: _Token) -> Node:
    name = token.text.lower()
    if name in DATE_FIELDS:
        return _date_node(name, token.value, token.column, token.column + len(token.text) + 1)
    spec = FIELDS.get(name)
    if spec is None:
        close = difflib.get_close_matches(name, KNOWN_FIELD_NAMES, n=1)
        hint = f"did you mean '{close[0]}'?" if close else "known fields: " + ", ".join(KNOWN_FIELD_NAMES)
        raise QueryError(f"unknown field '{token.text}'", token.column, hint)
    value = spec.normalise(token.value)
    if not value:
        raise QueryError(f"'{token.text}:' needs a value", token.column)
    return FieldMatch(name, value, token.column)


_DATE_FORMATS = (
    (re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?Z?"), "datetime"),
    (re.compile(r"\d{4}-\d{2}-\d{2}"), "day"),
    (re.compile(r"\d{4}-\d{2}"), "month"),
    (re.compile(r"\d{4}"), "year"),
)


def _date_bounds(text: str, column: int) -> tuple[str, str]:
    """The [start, end) of a date written as a year, month, day or instant, as ISO strings."""
    for pattern, unit in _DATE_FORMATS:
        if pattern.fullmatch(text):
            break
    else:
        raise QueryError(f"'{text}' is not a date (write 2026-01-31, 2026-01 or 2026)", column)
    try:
        if unit == "datetime":
            instant = datetime.fromisoformat(text.removesuffix("Z"))
            return instant.strftime("%Y-%m-%dT%H:%M:%SZ"), (instant + timedelta(seconds=1)).strftime(
                "%Y-%m-%dT%H:%M:%SZ"
            )
        if unit == "day":
            day = date.fromisoformat(text)
            return f"{day.isoformat()}T00:00:00Z", f"{(day + timedelta(days=1)).isoformat()}T00:00:00Z"
        if unit == "month":
            year, month = int(text[:4]), int(text[5:7])
            start = date(year, month, 1)
            end = date(year + (month == 12), month % 12 + 1, 1)
            return f"{start.isoformat()}T00:00:00Z", f"{end.isoformat()}T00:00:00Z"
        year = int(text)
        return f"{date(year, 1, 1).isoformat()}T00:00:00Z", f"{date(year + 1, 1, 1).isoformat()}T00:00:00Z"
    except ValueError:
        raise QueryError(f"'{text}' is not a valid date", column) from None


def _date_node(name: str, value: str, column: int, value_column: int) -> DateRange:
    value = value.strip()
    if not value:
        raise QueryError(f"'{name}:' needs a date", column)
    if name == "after":
        return DateRange(_date_bounds(value, value_column)[0], None, column)
    if name == "before":
        return DateRange(None, _date_bounds(value, value_column)[0], column)
    if ".." in value:
        first, _, last = value.partition("..")
        if not first and not last:
            raise QueryError("a date range needs at least one end", value_column)
        start = _date_bounds(first, value_column)[0] if first else None
        # The end day is included: date:2026-01-01..2026-01-31 covers all of January.
        end = _date_bounds(last, value_column + len(first) + 2)[1] if last else None
        if start and end and start >= end:
            raise QueryError("the date range ends before it starts", value_column)
        return DateRange(start, end, column)
    start, end = _date_bounds(value, value_column)
    return DateRange(start, end, column)


def parse(text: str) -> Node:
    """Parse a query into its syntax tree.

    Returns :class:`MatchAll` for an empty query.  Raises :class:`QueryError`
    (with ``column``) for anything malformed: unknown field, unbalanced
    parentheses or quotes, a dangling operator, a bad date, too long or too
    deep a query.  Never raises anything else for any string.
    """
    if not isinstance(text, str):
        raise QueryError("the query must be text", 1)
    if len(text) > MAX_QUERY_CHARS:
        raise QueryError(f"query is longer than {MAX_QUERY_CHARS} characters", MAX_QUERY_CHARS + 1)
    if "\x00" in text:
        raise QueryError("the query contains a NUL character", text.index("\x00") + 1)
    return _Parser(text, _tokenize(text)).parse()


# --- Elasticsearch DSL -----------------------------------------------------------


def _field_clause(node: FieldMatch) -> dict[str, Any]:
    spec = FIELDS[node.name]
    if node.name == "pgp" and len(node.value) < 40:
        # A key id (16 hex digits) or short id: match the end of a full fingerprint.
        clauses = [
            {"wildcard": {es_field: {"value": "*" + _escape_wildcard(node.value), "case_insensitive": True}}}
            for es_field in spec.es_fields
        ]
    else:
        # A coin is stored by name on wallets and by ticker on listing prices: match both.
        values = coin_aliases(node.value) if node.name == "coin" else (node.value,)
        clauses = []
        for es_field in spec.es_fields:
            for value in values:
                term: dict[str, Any] = {"value": value}
                if spec.case_insensitive:
                    term["case_insensitive"] = True
                clauses.append({"term": {es_field: term}})
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
    clauses = [{"range": {es_field: dict(bounds)}} for es_field in DATE_ES_FIELDS]
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


def _build(node: Node, kind: KindSpec) -> dict[str, Any]:
    if isinstance(node, MatchAll):
        return {"match_all": {}}
    if isinstance(node, Word):
        return {"multi_match": {"query": node.text, "fields": list(kind.text_fields), "type": "best_fields"}}
    if isinstance(node, Phrase):
        return {"multi_match": {"query": node.text, "fields": list(kind.text_fields), "type": "phrase"}}
    if isinstance(node, FieldMatch):
        return _field_clause(node)
    if isinstance(node, DateRange):
        return _date_clause(node)
    if isinstance(node, Not):
        return {"bool": {"must_not": [_build(node.child, kind)]}}
    if isinstance(node, Or):
        return {"bool": {"should": [_build(child, kind) for child in node.children], "minimum_should_match": 1}}
    if isinstance(node, And):
        must: list[dict[str, Any]] = []
        filters: list[dict[str, Any]] = []
        must_not: list[dict[str, Any]] = []
        for child in node.children:
            if isinstance(child, Not):
                must_not.append(_build(child.child, kind))
            elif _is_filter(child):
                filters.append(_build(child, kind))
            else:
                must.append(_build(child, kind))
        bool_query: dict[str, Any] = {}
        if must:
            bool_query["must"] = must
        if filters:
            bool_query["filter"] = filters
        if must_not:
            bool_query["must_not"] = must_not
        return {"bool": bool_query}
    raise TypeError(f"not a query node: {node!r}")


def build_query(node: Node, kind: str) -> dict[str, Any]:
    """The Elasticsearch ``query`` for ``node`` over documents of ``kind``.

    Raises :class:`QueryError` for an unknown kind.  A filter-only query (for
    example ``market:alpha``) runs in filter context, so it is cached and
    scores nothing.
    """
    spec = KINDS.get(kind)
    if spec is None:
        raise QueryError(f"unknown kind '{kind}' (choose {', '.join(KINDS)})")
    query = _build(node, spec)
    if _is_filter(node) and not isinstance(node, MatchAll):
        return {"bool": {"filter": [query]}}
    return query


def field_values(node: Node, name: str) -> list[str]:
    """Every value given to ``name:`` anywhere in the query (for pre-selecting facets)."""
    if isinstance(node, FieldMatch):
        return [node.value] if node.name == name else []
    if isinstance(node, (And, Or)):
        return [value for child in node.children for value in field_values(child, name)]
    return []


def quote_value(value: str) -> str:
    """A value written so that the parser reads it back whole (for facet links)."""
    if value and not any(char in _WORD_STOP or char == ":" for char in value) and value not in OPERATORS:
        return value
    return '"' + value.replace('"', "") + '"'
