"""Hostile onion sites, crawled for real: the crawl goes on, memory stays bounded, and it says what happened.

Also the XSS payloads the crawl brought in: stored as text, and escaped in the web UI, the
exports (CSV, JSON, STIX, MISP) and the terminal.

One hostile site (:mod:`tests.integration.hostile_sites`) is published as an onion service
on the session's private Tor network.  One crawl (``measured_crawl``: the onion spider,
the tor transport, the pipelines, the real Elasticsearch) takes every case at once, with
its own ``/ok/<case>`` page beside each; each test then checks one case in the crawl's
stats, its log, the site's own records and the index.  Two more crawls: the link traps with
the trap rules off (the page budget alone ends them) and the 20 MB single line (it needs a
larger ``download_maxsize`` than the default 5 MiB, which refuses it).

Peak memory is the crawl process's ``ru_maxrss`` (and its extraction worker's); the bound
asserted is generous (:data:`PEAK_RSS_BOUND_MIB`), the figures are printed.
"""

from __future__ import annotations

import json
import uuid
from typing import Any, Iterator

import pytest

from crawler.urls import canonical_url
from tests.integration.hostile_sites import (
    BOMB_ENCODINGS,
    FORMULA_PAYLOAD,
    TERMINAL_PAYLOAD,
    XSS_PAYLOAD,
    BROKEN_UTF8_PHRASE,
    DEEP_PHRASE,
    HUGE_HEADER_BYTES,
    LONG_LINE_BYTES,
    LONG_LINE_PHRASE,
    OVERSIZE_BYTES,
    SCHEME_LINKS,
    HostileSite,
    bombs,
    long_line_gzip,
)
from tests.integration.hostile_world import crawl_environment, indexed_pages, run_measured_crawl
from tests.integration.transport_network import publish_sites

pytestmark = pytest.mark.integration

# Generous: the crawl process idles at about 100 MiB, the worker at about 150 MiB.
PEAK_RSS_BOUND_MIB = 600
DOWNLOAD_TIMEOUT = 30.0
PAGES_PER_PATTERN = 12
HOST_BUDGET = 400

CASES = {
    "oversize": ["/oversize/length", "/oversize/chunked", "/oversize/close"],
    "bombs": [f"/bomb/{encoding}" for encoding in BOMB_ENCODINGS],
    "redirects": ["/redirect/endless/r"],
    "schemes": ["/redirect/scheme/javascript", "/redirect/scheme/data", "/redirect/scheme/file", "/links/schemes"],
    "traps": ["/trap/calendar/2024/01", "/trap/session/start/index", "/trap/sid", "/trap/grow", "/trap/repeat/"],
    "drip": ["/drip"],
    "binary": ["/binary"],
    "broken-utf8": ["/broken-utf8"],
    "deep": ["/deep"],
    "huge-headers": ["/huge-headers"],
    "xss": ["/xss", "/xss/vendor"],
}
TRAP_PREFIXES = ("/trap/calendar/", "/trap/session/", "/trap/sid", "/trap/grow", "/trap/repeat/")


@pytest.fixture(scope="module")
def site() -> Iterator[HostileSite]:
    bombs(), long_line_gzip()  # built before the crawl, not while it waits
    hostile = HostileSite("hostile")
    yield hostile
    hostile.close()


@pytest.fixture(scope="module")
def world(testnet, testnet_network, site, es_node, tmp_path_factory) -> Iterator[dict[str, Any]]:
    from pipelines.es_client import make_client
    from pipelines.indices import delete_prefix

    manifest, onions = publish_sites(testnet_network, [site], prefix="hostile")
    socks = f"127.0.0.1:{manifest['clients'][0]['socks_port']}"
    client = make_client(es_node.settings)
    # One prefix for the module's crawls: creating the indices is the slowest part of a short crawl.
    # Each test reads only the URLs of its own case.
    prefix = f"test-hostile-{uuid.uuid4().hex[:8]}"

    def crawl(paths: list[str], settings: dict[str, Any], name: str) -> dict[str, Any]:
        environment = crawl_environment(es_node.url, prefix, socks, tmp_path_factory.mktemp(name))
        seeds = [f"http://{onions['hostile']}{path}" for path in paths]
        report = run_measured_crawl(seeds, name, environment, settings, timeout=240)
        report["pages"] = indexed_pages(client, prefix, ["url", "canonical_url", "title", "text", "links", "status"])
        print(f"\n[{name}] {report['summary']['pages']} pages in {report['seconds']} s; peak RSS "
              f"{report['peak_rss_mib']} MiB (crawl), {report['children_peak_rss_mib']} MiB (extraction worker)")
        return report

    try:
        yield {"onion": onions["hostile"], "socks": socks, "client": client, "crawl": crawl, "prefix": prefix}
    finally:
        delete_prefix(client, prefix)
        client.close()


