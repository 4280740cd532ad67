"""The tor transport under real Scrapy, through the private testnet.

Each crawl runs ``tests/integration/scrapy_fetch.py`` in a subprocess (a Twisted reactor
starts once per process) with :func:`crawler.tor.download_handler.transport_settings` and a
reactor resolver that refuses every DNS lookup.  The test sites record every peer: through
tor they only ever see the onion-service host's own address.  The crawl-scope, depth, budget
and breadth-first tests run the real onion spider with onionscope's own Scrapy settings
(``tests/integration/onion_spider_crawl.py``); the header-cap tests also run against a fake
SOCKS port that plays the web site itself, with no tor at all.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import secrets
import subprocess
import sys
from pathlib import Path
from typing import Any, Iterator
from urllib.parse import quote

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from crawler.tor import control
from tests import PROJECT_ROOT
from tests.integration.launched_client import free_port, launch_private_client
from tests.integration.transport_network import publish_sites
from tests.integration.transport_sites import (
    HUGE_HEADER_BYTES,
    ConcurrencyMeter,
    FakeSocksHttpServer,
    RecordingSite,
    SilentSocksServer,
    self_signed_certificate,
    tree_paths,
)

pytestmark = pytest.mark.integration

SITE_COUNT = 4
SLOW_SECONDS = 5.0


def run_scrapy(urls: list[str], transport: dict[str, Any] | None, settings: dict[str, Any] | None = None,
               timeout: float = 300) -> dict[str, Any]:
    """Crawl ``urls`` in a fresh process; returns the runner's JSON report."""
    spec = {"urls": urls, "transport": transport, "settings": settings or {}}
    done = subprocess.run(
        [sys.executable, "-m", "tests.integration.scrapy_fetch"],
        input=json.dumps(spec), capture_output=True, text=True, cwd=PROJECT_ROOT, timeout=timeout,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout)
    report["log"] = done.stderr
    return report


def run_onion_spider(seeds: list[str], socks: str, settings: dict[str, Any] | None = None,
                     spider: dict[str, Any] | None = None, timeout: float = 300) -> dict[str, Any]:
    """Crawl ``seeds`` with the onion spider and onionscope's Scrapy settings (no Elasticsearch) in a fresh process."""
    spec = {"seeds": seeds, "socks_endpoints": [socks], "settings": settings or {}, "spider": spider or {}}
    done = subprocess.run(
        [sys.executable, "-m", "tests.integration.onion_spider_crawl"],
        input=json.dumps(spec), capture_output=True, text=True, cwd=PROJECT_ROOT, timeout=timeout,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout)
    assert report["error"] is None, report["error"]
    report["log"] = done.stderr
    return report


def pinned_client(host: str, clients: list[str]) -> str:
    """The tor client ``host`` is pinned to: the highest first 8 bytes of sha256("ip:port\nhost")."""
    return max(clients, key=lambda client: int.from_bytes(
        hashlib.sha256(f"{client}\n{host.lower()}".encode()).digest()[:8], "big"))


def unpublished_onion() -> str:
    """A valid v3 onion address (fresh key, correct checksum) that no service publishes."""
    public_key = ed25519.Ed25519PrivateKey.generate().public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    checksum = hashlib.sha3_256(b".onion checksum" + public_key + b"\x03").digest()[:2]
    return base64.b32encode(public_key + checksum + b"\x03").decode().lower() + ".onion"


@pytest.fixture(scope="session")
def meter():
    return ConcurrencyMeter()


# Session scope: once published, a service stays in the network, and every later `up()`
# checks that it still answers.
@pytest.fixture(scope="session")
def sites(tmp_path_factory, meter):
    certificate = self_signed_certificate(tmp_path_factory.mktemp("tls"))
    started = [RecordingSite(f"site{index}", certificate, slow_seconds=SLOW_SECONDS, meter=meter) for index in range(SITE_COUNT)]
    yield started
    for site in started:
        site.close()


@pytest.fixture(scope="module")
def world(testnet, testnet_network, sites):
    manifest, onion_hosts = publish_sites(testnet_network, sites)
    client = manifest["clients"][0]
    return {
        "manifest": manifest,
        "onions": onion_hosts,
        "socks": f"127.0.0.1:{client['socks_port']}",
        "client": client,
        "onion_host_address": manifest.get("onion_service_bind_address"),
    }


