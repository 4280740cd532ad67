"""Pure parts of the API: content negotiation, safe redirects, facet links, app wiring without ES."""

from __future__ import annotations

from fastapi.testclient import TestClient
from starlette.requests import Request

from onionscope.settings import load_settings
from search.api import create_app
from search.api.auth_routes import safe_next
from search.api.context import wants_json
from search.api.search_routes import facet_links


def request_with(accept: str | None, query: str = "") -> Request:
    headers = [(b"accept", accept.encode())] if accept is not None else []
    return Request({"type": "http", "method": "GET", "path": "/search", "headers": headers, "query_string": query.encode()})


def test_wants_json():
    assert wants_json(request_with("application/json"))
    assert wants_json(request_with("*/*"))
    assert wants_json(request_with(None))
    assert not wants_json(request_with("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"))
    assert wants_json(request_with("text/html", "format=json"))


def test_safe_next_only_allows_local_paths():
    assert safe_next("/wallets/abc?x=1") == "/wallets/abc?x=1"
    for hostile in ("//evil.example/", "https://evil.example/", "/\\evil.example", "", None, "javascript:alert(1)"):
        assert safe_next(hostile) == "/search"


def test_facet_links_narrow_and_mark_selected():
    links = facet_links("fentanyl market:alpha", {"market": [{"value": "alpha", "count": 2}, {"value": "two words", "count": 1}]})
    alpha, two = links["market"]
    assert alpha["selected"] and alpha["query"] == "fentanyl market:alpha"
    assert not two["selected"] and two["query"] == 'fentanyl market:alpha market:"two words"'
    assert facet_links("(broken", {"market": []}) == {}


def test_app_without_elasticsearch_answers_docs_and_401(tmp_path):
    settings = load_settings(environ={}).replace(var_dir=str(tmp_path), es_url="http://127.0.0.1:9")
    with TestClient(create_app(settings)) as http:
        assert http.get("/openapi.json").status_code == 200
        docs = http.get("/docs")
        assert docs.status_code == 200 and "<script" not in docs.text
        assert "default-src 'none'" in docs.headers["content-security-policy"]
        assert http.get("/search").status_code == 401
        assert http.get("/static/style.css").status_code == 200
        # A bearer token needs Elasticsearch to be checked: unreachable is a 503, not a 500.
        down = http.get("/search", headers={"authorization": "Bearer osk_x", "accept": "application/json"})
        assert down.status_code == 503 and "not reachable" in down.json()["error"]
