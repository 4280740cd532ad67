"""The search API and UI against the real Elasticsearch node: auth, search, pivots, exports, audit, errors.

In-process (FastAPI's TestClient) for speed; tests/integration/test_browser.py
starts the real server.  One world is seeded per module under a unique prefix.
"""

from __future__ import annotations

import json
import logging
import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from config.errors import UserError
from search.api import create_app
from search.api.entities import ENTITY_PAGES
from search.audit import AuditWriter, recent_searches
from search.auth import TokenCache, create_token, revoke_token
from tests.integration.search_world import (
    ALPHA_HOST,
    ALPHA_ONLY_XMR,
    FINGERPRINT,
    GAMMA_HOST,
    SHARED_BTC,
    XSS_TITLE,
    search_es,  # noqa: F401 -- fixture
    seed_world,
)
from tests.unit.test_exports import validate_bundle

pytestmark = pytest.mark.integration
PROJECT_ROOT = Path(__file__).resolve().parents[2]
JSON = {"accept": "application/json"}
HTML = {"accept": "text/html,application/xhtml+xml"}


@pytest.fixture(scope="module")
def env(search_es, tmp_path_factory):
    client, prefix, settings = search_es
    world = seed_world(client, prefix)
    settings = settings.replace(var_dir=str(tmp_path_factory.mktemp("var")))
    app = create_app(settings, client)
    audit_writer = app.state.context.audit
    viewer_token, viewer = create_token(client, prefix, "viewer", "analyst one")
    admin_token, admin = create_token(client, prefix, "admin", "lead")
    # As a context manager: one event loop (and one async Elasticsearch client) for the module.
    with TestClient(app) as http:
        yield {
            "client": client, "prefix": prefix, "settings": settings, "world": world, "http": http,
            "viewer": viewer_token, "viewer_record": viewer, "admin": admin_token, "audit": audit_writer,
        }


def auth(token: str, accept: dict[str, str] = JSON) -> dict[str, str]:
    return {"authorization": f"Bearer {token}", **accept}


def form_token(http: TestClient, **headers: str) -> str:
    """The csrf_token of the login form (a browser's forms need it; the client keeps the CSRF cookie)."""
    page = http.get("/login", headers={**HTML, **headers})
    return re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)


def test_without_a_valid_token_every_route_is_401(env):
    http = env["http"]
    for path in ("/search?q=fentanyl", "/stats", f"/wallets/{SHARED_BTC}", "/export?format=json&q=x"):
        response = http.get(path, headers=JSON)
        assert response.status_code == 401, path
        assert response.headers["www-authenticate"] == "Bearer"
        assert http.get(path, headers=auth("osk_not-a-real-token")).status_code == 401
    page = http.get("/search?q=x", headers=HTML)
    assert page.status_code == 401 and "<form" in page.text and 'name="token"' in page.text


def test_search_json_has_hits_facets_and_highlights(env):
    response = env["http"].get("/search", params={"q": "fentanyl", "kind": "listings"}, headers=auth(env["viewer"]))
    assert response.status_code == 200
    data = response.json()
    titles = {hit["title"] for hit in data["hits"]}
    assert "Fentanyl powder 99% pure" in titles and "Fentanyl patches" in titles
    assert data["total"] == 3  # a1, b1 and the script-titled g1
    markets = {bucket["value"]: bucket["count"] for bucket in data["facets"]["market"]}
    assert markets["alpha"] == 1 and markets["beta"] == 1 and markets["gamma"] == 1
    assert {bucket["value"] for bucket in data["facets"]["coin"]} >= {"btc", "xmr"}
    highlighted = [segment["text"].lower() for hit in data["hits"] for snippet in hit["snippets"]
                   for segment in snippet if segment["hit"]]
    assert "fentanyl" in highlighted


def test_filters_by_market_and_coin(env):
    http, token = env["http"], env["viewer"]
    data = http.get("/search", params={"q": "fentanyl market:beta", "kind": "listings"}, headers=auth(token)).json()
    assert [hit["source"]["market"] for hit in data["hits"]] == ["beta"]
    data = http.get("/search", params={"q": "coin:xmr", "kind": "listings"}, headers=auth(token)).json()
    assert {hit["source"]["listing_id"] for hit in data["hits"]} == {"a1", "a2"}
    data = http.get("/search", params={"q": "substance:fentanyl -country:nl", "kind": "listings"},
                    headers=auth(token)).json()
    assert {hit["source"]["listing_id"] for hit in data["hits"]} == {"b1", "g1"}
    data = http.get("/search", params={"q": "date:2026-01-14..2026-01-15", "kind": "listings"},
                    headers=auth(token)).json()
    assert {hit["source"]["listing_id"] for hit in data["hits"]} == {"b1", "g1"}


