"""The one search box against the real Elasticsearch node: counts per kind, and one answer from CLI, API and UI.

The world is :mod:`tests.integration.search_world` (indexed through the real bulk
pipeline), plus a forum thread whose phrase appears nowhere else: the search that
once answered "0 listings" for it in the UI must find it by default everywhere.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from crawler.items import Page
from search.api import create_app
from search.auth import create_token
from search.results import search
from search.unified import DEFAULT_KIND, UNIFIED_KINDS, find
from tests.integration.search_world import ALPHA_HOST, GAMMA_HOST, SHARED_BTC, search_es, seed_world  # noqa: F401

pytestmark = pytest.mark.integration
PROJECT_ROOT = Path(__file__).resolve().parents[2]
FORUM_HOST = "forum" + "f" * 51 + ".onion"
FORUM_PHRASE = "quokka lantern procedure"
QUERIES = ("", "fentanyl", "coin:btc", "DrGreen", "market:alpha", f"onion:{ALPHA_HOST}", f'"{FORUM_PHRASE}"',
           "alpha OR rules", f"wallet:{SHARED_BTC}", "-fentanyl")


@pytest.fixture(scope="module")
def world(search_es, tmp_path_factory):
    from pipelines.item_indexer import BulkIndexer

    client, prefix, settings = search_es
    seed_world(client, prefix)
    thread = Page(url=f"http://{FORUM_HOST}/t/9", canonical_url=f"http://{FORUM_HOST}/t/9", onion_host=FORUM_HOST,
                  status=200, content_type="text/html", content_hash="f9", fetched_at="2026-01-20T12:00:00Z",
                  job_id="t", title="Re: shipping question", language="en", page_type="thread",
                  text=f"Has anyone tried the {FORUM_PHRASE}? It worked for me.")
    outcome = BulkIndexer(client, prefix, None, max_retries=1, backoff_seconds=0.1).index_items([thread])
    assert not outcome.failed
    client.indices.refresh(index=f"{prefix}-*")
    settings = settings.replace(var_dir=str(tmp_path_factory.mktemp("var")))
    token, _ = create_token(client, prefix, "viewer", "unified")
    with TestClient(create_app(settings, client)) as http:
        yield {"client": client, "prefix": prefix, "settings": settings, "http": http, "token": token}


def _api(world, **params):
    return world["http"].get("/search", params=params, headers={"authorization": f"Bearer {world['token']}",
                                                                 "accept": "application/json"})


def _cli(world, *args: str) -> subprocess.CompletedProcess:
    environment = dict(os.environ)
    environment.update({"ONIONSCOPE_ES_URL": world["settings"].es_url, "ONIONSCOPE_INDEX_PREFIX": world["prefix"],
                        "ONIONSCOPE_VAR_DIR": str(world["settings"].var_dir)})
    return subprocess.run([sys.executable, "-m", "onionscope.cli", "search", *args], capture_output=True, text=True,
                          env=environment, cwd=PROJECT_ROOT, timeout=120)


def test_unified_counts_equal_the_per_kind_counts(world):
    client, prefix = world["client"], world["prefix"]
    for query in QUERIES:
        unified = find(client, prefix, query)
        assert list(unified.counts) == list(UNIFIED_KINDS)
        for kind in UNIFIED_KINDS:
            alone = search(client, prefix, query, kind=kind, limit=100)
            assert unified.counts[kind] == alone.total, (query, kind)
            # The top hits are the first hits of that kind's own search.
            assert [hit.id for hit in unified.hits[kind]] == [hit.id for hit in alone.hits[:len(unified.hits[kind])]]
    everything = find(client, prefix, "")
    assert everything.counts["onions"] == 3 and everything.counts["vendors"] == 3
    assert everything.counts["pages"] == 4 and everything.counts["listings"] == 4


def test_a_forum_phrase_is_found_by_default_in_the_cli_the_api_and_the_ui(world):
    answer = _api(world, q=f'"{FORUM_PHRASE}"').json()
    assert answer["kind"] == DEFAULT_KIND == "all"
    assert answer["counts"]["pages"] == 1 and answer["total"] == 1
    assert answer["hits"]["pages"][0]["source"]["onion_host"] == FORUM_HOST
    printed = _cli(world, f'"{FORUM_PHRASE}"', "--json")
    assert printed.returncode == 0, printed.stderr
    assert json.loads(printed.stdout)["counts"] == answer["counts"]
    page = world["http"].get("/search", params={"q": f'"{FORUM_PHRASE}"'},
                             headers={"authorization": f"Bearer {world['token']}", "accept": "text/html"})
    assert '<li data-kind="pages"><a href="/search?q=%22quokka+lantern+procedure%22&amp;kind=pages">' \
           '<span class="count">1</span> pages</a></li>' in page.text


def test_cli_api_and_ui_give_the_same_counts(world):
    headers = {"authorization": f"Bearer {world['token']}", "accept": "text/html"}
    for query in ("fentanyl", "coin:btc", "market:alpha", ""):
        api = _api(world, q=query).json()
        cli = json.loads(_cli(world, query, "--json").stdout)
        assert cli["counts"] == api["counts"], query
        html = world["http"].get("/search", params={"q": query}, headers=headers).text
        shown = dict((kind, int(count)) for count, kind in
                     re.findall(r'<span class="count">(\d+)</span> (\w+)</a></li>', html))
        assert shown == api["counts"], query
        # Clicking through to a kind finds as many, with that kind's facets.
        for kind in UNIFIED_KINDS:
            one = _api(world, q=query, kind=kind).json()
            assert one["total"] == api["counts"][kind] and "facets" in one, (query, kind)


def test_a_search_over_every_kind_refuses_a_cursor_or_a_date_sort(world):
    assert _api(world, q="x", cursor="abc").status_code == 400
    assert _api(world, q="x", sort="date").status_code == 400
    refused = _cli(world, "x", "--sort", "date")
    assert refused.returncode == 1 and "--kind" in refused.stderr and "Traceback" not in refused.stderr
