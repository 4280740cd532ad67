"""English and Russian for what onionscope itself says: message catalogues and the choice of language.

This module owns the translation of onionscope's own words -- the web UI's
templates, the command's messages, the exports' labels -- and nothing else:
crawled text is never looked up here, never translated and never altered.
Query field names (``market:``, ``coin:``, ``type:``) are the same in every
language; the values the project itself defines (site types, substance
classes, coin names shown as labels) are translated where they are shown.

The catalogues are gettext PO files kept with Babel
(``config/locale/<language>.po``, read with
:func:`babel.messages.pofile.read_po`); English is the source language and
has no file.  ``python -m config.i18n update`` adds every message the code
and the templates use to each PO file (new ones untranslated) and lists the
ones still missing; ``tests/unit/test_i18n.py`` fails while any is missing.

Where the messages are:

* Python: calls ``_("...")`` / ``gettext("...")`` with a literal, found by
  Babel's own Python extractor (:func:`python_messages`).
* Templates: every text node of the template source -- the text between
  tags, outside ``{{ }}`` and ``{% %}`` -- that has a letter in it, with its
  white space collapsed (:func:`template_messages`), and the literals of
  ``_("...")`` calls inside expressions.  Templates stay plain English HTML;
  the template environment of a language translates their text nodes once,
  when it compiles them (:mod:`search.api.translation`).

Public API:

* :data:`LANGUAGES` -- ``("en", "ru")``; :data:`SOURCE_LANGUAGE` ``"en"``.
* :func:`translator(language)` -> :class:`Translator` (cached per language);
  raises :class:`~config.errors.UserError` for a language that has no catalogue.
* :class:`Translator` -- ``gettext(message, **params)``: the translation
  (the message itself when there is none, which :attr:`Translator.missing`
  records), with ``{name}`` parameters filled in after translating.
* :func:`negotiate(accept_language)` -> the language of an HTTP
  ``Accept-Language`` header (English when it names none of ours).
* :func:`choose_language(explicit, setting, accept_language=None, environ=None)`
  -> the language to use: ``--lang``, else the ``language`` setting, else (when
  that is ``auto``) the browser's header or the process's locale variables.
* :func:`set_cli_language` / :func:`_` -- the command's language, set once by
  ``onionscope.cli.main``, and its translation function; :func:`cli_untranslated`
  -> the messages it was asked for that had no translation.  The layers below the
  command build their error messages with :func:`_` where they raise them, so
  what the command prints speaks its language (:mod:`config.os_reasons`: an
  OSError's reason in it).
* :func:`template_messages(source)`, :func:`python_messages(path)`,
  :class:`TextNodeScanner` -- message extraction (the scanner also serves translation).

Why partly hand-written: Babel reads and writes the catalogues and extracts
from Python; the text-node rule for templates is ours, because Jinja's own
i18n extension would have every string of every template wrapped by hand,
and the templates of later features would silently stay English.
"""

from __future__ import annotations

import functools
import io
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, Mapping

from config.errors import UserError

LANGUAGES: tuple[str, ...] = ("en", "ru")
SOURCE_LANGUAGE = "en"
LOCALE_DIR = Path(__file__).resolve().parent / "locale"

_LETTER = re.compile(r"[^\W\d_]")
_SPACE = re.compile(r"\s+")
# Literals of _("...") / _('...') calls in template expressions.
_TEMPLATE_CALL = re.compile(r"""\b_\(\s*(?:"((?:[^"\\]|\\.)*)"|'((?:[^'\\]|\\.)*)')\s*[,)]""")
_PLACEHOLDER = re.compile(r"\{(\w+)\}")


def normalise(text: str) -> str:
    """A message id: ``text`` with its white space collapsed to single spaces and trimmed."""
    return _SPACE.sub(" ", text).strip()


def is_message(text: str) -> bool:
    """True when a text node is something to translate: it has a letter in it."""
    return bool(_LETTER.search(text))