def test_malformed_query_is_a_400_with_the_position(env):
    response = env["http"].get("/search", params={"q": "vendr:x"}, headers=auth(env["viewer"]))
    assert response.status_code == 400
    assert response.json()["error"] == "unknown field 'vendr' at column 1; did you mean 'vendor'?"
    html = env["http"].get("/search", params={"q": "(fentanyl"}, headers=auth(env["viewer"], HTML))
    assert html.status_code == 400 and "unclosed &#39;(&#39; at column 1" in html.text
    for bad in ({"kind": "nope"}, {"sort": "random"}, {"limit": "0"}, {"cursor": "garbage"}):
        response = env["http"].get("/search", params={"q": "x", **bad}, headers=auth(env["viewer"]))
        assert response.status_code == 400, bad
        assert "Traceback" not in response.text


def test_search_after_walks_every_hit_once_in_date_order(env):
    http, token = env["http"], env["viewer"]
    seen, cursor, pages = [], None, 0
    while True:
        params = {"q": "", "kind": "listings", "sort": "date", "limit": 1}
        if cursor:
            params["cursor"] = cursor
        data = http.get("/search", params=params, headers=auth(token)).json()
        seen += [(hit["source"]["fetched_at"], hit["id"]) for hit in data["hits"]]
        cursor = data["next_cursor"]
        pages += 1
        if not cursor:
            break
        assert pages < 10
    assert len(seen) == 4 and len({doc_id for _, doc_id in seen}) == 4
    assert [fetched for fetched, _ in seen] == sorted((fetched for fetched, _ in seen), reverse=True)
    # A cursor is bound to its query.
    first = http.get("/search", params={"q": "", "kind": "listings", "sort": "date", "limit": 1},
                     headers=auth(token)).json()
    other = http.get("/search", params={"q": "fentanyl", "kind": "listings", "sort": "date", "limit": 1,
                                        "cursor": first["next_cursor"]}, headers=auth(token))
    assert other.status_code == 400 and "another query" in other.json()["error"]


def test_every_search_is_audited_without_the_token(env):
    from search.audit import recent_searches

    marker = "auditmarker" + os.urandom(4).hex()
    env["http"].get("/search", params={"q": marker}, headers=auth(env["viewer"]))
    assert env["audit"].flush(timeout=30)
    entries = [entry for entry in recent_searches(env["client"], env["prefix"], 200) if entry["query"] == marker]
    assert len(entries) == 1
    entry = entries[0]
    assert entry["actor_id"] == env["viewer_record"].token_id
    assert entry["actor_name"] == "analyst one" and entry["result_count"] == 0 and entry["channel"] == "api"
    assert env["viewer"] not in json.dumps(entry)


def test_entity_pages_and_their_json_twins_are_audited(env):
    client, prefix, world = env["client"], env["prefix"], env["world"]
    token, record = create_token(client, prefix, "viewer", "entity auditor")
    vendor_id = world.vendor_ids["alpha/DrGreen"]
    listing_id = world.listing_ids["beta/b1"]
    visits = [
        (f"/wallets/{SHARED_BTC}", 200, ("wallet", f"wallet:{SHARED_BTC}", 1)),
        ("/wallets/1NotSeenAnywhere", 404, ("wallet", "wallet:1NotSeenAnywhere", 0)),
        (f"/vendors/{vendor_id}", 200, ("vendor", f"vendor-id:{vendor_id}", 1)),
        (f"/listings/{listing_id}", 200, ("listing", f"listing-id:{listing_id}", 1)),
        (f"/onions/{ALPHA_HOST}", 200, ("onion", f"onion:{ALPHA_HOST}", 1)),
        ("/stats", 200, ("stats", "", 1)),
    ]
    expected = []
    for path, status, (kind, query, count) in visits:
        for accept, channel in ((JSON, "api"), (HTML, "ui")):
            assert env["http"].get(path, headers=auth(token, accept)).status_code == status, (path, channel)
            expected.append((kind, query, count, channel))
    assert env["audit"].flush(timeout=30)
    entries = [entry for entry in recent_searches(client, prefix, 1000) if entry["actor_id"] == record.token_id]
    assert sorted((e["kind"], e["query"], e["result_count"], e["channel"]) for e in entries) == sorted(expected)
    assert all(entry["actor_name"] == "entity auditor" and token not in json.dumps(entry) for entry in entries)


