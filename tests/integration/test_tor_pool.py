"""The tor client pool on the private testnet: a client SIGKILLed mid-crawl is left out, its hosts move, it is restarted.

The pool is the testnet's own client plus a client launched through
:func:`crawler.tor.control.launch_tor` (so onionscope may restart it).  The crawl runs
``tests/integration/scrapy_fetch.py`` in a subprocess with the pool in its transport settings,
against slow onion sites, so the crawl is still going when the launched client is killed.
Which client carries which host is computed here with the documented weight (sha256 of
``"ip:port\\nhost"``), written out independently of :mod:`crawler.tor.isolation`.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from crawler.downloader import PATH as DOWNLOADER_PATH
from crawler.tor import control
from tests import PROJECT_ROOT
from tests.integration.launched_client import launch_private_client
from tests.integration.transport_network import publish_sites
from tests.integration.transport_sites import RecordingSite, self_signed_certificate

pytestmark = pytest.mark.integration

SITE_COUNT = 4
PAGES_PER_HOST = 20
SLOW_SECONDS = 2.0
LAUNCH_ATTEMPTS = 6


def pinned_client(host: str, clients: list[str]) -> str:
    """The pool client ``host`` is pinned to: the highest first 8 bytes of sha256("ip:port\\nhost")."""
    return max(clients, key=lambda client: int.from_bytes(
        hashlib.sha256(f"{client}\n{host.lower()}".encode()).digest()[:8], "big"))


@pytest.fixture(scope="module")
def pool_sites(tmp_path_factory):
    certificate = self_signed_certificate(tmp_path_factory.mktemp("pool-tls"))
    started = [RecordingSite(f"pool{index}", certificate, slow_seconds=SLOW_SECONDS) for index in range(SITE_COUNT)]
    yield started
    for site in started:
        site.close()


@pytest.fixture(scope="module")
def pool_world(testnet, testnet_network, pool_sites):
    manifest, onions = publish_sites(testnet_network, pool_sites, prefix="pool")
    return {"manifest": manifest, "onions": onions, "client": manifest["clients"][0]}


def _bootstrapped(launched: control.LaunchedTor, timeout: float = 90) -> None:
    tor_controller = control.attach(launched.control)
    try:
        control.wait_for_bootstrap(tor_controller, timeout=timeout)
    finally:
        tor_controller.close()


def _wait_onions_answer(socks_port: int, onions: Any, timeout: float = 240) -> None:
    """Readiness: every onion answers ``GET /`` through the client at ``socks_port`` (a new client fetches
    each service's descriptor first)."""
    from harness.testnet.readiness import http_status_via_socks

    deadline = time.monotonic() + timeout
    for onion in onions:
        attempt = 0
        while True:
            attempt += 1
            try:
                http_status_via_socks(socks_port, onion, 80, timeout=20, isolation=f"pool-readiness-{attempt}")
                break
            except Exception as exc:  # descriptor not fetched yet, circuit timeout
                assert time.monotonic() < deadline, f"{onion} does not answer through {socks_port}: {exc}"
                time.sleep(1)


def _address(host_port: tuple[str, int] | None) -> str:
    assert host_port is not None
    return f"{host_port[0]}:{host_port[1]}"


@pytest.fixture
def launched_member(pool_world, tmp_path):
    """A second pool client, launched by onionscope and bootstrapped, that carries at least one site's host.

    Rendezvous hashing places hosts by the clients' addresses, and a fresh client gets fresh
    ports: a client that would carry none of the sites is replaced by another (at most
    ``LAUNCH_ATTEMPTS``), so the kill below always moves hosts.
    """
    testnet_socks = f"127.0.0.1:{pool_world['client']['socks_port']}"
    launched_all: list[control.LaunchedTor] = []
    chosen = None
    for attempt in range(LAUNCH_ATTEMPTS):
        launched = launch_private_client(pool_world["manifest"], tmp_path / f"client{attempt}")
        launched_all.append(launched)
        clients = [testnet_socks, _address(launched.socks)]
        if any(pinned_client(onion, clients) == clients[1] for onion in pool_world["onions"].values()):
            chosen = launched
            break
        launched.stop()
    try:
        assert chosen is not None, f"none of {LAUNCH_ATTEMPTS} launched clients would carry a host"
        _bootstrapped(chosen)
        _wait_onions_answer(chosen.socks[1], pool_world["onions"].values())
        yield chosen
    finally:
        for launched in launched_all:
            control.stop_launched_tor(launched.torrc_path)  # the restarted one included
            launched.stop()


def _pool_env(pool: list[tuple[str, str]]) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("ONIONSCOPE_")}
    env["ONIONSCOPE_TOR_POOL"] = ",".join(f"{socks}={control_port}" for socks, control_port in pool)
    env["ONIONSCOPE_TESTNET_DIR"] = "/nonexistent"
    return env


