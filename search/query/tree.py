"""The syntax tree of a query, and the error a query that is not accepted raises.

The parser (:mod:`search.query.syntax`) builds these nodes and the compiler
(:mod:`search.query.compiler`) reads them; nothing else is shared between the two.

Public API:

* the nodes :class:`Word`, :class:`Phrase`, :class:`FieldMatch`,
  :class:`DateRange`, :class:`And`, :class:`Or`, :class:`Not`,
  :class:`MatchAll`, and :data:`Node`, any of them;
* :class:`QueryError` -- carries the 1-based ``column`` of the problem;
* :func:`field_values` (node, name) -> every value given to ``name:`` in the tree.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Union

from config.errors import UserError
from config.i18n import N_, Translator, translator


class QueryError(UserError):
    """A query (or search parameter) that is not accepted; ``column`` (1-based) points into the query text.

    ``column`` is None for problems outside the query text (an unknown kind,
    sort or export format, a bad limit or cursor).  ``message`` and ``hint``
    are message ids of the catalogue (:mod:`config.i18n`) whose ``{name}``
    placeholders take ``params`` (the user's own text, shown as given):
    ``str()`` and :attr:`reason` are English, for the API and the logs, and
    :meth:`localized` says it in another language (the command's).
    """

    def __init__(self, message: str, column: int | None = None, hint: str | None = None, /, **params: object):
        self.message_id = message
        self.hint_id = hint
        self.params = params
        self.column = column
        english = translator("en")
        self.reason = self._reason(english)
        self.hint = english(hint, **params) if hint else None
        super().__init__(self.localized(english))

    def _reason(self, translate: Translator) -> str:
        return translate(self.message_id, **self.params)

    def localized(self, translate: Translator) -> str:
        """The whole message in ``translate``'s language: the reason, the column, the hint."""
        text = self._reason(translate)
        if self.column is not None:
            text = translate(N_("{reason} at column {column}"), reason=text, column=self.column)
        if self.hint_id:
            text += "; " + translate(self.hint_id, **self.params)
        return text


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


def field_values(node: Node, name: str) -> list[str]:
    """Every value given to ``name:`` anywhere in the query (for pre-selecting facets)."""
    if isinstance(node, FieldMatch):
        return [node.value] if node.name == name else []
    if isinstance(node, (And, Or)):
        return [value for child in node.children for value in field_values(child, name)]
    return []
