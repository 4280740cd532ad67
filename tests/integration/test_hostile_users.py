"""Hostile users of the API, against the real Elasticsearch node: every route as every caller, costly queries, audit.

The routes come from tests/unit/test_route_access.py's ROUTE_ACCESS, which a
unit test holds equal to the app's route table, so a new route is called
here too.  Each is called without a token, with a viewer, an analyst and an admin token
(by header and by session cookie, JSON and HTML), and with tokens that were
revoked (by this server, and elsewhere with ``api_token_cache_seconds`` 0)
or that expired, and with an expired session cookie.
"""

from __future__ import annotations

import re
import secrets
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from typing import Any, Callable

import pytest
from fastapi.testclient import TestClient

from config.paths import evidence_dir
from config.schema import alias_name
from crawler.evidence.store import EvidenceStore
from pipelines.job_runs import run_record, write_run_record
from search.alerts import alerts_index
from search.api import create_app
from search.audit import audit_index
from search.auth import create_token, hash_token, make_session_cookie, revoke_token, tokens_index
from search.watchlists import add_entry
from tests.integration.search_world import (
    ALPHA_HOST,
    SHARED_BTC,
    search_es,  # noqa: F401 -- fixture
    seed_world,
)
from tests.unit.test_route_access import ADMIN, ANALYST, PUBLIC, ROUTE_ACCESS, VIEWER, RouteAccess, sample_url

pytestmark = pytest.mark.integration
JSON = {"accept": "application/json"}
HTML = {"accept": "text/html,application/xhtml+xml"}
SUCCESS = {"GET": 200, "POST": 201, "DELETE": 200}


@pytest.fixture(scope="module")
def env(search_es, tmp_path_factory):
    client, prefix, settings = search_es
    world = seed_world(client, prefix)
    settings = settings.replace(var_dir=str(tmp_path_factory.mktemp("var")),
                                evidence_dir=str(tmp_path_factory.mktemp("evidence")))
    # /evidence/{listing_id} needs a record: one WARC record, pointed to by the listing.
    store = EvidenceStore(evidence_dir(settings), max_file_bytes=1 << 20, job_id="route-table")
    ref = store.write_response(url="http://example.onion/a1", status=200, headers=[(b"Content-Type", b"text/html")],
                               body=b"<title>a1</title>", fetched_at=datetime.now(timezone.utc))
    store.close()
    client.update(index=alias_name(prefix, "listings"), id=world.listing_ids["alpha/a1"],
                  doc={"evidence": ref.to_doc()}, refresh="wait_for")
    # A recorded run for /runs/{job_id}.
    write_run_record(client, prefix, run_record("nightly-1", "nightly", outcome="ok", reason="",
                                                started_at="2026-03-01T02:00:00Z", finished_at="2026-03-01T02:01:00Z"))
    tokens = {role: create_token(client, prefix, role, f"route table {role}")[0]
              for role in ("viewer", "analyst", "admin")}
    values = {
        "listing_id": world.listing_ids["alpha/a1"],
        "vendor_id": world.vendor_ids["alpha/DrGreen"],
        "address": SHARED_BTC,
        "host": ALPHA_HOST,
        "job_id": "nightly-1",
    }
    yield {"client": client, "prefix": prefix, "settings": settings, "tokens": tokens, "values": values,
           "fresh": _Fresh(client, prefix)}


def _protected() -> list[tuple[tuple[str, str], RouteAccess]]:
    return [(key, access) for key, access in ROUTE_ACCESS.items() if access.access != PUBLIC]


def _call(http: TestClient, env: dict[str, Any], key: tuple[str, str], access: RouteAccess,
          headers: dict[str, str]) -> Any:
    method = "GET" if key[0] == "MOUNT" else key[0]
    values = dict(env["values"])
    if "{token_id}" in access.sample:
        # Something to revoke, a fresh one for each call.
        values["token_id"] = env["fresh"].take("token_id")
    if "{entry_id}" in access.sample:
        # A shared entry to remove, a fresh one for each call.
        values["entry_id"] = env["fresh"].take("entry_id")
    if "{alert_id}" in access.sample:
        values["alert_id"] = env["fresh"].take("alert_id")
    return http.request(method, sample_url(access, values), json=access.json, headers=headers,
                        follow_redirects=False)