class TextNodeScanner:
    """Tells the text nodes of HTML source fed to it in pieces (a template's plain parts, in order).

    A piece may start or end inside a tag (``<a href="`` then an expression,
    then ``">``), so the scanner keeps its state between pieces: inside a tag
    or not, and in which quote.  Text inside ``<code>``, ``<pre>``,
    ``<script>`` and ``<style>`` is never a message (commands, paths, JSON).
    """

    _VERBATIM = ("code", "pre", "script", "style")

    def __init__(self) -> None:
        self.in_tag = False
        self.quote = ""
        self.tag_text: list[str] = []
        self.verbatim_depth = 0

    def _end_tag(self) -> None:
        tag = "".join(self.tag_text).lower()
        self.tag_text = []
        name = re.match(r"<\s*(/?)\s*([a-z0-9]+)", tag)
        if name and name.group(2) in self._VERBATIM:
            self.verbatim_depth = max(0, self.verbatim_depth + (-1 if name.group(1) else 1))

    def feed(self, data: str) -> list[tuple[bool, str]]:
        """``(is_text, piece)`` of ``data`` in order; the pieces joined give ``data`` back."""
        pieces: list[tuple[bool, str]] = []
        start = 0
        index = 0
        length = len(data)
        while index < length:
            char = data[index]
            if self.in_tag:
                self.tag_text.append(char)
                if self.quote:
                    if char == self.quote:
                        self.quote = ""
                elif char in "\"'":
                    self.quote = char
                elif char == ">":
                    self.in_tag = False
                    pieces.append((False, data[start : index + 1]))
                    start = index + 1
                    self._end_tag()
                index += 1
                continue
            if char == "<" and index + 1 < length and (data[index + 1].isalpha() or data[index + 1] in "/!"):
                if index > start:
                    pieces.append((self.verbatim_depth == 0, data[start:index]))
                start = index
                self.in_tag = True
                self.tag_text = [char]
            index += 1
        if start < length:
            pieces.append((False if self.in_tag else self.verbatim_depth == 0, data[start:]))
        return pieces


def split_text_nodes(data: str) -> list[tuple[bool, str]]:
    """``(is_text, piece)`` of a whole HTML string (see :class:`TextNodeScanner`)."""
    return TextNodeScanner().feed(data)


def translate_text_nodes(data: str, translate: "Translator", scanner: TextNodeScanner | None = None) -> str:
    """``data`` (HTML source, no template syntax) with each text node that is a message translated.

    ``scanner`` carries the state from the earlier pieces of the same
    template.  The node's leading and trailing white space is kept, so the
    markup around it lays out as before.  Never raises.
    """
    pieces: list[str] = []
    for is_text, piece in (scanner or TextNodeScanner()).feed(data):
        if is_text and is_message(piece):
            message = normalise(piece)
            leading = piece[: len(piece) - len(piece.lstrip())]
            trailing = piece[len(piece.rstrip()) :]
            pieces.append(leading + translate.gettext(message) + trailing)
        else:
            pieces.append(piece)
    return "".join(pieces)


@dataclass
class Translator:
    """One language's translations.  ``missing`` collects the messages asked for that had none."""

    language: str
    messages: Mapping[str, str]
    missing: set[str] = field(default_factory=set)

    def gettext(self, message: str, /, **params: object) -> str:
        """The translation of ``message``; ``{name}`` placeholders then take ``params``.

        English, and a message the catalogue lacks, give the message itself
        (the latter recorded in :attr:`missing`).  A parameter's value is put in
        as text and never translated.  Raises KeyError for a placeholder that
        has no parameter (a bug in the caller).
        """
        translated = message
        if self.language != SOURCE_LANGUAGE:
            found = self.messages.get(message)
            if found:
                translated = found
            else:
                self.missing.add(message)
        if params:
            return _PLACEHOLDER.sub(lambda match: str(params[match.group(1)]), translated)
        return translated

    __call__ = gettext


def catalogue_path(language: str) -> Path:
    """The PO file of ``language`` (which need not exist)."""
    return LOCALE_DIR / f"{language}.po"


@functools.lru_cache(maxsize=None)
def _catalogue(language: str) -> Mapping[str, str]:
    if language == SOURCE_LANGUAGE:
        return {}
    from babel.messages.pofile import read_po

    path = catalogue_path(language)
    try:
        with path.open("rb") as handle:
            catalog = read_po(handle, locale=language)
    except FileNotFoundError:
        raise UserError(f"no catalogue for language {language!r}: {path} is missing") from None
    return {
        message.id: message.string
        for message in catalog
        if message.id and isinstance(message.id, str) and isinstance(message.string, str) and message.string
    }


