"""The private Tor network, for real: manifest, bootstrap, onion services, exits, teardown.

Uses the session ``testnet`` (tests/fixtures/testnet.py) and adds its own
onion services in front of small HTTP servers started here on 127.0.0.1.
A second, separate network is started once to check that teardown stops
its PIDs and leaves the session network running.
"""

from __future__ import annotations

import http.server
import os
import socket
import socketserver
import struct
import threading
from pathlib import Path
from typing import Any, Iterator

import pytest
import stem.control

from config.paths import testnet_tor_settings_file as tor_settings_file
from config.settings import load_settings
from harness.testnet.layout import OnionServiceSpec
from harness.testnet.manifest import load_manifest
from harness.testnet.network import TestNetwork, free_base_port
from harness.testnet.peer_owner import tcp_peer_owner
from harness.testnet.readiness import bootstrap_phase, http_status_via_socks
from harness.testnet.torrc import torrc_lines
from harness.testnet.tor_process import is_our_tor

pytestmark = pytest.mark.integration


class _RecordingHandler(http.server.BaseHTTPRequestHandler):
    """Answers every GET with its path and records which process connected."""

    def do_GET(self) -> None:
        if isinstance(self.client_address, tuple):
            owner = tcp_peer_owner(self.client_address, self.server.server_address)
        else:  # Unix socket: the kernel tells the peer's PID
            owner = struct.unpack("3i", self.request.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, 12))[0]
        self.server.owners.append(owner)  # type: ignore[attr-defined]
        body = f"served {self.path}".encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