@pytest.fixture(scope="module")
def hostile_crawl(world, site) -> dict[str, Any]:
    paths = ["/ok/start"] + [path for case, case_paths in CASES.items() for path in [*case_paths, f"/ok/{case}"]]
    settings = {
        "crawl_depth": 100,  # so depth is not what ends the traps
        "crawl_max_pages_per_host": HOST_BUDGET,
        "crawl_max_pages_per_pattern": PAGES_PER_PATTERN,
        "download_timeout": DOWNLOAD_TIMEOUT,
    }
    return world["crawl"](paths, settings, "hostile")


def _url(world: dict[str, Any], path: str) -> str:
    return f"http://{world['onion']}{path}"


def _indexed(report: dict[str, Any], world: dict[str, Any], path: str) -> dict[str, Any] | None:
    return report["pages"].get(_url(world, path))


def _stat(report: dict[str, Any], key: str) -> int:
    return int(report["stats"].get(key, 0))


def _assert_went_on(report: dict[str, Any], world: dict[str, Any], case: str) -> None:
    page = _indexed(report, world, f"/ok/{case}")
    assert page is not None and page["title"] == f"ok {case}", f"/ok/{case} was not indexed"


def test_the_crawl_survives_every_case_with_bounded_memory_and_loses_nothing(hostile_crawl, world):
    summary = hostile_crawl["summary"]
    assert hostile_crawl["stats"]["finish_reason"] == "finished"
    for case in ["start", *CASES]:
        _assert_went_on(hostile_crawl, world, case)
    assert summary["items_spooled"] == 0 and summary["items_lost"] == 0
    assert summary["network_refused"] == 0
    canonical = [page["canonical_url"] for page in hostile_crawl["pages"].values()]
    assert len(canonical) == len(set(canonical)), "a page was indexed twice"
    # Every page the crawl extracted is in the index, once (this is the module's first crawl).
    assert summary["indexed_by_kind"]["pages"] == summary["pages"] == len(canonical)
    assert hostile_crawl["peak_rss_mib"] < PEAK_RSS_BOUND_MIB
    assert hostile_crawl["children_peak_rss_mib"] < PEAK_RSS_BOUND_MIB
    # Failed downloads are logged with Scrapy's "Error downloading"; nothing else went wrong.
    for problem in ("Spider error processing", "Error processing", "ValueError", "Unhandled error"):
        assert problem not in hostile_crawl["log"], problem
    assert "Remote control HTTP server listening" not in hostile_crawl["log"]


def test_pages_over_the_size_cap_with_and_without_content_length_are_dropped_and_counted(hostile_crawl, world, site):
    _assert_went_on(hostile_crawl, world, "oversize")
    assert _stat(hostile_crawl, "download/maxsize_exceeded") == 3
    for path in CASES["oversize"]:
        assert _indexed(hostile_crawl, world, path) is None
        assert site.requests_for(path) == [path]  # not retried
    # With a Content-Length the crawler hangs up at the headers; without one, at the cap.
    assert site.hung_up["/oversize/length"] < OVERSIZE_BYTES / 2
    assert "Expected to receive 8388608 bytes which is larger than download max size" in hostile_crawl["log"]
    for path in CASES["oversize"]:
        assert f"larger than download max size (5242880) in request <GET {_url(world, path)}>" in hostile_crawl["log"]