@pytest.mark.parametrize("page", ENTITY_PAGES, ids=lambda page: page.collection)
def test_every_entity_page_answers_unknown_404_and_too_long_400_alike(env, page):
    """The one entity router: each kind's miss is a 404 in JSON and HTML, audited with 0 results."""
    client, prefix = env["client"], env["prefix"]
    token, record = create_token(client, prefix, "viewer", f"{page.collection} miss")
    unknown = "unknown<b>" + os.urandom(4).hex()
    as_json = env["http"].get(f"/{page.collection}/{unknown}", headers=auth(token))
    assert as_json.status_code == 404 and as_json.json() == {"error": page.not_found, "status": 404}
    as_html = env["http"].get(f"/{page.collection}/{unknown}", headers=auth(token, HTML))
    assert as_html.status_code == 404 and as_html.headers["content-type"].startswith("text/html")
    assert page.not_found in as_html.text and unknown not in as_html.text
    too_long = env["http"].get(f"/{page.collection}/{'x' * (page.max_length + 1)}", headers=auth(token))
    assert too_long.status_code == 400 and page.parameter in too_long.json()["error"]
    assert env["audit"].flush(timeout=30)
    entries = [entry for entry in recent_searches(client, prefix, 1000) if entry["actor_id"] == record.token_id]
    assert sorted((e["kind"], e["query"], e["result_count"], e["channel"]) for e in entries) == [
        (page.audit_kind, page.audit_prefix + unknown, 0, "api"),
        (page.audit_kind, page.audit_prefix + unknown, 0, "ui"),
    ]


def test_a_full_audit_backlog_refuses_with_503_and_never_serves_unaudited(env, caplog):
    client, prefix = env["client"], env["prefix"]
    token, record = create_token(client, prefix, "viewer", "backlog")
    app = create_app(env["settings"], client)
    # Room for one entry, and a writer that would flush only in an hour: the
    # second audited request finds the backlog full.
    writer = AuditWriter(client, prefix, flush_seconds=3600, max_pending=1)
    app.state.context.audit = writer
    marker = "backlogmarker" + os.urandom(4).hex()
    try:
        with TestClient(app) as http, caplog.at_level(logging.ERROR, logger="search.audit"):
            served = http.get("/search", params={"q": marker + "a"}, headers=auth(token))
            assert served.status_code == 200
            refused = [http.get("/search", params={"q": marker + "b"}, headers=auth(token)),
                       http.get(f"/wallets/{SHARED_BTC}", headers=auth(token)),
                       http.get("/stats", headers=auth(token, HTML))]
            for response in refused:
                assert response.status_code == 503 and "audit" in response.text
                assert SHARED_BTC not in response.text and "hits" not in response.text
            assert writer.refused == 3
            assert sum("AUDIT BACKLOG FULL" in entry.getMessage() for entry in caplog.records) == 3
    finally:
        writer.close()
    queries = [entry["query"] for entry in recent_searches(client, prefix, 1000) if entry["actor_id"] == record.token_id]
    assert queries == [marker + "a"]


def test_wallet_pivot(env):
    data = env["http"].get(f"/wallets/{SHARED_BTC}", headers=auth(env["viewer"])).json()
    assert data["coin"] == "btc"
    assert {listing["listing_id"] for listing in data["listings"]} == {"a1", "b1"}
    assert {(vendor["market"], vendor["name"]) for vendor in data["vendors"]} == {("alpha", "DrGreen"), ("beta", "Dr_Green")}
    assert {market["market"] for market in data["markets"]} == {"alpha", "beta"}
    assert data["entity"]["listing_count"] == 2
    page = env["http"].get(f"/wallets/{SHARED_BTC}", headers=auth(env["viewer"], HTML))
    assert page.status_code == 200 and "Fentanyl patches" in page.text
    assert env["http"].get("/wallets/1NotSeenAnywhere", headers=auth(env["viewer"])).status_code == 404


def test_vendor_pivot_explains_the_link(env):
    world = env["world"]
    data = env["http"].get(f"/vendors/{world.vendor_ids['alpha/DrGreen']}", headers=auth(env["viewer"])).json()
    assert {listing["listing_id"] for listing in data["listings"]} == {"a1", "a2"}
    [other] = data["same_vendor_elsewhere"]
    assert other["id"] == world.vendor_ids["beta/Dr_Green"] and other["market"] == "beta"
    assert {"kind": "pgp", "value": FINGERPRINT} in other["reasons"]
    assert {"kind": "wallet", "value": SHARED_BTC} in other["reasons"]
    assert ALPHA_ONLY_XMR not in json.dumps(other["reasons"])
    loner = env["http"].get(f"/vendors/{world.vendor_ids['gamma/Loner']}", headers=auth(env["viewer"])).json()
    assert loner["same_vendor_elsewhere"] == []


