"""Pure parts of the API: content negotiation, safe redirects, facet links, app wiring without ES."""

from __future__ import annotations

import logging
import re
import socket

from fastapi.testclient import TestClient
from starlette.requests import Request

from config.settings import load_settings
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


def _closed_port() -> int:
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    return port


def test_app_without_elasticsearch_answers_401_everywhere_but_static(tmp_path):
    settings = load_settings(environ={}).replace(var_dir=str(tmp_path), es_url=f"http://127.0.0.1:{_closed_port()}")
    with TestClient(create_app(settings)) as http:
        # The API's description is for viewers only.
        assert http.get("/openapi.json").status_code == 401
        docs = http.get("/docs", headers={"accept": "text/html"})
        assert docs.status_code == 401 and 'name="token"' in docs.text and "/wallets/{address}" not in docs.text
        assert "<script" not in docs.text
        assert "default-src 'none'" in docs.headers["content-security-policy"]
        assert http.get("/search").status_code == 401
        assert http.get("/static/style.css").status_code == 200
        # A bearer token needs Elasticsearch to be checked: unreachable is a 503, not a 500.
        down = http.get("/search", headers={"authorization": "Bearer osk_x", "accept": "application/json"})
        assert down.status_code == 503 and "not reachable" in down.json()["error"]


def test_elasticsearch_down_page_never_shows_its_credentials(tmp_path, caplog):
    port = _closed_port()
    settings = load_settings(environ={}).replace(
        var_dir=str(tmp_path), es_url=f"https://elastic:Hunter2-secret@127.0.0.1:{port}", es_timeout=2)
    answers = []
    with caplog.at_level(logging.DEBUG), TestClient(create_app(settings)) as http:
        for accept in ("application/json", "text/html"):
            answers.append(http.get("/search", headers={"authorization": "Bearer osk_x", "accept": accept}))
        login_form = http.get("/login", headers={"accept": "text/html"}).text
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', login_form).group(1)
        answers.append(http.post("/login", data={"token": "osk_x", "csrf_token": csrf}, headers={"accept": "text/html"}))
    for answer in answers:
        assert answer.status_code == 503, answer.text
        assert "not reachable" in answer.text and f"127.0.0.1:{port}" in answer.text
        assert "Hunter2-secret" not in answer.text and "elastic:" not in answer.text
    assert not [record for record in caplog.records if "Hunter2-secret" in record.getMessage()]


def test_trusted_proxies_decide_whose_forwarded_scheme_counts(tmp_path):
    base = load_settings(environ={}).replace(var_dir=str(tmp_path), es_url=f"http://127.0.0.1:{_closed_port()}")

    def probe(request: Request) -> dict[str, str]:
        return {"scheme": request.url.scheme}

    def scheme(settings, peer: str) -> str:
        app = create_app(settings)
        app.add_api_route("/scheme-probe", probe)
        with TestClient(app, client=(peer, 40000)) as http:
            return http.get("/scheme-probe", headers={"x-forwarded-proto": "https"}).json()["scheme"]

    behind_proxy = base.replace(trusted_proxies="10.1.2.3, 192.168.0.0/16")
    assert scheme(behind_proxy, "10.1.2.3") == "https"
    assert scheme(behind_proxy, "192.168.7.7") == "https"
    assert scheme(behind_proxy, "10.1.2.4") == "http"  # anyone else's header is ignored
    assert scheme(base, "10.1.2.3") == "http"  # nobody is trusted by default


def test_a_coin_facet_is_selected_whichever_spelling_the_query_used():
    for query in ("coin:monero", "coin:XMR", "coin:xmr"):
        links = facet_links(query, {"coin": [{"value": "xmr", "count": 2}, {"value": "btc", "count": 1}]})
        xmr, btc = links["coin"]
        assert xmr["selected"] and xmr["query"] == query, query
        assert not btc["selected"] and btc["query"] == f"{query} coin:btc"
