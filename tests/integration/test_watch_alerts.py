"""Watchlists, alerts and the webhook against the real Elasticsearch node (the crawl side: test_watch_crawl.py).

Documents are indexed through the real bulk pipeline with a run's job id,
as a crawl indexes them; then a run's alerts are made, read over the API
and delivered to a receiver on 127.0.0.1 that checks the signature itself.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from crawler.items import Listing, Page
from search.alerts import alert_run, list_alerts
from search.api import create_app
from search.auth import create_token
from search.watchlists import add_entry, list_entries
from search.webhooks import deliver_pending, due_count, webhook_settings
from tests.integration.test_hostile_users import _session
from tests.integration.webhook_receiver import WebhookReceiver, free_port, signature_is_valid

pytestmark = pytest.mark.integration
PROJECT_ROOT = Path(__file__).resolve().parents[2]
HOST = "watch" + "w" * 51 + ".onion"
WALLET = "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq"
OTHER_WALLET = "bc1qxy2kgdygjrsqtzq2n0yrf2493p83kkfjhx0wlh"
JSON = {"accept": "application/json"}
HTML = {"accept": "text/html"}
SECRET = "receiver-shared-secret"


def _page(path: str, content_hash: str, job_id: str, wallets: list[str], text: str = "") -> Page:
    url = f"http://{HOST}{path}"
    return Page(url=url, canonical_url=url, onion_host=HOST, status=200, content_type="text/html",
                content_hash=content_hash, fetched_at="2026-03-01T10:00:00Z", job_id=job_id, title=f"page {path}",
                text=text, wallets=[{"address": w, "coin": "bitcoin", "network": "mainnet", "address_type": "p2wpkh"}
                                    for w in wallets])


def _listing(job_id: str, price: float = 10.0) -> Listing:
    return Listing(market="watchmarket", listing_id="l1", url=f"http://{HOST}/item/l1", title="Watched item",
                   fetched_at="2026-03-01T10:00:00Z", job_id=job_id, onion_host=HOST, price_amount=price,
                   price_currency="USD", wallets=[WALLET], description="carfentanil, next day")


def _index(client: Any, prefix: str, items: list[Any]) -> None:
    from pipelines.item_indexer import BulkIndexer

    outcome = BulkIndexer(client, prefix, None, max_retries=1, backoff_seconds=0.1).index_items(items)
    assert not outcome.failed if hasattr(outcome, "failed") else True


def _crawl(client: Any, prefix: str, job_id: str, content_hash: str = "h1", price: float = 10.0) -> None:
    """What a crawl run leaves: the listing page (wallet on it), its listing, and a page without the wallet."""
    _index(client, prefix, [
        _page("/item/l1", content_hash, job_id, [WALLET], "carfentanil listing"),
        _listing(job_id, price),
        _page("/about", "about-1", job_id, [OTHER_WALLET], "about us"),
    ])


@pytest.fixture
def world(es, es_settings):
    from pipelines.indices import ensure_indices

    client, prefix = es
    ensure_indices(client, prefix)
    return client, prefix, es_settings


def test_one_alert_per_page_version_a_rerun_and_a_recrawl_make_none_a_change_makes_one(world) -> None:
    client, prefix, _ = world
    entry = add_entry(client, prefix, "wallet", WALLET)
    _crawl(client, prefix, "run-1")
    first = alert_run(client, prefix, "run-1")
    assert (first.entries, first.created, first.existing) == (1, 1, 0)
    (alert,) = list_alerts(client, prefix, everything=True)
    assert alert["entry_id"] == entry.entry_id and alert["url"] == f"http://{HOST}/item/l1"
    assert alert["hit"]["kind"] == "listings" and alert["job_id"] == "run-1"
    # The same run again (a discovery child shares nothing, but a retry might): nothing new.
    assert (alert_run(client, prefix, "run-1").created, alert_run(client, prefix, "run-1").existing) == (0, 1)
    # A re-crawl that finds the page unchanged: nothing new.
    _crawl(client, prefix, "run-2")
    second = alert_run(client, prefix, "run-2")
    assert (second.created, second.existing) == (0, 1)
    # The page changed and still shows the wallet: one new alert, for the new version.
    _crawl(client, prefix, "run-3", content_hash="h2", price=12.0)
    third = alert_run(client, prefix, "run-3")
    assert (third.created, third.existing) == (1, 0)
    assert len(list_alerts(client, prefix, everything=True)) == 2
    # Only the run's documents are looked at: an older run finds nothing new either.
    assert alert_run(client, prefix, "run-0").matches == 0


def test_the_api_refuses_a_bad_watch_query_with_the_searchs_400_and_enforces_roles_and_owners(world) -> None:
    client, prefix, settings = world
    tokens = {role: create_token(client, prefix, role, f"watch {role}")[0] for role in ("viewer", "analyst", "admin")}
    other_analyst = create_token(client, prefix, "analyst", "another analyst")[0]

    def as_(token: str, accept: dict[str, str] = JSON) -> dict[str, str]:
        return {"authorization": f"Bearer {token}", **accept}

    with TestClient(create_app(settings, client)) as http:
        for text in ("fentanyl (", "nosuchfield:x", 'vendor:"open'):
            search = http.get("/search", params={"q": text}, headers=as_(tokens["viewer"]))
            saved = http.post("/watchlists", json={"kind": "query", "value": text}, headers=as_(tokens["analyst"]))
            assert search.status_code == saved.status_code == 400
            assert saved.json()["error"] == search.json()["error"], text
        assert not list_entries(client, prefix, everything=True)
        # A viewer reads but may not write; an analyst writes.
        refused = http.post("/watchlists", json={"kind": "wallet", "value": WALLET}, headers=as_(tokens["viewer"]))
        assert refused.status_code == 403 and "needs an analyst token" in refused.json()["error"]
        own = http.post("/watchlists", json={"kind": "wallet", "value": WALLET}, headers=as_(tokens["analyst"]))
        shared = http.post("/watchlists", json={"kind": "query", "value": "carfentanil", "shared": True,
                                                "list": "opioids"}, headers=as_(tokens["analyst"]))
        assert own.status_code == shared.status_code == 201
        own_id, shared_id = own.json()["entry_id"], shared.json()["entry_id"]
        seen = {role: {e["entry_id"] for e in http.get("/watchlists", headers=as_(token)).json()["entries"]}
                for role, token in {**tokens, "other": other_analyst}.items()}
        assert seen == {"viewer": {shared_id}, "analyst": {own_id, shared_id}, "admin": {own_id, shared_id},
                        "other": {shared_id}}
        # Another analyst cannot remove (or even see) someone's own entry.
        assert http.delete(f"/watchlists/{own_id}", headers=as_(other_analyst)).status_code == 404
        # Alerts follow their entry's visibility; the nav shows the unread count.
        _crawl(client, prefix, "run-api")
        assert alert_run(client, prefix, "run-api").created == 2
        unread = {role: http.get("/alerts", headers=as_(token)).json()["unread"] for role, token in tokens.items()}
        assert unread == {"viewer": 1, "analyst": 2, "admin": 2}
        page = http.get("/alerts", headers=as_(tokens["analyst"], HTML))
        assert '<span class="unread">2</span>' in page.text and "Watched item" in page.text
        alert_id = http.get("/alerts", headers=as_(tokens["viewer"])).json()["alerts"][0]["alert_id"]
        assert http.post(f"/alerts/{alert_id}/read", headers=as_(tokens["viewer"])).status_code == 403
        read = http.post(f"/alerts/{alert_id}/read", headers=as_(tokens["analyst"]))
        assert read.status_code == 200 and read.json()["read_at"]
        assert http.get("/alerts?unread=true", headers=as_(tokens["viewer"])).json()["unread"] == 0
        assert http.delete(f"/watchlists/{own_id}", headers=as_(tokens["analyst"])).status_code == 200
        assert {e.entry_id for e in list_entries(client, prefix, everything=True)} == {shared_id}
        # The UI's forms (session cookie and CSRF token): add, refuse a bad query as the search does, remove.
        browser = _session(http, tokens["analyst"], HTML)
        csrf = browser.pop("x-csrf-token")
        page = http.get("/watchlists", headers=browser)
        assert 'action="/watchlists"' in page.text and f'/watchlists/{shared_id}/remove' in page.text
        added = http.post("/watchlists", data={"csrf_token": csrf, "kind": "onion", "value": HOST}, headers=browser,
                          follow_redirects=False)
        assert added.status_code == 303 and added.headers["location"] == "/watchlists"
        bad = http.post("/watchlists", data={"csrf_token": csrf, "kind": "query", "value": "fentanyl ("},
                        headers=browser, follow_redirects=False)
        search = http.get("/search", params={"q": "fentanyl ("}, headers=as_(tokens["viewer"]))
        assert bad.status_code == 400 and search.json()["error"] in bad.text
        (form_entry,) = [e for e in list_entries(client, prefix, everything=True) if e.kind == "onion"]
        assert form_entry.query == f"onion:{HOST}" and form_entry.owner_name == "watch analyst"
        without_csrf = http.post(f"/watchlists/{form_entry.entry_id}/remove", headers=browser, data={})
        assert without_csrf.status_code == 403
        removed = http.post(f"/watchlists/{form_entry.entry_id}/remove", data={"csrf_token": csrf}, headers=browser,
                            follow_redirects=False)
        assert removed.status_code == 303
        assert {e.entry_id for e in list_entries(client, prefix, everything=True)} == {shared_id}
        # A viewer's page has no forms.
        viewer_page = http.get("/watchlists", headers=as_(tokens["viewer"], HTML))
        assert "<form class=\"watch-add\"" not in viewer_page.text and "/remove" not in viewer_page.text


def _webhook(settings: Any, url: str, **overrides: Any) -> Any:
    return webhook_settings(settings.replace(alert_webhook_url=url, alert_webhook_secret=SECRET, **overrides))


def test_a_receiver_that_answers_503_gets_retries_with_back_off_then_the_signed_alert(world) -> None:
    client, prefix, settings = world
    add_entry(client, prefix, "wallet", WALLET)
    _crawl(client, prefix, "run-hook")
    assert alert_run(client, prefix, "run-hook", webhook=True).created == 1
    receiver = WebhookReceiver(fail_first=2).start()
    waits: list[float] = []
    try:
        summary = deliver_pending(client, prefix, _webhook(settings, receiver.url, alert_webhook_backoff_seconds=0.5,
                                                           alert_webhook_attempts=4), sleep=waits.append)
    finally:
        receiver.stop()
    assert summary.to_json() == {"delivered": 1, "retrying": 0, "failed": 0, "attempts": 3}
    assert waits == [0.5, 1.0]  # the back-off doubles
    assert [delivery.status for delivery in receiver.deliveries] == [503, 503, 200]
    assert len({delivery.headers["x-onionscope-delivery"] for delivery in receiver.deliveries}) == 1
    assert all(signature_is_valid(SECRET.encode(), d.headers, d.body) for d in receiver.deliveries)
    (alert,) = list_alerts(client, prefix, everything=True)
    assert alert["webhook_state"] == "delivered" and alert["webhook_attempts"] == 3
    assert [entry["status"] for entry in alert["deliveries"]] == [503, 503, 200]
    # Delivered once: a second pass sends nothing.
    assert deliver_pending(client, prefix, _webhook(settings, receiver.url)).attempts == 0


def test_with_the_misp_format_the_alert_goes_out_as_a_misp_event_with_the_api_key(world) -> None:
    client, prefix, settings = world
    add_entry(client, prefix, "wallet", WALLET)
    _crawl(client, prefix, "run-misp")
    assert alert_run(client, prefix, "run-misp", webhook=True).created == 1
    receiver = WebhookReceiver().start()  # a MISP stand-in on 127.0.0.1: no real MISP is ever reached
    try:
        webhook = _webhook(settings, receiver.url.replace("/hook", "/events/add"), alert_webhook_format="misp",
                           alert_misp_key="misp-api-key")
        assert deliver_pending(client, prefix, webhook).delivered == 1
    finally:
        receiver.stop()
    (delivery,) = receiver.deliveries
    assert delivery.path == "/events/add" and delivery.headers["authorization"] == "misp-api-key"
    assert signature_is_valid(SECRET.encode(), delivery.headers, delivery.body)
    event = delivery.json["Event"]
    assert {(a["type"], a["value"]) for a in event["Attribute"]} >= {("text", WALLET), ("url", f"http://{HOST}/item/l1")}
    assert event["published"] is False


def test_a_receiver_that_is_down_gets_retries_and_receives_once_it_is_up(world, tmp_path) -> None:
    client, prefix, settings = world
    add_entry(client, prefix, "pgp", "0123 4567 89AB CDEF 0123 4567 89AB CDEF 0123 4567")
    add_entry(client, prefix, "wallet", WALLET)
    _crawl(client, prefix, "run-down")
    assert alert_run(client, prefix, "run-down", webhook=True).created == 1
    port = free_port()  # nothing listens there yet: the receiver is down
    environment = {k: v for k, v in os.environ.items() if not k.startswith("ONIONSCOPE_")}
    environment.update(ONIONSCOPE_ES_URL=settings.es_url, ONIONSCOPE_INDEX_PREFIX=prefix,
                       ONIONSCOPE_VAR_DIR=str(tmp_path / "var"),
                       ONIONSCOPE_ALERT_WEBHOOK_URL=f"http://127.0.0.1:{port}/hook",
                       ONIONSCOPE_ALERT_WEBHOOK_SECRET=SECRET, ONIONSCOPE_ALERT_WEBHOOK_ATTEMPTS="3",
                       ONIONSCOPE_ALERT_WEBHOOK_BACKOFF_SECONDS="0.05")

    def deliver() -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "onionscope.cli", "watch", "deliver", "--json"],
                              cwd=PROJECT_ROOT, env=environment, capture_output=True, text=True, timeout=120)

    down = deliver()
    assert down.returncode == 1, down.stderr[-2000:]
    assert json.loads(down.stdout) == {"delivered": 0, "retrying": 1, "failed": 0, "attempts": 3}
    (alert,) = list_alerts(client, prefix, everything=True)
    assert alert["webhook_state"] == "retrying" and alert["webhook_attempts"] == 3
    assert all(entry["status"] is None and "Connect" in entry["error"] for entry in alert["deliveries"])
    receiver = WebhookReceiver(port=port).start()
    try:
        # The alert is due again after its back-off (0.05 s doubled four times): wait for that, not for a time.
        import time

        deadline = time.monotonic() + 30
        while not due_count(client, prefix) and time.monotonic() < deadline:
            time.sleep(0.05)
        up = deliver()
    finally:
        receiver.stop()
    assert up.returncode == 0, up.stderr[-2000:]
    assert json.loads(up.stdout)["delivered"] == 1
    (delivery,) = receiver.deliveries
    assert signature_is_valid(SECRET.encode(), delivery.headers, delivery.body)
    assert delivery.json["alert"]["entry_value"] == WALLET
    (alert,) = list_alerts(client, prefix, everything=True)
    assert alert["webhook_state"] == "delivered" and alert["webhook_attempts"] == 4
    assert [entry["status"] for entry in alert["deliveries"]] == [None, None, None, 200]