def _rend_credentials(client: dict[str, Any], known_passwords: set[str] = frozenset()) -> dict[str, set[str]]:
    """onion host -> SOCKS passwords of the crawler's rendezvous circuits on ``client``.

    Circuits are matched by password, not by id: tor turns circuits it built in advance
    into rendezvous circuits, so a "new" rendezvous circuit can have an old id.
    """
    tor_controller = control.attach(("127.0.0.1", client["control_port"]), cookie_path=Path(client["cookie_path"]))
    try:
        found: dict[str, set[str]] = {}
        for circuit in tor_controller.get_circuits():
            if (circuit.purpose != "HS_CLIENT_REND" or circuit.socks_username != "onionscope"
                    or circuit.socks_password in known_passwords):
                continue
            found.setdefault(f"{circuit.rend_query}.onion", set()).add(circuit.socks_password)
        return found
    finally:
        tor_controller.close()


def _known_passwords(client: dict[str, Any]) -> set[str]:
    return {password for passwords in _rend_credentials(client).values() for password in passwords}


def test_64_concurrent_fetches_across_onions_http_and_https(world, sites, meter):
    onions = world["onions"]
    peers_before = sum(len(site.peers) for site in sites)
    circuits_before = _known_passwords(world["client"])
    urls = [f"http://{onions[site.name]}/slow/{index}" for site in sites for index in range(16)]
    # The sites answer TLS on the same port: https inside the tunnel, self-signed certificate.
    urls += [f"https://{onions[site.name]}:80/page/tls{index}" for site in sites for index in range(2)]
    report = run_scrapy(urls, {"socks_endpoints": [world["socks"]]}, {"DOWNLOAD_TIMEOUT": 60})

    results = report["results"]
    failures = [result for result in results if "error" in result]
    assert not failures, failures[:3]
    assert sorted(result["url"] for result in results) == sorted(urls)
    for result in results:
        host = result["url"].split("/")[2].split(":")[0]
        site_name = next(name for name, onion in onions.items() if onion == host)
        path = "/" + result["url"].split("/", 3)[3]
        scheme = result["url"].split(":")[0]
        assert result["status"] == 200
        assert f"site={site_name} path={path} scheme={scheme}" in result["text"]
    print(f"\n{len(urls)} fetches through tor in {report['seconds']:.2f} s; "
          f"peak {meter.peak} requests in flight at the sites")
    # Not blocking: with 4 hosts x 16 per host, (nearly) all 64 slow requests were in flight together.
    assert meter.peak >= 48
    assert report["stats"]["tor/requests"] == len(urls)
    assert report["dns_lookups_refused"] == 0
    # Every connection the sites saw came from the onion-service host, none from the crawler.
    assert sum(len(site.peers) for site in sites) > peers_before
    if world["onion_host_address"]:
        assert {peer for site in sites for peer in site.peers} == {world["onion_host_address"]}
    # Stream isolation: one SOCKS password per onion host, a different one for each host.
    credentials = _rend_credentials(world["client"], circuits_before)
    assert set(credentials) == set(onions.values())
    assert all(len(passwords) == 1 for passwords in credentials.values()), credentials
    assert len({next(iter(passwords)) for passwords in credentials.values()}) == len(onions)


def test_onion_that_is_down_gives_the_mapped_error_quickly(world):
    down = unpublished_onion()
    timeout = 30
    report = run_scrapy([f"http://{down}/"], {"socks_endpoints": [world["socks"]]},
                        {"DOWNLOAD_TIMEOUT": timeout, "RETRY_TIMES": 1})
    [result] = report["results"]
    assert result["error"] in ("SocksHostUnreachable", "OnionDescriptorNotFound"), result
    assert result["error_module"] == "crawler.tor.errors"
    assert down in result["message"]
    assert result["retries"] == 1  # retryable: RetryMiddleware tried it again
    key = "tor/socks_error/host_unreachable" if result["error"] == "SocksHostUnreachable" else "tor/socks_error/onion_descriptor_not_found"
    assert report["stats"][key] == 2
    assert report["seconds"] < timeout * 2  # both attempts ended on tor's answer, not on the download timeout


@contextlib.contextmanager
def bootstrapped_client(world: dict[str, Any], tmp_path: Path) -> Iterator[Any]:
    """A second private-network tor client, bootstrapped; stopped on exit."""
    launched = launch_private_client(world["manifest"], tmp_path / "client")
    try:
        tor_controller = control.attach(launched.control)
        try:
            control.wait_for_bootstrap(tor_controller, timeout=90)
        finally:
            tor_controller.close()
        yield launched
    finally:
        launched.stop()