def test_compression_bombs_are_capped_at_the_decompressed_size(hostile_crawl, world, site):
    _assert_went_on(hostile_crawl, world, "bombs")
    advertised = {encoding.strip() for encoding in site.accept_encodings["/bomb/gzip"].split(",")}
    assert set(BOMB_ENCODINGS) <= advertised  # every codec's library is installed, so each is offered
    assert _stat(hostile_crawl, "download/decompressed_maxsize_exceeded") == len(BOMB_ENCODINGS)
    for encoding in BOMB_ENCODINGS:
        assert _stat(hostile_crawl, f"download/decompressed_maxsize_exceeded/{encoding}") == 1
        assert len(bombs()[encoding]) < 5242880  # the wire size is under the cap: only decompression passes it
        assert f"/bomb/{encoding}> because its body" in hostile_crawl["log"]
        assert _indexed(hostile_crawl, world, f"/bomb/{encoding}") is None
    assert hostile_crawl["log"].count("exceeded DOWNLOAD_MAXSIZE (5242880 B) during decompression") == 4


def test_an_endless_redirect_chain_ends_at_the_redirect_cap(hostile_crawl, world, site):
    _assert_went_on(hostile_crawl, world, "redirects")
    chain = site.requests_for("/redirect/endless/")
    assert len(chain) == 21  # the first request and REDIRECT_MAX_TIMES (20) redirects
    assert _stat(hostile_crawl, "redirect/max_reached") == 1
    assert "its redirect chain reached REDIRECT_MAX_TIMES (20)" in hostile_crawl["log"]


def test_redirects_and_links_to_other_schemes_are_never_followed_and_are_counted(hostile_crawl, world, site):
    _assert_went_on(hostile_crawl, world, "schemes")
    assert _stat(hostile_crawl, "scope/refused/scheme") == 3
    assert _stat(hostile_crawl, "scope/refused_redirects") == 3
    log = hostile_crawl["log"]
    assert "Missing scheme" not in log  # Scrapy's redirect middleware choked on javascript: before
    for scheme in ("javascript", "data", "file"):
        assert f"to a '{scheme}' URI" in log
    page = _indexed(hostile_crawl, world, "/links/schemes")
    assert page is not None and _url(world, "/ok/links-schemes") in page["links"]
    assert not [link for link in page["links"] if link.split(":", 1)[0] not in ("http", "https")]
    _assert_went_on(hostile_crawl, world, "links-schemes")
    assert _stat(hostile_crawl, "extract/links_not_followed/scheme") == len(SCHEME_LINKS)
    # Nothing behind those URIs ever reached the site (or tor): only the seeds' own paths.
    assert not [path for path in site.paths if "passwd" in path or "alert(document" in path or "base64" in path]


def test_link_traps_are_stopped_by_the_trap_rules_before_the_page_budget(hostile_crawl, world, site):
    _assert_went_on(hostile_crawl, world, "traps")
    stats = hostile_crawl["stats"]
    fetched = {prefix: len(site.requests_for(prefix)) for prefix in TRAP_PREFIXES}
    print(f"\ntrap pages fetched with the trap rules on: {fetched}")
    assert fetched["/trap/calendar/"] <= PAGES_PER_PATTERN + 1  # the seed month, then the pattern budget
    assert fetched["/trap/session/"] <= 2 * PAGES_PER_PATTERN + 1  # /s/*/index and /s/*/other
    assert fetched["/trap/sid"] <= PAGES_PER_PATTERN + 1
    for key in ("pattern_budget", "repeated_segment", "query_length"):
        assert stats.get(f"trap/refused/{key}", 0) >= 1, key
    assert fetched["/trap/repeat/"] == 3  # /trap/repeat/, .../repeat/repeat/, then one repeat too many
    assert sum(fetched.values()) < HOST_BUDGET / 2
    assert "budget/hosts_exhausted" not in stats  # the traps did not eat the host's page budget
    assert hostile_crawl["stats"]["request_depth_max"] < 40  # ended by the rules, long before crawl_depth
    assert "(a crawler trap?" in hostile_crawl["log"]


