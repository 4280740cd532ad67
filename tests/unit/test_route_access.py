"""Every route of the app is classified (public, viewer, analyst or admin), read from the app's own route table.

:data:`ROUTE_ACCESS` is the one list of who may call what.  A route the app
serves that is not in it fails :func:`test_every_route_is_classified`, so a
new route cannot ship unclassified; tests/integration/test_hostile_users.py
calls each route in it without a token, with a viewer, an analyst and an admin
token (and with revoked and expired ones) against the real Elasticsearch.
Here, without Elasticsearch: the table matches the route table, each
protected route depends on the viewer check, each analyst and admin route on
its role's check, and every answer carries the security headers.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass, field
from typing import Any

import pytest
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient
from starlette.routing import Mount

from config.settings import load_settings
from search.api import create_app
from search.api.context import admin, analyst, viewer

PUBLIC, VIEWER, ANALYST, ADMIN = "public", "viewer", "analyst", "admin"


def assert_security_headers(response: Any, where: Any) -> None:
    """The headers issue 12 asks of every answer (written out here, not read from the code under test)."""
    headers = response.headers
    policy = [part.strip() for part in headers.get("content-security-policy", "").split(";")]
    assert "default-src 'none'" in policy and "frame-ancestors 'none'" in policy, (where, policy)
    assert not [part for part in policy if part.startswith("script-src")], (where, policy)
    assert "unsafe-inline" not in headers["content-security-policy"], where
    assert headers.get("x-content-type-options") == "nosniff", where
    assert headers.get("x-frame-options") == "DENY", where
    assert headers.get("referrer-policy") == "no-referrer", where


@dataclass(frozen=True)
class RouteAccess:
    """Who may call a route, and one request that exercises it.

    ``sample`` is the URL with ``{placeholders}`` filled from a dict of real
    values (see :func:`sample_url`); ``json`` is the body of a POST.
    """

    access: str
    sample: str
    json: dict[str, Any] | None = field(default=None)
    # A state change a browser may make: needs the CSRF token with a session cookie.
    unsafe: bool = False
    # The status of a call its role may make (None: 200, 201 for a POST).
    success: int | None = None


# (method, path as the route table spells it) -> access.  A mount is ("MOUNT", path).
ROUTE_ACCESS: dict[tuple[str, str], RouteAccess] = {
    ("MOUNT", "/static"): RouteAccess(PUBLIC, "/static/style.css"),
    ("GET", "/"): RouteAccess(PUBLIC, "/"),
    ("GET", "/login"): RouteAccess(PUBLIC, "/login"),
    ("POST", "/login"): RouteAccess(PUBLIC, "/login", unsafe=True),
    ("POST", "/logout"): RouteAccess(PUBLIC, "/logout", unsafe=True),
    ("GET", "/search"): RouteAccess(VIEWER, "/search?q=fentanyl&kind=listings"),
    ("GET", "/listings/{listing_id}"): RouteAccess(VIEWER, "/listings/{listing_id}"),
    ("GET", "/vendors/{vendor_id}"): RouteAccess(VIEWER, "/vendors/{vendor_id}"),
    ("GET", "/wallets/{address}"): RouteAccess(VIEWER, "/wallets/{address}"),
    ("GET", "/onions/{host}"): RouteAccess(VIEWER, "/onions/{host}"),
    ("GET", "/stats"): RouteAccess(VIEWER, "/stats"),
    ("GET", "/jobs"): RouteAccess(VIEWER, "/jobs"),
    ("GET", "/runs/{job_id}"): RouteAccess(VIEWER, "/runs/{job_id}"),
    ("GET", "/discovered"): RouteAccess(VIEWER, "/discovered?status=new"),
    ("GET", "/watchlists"): RouteAccess(VIEWER, "/watchlists"),
    ("POST", "/watchlists"): RouteAccess(ANALYST, "/watchlists", json={"kind": "wallet", "value": "bc1qroutetable"},
                                         unsafe=True),
    ("DELETE", "/watchlists/{entry_id}"): RouteAccess(ANALYST, "/watchlists/{entry_id}", unsafe=True),
    ("POST", "/watchlists/{entry_id}/remove"): RouteAccess(ANALYST, "/watchlists/{entry_id}/remove", unsafe=True,
                                                           success=200),
    ("GET", "/alerts"): RouteAccess(VIEWER, "/alerts"),
    ("POST", "/alerts/{alert_id}/read"): RouteAccess(ANALYST, "/alerts/{alert_id}/read", unsafe=True, success=200),
    ("GET", "/metrics"): RouteAccess(VIEWER, "/metrics"),
    ("GET", "/export"): RouteAccess(VIEWER, "/export?format=csv&wallet={address}"),
    ("GET", "/evidence/{hit_id}"): RouteAccess(VIEWER, "/evidence/{listing_id}"),
    ("GET", "/auth/whoami"): RouteAccess(VIEWER, "/auth/whoami"),
    ("GET", "/timelines"): RouteAccess(VIEWER, "/timelines?substance=mdma"),
    ("GET", "/onions/{host}/graph"): RouteAccess(VIEWER, "/onions/{host}/graph"),
    ("GET", "/graph/export"): RouteAccess(VIEWER, "/graph/export?format=graphml"),
    ("GET", "/vendors/{vendor_id}/dossier"): RouteAccess(VIEWER, "/vendors/{vendor_id}/dossier"),
    ("GET", "/openapi.json"): RouteAccess(VIEWER, "/openapi.json"),
    ("GET", "/docs"): RouteAccess(VIEWER, "/docs"),
    ("GET", "/auth/tokens"): RouteAccess(ADMIN, "/auth/tokens"),
    ("POST", "/auth/tokens"): RouteAccess(ADMIN, "/auth/tokens", json={"role": "viewer", "name": "route table"},
                                          unsafe=True),
    ("DELETE", "/auth/tokens/{token_id}"): RouteAccess(ADMIN, "/auth/tokens/{token_id}", unsafe=True),
}

DUMMY_VALUES = {
    "listing_id": "x", "vendor_id": "x", "address": "bc1qx", "host": "x.onion", "token_id": "0123456789abcdef",
    "job_id": "nightly-1", "entry_id": "0123456789abcdef", "alert_id": "0" * 64,
}


def sample_url(access: RouteAccess, values: dict[str, str]) -> str:
    """The sample request's URL with its placeholders filled from ``values``."""
    return access.sample.format(**values)


