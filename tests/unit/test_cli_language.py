"""The command in Russian: the help of every command and action, argparse's own words, errors and the
offline commands' output, with ``--lang ru``, the ``language`` setting or the process's locale.

Two checks on each output: the command's catalogue was never asked for a message it lacks
(:func:`config.i18n.cli_untranslated`), and no run of English words is left once what is never
translated is taken out (option names, commands in backquotes, quoted examples, setting names,
paths, argparse's ``{choices}``).  The same check finds English in the English output, so it can fail.
(The commands that talk to Elasticsearch: tests/integration/test_cli_language.py.)
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Iterator

import pytest

from config import i18n
from onionscope.cli import COMMANDS, build_parser, main
from tests import PROJECT_ROOT

# Three or more lower-case Latin words in a row: a sentence nobody translated.
_ENGLISH_RUN = re.compile(r"\b[a-z]{2,}(?:[ ,]+[a-z]{2,}){2,}\b")
_NEVER_TRANSLATED = [
    re.compile(r"^(usage|использование):.*?(?:\n\s*\n|\Z)", re.S | re.M),  # the usage block: options and metavars
    re.compile(r"`[^`]*`"),  # commands to type
    re.compile(r"'[^']*'|\"[^\"]*\""),  # quoted examples and names
    re.compile(r"\{[^}]*\}"),  # argparse's choices
    re.compile(r"(?<![\w-])--?[a-zA-Z][\w-]*"),  # options
    re.compile(r"\b\w+_\w+\b"),  # setting names and fields (crawl_depth, market_hosts)
    re.compile(r"<[^>]*>|https?://\S+|\S*/\S+"),  # placeholders, URLs, paths
    re.compile(r"\b(?:csv|json|stix|misp|gexf|graphml)\b"),  # option values (export formats)
]


def english_left(text: str) -> list[str]:
    """The runs of English words in ``text`` once what is never translated is taken out."""
    for pattern in _NEVER_TRANSLATED:
        text = pattern.sub(" ", text)
    return _ENGLISH_RUN.findall(text)


def command_lines() -> Iterator[list[str]]:
    """Every command and action of the parser, as the arguments that name it (``["index", "setup"]``)."""
    yield []
    for name in COMMANDS:
        parser = build_parser(only=name)
        command = next(action for action in parser._actions if isinstance(action, argparse._SubParsersAction))
        stack = [([name], command.choices[name])]
        while stack:
            words, sub_parser = stack.pop()
            yield words
            for action in sub_parser._actions:
                if isinstance(action, argparse._SubParsersAction):
                    stack += [([*words, choice], parser) for choice, parser in action.choices.items()]


@pytest.fixture(autouse=True)
def english_afterwards() -> Iterator[None]:
    yield
    i18n.set_cli_language("en")


def _run(capsys: pytest.CaptureFixture[str], *arguments: str) -> tuple[int, str, str]:
    try:
        status = main(list(arguments))
    except SystemExit as exit_:
        status = int(exit_.code or 0)
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_every_help_in_russian_has_no_english_left(capsys: pytest.CaptureFixture[str]) -> None:
    lines = list(command_lines())
    assert len(lines) > 40  # every command and its actions
    left: dict[str, list[str]] = {}
    for words in lines:
        status, out, err = _run(capsys, "--lang", "ru", *words, "--help")
        assert status == 0 and not err, (words, err)
        assert out.startswith("использование: onionscope") and "показать эту справку и выйти" in out, words
        if english_left(out):
            left[" ".join(words)] = english_left(out)
        assert i18n.cli_untranslated() == set(), (words, i18n.cli_untranslated())
    assert left == {}
    # The check can fail: English help has English in it.
    _status, english, _err = _run(capsys, "--lang", "en", "crawl", "--help")
    assert english_left(english)


def test_argparse_errors_speak_russian(capsys: pytest.CaptureFixture[str]) -> None:
    status, _out, err = _run(capsys, "--lang", "ru", "search")
    assert status == 2
    assert "onionscope search: ошибка: обязательны следующие аргументы: query" in err
    status, _out, err = _run(capsys, "--lang", "ru", "search", "x", "--kind", "nope")
    assert status == 2 and "недопустимый выбор: 'nope'" in err
    status, _out, err = _run(capsys, "--lang", "ru", "export", "--format", "csv")
    assert status == 1 and err.startswith("onionscope: ошибка: укажите одно из --query")
    assert not english_left(err.replace("onionscope: ошибка:", ""))
    assert i18n.cli_untranslated() == set()


def test_extract_prints_its_labels_in_russian_and_the_page_as_it_is(capsys: pytest.CaptureFixture[str],
                                                                     tmp_path: Path) -> None:
    page = tmp_path / "listing.html"
    page.write_text("<html><head><title>Fentanyl 1g next day</title></head><body><h1>Fentanyl 1g next day</h1>"
                    "<p>Price: 120 USD</p><p>Vendor: DrGreen</p>"
                    "<p>BTC bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq</p></body></html>", encoding="utf-8")
    status, out, err = _run(capsys, "--lang", "ru", "extract", str(page), "--url", "http://" + "a" * 56 + ".onion/l/1")
    assert status == 0, err
    assert out.startswith("страница") and "заголовок" in out
    assert "Fentanyl 1g next day" in out  # crawled text, never translated
    assert "кошелёк" in out or "адреса эл. почты" in out or "тип страницы" in out
    assert i18n.cli_untranslated() == set()
    assert not english_left(out.replace("Fentanyl 1g next day", ""))
    status, missing, err = _run(capsys, "--lang", "ru", "extract", str(tmp_path / "nope.html"))
    assert status == 1 and "нет такого файла; укажите путь к сохранённой HTML-странице" in err


@pytest.mark.parametrize("environment", [{"ONIONSCOPE_LANGUAGE": "ru"}, {"LANG": "ru_RU.UTF-8"}],
                         ids=["language-setting", "locale"])
def test_the_setting_or_the_locale_chooses_russian_in_a_real_process(environment: dict[str, str],
                                                                     tmp_path: Path) -> None:
    env = {key: value for key, value in os.environ.items()
           if not key.startswith("ONIONSCOPE_") and key not in ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG")}
    env.update(environment, ONIONSCOPE_VAR_DIR=str(tmp_path / "var"))
    help_text = subprocess.run([sys.executable, "-m", "onionscope.cli", "watch", "add", "--help"], cwd=PROJECT_ROOT,
                               env=env, capture_output=True, text=True, timeout=120, check=False)
    assert help_text.returncode == 0, help_text.stderr
    assert "отслеживать запрос, кошелёк" in help_text.stdout or "почему отслеживается" in help_text.stdout
    assert not english_left(help_text.stdout)
    missing = subprocess.run([sys.executable, "-m", "onionscope.cli", "profile", "suggest", "--market", "m",
                              str(tmp_path / "nope.html")], cwd=PROJECT_ROOT, env=env, capture_output=True,
                             text=True, timeout=120, check=False)
    assert missing.returncode == 1
    assert missing.stderr.startswith("onionscope: ошибка: ") and "нет такого файла" in missing.stderr
    # --lang wins over both.
    english = subprocess.run([sys.executable, "-m", "onionscope.cli", "--lang", "en", "watch", "add", "--help"],
                             cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert "why it is watched" in english.stdout