def _tor_status(pool: list[tuple[str, str]]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "onionscope.cli", "tor", "status", "--json"], cwd=PROJECT_ROOT,
                          env=_pool_env(pool), capture_output=True, text=True, timeout=120)


def test_a_pool_client_killed_mid_crawl_is_left_out_restarted_and_the_crawl_completes(pool_world, pool_sites,
                                                                                       launched_member, tmp_path):
    onions = pool_world["onions"]
    testnet_socks = f"127.0.0.1:{pool_world['client']['socks_port']}"
    testnet_control = f"127.0.0.1:{pool_world['client']['control_port']}"
    member_socks, member_control = _address(launched_member.socks), _address(launched_member.control)
    pool = [(testnet_socks, testnet_control), (member_socks, member_control)]
    clients = [testnet_socks, member_socks]
    on_member = {name for name, onion in onions.items() if pinned_client(onion, clients) == member_socks}
    killed_pid = launched_member.pid

    status = _tor_status(pool)
    assert status.returncode == 0, status.stdout + status.stderr
    assert [client["healthy"] for client in json.loads(status.stdout)["pool"]] == [True, True]

    urls = [f"http://{onions[site.name]}/slow/{index}" for site in pool_sites for index in range(PAGES_PER_HOST)]
    spec = {
        "urls": urls,
        "transport": {"socks_endpoints": [], "pool": pool, "pool_check_seconds": 0.5, "reconnect_seconds": 120},
        # onionscope's downloader, which holds each host to CONCURRENT_REQUESTS_PER_DOMAIN: the crawl
        # then lasts about PAGES_PER_HOST * SLOW_SECONDS / 2 and is still going after the kill.
        "settings": {"DOWNLOAD_TIMEOUT": 60, "RETRY_TIMES": 5, "CONCURRENT_REQUESTS_PER_DOMAIN": 2,
                     "DOWNLOADER": DOWNLOADER_PATH, "LOG_LEVEL": "DEBUG"},
    }
    paths_before = {site.name: len(site.paths) for site in pool_sites}
    (tmp_path / "spec.json").write_text(json.dumps(spec), encoding="utf-8")
    # Files, not pipes: a full pipe would stall the crawl while the test waits.
    with open(tmp_path / "spec.json", "rb") as spec_in, open(tmp_path / "report.json", "wb") as out_file, \
            open(tmp_path / "crawl.log", "wb") as log_file:
        crawl = subprocess.Popen([sys.executable, "-m", "tests.integration.scrapy_fetch"], cwd=PROJECT_ROOT,
                                 stdin=spec_in, stdout=out_file, stderr=log_file)
        try:
            # Mid-crawl: once the crawl's pool monitor watches the member (it logs so) and the member's
            # sites have served a few pages through it, kill the member.
            member_sites = [site for site in pool_sites if site.name in on_member]
            watching = f"tor pool: watching {member_socks} (ControlPort {member_control}; launched by onionscope"
            deadline = time.monotonic() + 180
            while (watching not in (tmp_path / "crawl.log").read_text(encoding="utf-8", errors="replace")
                   or sum(len(site.paths) - paths_before[site.name] for site in member_sites) < 2):
                assert crawl.poll() is None, (tmp_path / "crawl.log").read_text()[-3000:]
                assert time.monotonic() < deadline, "the pool monitor did not watch the member, or nothing was fetched"
                time.sleep(0.1)
            os.kill(killed_pid, signal.SIGKILL)
            killed_at = time.monotonic()
            print(f"\nkilled {killed_pid} at {time.strftime('%H:%M:%S')}")
            crawl.wait(timeout=300)
        finally:
            if crawl.poll() is None:
                crawl.kill()
                crawl.wait()
    crawl_seconds_after_kill = time.monotonic() - killed_at
    err = (tmp_path / "crawl.log").read_text(encoding="utf-8", errors="replace")
    assert crawl.returncode == 0, err[-3000:]
    report = json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))
    stats = report["stats"]

    # Every page was fetched, once per URL, and every site served every one of its pages.
    assert report["error"] is None, report["error"]
    failures = [result for result in report["results"] if result.get("status") != 200]
    assert not failures, failures[:3]
    assert sorted(result["url"] for result in report["results"]) == sorted(urls)
    for site in pool_sites:
        served = set(site.paths[paths_before[site.name]:])
        assert {f"/slow/{index}" for index in range(PAGES_PER_HOST)} <= served, site.name

    # The member was marked unhealthy (once) and restarted by the crawl's pool monitor.
    assert stats.get(f"tor/pool/unhealthy/{member_socks}") == 1, err[-3000:]
    assert stats.get(f"tor/pool/unhealthy/{testnet_socks}") is None
    assert stats.get("tor/pool/restarted") == 1, err[-3000:]
    new_pid = control.launched_tor_pid(launched_member.torrc_path)
    assert new_pid is not None and new_pid != killed_pid
    _bootstrapped(launched_member)  # the restarted tor answers on the same ControlPort and bootstraps

    # Its hosts moved: the testnet client carried more than its own hosts' pages.
    on_testnet_count = PAGES_PER_HOST * (SITE_COUNT - len(on_member))
    via_testnet = stats.get(f"tor/requests_via/{testnet_socks}", 0)
    via_member = stats.get(f"tor/requests_via/{member_socks}", 0)
    assert via_testnet > on_testnet_count, (via_testnet, via_member, on_member)
    # Every request the member carried either answered (once per URL of its hosts), was moved to
    # the other client when the member died, or failed and was retried (the restarted tor's first
    # circuits to an onion service can time out): the dead client did not soak up requests.
    retried = stats.get("retry/count", 0)
    moved = stats.get("tor/pool/requests_moved", 0)
    assert via_member <= PAGES_PER_HOST * len(on_member) + moved + retried, (via_member, moved, retried)
    print(f"\npool: {len(on_member)} of {SITE_COUNT} hosts on the killed client; requests via testnet client "
          f"{via_testnet}, via the killed/restarted client {via_member} (moved {moved}, retried {retried}); "
          f"back healthy: "
          f"{stats.get(f'tor/pool/healthy/{member_socks}', 0)}; crawl ended {crawl_seconds_after_kill:.1f} s "
          f"after the kill, {report['seconds']:.1f} s in all")

    # `onionscope tor status` shows the pool, the restarted member healthy again.
    status = _tor_status(pool)
    assert status.returncode == 0, status.stdout + status.stderr
    shown = json.loads(status.stdout)["pool"]
    assert [(client["socks"], client["healthy"]) for client in shown] == [(testnet_socks, True), (member_socks, True)]
    assert [client["launched_by_onionscope"] for client in shown] == [False, True]


def test_tor_status_reports_a_dead_pool_client_as_unhealthy(pool_world, launched_member):
    testnet_pool_member = (f"127.0.0.1:{pool_world['client']['socks_port']}",
                           f"127.0.0.1:{pool_world['client']['control_port']}")
    member = (_address(launched_member.socks), _address(launched_member.control))
    control.stop_launched_tor(launched_member.torrc_path)
    status = _tor_status([testnet_pool_member, member])
    assert status.returncode == 1, status.stdout + status.stderr
    shown = json.loads(status.stdout)["pool"]
    assert [client["healthy"] for client in shown] == [True, False]
    assert "could not be reached" in shown[1]["problem"]
    text = subprocess.run([sys.executable, "-m", "onionscope.cli", "tor", "status"], cwd=PROJECT_ROOT,
                          env=_pool_env([testnet_pool_member, member]), capture_output=True, text=True, timeout=120)
    assert text.returncode == 1
    assert f"pool client {member[0]} (ControlPort {member[1]}): NOT healthy" in text.stdout
    assert f"pool client {testnet_pool_member[0]} (ControlPort {testnet_pool_member[1]}): healthy" in text.stdout