class _UnixHTTPServer(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True


def _serve(server: socketserver.BaseServer) -> socketserver.BaseServer:
    server.owners = []  # type: ignore[attr-defined]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture(scope="module")
def site() -> Iterator[http.server.ThreadingHTTPServer]:
    server = _serve(http.server.ThreadingHTTPServer(("127.0.0.1", 0), _RecordingHandler))
    yield server
    server.shutdown()


@pytest.fixture(scope="module")
def unix_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[_UnixHTTPServer]:
    server = _serve(_UnixHTTPServer(str(tmp_path_factory.mktemp("unix-site") / "site.sock"), _RecordingHandler))
    yield server
    server.shutdown()


@pytest.fixture(scope="module")
def published(testnet: dict, testnet_network: TestNetwork, site, unix_site) -> dict:
    """The session network with two services of ours added: a TCP one and a Unix-socket one."""
    name = f"testnet-test-{os.getpid()}"
    return testnet_network.up(
        [OnionServiceSpec(name, f"127.0.0.1:{site.server_address[1]}"),
         OnionServiceSpec(f"{name}-unix", f"unix:{unix_site.server_address}")],
        timeout=120, progress=None,
    )


def _service(manifest: dict, suffix: str) -> dict:
    return next(s for s in manifest["onion_services"] if s["name"] == f"testnet-test-{os.getpid()}{suffix}")


def _node(manifest: dict, role: str) -> list[dict]:
    return [node for node in manifest["nodes"] if node["role"] == role]


def test_manifest_lists_every_node_port_cookie_and_pid(published: dict, testnet_network: TestNetwork):
    on_disk = load_manifest(testnet_network.directory)
    assert on_disk["nodes"] == published["nodes"] and on_disk["clients"] == published["clients"]
    assert published["state"] == "ready"
    assert len(_node(published, "authority")) == 3
    assert len(_node(published, "relay")) == testnet_network.relays >= 2
    assert len(published["clients"]) == testnet_network.clients
    for node in published["nodes"]:
        if node["role"] == "onion_host" and not published["onion_services"]:
            continue
        assert is_our_tor(node["pid"], Path(node["torrc"])), node
    for client in published["clients"]:
        assert Path(client["cookie_path"]).stat().st_size == 32
        assert client["socks_port"] != client["control_port"]
    service = _service(published, "")
    assert service["onion_host"].endswith(".onion") and len(service["onion_host"]) == 62
    assert service["pid"] == _node(published, "onion_host")[0]["pid"]


def test_every_torrc_stays_inside_the_private_network(published: dict):
    for node in published["nodes"]:
        options = torrc_lines(Path(node["torrc"]).read_text())
        assert ("TestingTorNetwork", "1") in options
        assert [value for option, value in options if option == "DirAuthority"] == [
            line.partition(" ")[2] for line in published["dir_authorities"]
        ]
        assert all("127.0.0.1:" in line for line in published["dir_authorities"])


def test_client_has_bootstrapped(published: dict):
    for client in published["clients"]:
        assert bootstrap_phase(client["control_port"])[0] == 100


def test_http_get_through_an_onion_service_arrives_from_the_onion_host(published: dict, site):
    client = published["clients"][0]
    site.owners.clear()
    status = http_status_via_socks(client["socks_port"], _service(published, "")["onion_host"], 80, timeout=60)
    assert status == 200
    assert site.owners == [_node(published, "onion_host")[0]["pid"]]


def test_unix_socket_target_sees_the_onion_host_as_peer(published: dict, unix_site):
    client = published["clients"][0]
    unix_site.owners.clear()
    status = http_status_via_socks(client["socks_port"], _service(published, "-unix")["onion_host"], 80, timeout=60)
    assert status == 200
    assert unix_site.owners == [_node(published, "onion_host")[0]["pid"]]


def test_exits_reach_loopback_and_advertise_only_127_0_0_0_8(published: dict, site):
    client = published["clients"][0]
    site.owners.clear()
    assert http_status_via_socks(client["socks_port"], "127.0.0.1", site.server_address[1], timeout=60) == 200
    relay_pids = {node["pid"] for node in _node(published, "relay")}
    assert len(site.owners) == 1 and site.owners[0] in relay_pids
    with stem.control.Controller.from_port(port=client["control_port"]) as controller:
        controller.authenticate()
        for relay in _node(published, "relay"):
            descriptor = controller.get_server_descriptor(relay["name"])
            assert [str(rule) for rule in descriptor.exit_policy] == ["accept 127.0.0.0/8:*", "reject *:*"]


def _tor_settings(directory: Path):
    return load_settings(None, environ={"ONIONSCOPE_TESTNET_DIR": str(directory)})


def test_a_ready_network_hands_its_first_client_over_as_settings(published: dict, testnet_network: TestNetwork):
    client = published["clients"][0]
    settings = _tor_settings(testnet_network.directory)
    handed_over = str(tor_settings_file(testnet_network.directory))
    assert settings.tor_socks == f"127.0.0.1:{client['socks_port']}"
    assert settings.tor_control == f"127.0.0.1:{client['control_port']}"
    assert settings.tor_cookie == Path(client["cookie_path"]) and settings.tor_password is None
    assert settings.source("tor_socks") == settings.source("tor_cookie") == handed_over
    assert bootstrap_phase(int(settings.tor_control.rpartition(":")[2]))[0] == 100


def test_up_again_is_harmless(published: dict, testnet_network: TestNetwork):
    again = testnet_network.up(timeout=60, progress=None)
    assert [node["pid"] for node in again["nodes"]] == [node["pid"] for node in published["nodes"]]
    for service in published["onion_services"]:
        assert service in again["onion_services"]


def test_second_network_runs_beside_and_teardown_stops_only_its_pids(published: dict, testnet_network: TestNetwork,
                                                                      tmp_path: Path):
    base_port = free_base_port(published["base_port"] + 500, relays=2, clients=1)
    second = TestNetwork(tmp_path / "second", base_port, relays=2, clients=1,
                         authority_key_cache=testnet_network.authority_key_cache)
    try:
        manifest = second.up(timeout=180, progress=None)
        assert second.status()["state"] == "running"
        assert _tor_settings(second.directory).tor_socks == f"127.0.0.1:{manifest['clients'][0]['socks_port']}"
        pids = {node["pid"]: Path(node["torrc"]) for node in manifest["nodes"] if node["pid"]}
        assert len(pids) == 6 and not set(pids) & {node["pid"] for node in published["nodes"]}
    finally:
        stopped = second.down()
    assert sorted(stopped) == sorted(pids)
    assert not any(is_our_tor(pid, torrc) for pid, torrc in pids.items())
    assert load_manifest(second.directory) is None and second.status()["state"] == "down"
    # Its tor is withdrawn with it: no command attaches to a network that is gone.
    assert not tor_settings_file(second.directory).exists()
    assert _tor_settings(second.directory).tor_socks is None
    # The session network is untouched.
    for node in published["nodes"]:
        if node["pid"]:
            assert is_our_tor(node["pid"], Path(node["torrc"]))
    assert bootstrap_phase(published["clients"][0]["control_port"])[0] == 100


def test_authority_keys_are_made_once_and_reused_from_the_cache(tmp_path: Path):
    from harness.testnet.authorities import ensure_authority_keys

    empty = tmp_path / "empty"
    empty.write_text("")
    cache = tmp_path / "cache"
    first = ensure_authority_keys(tmp_path / "one" / "auth0", "auth0", 40001, empty, key_cache=cache)
    assert (cache / "auth0" / "authority_certificate").exists()
    second = ensure_authority_keys(tmp_path / "two" / "auth0", "auth0", 41001, empty, key_cache=cache)
    assert second == first
    # Without the cache, new keys: a different identity.
    third = ensure_authority_keys(tmp_path / "three" / "auth0", "auth0", 42001, empty)
    assert third.v3ident != first.v3ident and third.fingerprint != first.fingerprint