def test_onion_page_shows_liveness_and_pages(env):
    data = env["http"].get(f"/onions/{GAMMA_HOST}", headers=auth(env["viewer"])).json()
    assert data["liveness"]["last_status"] == 503 and data["entity"]["up"] is False
    alpha = env["http"].get(f"/onions/{ALPHA_HOST}", headers=auth(env["viewer"])).json()
    assert alpha["page_count"] == 2 and {page["title"] for page in alpha["pages"]} == {"Alpha Market home", "Rules"}



def test_an_onion_subdomain_finds_its_service_as_the_crawler_stores_it(env):
    # The crawler folds shop.<host>.onion to <host>.onion; the query and the onion page fold alike.
    http, token = env["http"], env["viewer"]
    subdomain = f"http://shop.{ALPHA_HOST.upper()}/rules"
    data = http.get("/search", params={"q": f"onion:{subdomain}", "kind": "pages"}, headers=auth(token)).json()
    assert {hit["title"] for hit in data["hits"]} == {"Alpha Market home", "Rules"}
    assert http.get(f"/onions/shop.{ALPHA_HOST}", headers=auth(token)).json()["host"] == ALPHA_HOST

def test_sync_and_async_drivers_give_the_same_answers(env):
    """The CLI (blocking client) and the API (async client) run the same steps; their answers match."""
    import asyncio
    import dataclasses

    from pipelines.es_client import make_async_client
    from search import pivots
    from search.es_steps import run, run_async
    from search.results import SearchResult, search_steps

    client, prefix, world = env["client"], env["prefix"], env["world"]
    cases = [
        lambda: pivots.wallet_detail_steps(prefix, SHARED_BTC),
        lambda: pivots.wallet_detail_steps(prefix, "1NotSeenAnywhere"),
        lambda: pivots.vendor_detail_steps(prefix, world.vendor_ids["alpha/DrGreen"]),
        lambda: pivots.listing_detail_steps(prefix, world.listing_ids["gamma/g1"]),
        lambda: pivots.onion_detail_steps(prefix, ALPHA_HOST),
        lambda: pivots.index_stats_steps(prefix),
        lambda: search_steps(prefix, "fentanyl market:alpha", kind="listings"),
    ]
    blocking = [run(client, make()) for make in cases]

    async def with_async_client() -> list:
        async_client = make_async_client(env["settings"])
        try:
            return [await run_async(async_client, make()) for make in cases]
        finally:
            await async_client.close()

    def comparable(answers: list) -> list:
        # A search's took_ms is Elasticsearch's own timing, different on every run.
        return [dataclasses.replace(answer, took_ms=0) if isinstance(answer, SearchResult) else answer
                for answer in answers]

    assert comparable(asyncio.run(with_async_client())) == comparable(blocking)
    assert blocking[0]["listings"] and blocking[1] is None and blocking[-1].total > 0


def test_html_twin_and_escaping(env):
    http, token = env["http"], env["viewer"]
    listing_id = env["world"].listing_ids["gamma/g1"]
    as_json = http.get(f"/listings/{listing_id}", headers=auth(token)).json()
    assert as_json["listing"]["title"].startswith(XSS_TITLE)
    page = http.get(f"/listings/{listing_id}", headers=auth(token, HTML))
    assert page.headers["content-type"].startswith("text/html")
    assert XSS_TITLE not in page.text
    assert "&lt;script&gt;window.__xss=1&lt;/script&gt;" in page.text
    assert "script-src" not in page.headers["content-security-policy"]  # default-src 'none' forbids scripts
    results = http.get("/search", params={"q": "script", "kind": "pages"}, headers=auth(token, HTML))
    assert results.status_code == 200 and "<script>window" not in results.text


def test_login_sets_a_strict_httponly_session(env):
    with TestClient(create_app(env["settings"], env["client"])) as http:
        csrf = form_token(http)
        refused = http.post("/login", data={"token": "osk_wrong", "next": "/stats", "csrf_token": csrf},
                            follow_redirects=False)
        assert refused.status_code == 401
        response = http.post("/login", data={"token": env["viewer"], "next": "//evil.example/x", "csrf_token": csrf},
                             follow_redirects=False)
        assert response.status_code == 303 and response.headers["location"] == "/search"
        cookie = [value for name, value in response.headers.multi_items()
                  if name == "set-cookie" and value.startswith("onionscope_session=")][0]
        assert "HttpOnly" in cookie and "SameSite=strict" in cookie.replace("Strict", "strict")
        assert env["viewer"] not in cookie
        assert http.get("/stats", headers=JSON).status_code == 200
        http.post("/logout", data={"csrf_token": csrf}, follow_redirects=False)
        assert http.get("/stats", headers=JSON).status_code == 401


