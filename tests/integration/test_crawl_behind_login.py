"""Crawling behind a login: the demo's locked market, through the private Tor network, into the real Elasticsearch.

The test plays the investigator: it logs in to the locked market with the
demo's credentials and CAPTCHA answer (straight to the demo server on
loopback, as Tor Browser would through tor), exports the session cookie as a
cookies.txt file, and crawls with ``--session``.  Then:

* with the valid session, every gated listing is indexed (against the
  generator's ground truth), no login page is, and the session's secret value
  is nowhere in the crawl's output and logs, in any index of the crawl's
  prefix (the crawl-run record included) or in its spool folder;
* without a session, with a session the market has since ended, and with a
  cookie file whose cookie has expired, the crawl exits with status 3, names
  the site, the crawl-run record carries it in ``needs_login_sites``, and
  the index holds nothing from behind the login: no listing, no login page,
  only the public home page.
"""

from __future__ import annotations

import json
import secrets
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any, Iterator

import pytest

from crawler.urls import canonical_url
from harness.demo.locked_market import SESSION_COOKIE
from harness.demo.server import DemoServer, read_peer_log
from harness.demo.site_names import LOCKED_MARKET
from harness.demo_world import DemoWorld
from tests.integration.test_crawl_end_to_end import CrawlRun

pytestmark = pytest.mark.integration