def test_with_the_trap_rules_off_the_page_budget_alone_ends_the_traps(world, site):
    budget = 40
    before = len(site.paths)
    report = world["crawl"](CASES["traps"] + ["/ok/traps-budget-only"], {
        "crawl_depth": 100, "crawl_max_pages_per_host": budget, "crawl_max_pages_per_pattern": 0,
        "crawl_max_url_length": 0, "crawl_max_query_params": 0, "crawl_max_query_length": 0,
        "crawl_max_path_repeats": 0,
    }, "traps-budget-only")
    assert len(site.paths) - before == budget
    _assert_went_on(report, world, "traps-budget-only")  # a seed: fetched before the traps' links
    assert report["stats"]["budget/hosts_exhausted"] == 1
    assert not [key for key in report["stats"] if key.startswith("trap/")]
    assert report["summary"]["pages"] == budget and report["summary"]["items_lost"] == 0


def test_a_dripping_server_is_cut_off_at_the_download_timeout_and_not_retried(hostile_crawl, world, site):
    _assert_went_on(hostile_crawl, world, "drip")
    assert site.requests_for("/drip") == ["/drip"]
    [(seconds, sent)] = site.drips
    print(f"\ndrip: held {seconds:.1f} s, {sent} bytes out, before the crawler hung up")
    assert seconds < DOWNLOAD_TIMEOUT + 5 and sent < DOWNLOAD_TIMEOUT + 5
    assert _stat(hostile_crawl, "download/body_timeout") >= 1  # (a big page may time out too on a loaded machine)
    assert "/drip: the body did not arrive within DOWNLOAD_TIMEOUT" in hostile_crawl["log"]
    assert _indexed(hostile_crawl, world, "/drip") is None


def test_a_binary_body_labelled_html_is_not_indexed(hostile_crawl, world):
    _assert_went_on(hostile_crawl, world, "binary")
    assert _indexed(hostile_crawl, world, "/binary") is None
    assert _stat(hostile_crawl, "media_guard/binary_body") == 1
    assert "/binary: its body is binary" in hostile_crawl["log"]


def test_broken_utf8_is_indexed_with_replacement_characters(hostile_crawl, world):
    _assert_went_on(hostile_crawl, world, "broken-utf8")
    page = _indexed(hostile_crawl, world, "/broken-utf8")
    assert page is not None and BROKEN_UTF8_PHRASE in page["text"]
    assert "\ufffd" in page["title"]


def test_a_page_nested_100000_levels_deep_is_indexed_with_its_text(hostile_crawl, world):
    _assert_went_on(hostile_crawl, world, "deep")
    page = _indexed(hostile_crawl, world, "/deep")
    assert page is not None and DEEP_PHRASE in page["text"]  # libxml2 alone dropped it (past 2048 levels)
    assert _stat(hostile_crawl, "extract/deep_nesting_flattened") == 1
    assert "/deep nests its elements deeper than the HTML parser reads" in hostile_crawl["log"]


def test_a_huge_header_block_fails_only_that_fetch(hostile_crawl, world, site):
    _assert_went_on(hostile_crawl, world, "huge-headers")
    assert _stat(hostile_crawl, "tor/headers_too_large") == 1
    assert site.hung_up["/huge-headers"] < HUGE_HEADER_BYTES
    assert _indexed(hostile_crawl, world, "/huge-headers") is None


def test_a_20_mb_single_line_is_read_within_the_caps(world):
    report = world["crawl"](["/long-line", "/ok/long-line"], {"download_maxsize": 24 * 1024 * 1024}, "long-line")
    _assert_went_on(report, world, "long-line")
    page = _indexed(report, world, "/long-line")
    assert page is not None and page["text"].startswith(LONG_LINE_PHRASE)
    assert len(page["text"]) <= 200_000  # page_text_max_chars
    assert report["stats"]["httpcompression/response_bytes"] >= LONG_LINE_BYTES  # all of it, decompressed
    assert report["peak_rss_mib"] < PEAK_RSS_BOUND_MIB
    assert report["children_peak_rss_mib"] < PEAK_RSS_BOUND_MIB
    assert report["summary"]["items_lost"] == 0
    assert canonical_url(_url(world, "/long-line")) == page["canonical_url"]



# --- XSS payloads in every field the extractors read, as the crawl indexed them

RAW_MARKUP = ("<script>window.__xss", "<img src=x", "onerror=alert(1)>")
RAW_TERMINAL = ("\x1b", "\x07")


