"""The query language's syntax: text -> tokens -> syntax tree.

One language serves the API, the web UI and the CLI::

    fentanyl "next day delivery" market:alpha coin:xmr -escrow
    (mdma OR molly) AND NOT country:nl date:2026-01-01..2026-02-01
    vendor:"Dr Green" after:2026-03-01 before:2026-04-01

Grammar, loosest binding first: ``OR``; ``AND`` (or nothing: words side by
side are ANDed); ``NOT`` or a leading ``-``; then a word, a ``"phrase"``, a
``field:value`` (the value may be quoted) or a parenthesised group.  The
field names and how each value is normalised are the index schema's
(:data:`config.schema.QUERY_FIELDS`); dates take a year, month, day or
instant, or a range ``first..last`` whose last day is included.

Public API:

* :func:`parse` (text, limits=None) -> :data:`~search.query.tree.Node`; raises
  :class:`~search.query.tree.QueryError` carrying the 1-based ``column`` of the problem
  (:class:`~search.query.limits.QueryLimitError` for more terms than the limits allow).
* :func:`quote_value` (value) -> the value written so that :func:`parse` reads it back whole.
* :data:`MAX_QUERY_CHARS`, :data:`MAX_DEPTH` -- the bounds that keep a
  hostile or accidental query from costing the parser much; :data:`MAX_CLAUSES`
  is the default of ``query_max_terms`` (:class:`~search.query.limits.QueryLimits`).

Pure functions; nothing here touches the network.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from config.i18n import N_
from config.schema import DATE_QUERY_FIELDS, QUERY_FIELDS
from search.query.limits import QueryLimitError, QueryLimits, count_terms
from search.query.tree import And, DateRange, FieldMatch, MatchAll, Node, Not, Or, Phrase, QueryError, Word

# Bounds that keep a hostile or accidental query from costing the cluster much.
MAX_QUERY_CHARS = 2000
MAX_CLAUSES = QueryLimits().max_terms  # the default of query_max_terms
MAX_DEPTH = 16
OPERATORS = ("AND", "OR", "NOT")
KNOWN_FIELD_NAMES = tuple(QUERY_FIELDS) + DATE_QUERY_FIELDS


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
                raise QueryError(N_("unterminated quote"), column)
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
                    raise QueryError(N_("unterminated quote"), position + 1)
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
    def __init__(self, text: str, tokens: list[_Token], limits: QueryLimits):
        self.text = text
        self.tokens = tokens
        self.index = 0
        self.terms = 0
        self.limits = limits

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
            raise QueryError(N_("unbalanced ')'"), token.column)
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
                raise QueryError(N_("query nests deeper than {depth} levels"), token.column, depth=MAX_DEPTH)
            return Not(self.parse_unary(depth + 1))
        return self.parse_primary(depth)

    def parse_primary(self, depth: int) -> Node:
        token = self.peek()
        if token is None:
            raise QueryError(N_("expected a word, phrase or field:value after the operator"), self.end_column())
        self.take()
        if token.type == "(":
            if depth >= MAX_DEPTH:
                raise QueryError(N_("query nests deeper than {depth} levels"), token.column, depth=MAX_DEPTH)
            inner = self.peek()
            if inner is not None and inner.type == ")":
                raise QueryError(N_("empty parentheses"), token.column)
            node = self.parse_or(depth + 1)
            closing = self.peek()
            if closing is None or closing.type != ")":
                raise QueryError(N_("unclosed '('"), token.column)
            self.take()
            return node
        if token.type == ")":
            raise QueryError(N_("unbalanced ')'"), token.column)
        if token.type == "op":
            raise QueryError(N_("'{operator}' needs a term on each side"), token.column, operator=token.text)
        # A word or phrase may analyse into many terms ("a-b-c", a long phrase); a field value is one.
        self.count_terms(count_terms(token.text) if token.type in ("word", "phrase") else 1, token.column)
        if token.type == "phrase":
            if not token.text.strip():
                raise QueryError(N_("empty phrase"), token.column)
            return Phrase(token.text, token.column)
        if token.type == "field":
            return _field_node(token)
        return Word(token.text, token.column)

    def count_terms(self, terms: int, column: int) -> None:
        self.terms += terms
        if self.terms > self.limits.max_terms:
            raise QueryLimitError(N_("query has more than {count} terms (each word of a phrase counts)"),
                                  "query_max_terms", column, count=self.limits.max_terms)


def _field_node(token: _Token) -> Node:
    name = token.text.lower()
    if name in DATE_QUERY_FIELDS:
        return _date_node(name, token.value, token.column, token.column + len(token.text) + 1)
    spec = QUERY_FIELDS.get(name)
    if spec is None:
        close = difflib.get_close_matches(name, KNOWN_FIELD_NAMES, n=1)
        hint = N_("did you mean '{close}'?") if close else N_("known fields: {known}")
        raise QueryError(N_("unknown field '{field}'"), token.column, hint, field=token.text,
                         close=close[0] if close else "", known=", ".join(KNOWN_FIELD_NAMES))
    value = spec.normalise(token.value)
    if not value:
        raise QueryError(N_("'{field}:' needs a value"), token.column, field=token.text)
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
        raise QueryError(N_("'{value}' is not a date (write 2026-01-31, 2026-01 or 2026)"), column, value=text)
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
        raise QueryError(N_("'{value}' is not a valid date"), column, value=text) from None


def _date_node(name: str, value: str, column: int, value_column: int) -> DateRange:
    value = value.strip()
    if not value:
        raise QueryError(N_("'{field}:' needs a date"), column, field=name)
    if name == "after":
        return DateRange(_date_bounds(value, value_column)[0], None, column)
    if name == "before":
        return DateRange(None, _date_bounds(value, value_column)[0], column)
    if ".." in value:
        first, _, last = value.partition("..")
        if not first and not last:
            raise QueryError(N_("a date range needs at least one end"), value_column)
        start = _date_bounds(first, value_column)[0] if first else None
        # The end day is included: date:2026-01-01..2026-01-31 covers all of January.
        end = _date_bounds(last, value_column + len(first) + 2)[1] if last else None
        if start and end and start >= end:
            raise QueryError(N_("the date range ends before it starts"), value_column)
        return DateRange(start, end, column)
    start, end = _date_bounds(value, value_column)
    return DateRange(start, end, column)


def parse(text: str, limits: QueryLimits | None = None) -> Node:
    """Parse a query into its syntax tree.

    Returns :class:`MatchAll` for an empty query.  Raises :class:`QueryError`
    (with ``column``) for anything malformed: unknown field, unbalanced
    parentheses or quotes, a dangling operator, a bad date, too long or too
    deep a query; :class:`QueryLimitError` for more terms than
    ``limits.max_terms`` (default :class:`QueryLimits`).  Never raises
    anything else for any string.
    """
    if not isinstance(text, str):
        raise QueryError(N_("the query must be text"), 1)
    if len(text) > MAX_QUERY_CHARS:
        raise QueryError(N_("query is longer than {count} characters"), MAX_QUERY_CHARS + 1, count=MAX_QUERY_CHARS)
    if "\x00" in text:
        raise QueryError(N_("the query contains a NUL character"), text.index("\x00") + 1)
    return _Parser(text, _tokenize(text), limits or QueryLimits()).parse()


def quote_value(value: str) -> str:
    """A value written so that the parser reads it back whole (for facet links)."""
    if value and not any(char in _WORD_STOP or char == ":" for char in value) and value not in OPERATORS:
        return value
    return '"' + value.replace('"', "") + '"'