def app_routes(app: Any) -> dict[tuple[str, str], Any]:
    """(method, path) -> route context, for every route the app serves (mounts as ``MOUNT``)."""
    routes: dict[tuple[str, str], Any] = {}
    for route in iter_route_contexts(app.routes):
        if isinstance(route.original_route, Mount):
            routes[("MOUNT", route.path)] = route
            continue
        for method in sorted(route.methods or ()):
            if method != "HEAD":
                routes[(method, route.path)] = route
    return routes


def _dependency_calls(dependant: Any) -> list[Any]:
    calls = []
    for sub in dependant.dependencies:
        calls.append(sub.call)
        calls.extend(_dependency_calls(sub))
    return calls


def _closed_port() -> int:
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    return port


@pytest.fixture(scope="module")
def offline_app(tmp_path_factory):
    settings = load_settings(environ={}).replace(
        var_dir=str(tmp_path_factory.mktemp("var")), es_url=f"http://127.0.0.1:{_closed_port()}", es_timeout=2)
    return create_app(settings)


def test_every_route_is_classified(offline_app):
    served = app_routes(offline_app)
    unclassified = sorted(set(served) - set(ROUTE_ACCESS))
    assert not unclassified, (
        f"routes without an access class: {unclassified}; add each to ROUTE_ACCESS in {__file__} "
        "(public, viewer or admin) with a sample request")
    stale = sorted(set(ROUTE_ACCESS) - set(served))
    assert not stale, f"ROUTE_ACCESS names routes the app does not serve: {stale}"


def test_each_protected_route_depends_on_the_token_check_and_no_public_one_does(offline_app):
    for key, route in app_routes(offline_app).items():
        access = ROUTE_ACCESS[key]
        if key[0] == "MOUNT":
            assert access.access == PUBLIC
            continue
        calls = _dependency_calls(route.dependant)
        assert (viewer in calls) == (access.access != PUBLIC), key
        assert (analyst in calls) == (access.access == ANALYST), key
        assert (admin in calls) == (access.access == ADMIN), key


def test_only_the_classified_unsafe_routes_change_state(offline_app):
    # Every route that is not a GET is marked unsafe (CSRF-checked); nothing else writes.
    for (method, path), access in ROUTE_ACCESS.items():
        assert access.unsafe == (method not in ("GET", "MOUNT")), (method, path)


def test_without_a_token_every_protected_route_is_401_and_every_answer_has_the_security_headers(offline_app):
    with TestClient(offline_app) as http:
        for (method, path), access in ROUTE_ACCESS.items():
            url = sample_url(access, DUMMY_VALUES)
            for accept in ("application/json", "text/html"):
                response = http.request("GET" if method == "MOUNT" else method, url, json=access.json,
                                        headers={"accept": accept}, follow_redirects=False)
                assert_security_headers(response, (method, path, accept))
                if access.access != PUBLIC:
                    # A state change without the CSRF token is refused before the token is looked at.
                    expected = 403 if access.unsafe else 401
                    assert response.status_code == expected, (method, path, accept, response.status_code)
        # Starlette's own answers too: an unknown path, a wrong method.
        for response in (http.get("/no-such-page"), http.put("/search"), http.get("/static/no-such-file.css")):
            assert response.status_code in (404, 405)
            assert_security_headers(response, response.url)