@pytest.fixture(scope="module")
def xss(hostile_crawl, world, es_node, tmp_path_factory) -> Iterator[dict[str, Any]]:
    from fastapi.testclient import TestClient

    from search.api import create_app
    from search.auth import create_token

    client, prefix = world["client"], world["prefix"]
    client.indices.refresh(index=f"{prefix}-*")
    settings = es_node.settings.replace(index_prefix=prefix, var_dir=str(tmp_path_factory.mktemp("xss-var")))
    token, _ = create_token(client, prefix, "viewer", "xss test")

    def documents(kind: str) -> list[dict[str, Any]]:
        found = client.search(index=f"{prefix}-{kind}", size=50, query={"term": {"onion_host": world["onion"]}})
        return [dict(hit["_source"], _id=hit["_id"]) for hit in found["hits"]["hits"]]

    listings = [doc for doc in documents("listings") if doc["url"].endswith("/xss")]
    vendors = [doc for doc in documents("vendors") if doc["profile_url"].endswith("/xss/vendor")]
    with TestClient(create_app(settings, client)) as http:
        yield {"http": http, "token": token, "settings": settings, "listings": listings, "vendors": vendors,
               "pages": [hostile_crawl["pages"][_url(world, path)] for path in CASES["xss"]]}


def _xss_headers(token: str, accept: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}", "accept": accept}


def test_xss_payloads_are_stored_as_text_in_every_field(xss):
    page, vendor_page = xss["pages"]
    assert XSS_PAYLOAD in page["title"] and XSS_PAYLOAD in page["text"]
    assert XSS_PAYLOAD in vendor_page["title"]
    [listing] = xss["listings"]
    for field in ("title", "description", "category", "vendor"):
        assert XSS_PAYLOAD in listing[field], field
    assert listing["vendor"].startswith(FORMULA_PAYLOAD)
    [vendor] = xss["vendors"]
    assert XSS_PAYLOAD in vendor["name"]
    # The link's query is kept as the page wrote it, percent-encoded: a URL, not markup.
    assert any(link.endswith("%3Cscript%3Ealert(1)%3C/script%3E") for link in page["links"])


def test_xss_payloads_are_escaped_on_every_web_page(xss, world):
    http, token = xss["http"], xss["token"]
    [listing], [vendor] = xss["listings"], xss["vendors"]
    pages = {
        "search pages": ("/search", {"q": "xss", "kind": "pages"}),
        "search listings": ("/search", {"q": "xss", "kind": "listings"}),
        "search vendors": ("/search", {"q": "xss", "kind": "vendors"}),
        "listing": (f"/listings/{listing['_id']}", {}),
        "vendor": (f"/vendors/{vendor['_id']}", {}),
        "onion": (f"/onions/{world['onion']}", {}),
    }
    for name, (path, params) in pages.items():
        answer = http.get(path, params=params, headers=_xss_headers(token, "text/html"))
        assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/html"), name
        for raw in RAW_MARKUP + RAW_TERMINAL:
            assert raw not in answer.text, (name, raw)
        if name != "onion":  # (the onion page lists a host's latest pages, not necessarily these)
            assert "&lt;script&gt;window.__xss=1&lt;/script&gt;" in answer.text, name
        assert "script-src" not in answer.headers["content-security-policy"]  # and default-src 'none'
        # The JSON twin carries the same text, as JSON strings.
        twin = http.get(path, params={**params, "format": "json"}, headers=_xss_headers(token, "application/json"))
        assert twin.status_code == 200 and "\x1b" not in twin.text, name
        assert XSS_PAYLOAD in twin.text or name == "onion", name