def test_extended_errors_map_to_onion_errors(world, tmp_path):
    """A client with `ExtendedErrors` on its SocksPort reports a missing descriptor as 0xF0."""
    with bootstrapped_client(world, tmp_path) as launched:
        socks = f"{launched.socks[0]}:{launched.socks[1]}"
        report = run_scrapy([f"http://{unpublished_onion()}/"], {"socks_endpoints": [socks]},
                            {"DOWNLOAD_TIMEOUT": 60, "RETRY_TIMES": 0})
    [result] = report["results"]
    assert result["error"] == "OnionDescriptorNotFound", result
    assert report["stats"]["tor/socks_error/onion_descriptor_not_found"] == 1


def test_each_host_sticks_to_one_of_several_tor_clients(world, tmp_path):
    with bootstrapped_client(world, tmp_path) as launched:
        clients = [world["client"], {"control_port": launched.control[1], "cookie_path": str(Path(launched.torrc_path).parent / "data" / "control_auth_cookie")}]
        before = [_known_passwords(client) for client in clients]
        socks = [world["socks"], f"{launched.socks[0]}:{launched.socks[1]}"]
        onions = sorted(world["onions"].values())
        urls = [f"http://{onion}/page/{index}" for onion in onions for index in range(6)]
        report = run_scrapy(urls, {"socks_endpoints": socks}, {"DOWNLOAD_TIMEOUT": 60})
        per_client = [_rend_credentials(client, known) for client, known in zip(clients, before)]
    assert all(result.get("status") == 200 for result in report["results"]), report["results"][:3]
    hosts_per_client = [set(found) for found in per_client]
    # Rendezvous hashing: each host on the client with the highest sha256("ip:port\nhost") weight
    # (written out here, independently of crawler.tor.isolation), and no host uses both.
    expected = [{onion for onion in onions if pinned_client(onion, socks) == address} for address in socks]
    assert hosts_per_client == expected
    assert not hosts_per_client[0] & hosts_per_client[1]
    assert hosts_per_client[0] | hosts_per_client[1] == set(onions)
    via = {key: value for key, value in report["stats"].items() if key.startswith("tor/requests_via/")}
    assert via == {f"tor/requests_via/{address}": 6 * len(hosts) for address, hosts in zip(socks, expected) if hosts}


def test_tor_unreachable_fails_every_request_and_connects_nowhere(world, sites):
    closed = f"127.0.0.1:{free_port()}"
    peers_before = [len(site.peers) for site in sites]
    site = sites[0]
    urls = [f"http://{site.address}/page/direct", f"http://localhost:{site.port}/page/direct",
            f"https://{site.address}/page/direct", f"http://{world['onions'][site.name]}/page/x"]
    report = run_scrapy(urls, {"socks_endpoints": [closed]}, {"DOWNLOAD_TIMEOUT": 10, "RETRY_TIMES": 1})
    assert len(report["results"]) == len(urls)
    assert all(result.get("error") == "TorUnreachableError" for result in report["results"]), report["results"]
    assert all(f"tor SOCKS port {closed} refused the connection" in result["message"] for result in report["results"])
    assert report["stats"]["tor/socks_error/tor_unreachable"] == 2 * len(urls)
    assert report["dns_lookups_refused"] == 0  # not even "localhost" was resolved
    assert [len(s.peers) for s in sites] == peers_before


def test_crawl_without_a_socks_endpoint_refuses_to_start(sites):
    site = sites[0]
    peers_before = len(site.peers)
    report = run_scrapy([f"http://{site.address}/page/direct"], {"socks_endpoints": []})
    assert report["results"] == []
    assert report["error"] and "TorTransportNotConfigured" in report["error"] and "TOR_SOCKS_ENDPOINTS" in report["error"]
    assert len(site.peers) == peers_before


def test_crawl_with_the_stock_handler_swapped_back_refuses_to_start(sites, world):
    site = sites[0]
    peers_before = len(site.peers)
    from crawler.tor.download_handler import transport_settings

    handlers = dict(transport_settings([world["socks"]])["DOWNLOAD_HANDLERS"])
    handlers["http"] = "scrapy.core.downloader.handlers.http11.HTTP11DownloadHandler"
    report = run_scrapy([f"http://{site.address}/page/direct"], {"socks_endpoints": [world["socks"]]},
                        {"DOWNLOAD_HANDLERS": handlers})
    assert report["results"] == []
    assert "DOWNLOAD_HANDLERS['http']" in (report["error"] or "")
    assert len(site.peers) == peers_before


