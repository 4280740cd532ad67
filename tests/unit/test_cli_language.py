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


# --- errors raised below the command (config, crawler, pipelines, search), printed by it -------------------

_ONION = "http://" + "a" * 56 + ".onion/"


def _closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No ONIONSCOPE_* or locale variable of the caller; var/ and the testnet folder under ``tmp_path``."""
    for name in list(os.environ):
        if name.startswith("ONIONSCOPE_") or name in ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("ONIONSCOPE_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("ONIONSCOPE_TESTNET_DIR", str(tmp_path / "testnet"))
    return tmp_path


def _russian_error(capsys: pytest.CaptureFixture[str], arguments: list[str], *named: str) -> str:
    """Run the command in Russian; its error must be Russian, name each of ``named`` as given, leave no English."""
    status, out, err = _run(capsys, "--lang", "ru", *arguments)
    assert status == 1, (arguments, out, err)
    assert err.startswith("onionscope: ошибка: ") and "Traceback" not in err, err
    text = err
    for value in named:
        assert value in text, (value, err)
        text = text.replace(value, " ")
    assert not english_left(text), (english_left(text), err)
    assert i18n.cli_untranslated() == set(), (i18n.cli_untranslated(), err)
    return err


def _english_error(capsys: pytest.CaptureFixture[str], arguments: list[str]) -> str:
    status, _out, err = _run(capsys, "--lang", "en", *arguments)
    assert status == 1 and err.startswith("onionscope: error: "), err
    return err


def test_settings_file_errors_in_russian_name_the_file_and_the_key(capsys: pytest.CaptureFixture[str],
                                                                    isolated: Path) -> None:
    typo = isolated / "typo.yml"
    typo.write_text("crawl_depht: 3\n", encoding="utf-8")
    err = _russian_error(capsys, ["--config", str(typo), "index", "status"], str(typo), "'crawl_depht'",
                         "'crawl_depth'")
    assert "неизвестная настройка" in err and "может быть" in err
    bad_value = isolated / "value.yml"
    bad_value.write_text("crawl_depth: many\n", encoding="utf-8")
    err = _russian_error(capsys, ["--config", str(bad_value), "index", "status"], str(bad_value), "'crawl_depth'",
                         "'many'")
    assert "ожидалось целое число" in err
    broken = isolated / "broken.yml"
    broken.write_text("crawl_depth: 2\nes_url: [http://127.0.0.1:9200\n", encoding="utf-8")
    err = _russian_error(capsys, ["--config", str(broken), "index", "status"], f"{broken}:3")
    assert "некорректный YAML" in err and "ожидалось" in err
    _russian_error(capsys, ["--config", str(isolated / "missing.yml"), "index", "status"], str(isolated / "missing.yml"))
    # The operating system's reason too (its strerror is English whatever the locale).
    folder = isolated / "folder.yml"
    folder.mkdir()
    err = _russian_error(capsys, ["--config", str(folder), "index", "status"], str(folder))
    assert "не удаётся прочитать (это папка)" in err
    # English is as it was.
    assert "unknown setting 'crawl_depht' (did you mean 'crawl_depth'?)" in _english_error(
        capsys, ["--config", str(typo), "index", "status"])
    assert "setting 'crawl_depth': expected a whole number, got 'many'" in _english_error(
        capsys, ["--config", str(bad_value), "index", "status"])


def test_an_unknown_environment_variable_in_russian(capsys: pytest.CaptureFixture[str], isolated: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ONIONSCOPE_CRAWL_DEPHT", "3")
    err = _russian_error(capsys, ["index", "status"], "ONIONSCOPE_CRAWL_DEPHT", "ONIONSCOPE_CRAWL_DEPTH")
    assert "переменная окружения" in err
    # The language setting in the environment speaks even when the settings do not load.
    monkeypatch.setenv("ONIONSCOPE_LANGUAGE", "ru")
    status, _out, err = _run(capsys, "index", "status")
    assert status == 1 and err.startswith("onionscope: ошибка: переменная окружения ONIONSCOPE_CRAWL_DEPHT")


def test_schedule_file_errors_in_russian(capsys: pytest.CaptureFixture[str], isolated: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    schedules = isolated / "schedules.yml"
    monkeypatch.setenv("ONIONSCOPE_SCHEDULES_FILE", str(schedules))
    schedules.write_text(f"jobs:\n  nightly:\n    seeds: [{_ONION}]\n    every: sometimes\n", encoding="utf-8")
    err = _russian_error(capsys, ["jobs", "list"], f"{schedules}:4", "jobs.nightly.every", "'sometimes'")
    assert "ожидалась длительность" in err
    schedules.write_text(f"jobs:\n  nightly:\n    seeds: [{_ONION}]\n    every: 1h\n    discovr: crawl\n",
                         encoding="utf-8")
    err = _russian_error(capsys, ["jobs", "list"], f"{schedules}:5", "jobs.nightly.discovr", "'discovr'",
                         "'discover'")
    assert "неизвестный ключ" in err
    schedules.write_text(f"jobs:\n  nightly:\n    seeds: [{_ONION}]\n    every: 1h\n", encoding="utf-8")
    err = _russian_error(capsys, ["jobs", "run", "nightlly"], str(schedules), "'nightlly'", "'nightly'")
    assert "нет задания" in err
    assert "no job 'nightlly' (did you mean 'nightly'?)" in _english_error(capsys, ["jobs", "run", "nightlly"])


def test_market_profile_and_blocklist_errors_in_russian(capsys: pytest.CaptureFixture[str], isolated: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    config_dir = isolated / "config"
    (config_dir / "markets").mkdir(parents=True)
    profile = config_dir / "markets" / "zeta.yml"
    profile.write_text("name: zeta\nmatch:\n  hosts: [" + "b" * 56 + ".onion]\npages:\n  listing:\n"
                       "    url_pattern: '/l/(?P<listing_id>\\d+)'\n    fields:\n      title: {css: h1, xpath: //h1}\n",
                       encoding="utf-8")
    monkeypatch.setenv("ONIONSCOPE_CONFIG_DIR", str(config_dir))
    page = isolated / "page.html"
    page.write_text("<html><body><h1>x</h1></body></html>", encoding="utf-8")
    err = _russian_error(capsys, ["extract", str(page)], "markets/zeta.yml:8", "pages.listing.fields.title",
                         "'css'", "'xpath'")
    assert "укажите ровно одно из" in err
    assert "give exactly one of 'css' or 'xpath'" in _english_error(capsys, ["extract", str(page)])
    profile.unlink()
    blocklist = isolated / "blocklist.yml"
    blocklist.write_text("onion_hosts:\n  - not-an-onion\n", encoding="utf-8")
    monkeypatch.setenv("ONIONSCOPE_BLOCKLIST_FILE", str(blocklist))
    err = _russian_error(capsys, ["search", "fentanyl"], f"{blocklist}:2", "onion_hosts", "'not-an-onion'")
    assert "не onion-адрес v3" in err


def test_elasticsearch_redis_and_tor_unreachable_in_russian(capsys: pytest.CaptureFixture[str], isolated: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    port = _closed_port()
    monkeypatch.setenv("ONIONSCOPE_ES_URL", f"http://127.0.0.1:{port}")
    err = _russian_error(capsys, ["index", "status"], f"http://127.0.0.1:{port}", "ONIONSCOPE_ES_URL", "es_url")
    assert "недоступен (в соединении отказано)" in err
    assert "is not reachable (connection refused)" in _english_error(capsys, ["index", "status"])
    monkeypatch.setenv("ONIONSCOPE_REDIS_URL", f"redis://127.0.0.1:{port}/0")
    err = _russian_error(capsys, ["crawl", "--job", "case-1", "--shared", "--seed", _ONION],
                         f"redis://127.0.0.1:{port}/0", "ONIONSCOPE_REDIS_URL")
    assert "Redis по адресу" in err and "недоступен" in err
    err = _russian_error(capsys, ["tor", "status"], str(isolated / "testnet"), "tor-settings.yml")
    assert "tor не задан" in err
    monkeypatch.setenv("ONIONSCOPE_TOR_CONTROL", f"127.0.0.1:{port}")
    err = _russian_error(capsys, ["tor", "status"], f"127.0.0.1:{port}", "ONIONSCOPE_TOR_CONTROL")
    assert "ControlPort tor" in err and "недоступен" in err
    monkeypatch.setenv("ONIONSCOPE_TOR_SOCKS", f"127.0.0.1:{port}")
    err = _russian_error(capsys, ["tor", "probe", _ONION], f"127.0.0.1:{port}", "ONIONSCOPE_TOR_SOCKS")
    assert "SOCKS-порт tor" in err


def test_query_scope_and_evidence_errors_in_russian(capsys: pytest.CaptureFixture[str], isolated: Path) -> None:
    from search.query.syntax import KNOWN_FIELD_NAMES

    # Field names are the same in every language.
    err = _russian_error(capsys, ["search", "price:>10"], "'price'", ", ".join(KNOWN_FIELD_NAMES))
    assert "неизвестное поле" in err and "в позиции 1" in err and "известные поля" in err
    assert "unknown field 'price' at column 1; known fields:" in _english_error(capsys, ["search", "price:>10"])
    err = _russian_error(capsys, ["export", "--format", "csv", "--query", "fentanyl AND"])
    assert "после оператора ожидалось" in err and "в позиции 13" in err
    err = _russian_error(capsys, ["crawl", "--seed", "http://example.com/"], "'http://example.com/'",
                         "--dangerously-allow-clearnet")
    assert "открытого интернета" in err
    err = _russian_error(capsys, ["crawl", "--seeds-file", str(isolated / "seeds.txt")], str(isolated / "seeds.txt"))
    assert "нет такого файла" in err
    evidence = isolated / "var" / "evidence"
    err = _russian_error(capsys, ["evidence", "verify"], str(evidence))
    assert "нет такого файла или папки" in err


def test_session_file_and_local_service_errors_in_russian(capsys: pytest.CaptureFixture[str], isolated: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    host = "a" * 56 + ".onion"
    sessions = isolated / "sessions.yml"
    sessions.write_text(f"sites:\n  {host}:\n    cookies:\n      sid: {{valeu: secret-value}}\n", encoding="utf-8")
    err = _russian_error(capsys, ["crawl", "--seed", _ONION, "--session", str(sessions)], f"{sessions}:4",
                         "'valeu'", "'sid'", "'value'")
    assert "неизвестный ключ" in err and "secret-value" not in err
    assert "unknown key 'valeu' for cookie 'sid' (did you mean 'value'?)" in _english_error(
        capsys, ["crawl", "--seed", _ONION, "--session", str(sessions)])
    # A Redis that onionscope did not start answers on the Redis port: `services up` refuses to take it over.
    from harness.redis_server import RedisLayout

    foreign = RedisLayout.from_settings(load_settings_for_test(monkeypatch, ONIONSCOPE_REDIS_PORT="6390"))
    if not _answers(foreign.url):
        pytest.skip("the shared Redis on 127.0.0.1:6390 is not running")
    err = _russian_error(capsys, ["services", "up"], foreign.url, "ONIONSCOPE_REDIS_URL", "redis_port")
    assert "уже отвечает Redis, запущенный не onionscope" in err


def load_settings_for_test(monkeypatch: pytest.MonkeyPatch, **environment: str):  # type: ignore[no-untyped-def]
    from config.settings import load_settings

    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    return load_settings()


def _answers(url: str) -> bool:
    import redis

    client = redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2)
    try:
        return bool(client.ping())
    except (redis.RedisError, OSError):
        return False
    finally:
        client.close()


def test_evidence_verify_findings_in_russian(capsys: pytest.CaptureFixture[str], isolated: Path) -> None:
    from crawler.evidence.chain import MANIFEST_FORMAT, MANIFEST_SUFFIX, WARC_SUFFIX

    folder = isolated / "evidence"
    folder.mkdir()
    unmanifested = folder / ("a" + WARC_SUFFIX)
    unmanifested.write_bytes(b"")
    foreign = folder / ("b" + WARC_SUFFIX)
    foreign.write_bytes(b"")
    Path(str(foreign) + MANIFEST_SUFFIX).write_text('{"format": "something-else"}\n', encoding="utf-8")
    status, out, err = _run(capsys, "--lang", "ru", "evidence", "verify", str(folder))
    assert status == 1, err
    assert "не удаётся прочитать манифест (нет такого файла или папки)" in out
    assert f"первая строка — не заголовок {MANIFEST_FORMAT}" in out
    assert "проверено файлов WARC: 2, с ошибками: 2" in err
    text = out.replace(str(unmanifested) + MANIFEST_SUFFIX, " ").replace(str(foreign) + MANIFEST_SUFFIX, " ")
    assert not english_left(text.replace(str(folder), " ")), out
    assert i18n.cli_untranslated() == set()


def test_the_torrc_safety_refusal_in_russian() -> None:
    # No command takes a torrc of the user's own; the check runs before any tor is launched (crawler/tor/control.py).
    from crawler.tor.control import TorControlError, check_private_network_torrc

    i18n.set_cli_language("ru")
    with pytest.raises(TorControlError) as refused:
        check_private_network_torrc("FallbackDir 192.0.2.1:80\nUseDefaultFallback 1\n")
    message = str(refused.value)
    assert message.startswith("tor не будет запущен") and "'UseDefaultFallback'" in message
    assert "`FallbackDir`" in message and "`TestingTorNetwork 1`" in message
    assert not english_left(message), english_left(message)
    assert i18n.cli_untranslated() == set()