class _Fresh:
    """Unused tokens, watchlist entries and alerts for the routes that revoke, remove or mark one.

    Each call takes one nobody has used. They are made :data:`FRESH_BATCH` at a time, side by
    side: each write waits for the index's next refresh (``refresh="wait_for"``, as the product
    writes them), so made one by one before each call they took most of this module's time.
    """

    def __init__(self, client: Any, prefix: str) -> None:
        self._makers: dict[str, Callable[[], str]] = {
            "token_id": lambda: create_token(client, prefix, "viewer", "to revoke")[1].token_id,
            "entry_id": lambda: add_entry(client, prefix, "onion", "routetable.onion").entry_id,
            "alert_id": lambda: _shared_alert(client, prefix),
        }
        self._unused: dict[str, list[str]] = {kind: [] for kind in self._makers}

    def take(self, kind: str) -> str:
        """An id of ``kind`` (``token_id``, ``entry_id``, ``alert_id``) that no call has used yet."""
        if not self._unused[kind]:
            make = self._makers[kind]
            with ThreadPoolExecutor(max_workers=FRESH_BATCH) as pool:
                self._unused[kind] = list(pool.map(lambda _: make(), range(FRESH_BATCH)))
        return self._unused[kind].pop()


FRESH_BATCH = 8


def _shared_alert(client: Any, prefix: str) -> str:
    """An unread alert of a shared entry, as search.alerts writes them; returns its id."""
    alert_id = secrets.token_hex(32)
    client.index(index=alerts_index(prefix), id=alert_id, refresh="wait_for", document={
        "alert_id": alert_id, "entry_id": "0123456789abcdef", "entry_kind": "onion", "entry_value": ALPHA_HOST,
        "list": "watchlist", "shared": True, "owner_id": "", "job_id": "nightly-1",
        "created_at": "2026-03-01T02:01:00Z", "doc_kind": "pages", "doc_id": "x", "version": "c:x",
        "title": "route table", "hit": {"kind": "pages", "id": "x"}, "webhook_state": "off"})
    return alert_id


def _expected(access: RouteAccess, key: tuple[str, str], role: str) -> int:
    """The status a caller with ``role`` gets from the route: its success, or 403 below the route's role."""
    order = (VIEWER, ANALYST, ADMIN)
    if order.index(role) < order.index(access.access):
        return 403
    return access.success or SUCCESS[key[0]]


def _bearer(token: str, accept: dict[str, str]) -> dict[str, str]:
    return {"authorization": f"Bearer {token}", **accept}


def _csrf(http: TestClient) -> tuple[str, str]:
    """(the CSRF cookie, the forms' token) this browser got with the login page."""
    page = http.get("/login", headers=HTML)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token, "the login form carries no csrf_token"
    return http.cookies["onionscope_csrf"], token.group(1)


def _session(http: TestClient, token: str, accept: dict[str, str], lifetime: int = 3600) -> dict[str, str]:
    """A browser's headers: the session cookie of ``token`` and, for its forms, the CSRF cookie and token."""
    session = make_session_cookie(http.app.state.context.secret, hash_token(token), lifetime)
    csrf_cookie, csrf_token = _csrf(http)
    return {"cookie": f"onionscope_session={session}; onionscope_csrf={csrf_cookie}", "x-csrf-token": csrf_token,
            **accept}


def _accepts(key: tuple[str, str]) -> tuple[dict[str, str], ...]:
    # Every page has a JSON twin; the token routes speak JSON only.
    return (JSON, HTML) if key[0] == "GET" else (JSON,)


def _refused_everywhere(http: TestClient, env: dict[str, Any], headers_for: Any, why: str) -> None:
    for key, access in _protected():
        for accept in _accepts(key):
            response = _call(http, env, key, access, headers_for(accept))
            assert response.status_code == 401, (why, key, accept, response.status_code, response.text[:200])