def test_pysocks_probe_through_tor(world):
    from crawler.tor.probe import probe_url

    host, port = world["socks"].split(":")
    status, seconds = probe_url(f"http://{world['onions']['site1']}/page/probe", host, int(port), timeout=30)
    assert status == 200 and seconds > 0
    status, _ = probe_url(f"https://{world['onions']['site1']}:80/page/probe", host, int(port), timeout=30)
    assert status == 200


def test_download_maxsize_and_timeout_still_apply_through_tor(world):
    onion = world["onions"]["site2"]
    # The timeout is well above circuit set-up and well below the /hang answer.
    report = run_scrapy([f"http://{onion}/big", f"http://{onion}/hang", f"http://{onion}/page/ok"],
                        {"socks_endpoints": [world["socks"]]},
                        {"DOWNLOAD_MAXSIZE": 100_000, "DOWNLOAD_WARNSIZE": 0, "DOWNLOAD_TIMEOUT": 10, "RETRY_TIMES": 0})
    by_path = {result["url"].split("/", 3)[3]: result for result in report["results"]}
    assert by_path["big"].get("error") == "DownloadCancelledError", by_path["big"]
    assert "100000" in by_path["big"]["message"]
    assert by_path["hang"].get("error") == "DownloadTimeoutError", by_path["hang"]
    assert by_path["page/ok"].get("status") == 200


def test_a_hanging_socks_port_never_hangs_the_crawl():
    silent = SilentSocksServer()
    try:
        socks = [f"127.0.0.1:{silent.port}"]
        onion = unpublished_onion()
        by_download_timeout = run_scrapy([f"http://{onion}/a"], {"socks_endpoints": socks},
                                         {"DOWNLOAD_TIMEOUT": 2, "RETRY_TIMES": 0})
        by_socks_timeout = run_scrapy([f"http://{onion}/b"], {"socks_endpoints": socks, "socks_timeout": 1},
                                      {"DOWNLOAD_TIMEOUT": 30, "RETRY_TIMES": 0})
    finally:
        silent.close()
    assert silent.accepted == 2
    [result] = by_download_timeout["results"]
    assert result["error"] == "DownloadTimeoutError", result
    [result] = by_socks_timeout["results"]
    assert result["error"] == "SocksHandshakeTimeout" and "TOR_SOCKS_TIMEOUT" in result["message"], result
    assert by_socks_timeout["stats"]["tor/socks_error/handshake_timeout"] == 1
    assert by_socks_timeout["seconds"] < 30  # ended by TOR_SOCKS_TIMEOUT, not by DOWNLOAD_TIMEOUT


# --- crawl scope, depth, budgets and order, with the real onion spider


def test_links_and_redirects_to_loopback_are_never_fetched_even_with_follow_offsite(world, sites):
    """Reproduces the review's finding: an onion redirecting to 127.0.0.1 made the tor exit fetch it."""
    token = secrets.token_hex(4)
    canary = sites[3]  # reached at its loopback address: only a tor exit could connect to it
    onion, other_onion = world["onions"]["site0"], world["onions"]["site1"]
    port = canary.port
    leaks = [f"http://127.0.0.1:{port}/page/leak-link-{token}", f"http://[::1]:{port}/page/leak-v6-{token}",
             f"http://2130706433:{port}/page/leak-decimal-{token}", f"http://localhost:{port}/page/leak-name-{token}"]
    offsite_onion = f"http://{other_onion}/page/offsite-{token}"
    links_page = f"http://{onion}/links?" + "&".join(f"to={quote(url, safe='')}" for url in [*leaks, offsite_onion])
    redirect = f"http://{onion}/redirect?to=" + quote(f"http://127.0.0.1:{port}/page/leak-redirect-{token}", safe="")
    report = run_onion_spider([links_page, redirect], world["socks"],
                              {"crawl_depth": 1, "retry_times": 0, "download_timeout": 60},
                              {"follow_offsite": True})
    assert [path for path in canary.paths if token in path and "leak" in path] == []
    fetched = {response["url"]: response["status"] for response in report["responses"]}
    assert fetched.get(offsite_onion) == 200, fetched  # other onions are still followed
    stats = report["stats"]
    assert stats["scope/refused/ip_literal"] == 4  # three links and the redirect
    assert stats["scope/refused/local_name"] == 1
    assert stats["scope/refused_redirects"] == 1
    assert stats["tor/requests"] == 3  # the two seeds and the other onion: nothing out of scope reached tor


