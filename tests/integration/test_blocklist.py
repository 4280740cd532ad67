"""The blocklist end to end: a real crawl through the testnet into Elasticsearch, then the search side.

Two onion services: one whose host goes on the blocklist, one with a page under a blocked URL
pattern and a page whose body hash is blocked.  The first crawl runs with an empty blocklist
and indexes everything; the entries are then added to the file while the API is running, and
every way of reading the index (search, entity page, stats, JSON/CSV/STIX/MISP exports, the
CLI) stops showing those documents at once.  A second crawl with the blocklist fetches
nothing of the blocked host or pattern and indexes nothing of the blocked body.

What the first crawl wrote is searchable only after a refresh of its index.  The node refreshes
about once a second, later when it is busy (/stats once counted 0 onions in a whole-suite run,
both onion documents written), so the fixture refreshes the prefix when the crawl is over, and
the onions index has no scheduled refreshes in this module: without that readiness step the
test fails every time, not once in a loaded run.  A wrong count prints what the crawl
reported and each onion document as a realtime get sees it (written, or lost).
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any, Iterator

import pytest
from fastapi.testclient import TestClient

from tests import PROJECT_ROOT
from search.api import create_app
from search.auth import create_token
from tests.integration.hostile_sites import HostileSite, ok_page
from tests.integration.hostile_world import crawl_environment, indexed_pages, run_measured_crawl
from tests.integration.transport_network import publish_sites

pytestmark = pytest.mark.integration

LISTED_PATHS = ["/ok/listed-one", "/ok/listed-two"]
OPEN_PATHS = ["/ok/public", "/ok/private-chat", "/ok/hashed"]


@pytest.fixture(scope="module")
def world(testnet, testnet_network, es_node, tmp_path_factory) -> Iterator[dict[str, Any]]:
    from pipelines.es_client import make_client
    from pipelines.indices import current_index, delete_prefix, ensure_indices

    listed, open_site = HostileSite("listed"), HostileSite("open")
    manifest, onions = publish_sites(testnet_network, [listed, open_site], prefix="blocklist")
    socks = f"127.0.0.1:{manifest['clients'][0]['socks_port']}"
    prefix = f"test-blocklist-{uuid.uuid4().hex[:8]}"
    work = tmp_path_factory.mktemp("blocklist")
    blocklist_file = work / "blocklist.yml"
    blocklist_file.write_text("# nothing blocked yet\n", encoding="utf-8")
    client = make_client(es_node.settings)
    environment = crawl_environment(es_node.url, prefix, socks, work / "var")
    environment["ONIONSCOPE_BLOCKLIST_FILE"] = str(blocklist_file)
    seeds = [f"http://{onions['listed']}{path}" for path in LISTED_PATHS]
    seeds += [f"http://{onions['open']}{path}" for path in OPEN_PATHS]
    try:
        ensure_indices(client, prefix)
        onions_index = current_index(client, prefix, "onions")
        client.indices.put_settings(index=onions_index, settings={"refresh_interval": "-1"})
        first = run_measured_crawl(seeds, "crawl-1", environment)
        # The readiness step: the crawl is over, so whatever it wrote is made searchable now.
        client.indices.refresh(index=f"{prefix}-*")
        yield {
            "listed": listed, "open": open_site, "onions": onions, "prefix": prefix, "client": client,
            "file": blocklist_file, "environment": environment, "seeds": seeds, "first": first,
            "settings": es_node.settings.replace(index_prefix=prefix, var_dir=str(work / "var"),
                                                 blocklist_file=str(blocklist_file)),
        }
    finally:
        delete_prefix(client, prefix)
        client.close()
        listed.close()
        open_site.close()


def _urls(world: dict[str, Any], site: str, paths: list[str]) -> set[str]:
    return {f"http://{world['onions'][site]}{path}" for path in paths}


def _block_everything(world: dict[str, Any]) -> None:
    hashed = hashlib.sha256(ok_page("open", "hashed")).hexdigest()
    world["file"].write_text(
        "# added after the first crawl\n"
        f"onion_hosts:\n  - {world['onions']['listed']}\n"
        f"url_patterns:\n  - \"http://{world['onions']['open']}/ok/private-*\"\n"
        f"content_hashes:\n  - {hashed}\n",
        encoding="utf-8",
    )


def _onion_evidence(world: dict[str, Any]) -> dict[str, Any]:
    """What to print when the onion count is wrong: the first crawl's summary and entity figures, each
    onion document as a realtime get sees it (a lost write is not found; an unrefreshed one is), and the
    unfiltered count before and after a refresh."""
    from elasticsearch import NotFoundError

    client, index = world["client"], f"{world['prefix']}-onions"
    documents: dict[str, Any] = {}
    for site, host in world["onions"].items():
        try:
            stored = client.get(index=index, id=host)
        except NotFoundError:
            documents[site] = "not found"
            continue
        documents[site] = {"_index": stored["_index"], "_seq_no": stored["_seq_no"],
                           **{key: stored["_source"].get(key) for key in ("onion_host", "page_count", "job_ids")}}
    before = client.count(index=index)["count"]
    client.indices.refresh(index=index)
    figures = {key: value for key, value in world["first"]["stats"].items()
               if key.startswith(("elasticsearch/", "freshness/liveness"))}
    return {"summary": world["first"]["summary"], "figures": figures, "onion_documents": documents,
            "onions_counted_before_refresh": before, "after_refresh": client.count(index=index)["count"]}


def _auth(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}", "accept": "application/json"}


def test_documents_indexed_before_an_entry_was_added_are_hidden_from_every_answer(world):
    everything = set(world["seeds"])
    # The first crawl took it all.
    assert set(indexed_pages(world["client"], world["prefix"])) == everything, world["first"]["summary"]
    token, _ = create_token(world["client"], world["prefix"], "viewer", "blocklist test")
    listed_host, open_host = world["onions"]["listed"], world["onions"]["open"]
    visible = _urls(world, "open", ["/ok/public"])
    with TestClient(create_app(world["settings"], world["client"])) as http:
        def found() -> set[str]:
            answer = http.get("/search", params={"q": "survived", "kind": "pages", "limit": 50}, headers=_auth(token))
            assert answer.status_code == 200, answer.text
            return {hit["source"]["url"] for hit in answer.json()["hits"]}

        assert found() == everything
        assert http.get(f"/onions/{listed_host}", headers=_auth(token)).status_code == 200
        _block_everything(world)  # while the server runs: no restart

        assert found() == visible
        assert http.get(f"/onions/{listed_host}", headers=_auth(token)).status_code == 404
        assert http.get(f"/onions/{open_host}", headers=_auth(token)).status_code == 200
        stats = http.get("/stats", headers=_auth(token)).json()
        # The open service stays (its last page may be a blocked one), the blocked one is gone.
        assert stats["counts"]["pages"] == 1 and stats["counts"]["onions"] == 1, (
            f"{stats['counts']}: {json.dumps(_onion_evidence(world), sort_keys=True, default=str)}")
        for export_format in ("json", "csv", "stix", "misp"):
            exported = http.get("/export", params={"format": export_format, "q": "survived", "kind": "pages"},
                                headers=_auth(token))
            assert exported.status_code == 200, (export_format, exported.text)
            assert open_host in exported.text and listed_host not in exported.text, export_format
            assert "private-chat" not in exported.text and "/ok/hashed" not in exported.text, export_format
        html = http.get("/search", params={"q": "survived", "kind": "pages"},
                        headers={"authorization": f"Bearer {token}", "accept": "text/html"})
        assert "/ok/public" in html.text and listed_host not in html.text and "/ok/hashed" not in html.text

    environment = dict(world["environment"])
    cli = subprocess.run([sys.executable, "-m", "onionscope.cli", "search", "survived", "--kind", "pages", "--json",
                          "--limit", "50"],
                         capture_output=True, text=True, env=environment, cwd=PROJECT_ROOT, timeout=120)
    assert cli.returncode == 0, cli.stderr
    assert {hit["source"]["url"] for hit in json.loads(cli.stdout)["hits"]} == visible


def test_a_crawl_with_the_blocklist_fetches_and_indexes_nothing_on_it(world):
    _block_everything(world)
    listed, open_site = world["listed"], world["open"]
    before_listed, before_open = len(listed.paths), len(open_site.paths)
    report = run_measured_crawl(world["seeds"], "crawl-2", world["environment"])
    assert listed.paths[before_listed:] == []  # no request ever reached the blocked service
    assert sorted(open_site.paths[before_open:]) == ["/ok/hashed", "/ok/public"]  # never the blocked pattern
    stats = report["stats"]
    assert stats["blocklist/refused/onion_host"] == len(LISTED_PATHS)
    assert stats["blocklist/refused/url_pattern"] == 1 and stats["blocklist/refused/content_hash"] == 1
    assert stats["tor/requests"] == 2
    assert "is on the blocklist" in report["log"]
    pages = indexed_pages(world["client"], world["prefix"], ["url", "job_id"])
    assert {url: page["job_id"] for url, page in pages.items() if page["job_id"] == "crawl-2"} == {
        f"http://{world['onions']['open']}/ok/public": "crawl-2"}
    assert report["summary"]["items_lost"] == 0
