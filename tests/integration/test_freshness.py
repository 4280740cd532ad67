"""Freshness and change end to end: one market, served as an onion, changed between real crawls into the real node.

The site (:mod:`tests.integration.freshness_market`) is published as an
onion service of the session's private Tor network; each crawl is a real
``onionscope crawl`` in a subprocess.  The module runs one story, crawl by
crawl, and records what each crawl left; the tests then check it:

1. three listings, the site up: indexed, validators kept, an ``up`` check;
2. one price (and vendor) changed, one listing gone, the rest unchanged:
   change records with old and new values, the gone listing marked removed,
   unchanged pages answered 304 and counted as seen (a listing on a 304 page
   is not removed);
3. another listing gone, but the run hits its page budget: nothing marked;
4. the site down: a ``down`` check with the SOCKS error kind, the back-off set;
5. right after, still down: the host is skipped, no attempt, no check;
6. the site back, a recheck now (``liveness_backoff_seconds`` 0): ``up``,
   the back-off cleared, and -- a complete run -- step 3's listing removed;
7. a normal crawl: the host is on the normal schedule again (checked, not
   skipped); a page stored as unchanged for long is not fetched (not due) yet
   counts as seen, and its listing is not removed.

Readiness: the network is up and the service answers before the first crawl
(the fixtures); after that every step waits only for its crawl to exit.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path
from typing import Any, Iterator

import pytest

from config.schema import alias_name, listing_doc_id, onion_check_doc_id, page_doc_id
from tests import PROJECT_ROOT
from tests.integration.freshness_market import ChangingMarket, ShopListing
from tests.integration.transport_network import publish_sites

pytestmark = pytest.mark.integration

MARKET = "tundra-shop"
HOSTILE_VENDOR = "<script>alert(1)</script>&co"


class _Named:
    """publish_sites wants objects with a name and an address."""

    def __init__(self, name: str, market: ChangingMarket):
        self.name = name
        self.address = market.address


class Story:
    def __init__(self, market: ChangingMarket, host: str, socks: str, es_url: str, prefix: str, work: Path):
        self.market, self.host, self.socks, self.es_url, self.prefix, self.work = market, host, socks, es_url, prefix, work
        self.steps: dict[int, dict[str, Any]] = {}

    def crawl(self, job: str, *extra: str, environment: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("ONIONSCOPE_")}
        env.update(
            ONIONSCOPE_TOR_SOCKS=self.socks, ONIONSCOPE_ES_URL=self.es_url, ONIONSCOPE_INDEX_PREFIX=self.prefix,
            ONIONSCOPE_VAR_DIR=str(self.work / "var"), ONIONSCOPE_TESTNET_DIR=str(self.work / "no-testnet"),
            # In the crawl process (no worker start-up), one retry, back-off long enough to see it skip.
            ONIONSCOPE_EXTRACTION_BUDGET_SECONDS="0", ONIONSCOPE_RETRY_TIMES="1",
            # The retry of the down site still waits (the back-off middleware stays on), half a second
            # instead of the default five: nothing here is about how long a retry waits.
            ONIONSCOPE_RETRY_BACKOFF_SECONDS="0.5",
            ONIONSCOPE_LIVENESS_BACKOFF_SECONDS="3600",
        )
        env.update(environment or {})
        return subprocess.run(
            [sys.executable, "-m", "onionscope.cli", "crawl", "--job", job, "--json", "--quiet",
             "--seed", f"http://{self.host}/", "--market-host", f"{MARKET}={self.host}", *extra],
            cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=300, check=False,
        )


def _search(client: Any, prefix: str, kind: str, query: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    client.indices.refresh(index=alias_name(prefix, kind))
    response = client.search(index=alias_name(prefix, kind), query=query or {"match_all": {}}, size=1000)
    return [{"_id": hit["_id"], **hit["_source"]} for hit in response["hits"]["hits"]]


def _state(client: Any, story: Story, job: str, result: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    prefix = story.prefix
    run = client.get(index=alias_name(prefix, "crawl-runs"), id=job)["_source"]
    onion = client.get(index=alias_name(prefix, "onions"), id=story.host)["_source"]
    return {
        "result": result, "run": run, "onion": onion, "requests": story.market.take_requests(),
        "listings": {doc["listing_id"]: doc for doc in _search(client, prefix, "listings")},
        "pages": {doc["_id"]: doc for doc in _search(client, prefix, "pages")},
        "changes": _search(client, prefix, "changes"),
        "checks": {doc["job_id"]: doc for doc in _search(client, prefix, "onion-checks")},
    }


@pytest.fixture(scope="module")
def story(testnet: dict, testnet_network: Any, es_node: Any, tmp_path_factory: pytest.TempPathFactory
          ) -> Iterator[Story]:
    from pipelines.es_client import make_client
    from pipelines.indices import delete_prefix

    market = ChangingMarket({
        "T1": ShopListing("Salt lamp", "1.5000 XMR", 7, "acme"),
        "T2": ShopListing("Lava lamp", "2.0000 XMR", 3, "acme"),
        "T3": ShopListing("Oil lamp", "3.0000 XMR", 1, "acme"),
    })
    market.start()
    manifest, onions = publish_sites(testnet_network, [_Named("market", market)], prefix="freshness")
    client_entry = manifest["clients"][0]
    # A prefix of its own: other sessions share the node.
    prefix = f"test-freshness-{secrets.token_hex(3)}"
    client = make_client(es_node.settings)
    delete_prefix(client, prefix)
    story = Story(market, onions["market"], f"127.0.0.1:{client_entry['socks_port']}", es_node.url, prefix,
                  tmp_path_factory.mktemp("freshness"))
    try:
        def step(number: int, job: str, *extra: str, environment: dict[str, str] | None = None) -> None:
            result = story.crawl(job, *extra, environment=environment)
            story.steps[number] = _state(client, story, job, result)

        step(1, "fresh-1")
        market.listings["T1"] = ShopListing("Salt lamp", "1.7500 XMR", 7, HOSTILE_VENDOR)
        del market.listings["T3"]
        step(2, "fresh-2")
        del market.listings["T2"]
        step(3, "fresh-3", "--max-pages-per-host", "2")
        market.stop()
        step(4, "fresh-4")
        step(5, "fresh-5")
        market.start()
        step(6, "fresh-6", environment={"ONIONSCOPE_LIVENESS_BACKOFF_SECONDS": "0"})
        # T1's page as if unchanged for a month: under the default policy it is not due for a week.
        client.update(index=alias_name(prefix, "pages"), id=page_doc_id(f"http://{story.host}/item/T1.html"),
                      doc={"content_changed_at": "2000-01-01T00:00:00Z"}, refresh=True)
        step(7, "fresh-7")
        story.client = client  # type: ignore[attr-defined]
        yield story
    finally:
        market.stop()
        delete_prefix(client, prefix)
        client.close()


def _listing_id(story: Story, listing_id: str) -> str:
    return listing_doc_id(MARKET, listing_id, story.host, True)


def test_a_first_crawl_indexes_the_market_keeps_validators_and_records_an_up_check(story: Story) -> None:
    first = story.steps[1]
    assert first["result"].returncode == 0, first["result"].stderr[-3000:]
    assert set(first["listings"]) == {"T1", "T2", "T3"}
    assert first["listings"]["T1"]["price_amount"] == 1.5 and first["listings"]["T1"]["stock"] == 7
    home = first["pages"][page_doc_id(f"http://{story.host}/")]
    assert home["etag"].startswith('"') and home["content_changed_at"] == home["first_seen"]
    check = first["checks"]["fresh-1"]
    assert check["state"] == "up" and check["attempts"] >= 5 and check["failed"] == 0
    assert check["latency_ms_mean"] > 0 and check["samples"][0]["latency_ms"] > 0
    assert first["onion"]["up"] is True and first["onion"]["consecutive_down"] == 0
    assert (first["run"]["listings_new"], first["run"]["listings_removed"]) == (3, 0)
    assert first["changes"] == []


def test_a_price_change_and_a_removed_listing_show_as_change_records(story: Story) -> None:
    second = story.steps[2]
    assert second["result"].returncode == 0, second["result"].stderr[-3000:]
    records = {(c["listing_id"], c["field"]): c for c in second["changes"] if c["kind"] == "listings"}
    price = records[("T1", "price")]
    assert (price["old_amount"], price["new_amount"], price["new_currency"]) == (1.5, 1.75, "XMR")
    assert (price["old_value"], price["new_value"]) == ("1.5 XMR", "1.75 XMR")
    assert price["doc_id"] == _listing_id(story, "T1") and price["job_id"] == "fresh-2"
    assert (records[("T1", "vendor")]["old_value"], records[("T1", "vendor")]["new_value"]) == ("acme", HOSTILE_VENDOR)
    removed = records[("T3", "removed")]
    assert removed["new_value"] == second["listings"]["T3"]["removed_at"]
    # Marked, never deleted; the unchanged and the changed listings are not.
    assert second["listings"]["T3"]["removed_at"] and "removed_at" not in second["listings"]["T2"]
    assert not second["listings"]["T1"].get("removed_at")
    assert ("T2", "price") not in records and ("T2", "removed") not in records
    run = second["run"]
    assert (run["listings_new"], run["listings_changed"], run["listings_removed"]) == (0, 1, 1)
    assert run["pages_changed"] >= 2  # the section page and T1's page


def test_unchanged_pages_answer_304_and_count_as_seen(story: Story) -> None:
    first, second = story.steps[1], story.steps[2]
    statuses = {path: (tag, status) for path, tag, status in second["requests"]}
    # The crawler sent the stored ETag; the site answered "not modified" for the unchanged pages...
    assert statuses["/"][1] == 304 and statuses["/"][0] == first["pages"][page_doc_id(f"http://{story.host}/")]["etag"]
    assert statuses["/item/T2.html"][1] == 304
    # ...and in full for the changed ones.
    assert statuses["/section/all/"][1] == 200 and statuses["/item/T1.html"][1] == 200
    assert second["run"]["stats"]["freshness/not_modified"] >= 2
    t2_page = page_doc_id(f"http://{story.host}/item/T2.html")
    assert second["pages"][t2_page]["last_seen"] > first["pages"][t2_page]["last_seen"]
    assert second["pages"][t2_page]["fetched_at"] == first["pages"][t2_page]["fetched_at"]  # not fetched again
    # A listing whose page answered 304 was seen: its last_seen moved and it was not marked removed.
    assert second["listings"]["T2"]["last_seen"] > first["listings"]["T2"]["last_seen"]


def test_a_partial_run_marks_nothing_removed(story: Story) -> None:
    third = story.steps[3]
    assert third["run"]["stats"][f"budget/host_exhausted/{story.host}"] == 1
    assert "removed_at" not in third["listings"]["T2"]  # gone from the site, but the run did not see it all
    assert third["run"]["listings_removed"] == 0
    assert not [c for c in third["changes"] if c["job_id"] == "fresh-3" and c["field"] == "removed"]


def test_a_site_that_goes_down_shows_in_the_liveness_history_and_backs_off(story: Story) -> None:
    fourth = story.steps[4]
    check = fourth["checks"]["fresh-4"]
    assert check["state"] == "down" and check["up"] is False and check["answered"] == 0
    assert check["attempts"] >= 1 and len(check["samples"]) == check["attempts"]  # each attempt kept
    assert check["reason"] and check["reason"] in check["reasons"]
    assert {sample["reason"] for sample in check["samples"]} == set(check["reasons"])
    onion = fourth["onion"]
    assert onion["up"] is False and onion["consecutive_down"] == 1 and onion["last_down_reason"] == check["reason"]
    assert onion["down_since"] == check["checked_at"] and onion["next_check_at"] > check["checked_at"]
    assert onion["last_seen"] == story.steps[3]["onion"]["last_seen"]  # down: not "seen"
    assert fourth["run"]["listings_removed"] == 0


def test_a_host_backing_off_is_skipped_without_an_attempt(story: Story) -> None:
    fifth = story.steps[5]
    stats = fifth["run"]["stats"]
    assert stats["liveness/hosts_backing_off"] == 1 and stats["liveness/skipped_requests"] >= 1
    assert stats.get("tor/requests", 0) == 0 and stats.get("liveness/attempts", 0) == 0
    assert "fresh-5" not in fifth["checks"]
    assert fifth["onion"]["consecutive_down"] == 1


def test_a_site_that_comes_back_is_up_and_on_the_normal_schedule(story: Story) -> None:
    sixth, seventh = story.steps[6], story.steps[7]
    assert sixth["result"].returncode == 0, sixth["result"].stderr[-3000:]
    assert sixth["checks"]["fresh-6"]["state"] == "up"
    assert sixth["onion"]["up"] is True and sixth["onion"]["consecutive_down"] == 0
    assert sixth["onion"]["next_check_at"] is None and sixth["onion"]["down_since"] is None
    states = [entry["state"] for entry in sixth["onion"]["recent_checks"]]
    assert states == ["up", "up", "up", "down", "up"]
    # With the default back-off the next crawl checks the host again instead of skipping it.
    assert seventh["result"].returncode == 0, seventh["result"].stderr[-3000:]
    assert "fresh-7" in seventh["checks"] and seventh["run"]["stats"].get("liveness/skipped_requests", 0) == 0
    # Step 6 crawled the market completely: the listing step 3 could not vouch for is removed now.
    assert sixth["listings"]["T2"]["removed_at"] and sixth["run"]["listings_removed"] == 1


def test_the_listing_page_shows_its_price_history_escaped_with_a_json_twin(story: Story, tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    from search.api import create_app
    from search.auth import create_token

    client = story.client  # type: ignore[attr-defined]
    settings = story_settings(story, tmp_path)
    token, _ = create_token(client, story.prefix, "viewer", "freshness test")
    with TestClient(create_app(settings, client)) as http:
        path = f"/listings/{_listing_id(story, 'T1')}"
        data = http.get(path, headers={"authorization": f"Bearer {token}", "accept": "application/json"}).json()
        assert [(p["amount"], p["currency"]) for p in data["price_history"]] == [(1.75, "XMR"), (1.5, "XMR")]
        change = next(c for c in data["changes"] if c["field"] == "price")
        assert data["price_history"][0]["until"] is None and data["price_history"][1]["until"] == change["changed_at"]
        page = http.get(path, headers={"authorization": f"Bearer {token}", "accept": "text/html"}).text
        assert 'id="price-history"' in page and "1.75 XMR" in page.replace("\n", " ")
        assert "<script>alert(1)" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;&amp;co" in page
        removed = http.get(f"/listings/{_listing_id(story, 'T3')}", headers={"authorization": f"Bearer {token}",
                                                                              "accept": "text/html"}).text
        assert 'id="removed"' in removed
        onion = http.get(f"/onions/{story.host}", headers={"authorization": f"Bearer {token}",
                                                          "accept": "application/json"}).json()
        assert [check["state"] for check in onion["checks"]][:5] == ["up", "up", "down", "up", "up"]
        assert onion["checks"][2]["reason"] == story.steps[4]["checks"]["fresh-4"]["reason"]
    assert onion_check_doc_id(story.host, "fresh-4") in {c["_id"] for c in story.steps[4]["checks"].values()}


def story_settings(story: Story, tmp_path: Path) -> Any:
    from config.settings import load_settings

    return load_settings(environ={}).replace(es_url=story.es_url, index_prefix=story.prefix, var_dir=str(tmp_path))


def test_a_page_unchanged_for_long_is_not_fetched_but_seen(story: Story) -> None:
    sixth, seventh = story.steps[6], story.steps[7]
    paths = [path for path, _, _ in seventh["requests"]]
    assert "/item/T1.html" not in paths and "/section/all/" in paths  # the section page still links to it
    assert seventh["run"]["stats"]["freshness/not_due"] == 1
    t1_page = page_doc_id(f"http://{story.host}/item/T1.html")
    assert seventh["pages"][t1_page]["last_seen"] > sixth["pages"][t1_page]["last_seen"]
    assert not seventh["listings"]["T1"].get("removed_at")
    assert seventh["listings"]["T1"]["last_seen"] > sixth["listings"]["T1"]["last_seen"]