def _tree_run(world, site, settings):
    before = len(site.paths)
    report = run_onion_spider([f"http://{world['onions'][site.name]}/tree/"], world["socks"],
                              {"crawl_concurrency": 1, "crawl_concurrency_per_host": 1, "retry_times": 0, **settings})
    return [path for path in site.paths[before:] if path.startswith("/tree/")], report["stats"]


def test_the_crawl_is_breadth_first(world, sites):
    fetched, _ = _tree_run(world, sites[2], {"crawl_depth": 3})
    assert fetched == tree_paths()


def test_depth_zero_fetches_the_seeds_only(world, sites):
    fetched, stats = _tree_run(world, sites[2], {"crawl_depth": 0})
    assert fetched == ["/tree/"]
    assert stats["onionscope/links_beyond_depth"] == 2


def test_the_per_host_page_budget_stops_the_crawl_of_a_host(world, sites):
    fetched, stats = _tree_run(world, sites[2], {"crawl_depth": 3, "crawl_max_pages_per_host": 5})
    assert fetched == tree_paths()[:5]
    assert stats["budget/hosts_exhausted"] == 1 and stats["budget/refused/host"] >= 1
    fetched, stats = _tree_run(world, sites[2], {"crawl_depth": 3, "crawl_max_pages": 3})
    assert fetched == tree_paths()[:3]
    assert stats["budget/job_exhausted"] == 1


# --- the header cap


def _endless_headers() -> Iterator[bytes]:
    yield b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n"
    line = b"X-Filler: " + b"f" * 1000 + b"\r\n"
    for _ in range(HUGE_HEADER_BYTES // len(line)):
        yield line
    yield b"Content-Length: 2\r\n\r\nok"


def _headers_just_under(limit: int) -> Iterator[bytes]:
    head = b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 2\r\n"
    filler = limit - len(head) - len(b"X-Filler: \r\n\r\n") - 10
    yield head + b"X-Filler: " + b"f" * filler + b"\r\n\r\nok"


def test_a_huge_header_block_fails_the_fetch_without_tor_in_the_way():
    """The download handler against a local server that sends 8 MiB of headers (a fake SOCKS port, no tor)."""
    url = f"http://{unpublished_onion()}/"
    endless = FakeSocksHttpServer(_endless_headers)
    within = FakeSocksHttpServer(lambda: _headers_just_under(64 * 1024))
    try:
        over = run_scrapy([url], {"socks_endpoints": [f"127.0.0.1:{endless.port}"]},
                          {"DOWNLOAD_TIMEOUT": 30, "RETRY_TIMES": 0})
        under = run_scrapy([url], {"socks_endpoints": [f"127.0.0.1:{within.port}"]},
                           {"DOWNLOAD_TIMEOUT": 30, "RETRY_TIMES": 0})
    finally:
        endless.close()
        within.close()
    [result] = over["results"]
    assert result.get("error") == "ResponseHeadersTooLarge", result
    assert result["error_module"] == "crawler.tor.errors"
    assert url in result["message"] and "TOR_HEADERS_MAXSIZE" in result["message"]
    assert over["stats"]["tor/headers_too_large"] == 1
    # The client hung up long before the end: it never read, let alone held, the 8 MiB.
    [sent] = endless.sent
    print(f"\nheader cap: the server got {sent} of {HUGE_HEADER_BYTES} header bytes out before the client hung up")
    assert sent < HUGE_HEADER_BYTES / 2, sent
    [result] = under["results"]
    assert result.get("status") == 200 and result["text"] == "ok", result


def test_a_huge_header_block_from_an_onion_fails_only_that_fetch(world, sites):
    site = sites[1]
    onion = world["onions"][site.name]
    sent_before = len(site.huge_header_bytes_sent)
    report = run_scrapy([f"http://{onion}/huge-headers", f"http://{onion}/page/after-huge"],
                        {"socks_endpoints": [world["socks"]]}, {"DOWNLOAD_TIMEOUT": 60, "RETRY_TIMES": 0})
    by_path = {result["url"].split("/", 3)[3]: result for result in report["results"]}
    assert by_path["huge-headers"].get("error") == "ResponseHeadersTooLarge", by_path["huge-headers"]
    assert by_path["page/after-huge"].get("status") == 200
    assert report["stats"]["tor/headers_too_large"] == 1
    assert "tor/socks_error/headers_too_large" not in report["stats"]
    [sent] = site.huge_header_bytes_sent[sent_before:]
    assert sent < HUGE_HEADER_BYTES, sent  # the site saw the connection closed mid-stream