def test_revoked_token_stops_working_and_roles_are_enforced(env):
    client, prefix, http = env["client"], env["prefix"], env["http"]
    token, record = create_token(client, prefix, "viewer", "temp")
    assert http.get("/stats", headers=auth(token)).status_code == 200
    assert http.get("/auth/tokens", headers=auth(token)).status_code == 403
    listed = http.get("/auth/tokens", headers=auth(env["admin"])).json()["tokens"]
    assert any(item["token_id"] == record.token_id and not item["revoked_at"] for item in listed)
    # Revoked through this server's API: refused at once, though it was just verified and cached.
    assert http.delete(f"/auth/tokens/{record.token_id}", headers=auth(env["admin"])).status_code == 200
    assert http.get("/stats", headers=auth(token)).status_code == 401
    listed = http.get("/auth/tokens", headers=auth(env["admin"])).json()["tokens"]
    assert any(item["token_id"] == record.token_id and item["revoked_at"] for item in listed)
    created = http.post("/auth/tokens", json={"role": "viewer", "name": "via api"}, headers=auth(env["admin"]))
    assert created.status_code == 201 and created.json()["token"].startswith("osk_")
    assert http.get("/stats", headers=auth(created.json()["token"])).status_code == 200


def test_token_revoked_elsewhere_is_refused_once_the_cache_lapses(env):
    client, prefix = env["client"], env["prefix"]
    token, record = create_token(client, prefix, "viewer", "revoked by the cli")
    cached = create_app(env["settings"], client)
    now = [0.0]
    cached.state.context.tokens = TokenCache(5, clock=lambda: now[0])  # api_token_cache_seconds' default
    uncached = create_app(env["settings"].replace(api_token_cache_seconds=0), client)
    with TestClient(cached) as http_cached, TestClient(uncached) as http_uncached:
        for http in (http_cached, http_uncached):
            assert http.get("/stats", headers=auth(token)).status_code == 200
        revoke_token(client, prefix, record.token_id)  # as `onionscope token revoke` does, out of band
        # With no cache the very next request is refused; the cached server
        # still trusts its recent check until the entry expires.
        assert http_uncached.get("/stats", headers=auth(token)).status_code == 401
        assert http_cached.get("/stats", headers=auth(token)).status_code == 200
        now[0] += 5.01
        assert http_cached.get("/stats", headers=auth(token)).status_code == 401


def test_exports(env):
    http, token = env["http"], env["viewer"]
    stix = http.get("/export", params={"format": "stix", "wallet": SHARED_BTC}, headers=auth(token))
    assert stix.status_code == 200 and "attachment" in stix.headers["content-disposition"]
    objects = validate_bundle(stix.json())
    patterns = {obj["pattern"] for obj in objects.values() if obj["type"] == "indicator"}
    assert f"[cryptocurrency-wallet:value = '{SHARED_BTC}']" in patterns
    assert f"[domain-name:value = '{ALPHA_HOST}']" in patterns
    misp = http.get("/export", params={"format": "misp", "q": "fentanyl market:alpha"}, headers=auth(token)).json()
    types = {(attribute["type"], attribute["value"]) for attribute in misp["Event"]["Attribute"]}
    assert ("btc", SHARED_BTC) in types and ("domain", ALPHA_HOST) in types
    csv_text = http.get("/export", params={"format": "csv", "onion": ALPHA_HOST}, headers=auth(token)).text
    assert csv_text.splitlines()[0].startswith("kind,id,title") and "Alpha Market home" in csv_text
    assert http.get("/export", params={"format": "stix"}, headers=auth(token)).status_code == 400
    assert http.get("/export", params={"format": "xml", "q": "x"}, headers=auth(token)).status_code == 400


def test_stats_and_docs(env):
    stats = env["http"].get("/stats", headers=auth(env["viewer"])).json()
    assert stats["counts"]["listings"] == 4 and stats["counts"]["wallets"] == 2
    docs = env["http"].get("/docs", headers=auth(env["viewer"], HTML))
    assert docs.status_code == 200 and "/wallets/{address}" in docs.text
    assert "cdn" not in docs.text.lower() and "<script" not in docs.text
    assert "/search" in env["http"].get("/openapi.json", headers=auth(env["viewer"])).json()["paths"]


def test_docs_and_openapi_need_a_viewer_token(env):
    http = env["http"]
    for path in ("/docs", "/openapi.json"):
        assert http.get(path, headers=JSON).status_code == 401, path
        assert http.get(path, headers=auth("osk_not-a-real-token")).status_code == 401, path
        assert http.get(path, headers=auth(env["viewer"])).status_code == 200, path
    login = http.get("/docs", headers=HTML)
    assert login.status_code == 401 and 'name="token"' in login.text and "/wallets/{address}" not in login.text