EXIT_NEEDS_LOGIN = 3


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def _direct(port: int, path: str, data: dict[str, str] | None = None, cookie: str | None = None
            ) -> tuple[int, dict[str, str], bytes]:
    """One request straight to the demo server on loopback (the investigator's browser, not the crawler)."""
    body = urllib.parse.urlencode(data).encode() if data is not None else None
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=body)
    if cookie:
        request.add_header("Cookie", f"{SESSION_COOKIE}={cookie}")
    opener = urllib.request.build_opener(_NoRedirect)
    try:
        with opener.open(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def _log_in(server: DemoServer, world: DemoWorld) -> str:
    credentials = world.locked_market["credentials"]
    status, headers, _ = _direct(server.ports[LOCKED_MARKET], "/login", data=dict(credentials, next="/market/"))
    assert status == 303, status
    cookie = headers["Set-Cookie"].split(";", 1)[0]
    name, _, token = cookie.partition("=")
    assert name == SESSION_COOKIE and len(token) >= 32
    return token


def _cookies_txt(path: Path, host: str, token: str, expires: int = 0) -> Path:
    # What a cookie-export add-on writes from Tor Browser.
    path.write_text("# Netscape HTTP Cookie File\n# https://curl.se/docs/http-cookies.html\n\n"
                    f"#HttpOnly_{host}\tFALSE\t/\tFALSE\t{expires}\t{SESSION_COOKIE}\t{token}\n", encoding="utf-8")
    return path


class LockedCrawl:
    """One crawl of the locked market under its own index prefix."""

    def __init__(self, world: DemoWorld, es_url: str, work_dir: Path) -> None:
        self.run = CrawlRun(world, es_url, f"test-login-{secrets.token_hex(4)}", work_dir)
        self.host = world.locked_market["onion_host"]

    def crawl(self, *extra: str) -> tuple[int, dict[str, Any], str]:
        result = self.run.onionscope("crawl", "--job", f"login-{secrets.token_hex(3)}", "--json",
                                     "--seed", self.run.world.locked_market["home_url"], *extra)
        assert result.returncode in (0, EXIT_NEEDS_LOGIN), f"{result.stdout}\n{result.stderr[-4000:]}"
        return result.returncode, json.loads(result.stdout), result.stdout + result.stderr

    def documents(self, kind: str) -> list[dict[str, Any]]:
        from elasticsearch import Elasticsearch

        client = Elasticsearch(self.run.es_url)
        try:
            if not client.indices.exists(index=f"{self.run.prefix}-{kind}"):
                return []
            client.indices.refresh(index=f"{self.run.prefix}-{kind}")
            response = client.search(index=f"{self.run.prefix}-{kind}", size=1000, query={"match_all": {}})
            return [hit["_source"] for hit in response["hits"]["hits"]]
        finally:
            client.close()

    def everything_indexed(self) -> str:
        from elasticsearch import Elasticsearch

        client = Elasticsearch(self.run.es_url)
        try:
            client.indices.refresh(index=f"{self.run.prefix}-*")
            response = client.search(index=f"{self.run.prefix}-*", size=5000, query={"match_all": {}})
            return json.dumps(response["hits"]["hits"])
        finally:
            client.close()

    def close(self) -> None:
        from pipelines.es_client import make_client
        from pipelines.indices import delete_prefix
        from config.settings import load_settings

        client = make_client(load_settings(None, environ={}).replace(es_url=self.run.es_url))
        try:
            delete_prefix(client, self.run.prefix)
        finally:
            client.close()


@pytest.fixture
def locked(demo_world: DemoWorld, es_node: Any, tmp_path: Path) -> Iterator[LockedCrawl]:
    assert demo_world.locked_market, "the demo world has no locked market"
    crawl = LockedCrawl(demo_world, es_node.url, tmp_path)
    try:
        yield crawl
    finally:
        crawl.close()


def _assert_nothing_from_behind_the_login(locked: LockedCrawl) -> None:
    truth = locked.run.world.locked_market
    pages = {canonical_url(page["url"]) for page in locked.documents("pages") if page.get("onion_host") == locked.host}
    assert pages == {canonical_url(url) for url in truth["public_pages"]}, pages
    assert not [doc for doc in locked.documents("listings") if doc.get("onion_host") == locked.host]
    assert not [doc for doc in locked.documents("vendors") if doc.get("onion_host") == locked.host]
    assert not [page for page in locked.documents("pages") if "Log in" in (page.get("title") or "")]


def _crawl_run(locked: LockedCrawl, job_id: str) -> dict[str, Any]:
    runs = [doc for doc in locked.documents("crawl-runs") if doc["job_id"] == job_id]
    assert len(runs) == 1
    return runs[0]


def test_the_demo_server_gates_the_listings(demo_server: DemoServer, demo_world: DemoWorld) -> None:
    port = demo_server.ports[LOCKED_MARKET]
    listing = urllib.parse.urlsplit(demo_world.locked_market["listings"][0]["url"]).path
    assert _direct(port, "/")[0] == 200
    status, headers, _ = _direct(port, listing)
    assert status == 302 and headers["Location"] == f"/login?next={listing}"
    wrong = dict(demo_world.locked_market["credentials"], captcha="WRONG")
    assert _direct(port, "/login", data=wrong)[0] == 401
    token = _log_in(demo_server, demo_world)
    assert _direct(port, listing, cookie=token)[0] == 200
    assert _direct(port, "/logout", cookie=token)[0] == 302
    assert _direct(port, listing, cookie=token)[0] == 302


def test_with_a_valid_session_the_gated_listings_are_indexed_and_the_secret_is_nowhere(
    locked: LockedCrawl, demo_server: DemoServer,
) -> None:
    token = _log_in(demo_server, locked.run.world)
    session = _cookies_txt(locked.run.work_dir / "cookies.txt", locked.host, token)
    status, summary, output = locked.crawl("--session", str(session))
    assert status == 0, output[-3000:]
    assert summary["needs_login_sites"] == {} and summary["session_sites"] == [locked.host]
    truth = locked.run.world.locked_market
    listings = [doc for doc in locked.documents("listings") if doc.get("onion_host") == locked.host]
    assert {(canonical_url(doc["url"]), doc["title"]) for doc in listings} == {
        (canonical_url(item["url"]), item["title"]) for item in truth["listings"]}
    pages = {canonical_url(page["url"]) for page in locked.documents("pages") if page.get("onion_host") == locked.host}
    assert pages == {canonical_url(url) for url in truth["public_pages"] + truth["gated_pages"]}
    assert canonical_url(truth["login_url"]) not in pages
    run = _crawl_run(locked, summary["job_id"])
    assert run["session_sites"] == [locked.host] and run["needs_login_sites"] == []
    # The session is still alive: the crawl never followed the market's logout link.
    assert _direct(demo_server.ports[LOCKED_MARKET], urllib.parse.urlsplit(truth["listings"][0]["url"]).path,
                   cookie=token)[0] == 200
    # The secret: not in the output or the logs, not in any index (crawl-run record and its stats
    # included), not in the spool or anything else the crawl wrote.
    assert token not in output
    assert token not in locked.everything_indexed()
    for path in (locked.run.work_dir / "var").rglob("*"):
        if path.is_file():
            assert token.encode() not in path.read_bytes(), path
    # ...while the market did get it, on the onion only.
    gated = [entry for entry in read_peer_log(locked.run.world.peer_log)
             if entry["site"] == LOCKED_MARKET and entry["target"].startswith("/listing/") and entry["got_cookie"]]
    assert gated


def test_without_a_session_the_site_needs_login_and_nothing_bogus_is_indexed(locked: LockedCrawl) -> None:
    status, summary, output = locked.crawl()
    assert status == EXIT_NEEDS_LOGIN
    assert set(summary["needs_login_sites"]) == {locked.host}
    assert summary["needs_login_sites"][locked.host] >= 1
    assert f"{locked.host} needs a login session" in output
    _assert_nothing_from_behind_the_login(locked)
    assert _crawl_run(locked, summary["job_id"])["needs_login_sites"] == [locked.host]
    # The UI says so, on the onion's page and on the stats page.
    onion_page, stats_page = _ui_pages(locked, f"/onions/{locked.host}", "/stats")
    assert "Needs a fresh session" in onion_page and summary["job_id"] in onion_page
    assert "sites that need a fresh session" in stats_page and locked.host in stats_page


def _ui_pages(locked: LockedCrawl, *paths: str) -> list[str]:
    """The HTML of ``paths`` from the search UI (in-process) over the crawl's indices."""
    from fastapi.testclient import TestClient

    from config.settings import load_settings
    from pipelines.es_client import make_client
    from pipelines.indices import ensure_indices
    from search.api import create_app
    from search.auth import create_token

    settings = load_settings(None, environ={}).replace(
        es_url=locked.run.es_url, index_prefix=locked.run.prefix, var_dir=str(locked.run.work_dir / "ui-var"))
    client = make_client(settings)
    try:
        ensure_indices(client, locked.run.prefix)  # the crawl made those it wrote; the UI wants tokens and audit too
        token, _ = create_token(client, locked.run.prefix, "viewer", "login test")
        with TestClient(create_app(settings, client)) as http:
            answers = [http.get(path, headers={"authorization": f"Bearer {token}", "accept": "text/html"})
                       for path in paths]
        assert [answer.status_code for answer in answers] == [200] * len(paths)
        return [answer.text for answer in answers]
    finally:
        client.close()


def test_with_a_session_the_market_has_ended_the_site_needs_login(locked: LockedCrawl, demo_server: DemoServer) -> None:
    token = _log_in(demo_server, locked.run.world)
    assert _direct(demo_server.ports[LOCKED_MARKET], "/logout", cookie=token)[0] == 302  # the session expires
    session = locked.run.work_dir / "session.yml"
    session.write_text(f"sites:\n  {locked.host}:\n    cookies:\n      {SESSION_COOKIE}: {token}\n", encoding="utf-8")
    status, summary, output = locked.crawl("--session", str(session))
    assert status == EXIT_NEEDS_LOGIN
    assert set(summary["needs_login_sites"]) == {locked.host} and summary["session_sites"] == [locked.host]
    assert f"the session for {locked.host} was refused or has expired" in output
    assert token not in output
    _assert_nothing_from_behind_the_login(locked)
    run = _crawl_run(locked, summary["job_id"])
    assert run["needs_login_sites"] == [locked.host] and run["session_sites"] == [locked.host]
    assert token not in locked.everything_indexed()


def test_with_an_expired_cookie_file_the_cookie_is_not_sent_and_the_site_needs_login(
    locked: LockedCrawl, demo_server: DemoServer,
) -> None:
    token = _log_in(demo_server, locked.run.world)  # valid at the market, but the export says it has expired
    session = _cookies_txt(locked.run.work_dir / "cookies.txt", locked.host, token, expires=int(time.time()) - 3600)
    status, summary, output = locked.crawl("--session", str(session))
    assert status == EXIT_NEEDS_LOGIN
    assert set(summary["needs_login_sites"]) == {locked.host} and summary["expired_session_cookies"] == 1
    assert f"session cookie '{SESSION_COOKIE}' for {locked.host}" in output and token not in output
    _assert_nothing_from_behind_the_login(locked)
