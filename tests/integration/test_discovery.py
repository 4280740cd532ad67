"""Discovery on the private Tor network and the real Elasticsearch node (issue 11).

A source onion's front page names three onions only in its text (no link): a
target site, a blocklisted site and a ghost (a valid v3 address that no service
publishes).  Four crawls of the source, with ``--discover off``, ``record``,
``probe`` and ``crawl`` (before the last, the source's second page names one
more onion, "deep", in its text):

* off queues nothing;
* record queues the target (status new, seen in text, on the source page) and fetches nothing of it;
* probe fetches the target's front page once through Tor (never its links) and
  the queue shows it probed, up, with its title and where it was seen; the
  liveness history has the probe's check; the ghost is probed and recorded down with a reason;
* crawl crawls the deep onion to depth 1 (its linked page too) and marks it crawled,
  and fetches nothing of the onions already probed;
* the blocklisted onion is never queued and never fetched; the API lists the
  target on /discovered.json and the metric counts the queue by status.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
import subprocess
import sys
from pathlib import Path
from typing import Any, Iterator

import pytest

from config.schema import alias_name
from tests import PROJECT_ROOT
from tests.integration.discovery_sites import RecordingSite
from tests.integration.transport_network import publish_sites

pytestmark = pytest.mark.integration

TARGET_TITLE = "Target Bazaar <b>"


def _v3(seed: str) -> str:
    # An independent encoder (rend-spec-v3), not the extractor's: a valid address nobody publishes.
    pubkey = hashlib.sha256(seed.encode()).digest()
    checksum = hashlib.sha3_256(b".onion checksum" + pubkey + b"\x03").digest()[:2]
    return base64.b32encode(pubkey + checksum + b"\x03").decode().lower() + ".onion"


GHOST = _v3(f"ghost-{secrets.token_hex(4)}")


def _source_page(target: str, blocked: str) -> str:
    return (f"<html><head><title>Directory</title></head><body><h1>Links of the week</h1>"
            f"<p>Our new mirror is at {target} - copy it into Tor Browser.</p>"
            f"<p>Avoid {blocked} please. The old one, {GHOST}, is gone.</p>"
            f"<a href=\"/about\">about</a></body></html>")


@pytest.fixture(scope="module")
def world(testnet: dict, testnet_network: Any, es_node: Any, tmp_path_factory: pytest.TempPathFactory
          ) -> Iterator[dict[str, Any]]:
    from pipelines.es_client import make_client
    from pipelines.indices import delete_prefix

    sites = {name: RecordingSite(name) for name in ("source", "target", "blocked", "deep")}
    manifest, onions = publish_sites(testnet_network, list(sites.values()), prefix="discovery")
    sites["source"].pages = {"/": _source_page(onions["target"], onions["blocked"]),
                             "/about": "<html><head><title>About</title></head><body>about us</body></html>"}
    sites["target"].pages = {"/": f"<html><head><title>{TARGET_TITLE.replace('<', '&lt;').replace('>', '&gt;')}"
                                  "</title></head><body><a href=\"/inner\">inner</a></body></html>",
                             "/inner": "<html><body>inner</body></html>"}
    sites["blocked"].pages = {"/": "<html><head><title>Blocked</title></head><body>no</body></html>"}
    sites["deep"].pages = {"/": "<html><head><title>Deep</title></head><body><a href=\"/inner\">in</a></body></html>",
                           "/inner": "<html><head><title>Deep inner</title></head><body><a href=\"/inner2\">on</a></body></html>",
                           "/inner2": "<html><body>never reached: depth 2</body></html>"}
    for site in sites.values():  # publishing checked each site through tor: not ours to count
        site.take_requests()
    work = tmp_path_factory.mktemp("discovery")
    blocklist = work / "blocklist.yml"
    blocklist.write_text(f"onion_hosts:\n  - {onions['blocked']}\n", encoding="utf-8")
    prefix = f"test-discovery-{secrets.token_hex(3)}"
    client = make_client(es_node.settings)
    delete_prefix(client, prefix)
    env = {k: v for k, v in os.environ.items() if not k.startswith("ONIONSCOPE_")}
    env.update(
        ONIONSCOPE_TOR_SOCKS=f"127.0.0.1:{manifest['clients'][0]['socks_port']}", ONIONSCOPE_ES_URL=es_node.url,
        ONIONSCOPE_INDEX_PREFIX=prefix, ONIONSCOPE_VAR_DIR=str(work / "var"),
        ONIONSCOPE_TESTNET_DIR=str(work / "no-testnet"), ONIONSCOPE_BLOCKLIST_FILE=str(blocklist),
        ONIONSCOPE_EXTRACTION_BUDGET_SECONDS="0", ONIONSCOPE_RETRY_TIMES="1",
        # The ghost's retry still waits (the back-off middleware stays on), half a second instead of
        # the default five: nothing here is about how long a retry waits.
        ONIONSCOPE_RETRY_BACKOFF_SECONDS="0.5",
    )

    def crawl(job: str, policy: str) -> dict[str, Any]:
        result = subprocess.run(
            [sys.executable, "-m", "onionscope.cli", "crawl", "--job", job, "--json", "--quiet", "--depth", "1",
             "--seed", f"http://{onions['source']}/", "--discover", policy],
            cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=300, check=False,
        )
        assert result.returncode == 0, result.stderr[-3000:]
        queue = alias_name(prefix, "discovered-onions")
        client.indices.refresh(index=queue)
        docs = {hit["_id"]: hit["_source"] for hit in
                client.search(index=queue, query={"match_all": {}}, size=100)["hits"]["hits"]}
        return {"summary": json.loads(result.stdout), "queue": docs,
                "requests": {name: site.take_requests() for name, site in sites.items()}}

    try:
        steps = {"off": crawl("disc-off", "off"), "record": crawl("disc-record", "record"),
                 "probe": crawl("disc-probe", "probe")}
        sites["source"].pages["/about"] = (f"<html><head><title>About</title></head><body>We also run {onions['deep']}"
                                           "</body></html>")
        steps["crawl"] = crawl("disc-crawl", "crawl")
        yield {"steps": steps, "onions": onions, "client": client, "prefix": prefix, "env": env}
    finally:
        for site in sites.values():
            site.stop()
        delete_prefix(client, prefix)
        client.close()


def test_off_queues_nothing(world: dict[str, Any]) -> None:
    step = world["steps"]["off"]
    assert step["requests"]["source"], "the source was crawled"
    assert step["queue"] == {}
    assert step["requests"]["target"] == [] and step["requests"]["blocked"] == []


def test_record_queues_an_onion_named_only_in_text_without_fetching_it(world: dict[str, Any]) -> None:
    step, onions = world["steps"]["record"], world["onions"]
    assert set(step["queue"]) == {onions["target"], GHOST}
    assert step["queue"][GHOST]["status"] == "new"
    document = step["queue"][onions["target"]]
    assert document["status"] == "new"
    assert document["seen_in"] == ["text"]
    assert document["source_hosts"] == [onions["source"]]
    assert f"http://{onions['source']}/" in [entry["url"] for entry in document["seen_on"]]
    assert document["job_ids"] == ["disc-record"]
    assert step["requests"]["target"] == []
    assert step["summary"]["discovered_onions_queued"] == 2
    assert step["summary"]["discovered_onions_blocklisted"] >= 1


def test_probe_fetches_the_new_onion_once_and_records_liveness_and_title(world: dict[str, Any]) -> None:
    step, onions = world["steps"]["probe"], world["onions"]
    document = step["queue"][onions["target"]]
    assert document["status"] == "probed"
    assert document["up"] is True and document["last_status"] == 200
    assert document["title"] == TARGET_TITLE
    assert document["job_ids"] == ["disc-record", "disc-probe"]
    assert step["summary"]["discovery"]["probed"] == 2 and step["summary"]["discovery"]["up"] == 1
    ghost = step["queue"][GHOST]
    assert ghost["status"] == "probed" and ghost["up"] is False and ghost["reason"]
    # The front page only: its links are never followed.
    assert [path for path in step["requests"]["target"] if path != "/robots.txt"] == ["/"]
    checks = world["client"].search(index=alias_name(world["prefix"], "onion-checks"),
                                    query={"term": {"onion_host": onions["target"]}})["hits"]["hits"]
    assert [hit["_source"]["up"] for hit in checks] == [True]


def test_crawl_crawls_a_new_onion_to_the_depth_and_leaves_probed_ones_alone(world: dict[str, Any]) -> None:
    step, onions = world["steps"]["crawl"], world["onions"]
    document = step["queue"][onions["deep"]]
    assert document["status"] == "crawled" and document["up"] is True and document["title"] == "Deep"
    assert document["seen_in"] == ["text"]
    assert [entry["url"] for entry in document["seen_on"]] == [f"http://{onions['source']}/about"]
    assert sorted(path for path in step["requests"]["deep"] if path != "/robots.txt") == ["/", "/inner"]
    assert step["requests"]["target"] == []
    assert step["queue"][onions["target"]]["status"] == "probed"
    assert step["summary"]["discovery"]["policy"] == "crawl" and step["summary"]["discovery"]["hosts"] == 1


def test_a_blocklisted_mentioned_onion_is_never_queued_or_fetched(world: dict[str, Any]) -> None:
    for step in world["steps"].values():
        assert world["onions"]["blocked"] not in step["queue"]
        assert step["requests"]["blocked"] == []


def test_the_api_lists_discovered_onions_escaped_with_where_and_the_metric_counts_them(world: dict[str, Any]
                                                                                       ) -> None:
    from fastapi.testclient import TestClient

    from config.settings import load_settings
    from search.api import create_app
    from search.auth import create_token

    client, prefix, onions = world["client"], world["prefix"], world["onions"]
    settings = load_settings(None).replace(es_url=world["env"]["ONIONSCOPE_ES_URL"], index_prefix=prefix,
                                           var_dir=world["env"]["ONIONSCOPE_VAR_DIR"])
    token, _ = create_token(client, prefix, "viewer", "discovery viewer")
    headers = {"authorization": f"Bearer {token}"}
    with TestClient(create_app(settings, client)) as http:
        assert http.get("/discovered", headers={"accept": "application/json"}).status_code == 401
        data = http.get("/discovered", headers={**headers, "accept": "application/json"}).json()
        rows = {row["onion_host"]: row for row in data["onions"]}
        assert set(rows) == {onions["target"], GHOST, onions["deep"]}
        assert [row["onion_host"] for row in data["onions"]][0] == onions["deep"]  # newest first
        row = rows[onions["target"]]
        assert row["status"] == "probed" and row["title"] == TARGET_TITLE
        assert row["seen_on"][0]["url"] == f"http://{onions['source']}/" and row["seen_on"][0]["where"] == ["text"]
        assert http.get("/discovered?status=new", headers={**headers, "accept": "application/json"}
                        ).json()["onions"] == []
        assert http.get("/discovered?status=bogus", headers=headers).status_code == 400
        html = http.get("/discovered", headers={**headers, "accept": "text/html"}).text
        assert "Target Bazaar &lt;b&gt;" in html and "Target Bazaar <b>" not in html
        assert f"http://{onions['source']}/" in html
        metrics = http.get("/metrics", headers=headers).text
    assert 'onionscope_discovery_queue_size{status="probed"} 2.0' in metrics
    assert 'onionscope_discovery_queue_size{status="crawled"} 1.0' in metrics
    assert 'onionscope_discovery_queue_size{status="new"} 0.0' in metrics