def _closed_port() -> int:
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    return port


def test_elasticsearch_down_is_a_503_with_a_clear_message(env, tmp_path):
    settings = env["settings"].replace(es_url=f"http://127.0.0.1:{_closed_port()}", es_timeout=2)
    with TestClient(create_app(settings)) as http:
        response = http.get("/search", params={"q": "x"}, headers=auth(env["viewer"]))
        assert response.status_code == 503
        assert "not reachable" in response.json()["error"] and "Traceback" not in response.text
        page = http.get("/search", params={"q": "x"}, headers=auth(env["viewer"], HTML))
        assert page.status_code == 503 and "not reachable" in page.text


def test_elasticsearch_down_before_login_never_shows_its_credentials(env):
    port = _closed_port()
    settings = env["settings"].replace(es_url=f"http://onion-reader:Pw-in-the-url@127.0.0.1:{port}", es_timeout=2)
    with TestClient(create_app(settings)) as http:
        csrf = form_token(http)
        answers = [
            http.post("/login", data={"token": env["viewer"], "next": "/stats", "csrf_token": csrf}, headers=HTML,
                      follow_redirects=False),
            http.get("/stats", headers=auth(env["viewer"], HTML)),
            http.get("/stats", headers=auth(env["viewer"])),
        ]
    for answer in answers:
        assert answer.status_code == 503 and "not reachable" in answer.text
        assert f"127.0.0.1:{port}" in answer.text
        assert "Pw-in-the-url" not in answer.text and "onion-reader" not in answer.text


def test_login_cookie_is_secure_only_behind_a_trusted_tls_proxy(env):
    proxy = "10.20.30.40"
    behind_proxy = create_app(env["settings"].replace(trusted_proxies=proxy), env["client"])
    plain = create_app(env["settings"], env["client"])

    def login_cookie(app, peer: str) -> str:
        with TestClient(app, client=(peer, 41000)) as http:
            csrf = form_token(http)
            response = http.post("/login", data={"token": env["viewer"], "next": "/stats", "csrf_token": csrf},
                                 headers={"x-forwarded-proto": "https"}, follow_redirects=False)
            assert response.status_code == 303
            return response.headers["set-cookie"]

    assert "secure" in login_cookie(behind_proxy, proxy).lower()
    # The same header from anyone else, or with no proxy configured, is not believed.
    assert "secure" not in login_cookie(behind_proxy, "10.20.30.41").lower()
    assert "secure" not in login_cookie(plain, proxy).lower()


def test_an_empty_or_short_session_secret_stops_the_app(env, tmp_path):
    for content in (b"", b"0123456789abcdef\n"):
        secret_file = tmp_path / "session.key"
        secret_file.write_bytes(content)
        with pytest.raises(UserError, match=r"session\.key.*session_secret_file"):
            create_app(env["settings"].replace(session_secret_file=str(secret_file)), env["client"])


def _cli(env, *args: str) -> subprocess.CompletedProcess:
    environment = dict(os.environ)
    environment.update({
        "ONIONSCOPE_ES_URL": env["settings"].es_url,
        "ONIONSCOPE_INDEX_PREFIX": env["prefix"],
        "ONIONSCOPE_VAR_DIR": str(env["settings"].var_dir),
    })
    return subprocess.run([sys.executable, "-m", "onionscope.cli", *args], capture_output=True, text=True,
                          env=environment, cwd=PROJECT_ROOT, timeout=120)


def test_cli_token_search_and_export(env, tmp_path):
    created = _cli(env, "token", "create", "--role", "viewer", "--name", "cli test")
    assert created.returncode == 0, created.stderr
    token = created.stdout.strip().splitlines()[-1]
    assert re.fullmatch(r"osk_[A-Za-z0-9_-]{43}", token)
    assert env["http"].get("/stats", headers=auth(token)).status_code == 200

    found = _cli(env, "search", "Escrow is mandatory", "--json")
    assert found.returncode == 0, found.stderr
    hits = json.loads(found.stdout)["hits"]["pages"]  # the default searches every kind
    assert hits[0]["source"]["url"] == f"http://{ALPHA_HOST}/rules"
    text = _cli(env, "search", '"escrow is mandatory"')
    assert ALPHA_HOST in text.stdout and "fetched 2026-01-11T12:00:00Z" in text.stdout and "[Escrow is mandatory]" in text.stdout
    bad = _cli(env, "search", "vendr:x")
    assert bad.returncode == 1 and "unknown field 'vendr' at column 1" in bad.stderr and "Traceback" not in bad.stderr

    output = tmp_path / "bundle.json"
    exported = _cli(env, "export", "--format", "stix", "--vendor", env["world"].vendor_ids["alpha/DrGreen"],
                    "-o", str(output))
    assert exported.returncode == 0, exported.stderr
    validate_bundle(json.loads(output.read_text()))

    revoked = _cli(env, "token", "revoke", token)
    assert revoked.returncode == 0, revoked.stderr
    assert "running API servers refuse it within 5 s" in revoked.stdout
    # A server that has not cached the token refuses it now (the cache's lapse
    # is covered by test_token_revoked_elsewhere_is_refused_once_the_cache_lapses).
    with TestClient(create_app(env["settings"].replace(api_token_cache_seconds=0), env["client"])) as fresh:
        assert fresh.get("/stats", headers=auth(token)).status_code == 401