def test_each_route_without_a_token_with_a_viewer_an_analyst_and_an_admin_token(env):
    with TestClient(create_app(env["settings"], env["client"])) as http:
        for key, access in ROUTE_ACCESS.items():
            for accept in _accepts(key) if key[0] != "MOUNT" else (JSON,):
                anonymous = _call(http, env, key, access, accept)
                if access.access == PUBLIC:
                    # Open to all; a form post still needs the CSRF token of our login page.
                    assert anonymous.status_code == 403 if access.unsafe else anonymous.status_code < 400, (key, accept)
                    continue
                # A state change without the CSRF token is refused before the token is looked at.
                assert anonymous.status_code == (403 if access.unsafe else 401), (key, accept, anonymous.status_code)
                if access.unsafe:
                    assert "CSRF" in anonymous.text
                elif accept is JSON:
                    assert anonymous.headers["www-authenticate"] == "Bearer"
                else:
                    assert 'name="token"' in anonymous.text  # the login form, nothing of the page
                for role in ("viewer", "analyst", "admin"):
                    expected = _expected(access, key, role)
                    by_header = _call(http, env, key, access, _bearer(env["tokens"][role], accept))
                    assert by_header.status_code == expected, (key, accept, role, by_header.text[:300])
                    if expected == 403:
                        assert f"needs an {access.access} token" in by_header.text, (key, role)
                    # The UI's session cookie (with the CSRF token of its pages) opens the same doors, and no more.
                    by_cookie = _call(http, env, key, access, _session(http, env["tokens"][role], accept))
                    assert by_cookie.status_code == expected, (key, accept, role, by_cookie.text[:300])


def test_a_token_revoked_by_this_server_is_refused_everywhere_at_once(env):
    client, prefix = env["client"], env["prefix"]
    token, record = create_token(client, prefix, "admin", "revoked here")
    # The default cache: the server's own revoke must not wait for it.
    with TestClient(create_app(env["settings"], client)) as http:
        assert http.get("/auth/tokens", headers=_bearer(token, JSON)).status_code == 200  # now cached
        revoked = http.delete(f"/auth/tokens/{record.token_id}", headers=_bearer(env["tokens"]["admin"], JSON))
        assert revoked.status_code == 200
        _refused_everywhere(http, env, lambda accept: _bearer(token, accept), "bearer, revoked here")
        _refused_everywhere(http, env, lambda accept: _session(http, token, accept), "cookie, revoked here")


def test_a_token_revoked_elsewhere_is_refused_everywhere_with_the_cache_off(env):
    client, prefix = env["client"], env["prefix"]
    token, record = create_token(client, prefix, "admin", "revoked by the cli")
    with TestClient(create_app(env["settings"].replace(api_token_cache_seconds=0), client)) as http:
        assert http.get("/auth/tokens", headers=_bearer(token, JSON)).status_code == 200
        revoke_token(client, prefix, record.token_id)  # as `onionscope token revoke` does
        _refused_everywhere(http, env, lambda accept: _bearer(token, accept), "bearer, revoked elsewhere")
        _refused_everywhere(http, env, lambda accept: _session(http, token, accept), "cookie, revoked elsewhere")


def test_an_expired_token_and_an_expired_session_are_refused_everywhere(env):
    client, prefix = env["client"], env["prefix"]
    token, record = create_token(client, prefix, "admin", "expires", expires_in_days=1)
    with TestClient(create_app(env["settings"], client)) as http:
        assert http.get("/auth/tokens", headers=_bearer(token, JSON)).status_code == 200
    # A day passes (written as the record of a token whose day is over).
    client.update(index=tokens_index(prefix), id=hash_token(token),
                  doc={"expires_at": "2020-01-01T00:00:00Z"}, refresh="wait_for")
    with TestClient(create_app(env["settings"], client)) as http:
        _refused_everywhere(http, env, lambda accept: _bearer(token, accept), "bearer, expired")
        _refused_everywhere(http, env, lambda accept: _session(http, token, accept), "cookie, expired token")
        live = env["tokens"]["admin"]
        _refused_everywhere(http, env, lambda accept: _session(http, live, accept, lifetime=-1),
                            "expired session cookie of a live token")


def _limited(http: TestClient, token: str, url: str, setting: str) -> None:
    """``url`` is a 400 that names ``setting``, as JSON and as a page."""
    as_json = http.get(url, headers=_bearer(token, JSON))
    assert as_json.status_code == 400, (url, as_json.status_code, as_json.text[:300])
    assert as_json.json()["limit"] == setting and setting in as_json.json()["error"], as_json.json()
    page = http.get(url, headers=_bearer(token, HTML))
    assert page.status_code == 400 and setting in page.text, url


