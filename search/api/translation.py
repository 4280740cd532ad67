"""The web UI in the reader's language: one template environment per language, and the choice per request.

Owns the translation of the templates' text.  The templates are plain
English HTML; :class:`TextNodeTranslation` (a Jinja extension) replaces each
text node of their source with its translation from
:mod:`config.i18n`'s catalogue when the environment compiles them, so a
template is translated once per language, not per request.  What a template
prints from data -- crawled titles, market names, prices -- is never touched:
only the template's own text is.  Expressions translate their own literals
with ``_("...")``, and values the project defines (kinds, site types,
substance classes) with the ``label`` filter.

A translation is put into the template source as it stands in the catalogue;
one that contains markup (``<`` or ``>``) is refused and the English kept,
so a catalogue cannot inject a tag.

Public API:

* :func:`install(environment, language)` -- gives a template environment its
  language: the text-node translation, the ``_`` and ``lang`` globals and the
  ``label`` filter.
* :func:`request_language(query_lang, accept_language, setting)` -> the language of one request:
  ``?lang=`` when it names one of ours, else the ``language`` setting, else
  (``auto``) the browser's ``Accept-Language``.
* :func:`missing_messages(environments)` -> the messages a compiled template
  asked for that the catalogue lacks, per language (the i18n tests read it).
"""

from __future__ import annotations

from typing import Any, Iterator, Mapping

import jinja2
import jinja2.ext
from jinja2.lexer import Token, TokenStream

from config.i18n import (
    N_,
    LANGUAGES,
    SOURCE_LANGUAGE,
    TextNodeScanner,
    Translator,
    choose_language,
    translate_text_nodes,
    translator,
)

#: Values the project itself defines that a template shows: translated by the ``label`` filter.
#: (Marked with N_ so the catalogue update finds them.)
PROJECT_VALUES = frozenset(
    (
        N_("listings"), N_("pages"), N_("vendors"), N_("wallets"), N_("onions"),
        N_("relevance"), N_("date"),
        # facet names (config.schema.FACETS); the query field names themselves are never translated
        N_("market"), N_("vendor"), N_("coin"), N_("substance"), N_("country"), N_("language"),
    )
)

#: Names the UI shows differently from their value (a facet's or a kind's name).
NAME_LABELS = {"site_type": N_("site type"), "all": N_("everything")}

#: Values of a facet or field that the project defines, by facet: value -> English label.
#: Crawled values of other facets (markets, vendors) are never translated.
VALUE_LABELS: dict[str, dict[str, str]] = {
    "site_type": {
        "market": N_("market"), "vendor-shop": N_("vendor shop"), "forum": N_("forum"),
        "link-list": N_("paste or link list"), "login-wall": N_("login or CAPTCHA wall"),
        "directory": N_("wiki or directory"), "other": N_("other"),
    },
    "mirror_group": {
        "mirrors": N_("mirrors"), "possible-phishing-clone": N_("possible phishing clone"),
        "near-duplicates": N_("near-duplicates"),
    },
}


class _MarkupSafeTranslator:
    """A :class:`Translator` whose translations of text nodes may not carry markup."""

    def __init__(self, inner: Translator) -> None:
        self.inner = inner

    def gettext(self, message: str, /, **params: object) -> str:
        translated = self.inner.gettext(message, **params)
        if "<" in translated or ">" in translated:
            return message
        return translated


class TextNodeTranslation(jinja2.ext.Extension):
    """Translates the text nodes of every template's plain parts (see the module docstring)."""

    def filter_stream(self, stream: TokenStream) -> Iterator[Token]:
        translate = getattr(self.environment, "onionscope_translator", None)
        scanner = TextNodeScanner()
        for token in stream:
            if translate is not None and token.type == "data":
                translated = translate_text_nodes(token.value, _MarkupSafeTranslator(translate), scanner)
                yield Token(token.lineno, "data", translated)
            else:
                yield token


def install(environment: jinja2.Environment, language: str) -> None:
    """Make ``environment`` speak ``language`` (see the module docstring); before any template is loaded.

    :raises config.errors.UserError: the language has no catalogue.
    """
    translate = translator(language)
    environment.onionscope_translator = translate  # type: ignore[attr-defined]
    environment.add_extension(TextNodeTranslation)
    environment.globals["_"] = translate.gettext
    environment.globals["lang"] = language

    def label(value: Any, facet: str | None = None) -> Any:
        """A project-defined value in the reader's language; anything else (crawled text) as it is.

        With ``facet``, ``value`` is one of that facet's values (:data:`VALUE_LABELS`);
        without, a kind's or a facet's name.
        """
        if not isinstance(value, str):
            return value
        if facet is not None:
            english = VALUE_LABELS.get(facet, {}).get(value)
            return translate.gettext(english) if english else value
        if value in NAME_LABELS:
            return translate.gettext(NAME_LABELS[value])
        if value in PROJECT_VALUES:
            return translate.gettext(value)
        return value

    environment.filters["label"] = label


def request_language(query_lang: str | None, accept_language: str | None, setting: str) -> str:
    """The language of one request (see the module docstring); an unknown ``?lang=`` is ignored."""
    explicit = query_lang.strip().lower() if query_lang and query_lang.strip().lower() in LANGUAGES else None
    return choose_language(explicit, setting, accept_language=accept_language or "")


def missing_messages(environments: Mapping[str, jinja2.Environment]) -> dict[str, set[str]]:
    """Per language, the messages its compiled templates asked for that its catalogue lacks."""
    return {
        language: set(environment.onionscope_translator.missing)  # type: ignore[attr-defined]
        for language, environment in environments.items()
        if language != SOURCE_LANGUAGE
    }