# --- wallets and hostile text as the crawl's own pipeline indexes them --------------------------

INDEXED_BTC = "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq"
INDEXED_XMR = "44AFFq5kSiGBoZ4NMDwYtN18obc8AemS33DBLWs3H7otXft3XjrpDtQGv7SqSsaBYBb98uNbr2VBBEt7f2wfn3RVGQBEP3A"
DONATION_HOST = "donat" + "e" * 51 + ".onion"
# A title with a C1 control sequence introducer and a right-to-left override.
HOSTILE_TITLE = "Donate \u202egnp.exe \x9b31m here"


@pytest.fixture(scope="module")
def indexed(es_node, tmp_path_factory):
    """A prefix holding one page crawled text goes through: extract_document, then the bulk pipeline."""
    import uuid

    from crawler.extractors.document import extract_document
    from pipelines.item_indexer import BulkIndexer
    from pipelines.es_client import make_client
    from pipelines.indices import delete_prefix, ensure_indices

    client = make_client(es_node.settings)
    prefix = f"test-indexed-{uuid.uuid4().hex[:10]}"
    settings = es_node.settings.replace(index_prefix=prefix, var_dir=str(tmp_path_factory.mktemp("var")))
    html = (f"<html><head><title>{HOSTILE_TITLE}</title></head><body><p>Bitcoin: {INDEXED_BTC}</p>"
            f"<p>Monero: {INDEXED_XMR}</p></body></html>")
    try:
        ensure_indices(client, prefix)
        document = extract_document(html, f"http://{DONATION_HOST}/donate", "2026-02-01T10:00:00Z", "job-x")
        outcome = BulkIndexer(client, prefix, None, max_retries=1, backoff_seconds=0.1).index_items(document.items())
        assert not outcome.failed, outcome.failed
        client.indices.refresh(index=f"{prefix}-*")
        token, _ = create_token(client, prefix, "viewer", "exporter")
        with TestClient(create_app(settings, client)) as http:
            yield {"client": client, "prefix": prefix, "settings": settings, "http": http, "token": token}
    finally:
        delete_prefix(client, prefix)
        client.close()


def test_exports_label_wallets_as_indexed_by_their_ticker(indexed):
    http, token = indexed["http"], indexed["token"]
    # (An onion export lists the host's pages, not their wallets.)
    exports = [{"wallet": INDEXED_XMR}, {"wallet": INDEXED_BTC}, {"q": "donate", "kind": "pages"},
               {"q": "", "kind": "wallets"}]
    for subject in exports:
        misp = http.get("/export", params={"format": "misp", **subject}, headers=auth(token))
        assert misp.status_code == 200, (subject, misp.text)
        types = {attribute["value"]: attribute["type"] for attribute in misp.json()["Event"]["Attribute"]}
        stix = http.get("/export", params={"format": "stix", **subject}, headers=auth(token))
        objects = validate_bundle(stix.json())
        currency = {obj["value"]: obj.get("currency") for obj in objects.values() if obj["type"] == "cryptocurrency-wallet"}
        expected = {INDEXED_XMR: "xmr"} if subject.get("wallet") == INDEXED_XMR else \
            {INDEXED_BTC: "btc"} if subject.get("wallet") == INDEXED_BTC else {INDEXED_BTC: "btc", INDEXED_XMR: "xmr"}
        for address, ticker in expected.items():
            assert types[address] == ticker, (subject, types)
            assert currency[address] == ticker, (subject, currency)
        exported = http.get("/export", params={"format": "json", **subject}, headers=auth(token)).json()
        assert {(wallet["address"], wallet["coin"]) for wallet in exported["identifiers"]["wallets"]} >= set(expected.items())