def test_costly_queries_are_a_400_that_names_the_limit(env):
    viewer = env["tokens"]["viewer"]
    many_terms = "-".join(f"t{n}" for n in range(70))  # one word, seventy analysed terms
    five_key_ids = " OR ".join(f"pgp:0x{n:016X}" for n in range(5))
    with TestClient(create_app(env["settings"], env["client"])) as http:
        _limited(http, viewer, f"/search?kind=listings&q={many_terms}", "query_max_terms")
        _limited(http, viewer, f"/export?format=csv&q={many_terms}", "query_max_terms")
        _limited(http, viewer, f"/search?kind=vendors&q={five_key_ids}", "query_max_wildcards")
        _limited(http, viewer, "/export?format=json&q=fentanyl&limit=1001", "export_max_records")
    tight = env["settings"].replace(query_max_clauses=8)
    with TestClient(create_app(tight, env["client"])) as http:
        # Three words on listings search four fields each: twelve clauses.
        _limited(http, viewer, "/search?kind=listings&q=fentanyl+powder+pure", "query_max_clauses")
        assert http.get("/search?kind=listings&q=fentanyl+powder", headers=_bearer(viewer, JSON)).status_code == 200


def test_paging_stops_at_the_result_window_and_a_page_past_it_is_a_400(env):
    viewer = env["tokens"]["viewer"]
    with TestClient(create_app(env["settings"].replace(search_max_window=3), env["client"])) as http:
        first = http.get("/search?kind=listings&sort=date&limit=1", headers=_bearer(viewer, JSON)).json()
        assert first["total"] == 4 and len(first["hits"]) == 1 and first["next_cursor"]
        # A page of three after the first hit would end at hit 4, past the window of 3.
        _limited(http, viewer, f"/search?kind=listings&sort=date&limit=3&cursor={first['next_cursor']}",
                 "search_max_window")
        last = http.get(f"/search?kind=listings&sort=date&limit=2&cursor={first['next_cursor']}",
                        headers=_bearer(viewer, JSON)).json()
        assert len(last["hits"]) == 2 and last["next_cursor"] is None  # the window's last hits; no way past them
        # No cursor is handed out for a next page that could not fit.
        assert http.get("/search?kind=listings&limit=2", headers=_bearer(viewer, JSON)).json()["next_cursor"] is None
        _limited(http, viewer, "/search?kind=listings&limit=4", "search_max_window")


def test_an_export_holds_at_most_export_max_records(env):
    viewer = env["tokens"]["viewer"]
    with TestClient(create_app(env["settings"].replace(export_max_records=2), env["client"])) as http:
        export = http.get("/export?format=json&kind=listings&q=", headers=_bearer(viewer, JSON))
        assert export.status_code == 200 and len(export.json()["records"]) == 2
        _limited(http, viewer, "/export?format=json&kind=listings&q=&limit=3", "export_max_records")


def _audit_snapshot(client: Any, prefix: str) -> dict[str, tuple[int, int, dict[str, Any]]]:
    """Every audit document: id -> (seq_no, primary_term, source)."""
    index = audit_index(prefix)
    client.indices.refresh(index=index)
    answer = client.search(index=index, body={"query": {"match_all": {}}, "size": 10_000,
                                              "seq_no_primary_term": True})
    return {hit["_id"]: (hit["_seq_no"], hit["_primary_term"], hit["_source"]) for hit in answer["hits"]["hits"]}


