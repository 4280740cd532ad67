"""CSRF: a browser's state-changing request needs the token of one of the app's own pages.

Without Elasticsearch: the check comes before any token lookup, so a refused
request costs nothing and tells nothing.  Each unsafe route is taken from
the route table (tests/unit/test_route_access.py), so a new form cannot miss it.
"""

from __future__ import annotations

import re
import socket

import pytest
from fastapi.testclient import TestClient

from config.settings import load_settings
from search.api import create_app
from search.auth import make_session_cookie
from search.signing import CURSOR_PURPOSE, sign_value
from tests.unit.test_route_access import DUMMY_VALUES, PUBLIC, ROUTE_ACCESS, sample_url

HTML = {"accept": "text/html,application/xhtml+xml"}
TOKEN_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')


def _closed_port() -> int:
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    return port


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    settings = load_settings(environ={}).replace(
        var_dir=str(tmp_path_factory.mktemp("var")), es_url=f"http://127.0.0.1:{_closed_port()}", es_timeout=2)
    return create_app(settings)


def _unsafe_routes():
    return [(key, access) for key, access in ROUTE_ACCESS.items() if access.unsafe]


def _form_token(http: TestClient) -> str:
    page = http.get("/login", headers=HTML)
    match = TOKEN_FIELD.search(page.text)
    assert match, "the login form carries no csrf_token"
    return match.group(1)


def test_every_form_of_the_app_carries_the_token_and_the_cookie_is_strict_and_httponly(app):
    with TestClient(app) as http:
        page = http.get("/login", headers=HTML)
        cookie = page.headers["set-cookie"]
        assert cookie.startswith("onionscope_csrf=") and "HttpOnly" in cookie and "samesite=strict" in cookie.lower()
        assert "secure" not in cookie.lower()
        forms = re.findall(r"<form[^>]*method=\"post\"[^>]*>.*?</form>", page.text, flags=re.S)
        assert forms and all('name="csrf_token"' in form for form in forms)
    with TestClient(app, base_url="https://testserver") as https:
        assert "secure" in https.get("/login", headers=HTML).headers["set-cookie"].lower()


def test_a_cross_site_post_to_any_unsafe_route_is_refused_before_anything_else(app):
    with TestClient(app) as http:
        session = make_session_cookie(app.state.context.secret, "a" * 64)
        http.get("/login", headers=HTML)  # the browser holds our CSRF cookie, as a logged-in analyst's does
        for (method, path), access in _unsafe_routes():
            url = sample_url(access, DUMMY_VALUES)
            for extra in ({}, {"data": {"token": "osk_x", "next": "/search"}}):
                response = http.request(method, url, headers={**HTML, "cookie": f"onionscope_session={session}"},
                                        follow_redirects=False, **extra)
                # 403, not 401 or 503: refused before the token index is asked anything.
                assert response.status_code == 403, (method, path, response.status_code)
                assert "CSRF" in response.text


def test_a_token_of_another_browser_another_purpose_or_altered_is_refused(app):
    secret = app.state.context.secret
    with TestClient(app) as other_browser:
        foreign = _form_token(other_browser)
    with TestClient(app) as http:
        mine = _form_token(http)
        cookie_value = http.cookies.get("onionscope_csrf")
        cursor_signed = sign_value(secret, CURSOR_PURPOSE, cookie_value)
        altered = mine[:-2] + ("AA" if not mine.endswith("AA") else "BB")
        for token in (foreign, cursor_signed, altered, "", cookie_value):
            response = http.post("/logout", data={"csrf_token": token}, headers=HTML, follow_redirects=False)
            assert response.status_code == 403, token
        # As a header (what a JSON client riding on the session sends): the same rule.
        assert http.post("/logout", headers={"x-csrf-token": foreign}, follow_redirects=False).status_code == 403
        assert http.post("/logout", headers={"x-csrf-token": mine}, follow_redirects=False).status_code == 303
        assert http.post("/logout", data={"csrf_token": mine}, follow_redirects=False).status_code == 303


def test_without_the_cookie_even_a_valid_token_is_refused(app):
    with TestClient(app) as http:
        token = _form_token(http)
        http.cookies.clear()
        assert http.post("/logout", data={"csrf_token": token}, follow_redirects=False).status_code == 403


def test_bearer_clients_are_not_asked_for_a_token(app):
    # The cookie is never read when an Authorization header is sent, and no browser adds one cross-site.
    with TestClient(app) as http:
        for (method, path), access in _unsafe_routes():
            if access.access == PUBLIC:
                continue
            response = http.request(method, sample_url(access, DUMMY_VALUES), json=access.json,
                                    headers={"authorization": "Bearer not-a-token", "accept": "application/json"})
            assert response.status_code == 401, (method, path)