def test_xss_payloads_are_inert_in_every_export(xss):
    http, token = xss["http"], xss["token"]
    for export_format in ("csv", "json", "stix", "misp"):
        for kind in ("pages", "listings", "vendors"):
            answer = http.get("/export", params={"format": export_format, "q": "xss", "kind": kind},
                              headers=_xss_headers(token, "*/*"))
            assert answer.status_code == 200, (export_format, kind, answer.text)
            assert "attachment" in answer.headers["content-disposition"]
            assert not answer.headers["content-type"].startswith("text/html")
            assert answer.headers["x-content-type-options"] == "nosniff"
            for raw in RAW_TERMINAL:
                assert raw not in answer.text, (export_format, kind, raw)
            if export_format == "csv":
                # The text is there, as text; the formula cannot run in a spreadsheet.
                assert "<script>window.__xss=1</script>" in answer.text or kind != "listings"
                assert "," + FORMULA_PAYLOAD.replace('"', '""') not in answer.text
                if kind == "listings":
                    assert "'" + FORMULA_PAYLOAD.replace('"', '""') in answer.text
            else:
                json.loads(answer.text)  # valid JSON: every string stays a string


def test_xss_payloads_reach_the_terminal_only_as_visible_escapes(xss, world):
    import os
    import subprocess
    import sys

    from tests import PROJECT_ROOT
    from search.cli_output import escape_terminal

    environment = {key: value for key, value in os.environ.items() if not key.startswith("ONIONSCOPE_")}
    environment.update(ONIONSCOPE_ES_URL=xss["settings"].es_url, ONIONSCOPE_INDEX_PREFIX=world["prefix"],
                       ONIONSCOPE_VAR_DIR=str(xss["settings"].var_dir))
    for kind, output in (("pages", []), ("pages", ["--json"]), ("listings", []), ("vendors", ["--json"])):
        done = subprocess.run([sys.executable, "-m", "onionscope.cli", "search", "xss", "--kind", kind, *output],
                              capture_output=True, env=environment, cwd=PROJECT_ROOT, timeout=120)
        assert done.returncode == 0, done.stderr
        text = done.stdout.decode("utf-8")
        assert "xss" in text and "<script>" in text  # shown, as text
        for raw in RAW_TERMINAL:
            assert raw not in text, (kind, output, raw)
        if output:
            json.loads(text)
        elif kind == "pages":  # (listing and vendor fields drop control characters when extracted)
            assert escape_terminal(TERMINAL_PAYLOAD) in text  # visible: \\x1b]0;pwned\\x07\\x1b[2J


# --- the download timeout against a local dripping server, with no tor in the way


def _drip_response() -> Iterator[bytes]:
    import time

    yield b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 3600\r\n\r\n"
    for _ in range(3600):
        yield b" "
        time.sleep(1.0)


def test_download_timeout_caps_the_whole_response_and_a_dripping_body_is_not_retried():
    """DOWNLOAD_TIMEOUT runs from the request to the last body byte (Scrapy's own timer), not
    from the last byte received, so one byte a second cannot hold the fetch; the drip is not
    retried (the retry would take the same circuit to the same site), a silent tor is."""
    import time

    from tests.integration.test_transport import run_scrapy, unpublished_onion
    from tests.integration.transport_sites import FakeSocksHttpServer, SilentSocksServer

    dripping, silent = FakeSocksHttpServer(_drip_response), SilentSocksServer()
    try:
        started = time.monotonic()
        drip = run_scrapy([f"http://{unpublished_onion()}/drip"], {"socks_endpoints": [f"127.0.0.1:{dripping.port}"]},
                          {"DOWNLOAD_TIMEOUT": 4, "RETRY_TIMES": 2})
        drip_seconds = time.monotonic() - started
        hang = run_scrapy([f"http://{unpublished_onion()}/hang"], {"socks_endpoints": [f"127.0.0.1:{silent.port}"]},
                          {"DOWNLOAD_TIMEOUT": 2, "RETRY_TIMES": 2})
    finally:
        dripping.close()
        silent.close()
    [result] = drip["results"]
    assert result["error"] == "ResponseBodyTimeout" and "took longer than 4" in result["message"], result
    assert len(dripping.sent) == 1 and dripping.sent[0] < 100  # one connection, cut after a few bytes
    assert drip["stats"]["download/body_timeout"] == 1 and "retry/count" not in drip["stats"]
    print(f"\ndrip through a fake tor: cut after {drip['seconds']:.1f} s of crawling ({drip_seconds:.1f} s in all)")
    assert drip["seconds"] < 4 * 3
    [result] = hang["results"]
    assert result["error"] == "DownloadTimeoutError" and hang["stats"]["retry/count"] == 2, result
    assert silent.accepted == 3