def translator(language: str) -> Translator:
    """A :class:`Translator` for ``language`` (one of :data:`LANGUAGES`), with a fresh ``missing`` set.

    :raises UserError: the language is not one of ours, or its catalogue is missing.
    """
    if language not in LANGUAGES:
        raise UserError(f"unknown language {language!r}: expected one of {', '.join(LANGUAGES)}")
    return Translator(language, _catalogue(language))


def _base_language(tag: str) -> str:
    return tag.strip().replace("_", "-").split("-")[0].lower()


def negotiate(accept_language: str | None) -> str:
    """The language of ours that an ``Accept-Language`` header prefers most; English when none.

    ``ru-RU,ru;q=0.9,en;q=0.8`` gives ``ru``; a malformed header gives English.
    """
    if not accept_language:
        return SOURCE_LANGUAGE
    ranked: list[tuple[float, int, str]] = []
    for position, part in enumerate(accept_language[:1_000].split(",")[:50]):
        tag, _, params = part.partition(";")
        quality = 1.0
        for param in params.split(";"):
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        language = _base_language(tag)
        if language in LANGUAGES and quality > 0:
            ranked.append((-quality, position, language))
    return min(ranked)[2] if ranked else SOURCE_LANGUAGE


def _environment_language(environ: Mapping[str, str]) -> str:
    for name in ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG"):
        value = environ.get(name, "")
        if value:
            for tag in value.split(":"):
                language = _base_language(tag.split(".")[0])
                if language in LANGUAGES:
                    return language
            return SOURCE_LANGUAGE
    return SOURCE_LANGUAGE


