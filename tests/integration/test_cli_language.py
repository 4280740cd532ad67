"""The commands that talk to Elasticsearch, in Russian, against the real node: status lines and errors.

Each command runs as a real process (``python -m onionscope.cli``) on a fresh index prefix, in
Russian by ``--lang ru`` or by the ``language`` setting (``ONIONSCOPE_LANGUAGE``).  Its output must
have no English left (:func:`tests.unit.test_cli_language.english_left`) and no traceback; what
is the user's own or crawled (a token name, a wallet address, a query) is shown as given.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path
from typing import Any, Iterator

import pytest

from tests import PROJECT_ROOT
from tests.unit.test_cli_language import english_left

pytestmark = pytest.mark.integration
WALLET = "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq"


class Command:
    def __init__(self, es_url: str, prefix: str, var_dir: Path):
        self.environment = {key: value for key, value in os.environ.items() if not key.startswith("ONIONSCOPE_")}
        self.environment.update(ONIONSCOPE_ES_URL=es_url, ONIONSCOPE_INDEX_PREFIX=prefix,
                                ONIONSCOPE_VAR_DIR=str(var_dir))

    def __call__(self, *arguments: str, **environment: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "onionscope.cli", *arguments], cwd=PROJECT_ROOT,
                              env={**self.environment, **environment}, capture_output=True, text=True,
                              timeout=300, check=False)


@pytest.fixture
def onionscope(es_node: Any, tmp_path: Path) -> Iterator[Command]:
    from pipelines.es_client import make_client
    from pipelines.indices import delete_prefix

    prefix = f"test-cli-ru-{secrets.token_hex(4)}"
    yield Command(es_node.url, prefix, tmp_path / "var")
    client = make_client(es_node.settings)
    try:
        delete_prefix(client, prefix)
    finally:
        client.close()


def _russian(result: subprocess.CompletedProcess[str], *expected: str, status: int = 0,
             shown_as_given: tuple[str, ...] = ()) -> str:
    text = result.stdout + result.stderr
    assert result.returncode == status, text[-3000:]
    assert "Traceback" not in text
    for phrase in expected:
        assert phrase in text, (phrase, text[-3000:])
    for value in shown_as_given:
        assert value in text
        text = text.replace(value, " ")
    assert not english_left(text), (english_left(text), text[-3000:])
    return text


def test_status_lines_and_errors_in_russian(onionscope: Command, tmp_path: Path) -> None:
    # An index prefix nothing set up: the search's error.
    _russian(onionscope("--lang", "ru", "search", "fentanyl", "--kind", "listings"),
             "onionscope: ошибка: индексы с префиксом", "не созданы", status=1)
    _russian(onionscope("--lang", "ru", "index", "setup"))
    _russian(onionscope("--lang", "ru", "index", "status"), "документов: 0")
    _russian(onionscope("--lang", "ru", "token", "list"), "токенов нет")
    _russian(onionscope("--lang", "ru", "token", "create", "--role", "viewer", "--name", "case forty two"),
             "создан токен viewer", "сохраните его надёжно", shown_as_given=("case forty two",))
    _russian(onionscope("--lang", "ru", "token", "list"), "действует", shown_as_given=("case forty two",))
    _russian(onionscope("--lang", "ru", "watch", "list"), "ничего не отслеживается")
    _russian(onionscope("--lang", "ru", "watch", "add", "wallet", WALLET, "--list", "case 42"),
             "отслеживается wallet", "общая", shown_as_given=(WALLET,))
    _russian(onionscope("--lang", "ru", "watch", "alerts"), "оповещений нет")
    _russian(onionscope("--lang", "ru", "watch", "alerts", "--unread"), "непрочитанных оповещений нет")
    _russian(onionscope("--lang", "ru", "watch", "deliver"), "веб-хук не задан", status=1)
    _russian(onionscope("--lang", "ru", "watch", "add", "wallet", WALLET, "--owner", "nobody"),
             "нет токена с id", status=1)
    _russian(onionscope("--lang", "ru", "index", "sites"), "onion-адресов: 0", "нет группы зеркал")
    written = tmp_path / "hits.csv"
    _russian(onionscope("--lang", "ru", "export", "--format", "csv", "--query", "fentanyl", "-o", str(written)),
             "записей записано в", shown_as_given=(str(written),))
    graph = tmp_path / "onions.gexf"
    _russian(onionscope("--lang", "ru", "export", "graph", "--format", "gexf", "-o", str(graph)),
             "onion-адресов: 0, рёбер: 0", shown_as_given=(str(graph),))
    _russian(onionscope("--lang", "ru", "evidence", "export", "0" * 40, "--out", str(tmp_path / "package")),
             "нет страницы или объявления с id", status=1)
    # The language setting instead of --lang; --lang wins over it.
    _russian(onionscope("index", "status", ONIONSCOPE_LANGUAGE="ru"), "документов: 0")
    _russian(onionscope("watch", "alerts", ONIONSCOPE_LANGUAGE="ru"), "оповещений нет")
    english = onionscope("--lang", "en", "watch", "alerts", ONIONSCOPE_LANGUAGE="ru")
    assert english.returncode == 0 and "no alerts" in english.stdout
    # The check can fail: the same command in English leaves English.
    assert english_left(onionscope("--lang", "en", "index", "sites").stdout)  # "no mirror group"


def test_search_output_in_russian_keeps_the_crawled_text(onionscope: Command, es_node: Any) -> None:
    from crawler.items import Listing
    from pipelines.es_client import make_client
    from pipelines.indices import ensure_indices
    from pipelines.item_indexer import BulkIndexer

    title, description = "Fentanyl powder next day", "Pharmaceutical fentanyl, stealth shipping in the EU."
    host = "alpha" + "a" * 51 + ".onion"
    listing = Listing(market="alpha", listing_id="a1", url=f"http://{host}/listing/a1", title=title,
                      description=description, fetched_at="2026-01-10T12:00:00Z", job_id="t", onion_host=host,
                      price_amount=120.0, price_currency="USD", vendor="DrGreen", substances=["fentanyl"])
    prefix = onionscope.environment["ONIONSCOPE_INDEX_PREFIX"]
    client = make_client(es_node.settings)
    try:
        ensure_indices(client, prefix)
        BulkIndexer(client, prefix, None, max_retries=1, backoff_seconds=0.1).index_items([listing])
        client.indices.refresh(index=f"{prefix}-*")
    finally:
        client.close()
    # Shown as crawled (the snippet marks the hit as [fentanyl]).
    crawled = (title, "Pharmaceutical", "stealth shipping in the EU", listing.url, host, "alpha", "DrGreen",
               "fentanyl")
    text = _russian(onionscope("--lang", "ru", "search", "fentanyl"), "результатов по запросу", "объявления 1",
                    "рынок alpha", "продавец DrGreen", shown_as_given=crawled)
    assert "more" not in text and "results" not in text
    _russian(onionscope("--lang", "ru", "search", "fentanyl", "--kind", "listings"), "по запросу",
             "получено 2026-01-10", shown_as_given=crawled)
    english = onionscope("--lang", "en", "search", "fentanyl")
    assert title in english.stdout and "results match" in english.stdout


def test_index_token_watch_and_snapshot_errors_from_below_in_russian(onionscope: Command) -> None:
    prefix = onionscope.environment["ONIONSCOPE_INDEX_PREFIX"]
    repository = f"missing-{secrets.token_hex(4)}"
    # Raised in pipelines/snapshots.py, search/auth.py and search/watchlists.py; printed by the command.
    _russian(onionscope("--lang", "ru", "index", "snapshot"), "нет индексов с префиксом", "для снимка", status=1,
             shown_as_given=(repr(prefix), "`onionscope index setup`"))
    _russian(onionscope("--lang", "ru", "index", "setup"))
    _russian(onionscope("--lang", "ru", "index", "snapshots", ONIONSCOPE_SNAPSHOT_REPOSITORY=repository),
             "нет хранилища снимков", status=1, shown_as_given=(repr(repository),))
    _russian(onionscope("--lang", "ru", "token", "revoke", "zzzzzzzz"), "ни один токен не подходит к", status=1,
             shown_as_given=("'zzzzzzzz'", "`onionscope token list`"))
    _russian(onionscope("--lang", "ru", "watch", "remove", "no-such-entry"), "нет записи отслеживания", status=1,
             shown_as_given=("'no-such-entry'", "`onionscope watch list`"))
    english = onionscope("--lang", "en", "watch", "remove", "no-such-entry")
    assert english.returncode == 1 and "no watchlist entry 'no-such-entry'" in english.stderr
