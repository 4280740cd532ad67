"""What one query may make Elasticsearch do: the caps, and the error that names the one that was hit.

The parser (:mod:`search.query.syntax`) counts terms as it reads; the
compiler (:mod:`search.query.compiler`) counts the clauses and wildcards it
makes.  Regular expressions, fuzzy, prefix and ``query_string`` queries are
never made at all, so there is nothing of theirs to cap.

Public API:

* :class:`QueryLimits` -- ``max_terms``, ``max_clauses``, ``max_wildcards``;
  :meth:`QueryLimits.from_settings` reads the settings ``query_max_terms``,
  ``query_max_clauses`` and ``query_max_wildcards``; ``QueryLimits()`` has
  their defaults (:data:`config.settings.DEFAULTS`).
* :class:`QueryLimitError` -- a :class:`~search.query.tree.QueryError` whose
  ``setting`` names the limit that was hit (the API answers 400 with it).
* :func:`count_terms` (text) -> how many terms Elasticsearch's standard
  analyser may make of a word or phrase (an upper bound).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from config.i18n import N_, Translator
from config.settings import DEFAULTS
from search.query.tree import QueryError

# Runs of letters and digits; ideographs are each a term of their own; the
# standard tokenizer cuts a run longer than 255 characters.
_WORD_RUN = re.compile(r"\w+")
_IDEOGRAPH = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff\U00020000-\U0003134f]")
_MAX_TOKEN_CHARS = 255


def count_terms(text: str) -> int:
    """An upper bound of the terms the standard analyser makes of ``text`` (at least 1)."""
    runs = sum(1 + len(run) // _MAX_TOKEN_CHARS for run in _WORD_RUN.findall(text))
    return max(1, runs + len(_IDEOGRAPH.findall(text)))


class QueryLimitError(QueryError):
    """A query over one of the :class:`QueryLimits`; ``setting`` is the setting that sets it."""

    def __init__(self, message: str, setting: str, column: int | None = None, /, **params: object):
        self.setting = setting
        super().__init__(message, column, None, **params)

    def _reason(self, translate: Translator) -> str:
        return translate(N_("{reason} (limit: setting {setting})"), reason=translate(self.message_id, **self.params),
                         setting=self.setting)


def _default(key: str) -> int:
    return int(DEFAULTS[key].default)


@dataclass(frozen=True)
class QueryLimits:
    """How much one query may ask of Elasticsearch."""

    max_terms: int = _default("query_max_terms")
    max_clauses: int = _default("query_max_clauses")
    max_wildcards: int = _default("query_max_wildcards")

    @classmethod
    def from_settings(cls, settings: Any) -> "QueryLimits":
        """The limits in ``settings`` (``query_max_terms``, ``query_max_clauses``, ``query_max_wildcards``)."""
        return cls(settings["query_max_terms"], settings["query_max_clauses"], settings["query_max_wildcards"])