def test_no_route_forges_alters_or_deletes_an_audit_entry(env):
    client, prefix = env["client"], env["prefix"]
    callers = {role: hash_token(token)[:16] for role, token in env["tokens"].items()}
    forged = '","actor_id":"someone-else","role":"admin'
    with TestClient(create_app(env["settings"], client)) as http:
        http.get("/stats", headers=_bearer(env["tokens"]["viewer"], JSON))  # at least one entry to keep
        http.app.state.context.audit.flush()
        before = _audit_snapshot(client, prefix)
        assert before
        some_id = next(iter(before))
        for role, token in env["tokens"].items():
            # Every route in the table, as each role, by header and by session cookie...
            for key, access in ROUTE_ACCESS.items():
                for headers in (_bearer(token, JSON), _session(http, token, JSON)):
                    _call(http, env, key, access, headers)
            # ... and hostile parameters: a query that looks like JSON, the audit and token indices as kinds,
            # audit-like paths and methods the table does not have.
            for url in (f"/search?q={forged}", f"/export?format=json&q={forged}", f"/wallets/{forged}"):
                assert http.get(url, headers=_bearer(token, JSON)).status_code in (200, 404), url
            for url in ("/search?kind=audit", "/search?kind=tokens", "/export?format=json&q=x&kind=audit"):
                assert http.get(url, headers=_bearer(token, JSON)).status_code == 400, url
            for method in ("POST", "PUT", "PATCH", "DELETE"):
                for path in ("/audit", f"/audit/{some_id}", f"/{prefix}-audit/_doc/{some_id}", "/search", "/stats"):
                    answer = http.request(method, path, json={"actor_id": "someone-else"},
                                          headers=_bearer(token, JSON))
                    assert answer.status_code in (404, 405), (method, path, answer.status_code)
        assert http.app.state.context.audit.flush()
    after = _audit_snapshot(client, prefix)
    # Nothing that was there is gone or changed.
    assert {doc_id: after.get(doc_id) for doc_id in before} == before
    new = [source for doc_id, (_, _, source) in after.items() if doc_id not in before]
    assert new, "the calls above were audited"
    for source in new:
        # Each new entry is the caller's own, with its own name and role: nobody else's.
        role = next(role for role, token_id in callers.items() if token_id == source["actor_id"])
        assert source["role"] == role and source["actor_name"] == f"route table {role}", source
    assert any(forged in source["query"] for source in new)  # the forged text is only ever a query


def test_a_token_is_stored_only_as_its_sha256_and_never_written_anywhere(env):
    import hashlib

    client, prefix = env["client"], env["prefix"]
    token, record = create_token(client, prefix, "viewer", "stored as a hash")
    digest = hashlib.sha256(token.encode()).hexdigest()
    stored = client.get(index=tokens_index(prefix), id=digest)
    secret_part = token.removeprefix("osk_")
    assert stored["_id"] == digest and record.token_id == digest[:16]
    with TestClient(create_app(env["settings"], client)) as http:
        http.get("/search?q=x", headers=_bearer(token, JSON))
        http.app.state.context.audit.flush()
    client.indices.refresh(index=f"{prefix}-*")
    def found(probe: str) -> int:
        body = {"query": {"query_string": {"query": f"*{probe}*", "fields": ["*"]}}}
        return client.search(index=f"{prefix}-*", body=body)["hits"]["total"]["value"]

    assert found(digest[2:14]) >= 1  # the probe does find what is stored (the token id)
    # Neither the token nor any 12 characters of it are in any index of the prefix.
    for probe in (secret_part[:12], secret_part[-12:]):
        for spelling in (probe, probe.lower()):
            assert found(spelling) == 0, spelling
    assert secret_part not in str(stored["_source"])


def test_over_https_the_session_and_csrf_cookies_are_secure_httponly_and_strict(env):
    with TestClient(create_app(env["settings"], env["client"]), base_url="https://testserver") as http:
        csrf_cookie, csrf_token = _csrf(http)
        login = http.post("/login", data={"token": env["tokens"]["viewer"], "csrf_token": csrf_token},
                          headers=HTML, follow_redirects=False)
        assert login.status_code == 303
        cookies = [value for name, value in login.headers.multi_items() if name == "set-cookie"]
        page = http.get("/login", headers=HTML)
        cookies += [value for name, value in page.headers.multi_items() if name == "set-cookie"]
    session = [cookie for cookie in cookies if cookie.startswith("onionscope_session=")]
    assert session
    for cookie in session:
        attributes = {part.strip().split("=")[0].lower() for part in cookie.split(";")[1:]}
        assert {"httponly", "secure", "samesite", "path"} <= attributes and "domain" not in attributes, cookie
        assert "samesite=strict" in cookie.lower().replace(" ", ""), cookie