def test_coin_facets_and_coin_queries_speak_tickers_on_crawled_pages_and_wallets(indexed):
    # The crawler names coins (bitcoin, monero) on pages and wallets; listings name them by ticker.
    http, token = indexed["http"], indexed["token"]
    for kind in ("pages", "wallets"):
        data = http.get("/search", params={"q": "", "kind": kind}, headers=auth(token)).json()
        assert {bucket["value"] for bucket in data["facets"]["coin"]} == {"btc", "xmr"}, kind
    for query in ("coin:btc", "coin:bitcoin", "coin:BTC"):
        data = http.get("/search", params={"q": query, "kind": "wallets"}, headers=auth(token)).json()
        assert [hit["source"]["address"] for hit in data["hits"]] == [INDEXED_BTC], query
    page = http.get("/search", params={"q": "coin:bitcoin", "kind": "pages"}, headers=auth(token, HTML))
    assert page.status_code == 200
    selected = re.findall(r'<li class="selected"><a [^>]*><span>([^<]*)</span>', page.text)
    assert selected == ["btc"]


def test_cli_search_json_escapes_c1_and_bidi_and_stays_the_same_json(indexed):
    environment = dict(os.environ)
    environment.update({
        "ONIONSCOPE_ES_URL": indexed["settings"].es_url,
        "ONIONSCOPE_INDEX_PREFIX": indexed["prefix"],
        "ONIONSCOPE_VAR_DIR": str(indexed["settings"].var_dir),
    })
    found = subprocess.run([sys.executable, "-m", "onionscope.cli", "search", "donate", "--kind", "pages", "--json"],
                           capture_output=True,
                           env=environment, cwd=PROJECT_ROOT, timeout=120)
    assert found.returncode == 0, found.stderr
    raw = found.stdout.decode("utf-8")
    for char in ("\u202e", "\x9b"):
        assert char not in raw, repr(char)
    assert "\\u202e" in raw and "\\u009b" in raw
    [hit] = json.loads(raw)["hits"]
    assert hit["title"] == HOSTILE_TITLE and hit["source"]["onion_host"] == DONATION_HOST


def _english_left_over(html: str, english_only: set[str]) -> set[str]:
    """The text nodes of a rendered page that are still one of our English messages."""
    from config.i18n import is_message, normalise, split_text_nodes

    return {normalise(piece) for is_text, piece in split_text_nodes(html) if is_text and is_message(piece)} & english_only


def test_every_page_in_both_languages(env):
    """Every page of the UI, rendered from real data in English and in Russian: the Russian page has
    none of our English messages left (crawled text stays as it was), and both say their language."""
    from config.i18n import project_messages, translator

    http, token, world = env["http"], env["viewer"], env["world"]
    russian = translator("ru").messages
    # Messages whose Russian differs from the English (not "API", "onionscope", "(UTC)"...).
    english_only = {message for message in project_messages(PROJECT_ROOT) if russian.get(message, message) != message}
    pages = [
        "/search?q=fentanyl", "/search?q=fentanyl&kind=pages", "/search?q=nothing-matches-this-zz", "/stats",
        "/jobs", "/discovered", "/docs", f"/wallets/{SHARED_BTC}", f"/vendors/{world.vendor_ids['alpha/DrGreen']}",
        f"/listings/{world.listing_ids['beta/b1']}", f"/onions/{ALPHA_HOST}", "/wallets/1NotSeenAnywhere",
        "/timelines", "/timelines?substance=fentanyl", f"/onions/{ALPHA_HOST}/graph",
        f"/vendors/{world.vendor_ids['alpha/DrGreen']}/dossier", "/watchlists", "/alerts",
    ]
    for path in pages:
        english = http.get(path, headers=auth(token, {**HTML, "accept-language": "en-US,en;q=0.9"}))
        russian_page = http.get(path, headers=auth(token, {**HTML, "accept-language": "ru-RU,ru;q=0.9,en;q=0.5"}))
        assert english.status_code == russian_page.status_code, path
        assert '<html lang="en">' in english.text and '<html lang="ru">' in russian_page.text, path
        shown = russian_page.text
        if path == "/docs":  # the operations' summaries are the OpenAPI description's, English like the field names
            shown = re.sub(r'<section class="hit">.*?</section>', "", shown, flags=re.S)
        assert not _english_left_over(shown, english_only), path
        assert _english_left_over(english.text, english_only), path  # the check can fail: English pages have them
    login = http.get("/login", headers={**HTML, "accept-language": "ru"})
    assert "Войти" in login.text and not _english_left_over(login.text, english_only)
    # ?lang= wins over the browser's header; crawled text is the same bytes in both languages.
    listing = f"/listings/{world.listing_ids['gamma/g1']}"
    forced = http.get(listing + "?lang=ru", headers=auth(token, {**HTML, "accept-language": "en"}))
    assert '<html lang="ru">' in forced.text and "&lt;script&gt;window.__xss=1&lt;/script&gt;" in forced.text
