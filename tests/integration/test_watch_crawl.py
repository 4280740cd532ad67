"""Watchlists end to end: the demo world crawled through the private Tor network, alerts in the real Elasticsearch.

A wallet of the demo world (taken from the generator's ground truth: one
that a listing carries and that is written on exactly one page) is watched
before the first crawl of the market that shows it.  That crawl (``onionscope crawl``, a subprocess, as an
operator runs it) finds it on that one new page: exactly one alert, for that
page, and the webhook -- a receiver on 127.0.0.1 that checks the HMAC itself
-- gets it once, signed.  A second crawl sees the same page again (its
document carries the second job's id) and makes no alert and no delivery.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path
from typing import Any, Iterator
from urllib.parse import urlsplit

import pytest

from crawler.urls import canonical_url
from harness.demo_world import DemoWorld
from tests.integration.webhook_receiver import WebhookReceiver, signature_is_valid

# The private network, the demo sites and two crawls on a shared two-core machine.
pytestmark = [pytest.mark.integration, pytest.mark.timeout(1800)]

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def watched_wallet(truth: dict[str, Any]) -> dict[str, Any]:
    """A wallet a demo listing carries, written on exactly one page of the demo world (ground truth)."""
    listing_wallets = {address for listing in truth["listings"] for address in listing["wallets"]}
    candidates = [wallet for wallet in truth["wallets"]
                  if wallet["address"] in listing_wallets and len(wallet["pages"]) == 1]
    assert candidates, "the demo world has a listing wallet written on one page only"
    return sorted(candidates, key=lambda wallet: wallet["address"])[0]


class WatchedCrawls:
    def __init__(self, world: DemoWorld, es_url: str, prefix: str, work_dir: Path, receiver: WebhookReceiver,
                 secret: str):
        self.world, self.es_url, self.prefix, self.work_dir = world, es_url, prefix, work_dir
        self.receiver, self.secret = receiver, secret
        self.crawls: dict[str, dict[str, Any]] = {}

    def environment(self) -> dict[str, str]:
        environment = {k: v for k, v in os.environ.items() if not k.startswith(("ONIONSCOPE_", "TLDEXTRACT_"))}
        environment.update(
            TLDEXTRACT_CACHE=str(self.work_dir / "tldextract-cache"),
            ONIONSCOPE_TOR_SOCKS=self.world.socks_endpoints[0],
            ONIONSCOPE_ES_URL=self.es_url,
            ONIONSCOPE_INDEX_PREFIX=self.prefix,
            ONIONSCOPE_VAR_DIR=str(self.work_dir / "var"),
            ONIONSCOPE_TESTNET_DIR=str(self.work_dir / "no-testnet"),
            ONIONSCOPE_ALERT_WEBHOOK_URL=self.receiver.url,
            ONIONSCOPE_ALERT_WEBHOOK_SECRET=self.secret,
            ONIONSCOPE_ALERT_WEBHOOK_BACKOFF_SECONDS="0.1",
            # Eight test sessions share the node on two cores: a slow index set-up is not a failure here.
            ONIONSCOPE_ES_TIMEOUT="120",
        )
        return environment

    def onionscope(self, *arguments: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "onionscope.cli", *arguments], cwd=PROJECT_ROOT,
                              env=self.environment(), capture_output=True, text=True, timeout=900, check=False)

    def crawl(self, job: str, site_host: str) -> dict[str, Any]:
        # Only the site that holds the watched page: the rest of the world adds time, not coverage.
        seeds = [arg for seed in self.world.seeds if urlsplit(seed).hostname == site_host for arg in ("--seed", seed)]
        assert seeds, site_host
        confirmations = [arg for pair in self.world.market_hosts for arg in ("--market-host", pair)]
        result = self.onionscope("crawl", "--job", job, "--json", "--quiet", *seeds, *confirmations)
        assert result.returncode == 0, f"crawl failed:\n{result.stdout[-3000:]}\n{result.stderr[-4000:]}"
        self.crawls[job] = json.loads(result.stdout)
        return self.crawls[job]


@pytest.fixture(scope="module")
def watched(demo_world: DemoWorld, es_node: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from pipelines.es_client import make_client
    from pipelines.indices import delete_prefix

    secret = secrets.token_hex(16)
    receiver = WebhookReceiver().start()
    run = WatchedCrawls(demo_world, es_node.url, f"test-watch-{secrets.token_hex(4)}",
                        tmp_path_factory.mktemp("watch"), receiver, secret)
    client = make_client(es_node.settings)
    wallet = watched_wallet(demo_world.ground_truth)
    added = run.onionscope("watch", "add", "wallet", wallet["address"], "--note", "demo wallet")
    assert added.returncode == 0, added.stderr[-2000:]
    run.crawl("watch-first", urlsplit(wallet["pages"][0]).hostname)
    try:
        yield run, client, wallet
    finally:
        receiver.stop()
        delete_prefix(client, run.prefix)
        client.close()


def _alerts(client: Any, prefix: str) -> list[dict[str, Any]]:
    client.indices.refresh(index=f"{prefix}-alerts")
    return [hit["_source"] for hit in client.search(index=f"{prefix}-alerts", size=100)["hits"]["hits"]]


def test_a_watched_wallet_on_a_new_page_gives_exactly_one_alert(watched) -> None:
    run, client, wallet = watched
    summary = run.crawls["watch-first"]["alerts"]
    assert summary["error"] is None, summary
    assert (summary["entries"], summary["created"], summary["existing"]) == (1, 1, 0), summary
    alerts = _alerts(client, run.prefix)
    assert len(alerts) == 1, alerts
    alert = alerts[0]
    (page_url,) = wallet["pages"]
    assert alert["url"] and canonical_url(alert["url"]) == canonical_url(page_url)
    assert alert["entry_kind"] == "wallet" and alert["entry_value"] == wallet["address"]
    assert alert["job_id"] == "watch-first" and alert["doc_kind"] == "pages"
    # The listing on that page is the hit; the page itself is among what matched.
    assert alert["hit"]["kind"] == "listings"
    assert {"listings", "pages"} <= {match["kind"] for match in alert["hit"]["matched"]}
    # The alert points to the page's evidence, and that record is kept whatever the retention says.
    assert alert["evidence_link"] and alert["evidence_link"].startswith("/evidence/"), alert["evidence_link"]
    assert summary["evidence_protected"] == 1, summary
    from crawler.evidence.retention import protected_files

    reasons = [reason for found in protected_files(run.work_dir / "var" / "evidence").values() for reason in found]
    assert reasons == [f"watchlist alert {alert['alert_id']}"]


def test_the_webhook_arrives_once_and_signed(watched) -> None:
    run, client, wallet = watched
    (alert,) = _alerts(client, run.prefix)
    assert run.crawls["watch-first"]["alerts"]["delivery"]["delivered"] == 1
    received = [delivery for delivery in run.receiver.deliveries if delivery.status == 200]
    assert len(received) == 1
    delivery = received[0]
    assert signature_is_valid(run.secret.encode(), delivery.headers, delivery.body)
    assert not signature_is_valid(b"another secret", delivery.headers, delivery.body)
    assert delivery.headers["x-onionscope-delivery"] == alert["alert_id"]
    body = delivery.json
    assert body["type"] == "onionscope.alert" and body["alert"]["entry_value"] == wallet["address"]
    assert alert["webhook_state"] == "delivered" and alert["webhook_attempts"] == 1
    assert [entry["status"] for entry in alert["deliveries"]] == [200]


def test_a_recrawl_of_the_same_page_gives_no_new_alert(watched) -> None:
    run, client, wallet = watched
    second = run.crawl("watch-second", urlsplit(wallet["pages"][0]).hostname)
    # The watched page was seen again by the second crawl, and matched again ...
    (page_url,) = wallet["pages"]
    from config.schema import page_doc_id

    page = client.get(index=f"{run.prefix}-pages", id=page_doc_id(canonical_url(page_url)))["_source"]
    assert page["job_id"] == "watch-second"
    # ... and made no alert, and nothing was sent.
    assert (second["alerts"]["created"], second["alerts"]["existing"]) == (0, 1), second["alerts"]
    assert second["alerts"]["delivery"] is None
    assert len(_alerts(client, run.prefix)) == 1
    assert len([delivery for delivery in run.receiver.deliveries if delivery.status == 200]) == 1