def choose_language(
    explicit: str | None,
    setting: str,
    accept_language: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> str:
    """The language to speak: ``explicit`` (``--lang``, ``?lang=``), else ``setting`` unless it is ``auto``.

    With ``auto``: the browser's ``accept_language`` when given (the web UI),
    else the process's ``LANGUAGE``/``LC_ALL``/``LC_MESSAGES``/``LANG`` (the
    command).  :raises UserError: ``explicit`` names a language we do not have.
    """
    if explicit:
        language = explicit.strip().lower()
        if language not in LANGUAGES:
            raise UserError(f"unknown language {explicit!r}: expected one of {', '.join(LANGUAGES)}")
        return language
    if setting != "auto":
        return setting
    if accept_language is not None:
        return negotiate(accept_language)
    return _environment_language(os.environ if environ is None else environ)


_cli = Translator(SOURCE_LANGUAGE, {})


def set_cli_language(language: str) -> None:
    """Make :func:`_` speak ``language`` for the rest of the process (the command sets it once)."""
    global _cli
    _cli = translator(language)


def cli_language() -> str:
    """The language :func:`_` speaks."""
    return _cli.language


def cli_untranslated() -> set[str]:
    """The messages :func:`_` was asked for since the language was last set that had no translation."""
    return set(_cli.missing)


def _(message: str, /, **params: object) -> str:
    """The command's translation of ``message`` (see :meth:`Translator.gettext`)."""
    return _cli.gettext(message, **params)


gettext = _


def N_(message: str) -> str:  # noqa: N802 -- the gettext convention for "mark only"
    """Mark ``message`` for the catalogue without translating it here; returns it unchanged."""
    return message


# --- extraction ------------------------------------------------------------------------------


def template_messages(source: str) -> list[tuple[int, str]]:
    """``(line, message)`` of every message of a Jinja template's source, in order.

    The text nodes of its plain parts (outside ``{{ }}``, ``{% %}`` and
    ``{# #}``) and the literals of ``_("...")`` calls inside expressions.
    """
    import jinja2

    found: list[tuple[int, str]] = []
    scanner = TextNodeScanner()
    environment = jinja2.Environment(trim_blocks=True, lstrip_blocks=True)
    in_expression = False
    expression: list[str] = []
    expression_line = 1
    for line, kind, value in environment.lex(source):
        if kind == "data":
            offset = 0
            for is_text, piece in scanner.feed(value):
                if is_text and is_message(piece):
                    found.append((line + value.count("\n", 0, offset), normalise(piece)))
                offset += len(piece)
        elif kind in ("variable_begin", "block_begin"):
            in_expression, expression, expression_line = True, [], line
        elif kind in ("variable_end", "block_end"):
            in_expression = False
            text = "".join(expression)
            for match in _TEMPLATE_CALL.finditer(text):
                literal = match.group(1) if match.group(1) is not None else match.group(2)
                found.append((expression_line, literal.encode().decode("unicode_escape") if "\\" in literal else literal))
        elif in_expression:
            expression.append(value)
    return found


def python_messages(path: Path) -> list[tuple[int, str]]:
    """``(line, message)`` of the ``_("...")``, ``gettext("...")`` and ``N_("...")`` (mark only) calls of a Python file, and ``t("...")`` (a :class:`Translator` in hand).

    Babel's own Python extractor finds them.
    """
    from babel.messages.extract import extract_python

    found: list[tuple[int, str]] = []
    with path.open("rb") as handle:
        for line, _function, message, _comments in extract_python(handle, {"_": None, "gettext": None, "N_": None, "t": None}, [], {}):
            # A call with more arguments than the message gives a tuple (message, None, ...).
            first = message[0] if isinstance(message, tuple) else message
            if isinstance(first, str) and first:
                found.append((line, first))
    return found


#: The folders of Python code and templates whose messages the catalogues carry.
PYTHON_PACKAGES = ("config", "crawler", "pipelines", "search", "harness", "onionscope")
TEMPLATE_FOLDERS = ("search/templates",)


def project_messages(root: Path) -> dict[str, list[str]]:
    """Every message of the project under ``root``: message -> ``["path:line", ...]`` where it is used."""
    where: dict[str, list[str]] = {}
    for folder in TEMPLATE_FOLDERS:
        for path in sorted((root / folder).rglob("*.html")):
            for line, message in template_messages(path.read_text(encoding="utf-8")):
                where.setdefault(message, []).append(f"{path.relative_to(root)}:{line}")
    for package in PYTHON_PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            if path.resolve() == Path(__file__).resolve():
                continue
            for line, message in python_messages(path):
                where.setdefault(message, []).append(f"{path.relative_to(root)}:{line}")
    return where


def update_catalogues(root: Path) -> dict[str, list[str]]:
    """Add every project message to each PO file (untranslated when new); returns language -> missing ids.

    Messages no longer used are kept, marked obsolete by Babel's
    ``Catalog.update``, so no translation is lost.
    """
    from babel.messages.catalog import Catalog
    from babel.messages.pofile import read_po, write_po

    messages = project_messages(root)
    template = Catalog(project="onionscope")
    for message, places in messages.items():
        template.add(message, locations=[(place.rsplit(":", 1)[0], int(place.rsplit(":", 1)[1])) for place in places])
    missing: dict[str, list[str]] = {}
    for language in LANGUAGES:
        if language == SOURCE_LANGUAGE:
            continue
        path = catalogue_path(language)
        if path.exists():
            with path.open("rb") as handle:
                catalog = read_po(handle, locale=language)
        else:
            catalog = Catalog(locale=language, project="onionscope")
        created = catalog.creation_date
        catalog.update(template, no_fuzzy_matching=True)
        # A stable header: the file changes only where messages do.
        catalog.creation_date = catalog.revision_date = created
        catalog.fuzzy = False
        catalog.header_comment = (
            f"# onionscope's messages in {language}; kept with `python -m config.i18n update`\n"
            "# (new messages arrive untranslated; tests/unit/test_i18n.py fails until each has a translation)."
        )
        catalog.last_translator = "onionscope developers"
        catalog.language_team = "onionscope developers"
        catalog.msgid_bugs_address = ""
        buffer = io.BytesIO()
        write_po(buffer, catalog, width=100, sort_output=True, include_previous=False)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(buffer.getvalue())
        missing[language] = sorted(message.id for message in catalog if message.id and not message.string)
    _catalogue.cache_clear()
    return missing


def main(argv: list[str] | None = None) -> int:
    """``python -m config.i18n update|check [ROOT]``: refresh the PO files, or list missing translations."""
    import sys

    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] not in ("update", "check"):
        print("usage: python -m config.i18n update|check [PROJECT_ROOT]", file=sys.stderr)
        return 2
    root = Path(args[1]) if len(args) > 1 else Path(__file__).resolve().parent.parent
    if args[0] == "update":
        missing = update_catalogues(root)
    else:
        messages = project_messages(root)
        missing = {
            language: sorted(message for message in messages if not _catalogue(language).get(message))
            for language in LANGUAGES
            if language != SOURCE_LANGUAGE
        }
    for language, ids in missing.items():
        for message in ids:
            print(f"{language}: untranslated: {message}")
    return 1 if any(missing.values()) else 0


if __name__ == "__main__":
    raise SystemExit(main())
