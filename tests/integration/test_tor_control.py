"""stem control against the private testnet: attach, bootstrap, health, NEWNYM, circuits, launch mode, CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from crawler.tor import control
from crawler.tor.endpoints import resolve_tor_endpoints
from config.settings import load_settings
from tests import PROJECT_ROOT
from tests.integration.launched_client import launch_private_client

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def manifest(testnet):
    return testnet


@pytest.fixture
def controller(manifest):
    client = manifest["clients"][0]
    tor_controller = control.attach(("127.0.0.1", client["control_port"]), cookie_path=Path(client["cookie_path"]))
    yield tor_controller
    tor_controller.close()


def test_attach_by_cookie_and_wait_for_bootstrap(controller):
    seen = []
    status = control.wait_for_bootstrap(controller, timeout=60, progress=lambda percent, summary: seen.append((percent, summary)))
    assert status.done and status.percent == 100
    assert seen and seen[-1][0] == 100


def test_health_reports_version_bootstrap_and_circuits(controller, manifest):
    health = control.health(controller)
    assert health.healthy, health.problems
    assert health.version.startswith("0.4.")
    assert health.circuits_established
    assert f"127.0.0.1:{manifest['clients'][0]['socks_port']}" in health.socks_listeners


def test_list_circuits_names_testnet_relays(controller, manifest):
    circuits = control.list_circuits(controller)
    built = [circuit for circuit in circuits if circuit.status == "BUILT"]
    assert built
    node_names = {node["name"] for node in manifest["nodes"]}
    assert all(set(circuit.path) <= node_names for circuit in built), [circuit.path for circuit in built]


def test_newnym_respects_the_rate_limit(controller):
    first = control.newnym(controller, max_wait=15)
    assert first.sent
    refused = control.newnym(controller, max_wait=0)
    assert not refused.sent and refused.wait_seconds_left > 0
    waited = control.newnym(controller, max_wait=15)
    assert waited.sent and waited.waited_seconds > 0


def test_wrong_cookie_is_a_readable_error(manifest, tmp_path):
    client = manifest["clients"][0]
    wrong_cookie = tmp_path / "cookie"
    wrong_cookie.write_bytes(os.urandom(32))
    with pytest.raises(control.TorControlError, match="refused authentication"):
        control.attach(("127.0.0.1", client["control_port"]), cookie_path=wrong_cookie)


def test_closed_control_port_is_a_readable_error():
    from tests.integration.launched_client import free_port

    with pytest.raises(control.TorControlError, match="could not be reached.*ONIONSCOPE_TOR_CONTROL"):
        control.attach(("127.0.0.1", free_port()))


def test_launch_mode_with_a_private_network_client(manifest, tmp_path):
    launched = launch_private_client(manifest, tmp_path / "client")
    try:
        tor_controller = control.attach(launched.control)
        try:
            progress = []
            control.wait_for_bootstrap(tor_controller, timeout=90, progress=lambda p, s: progress.append(p))
            health = control.health(tor_controller)
            assert health.healthy, health.problems
            assert progress[-1] == 100
            assert int(tor_controller.get_info("process/pid")) == launched.pid
        finally:
            tor_controller.close()
    finally:
        launched.stop()
    assert launched.process.poll() is not None


def test_launch_refuses_a_public_network_torrc(tmp_path):
    torrc = tmp_path / "torrc"
    torrc.write_text("SocksPort 127.0.0.1:19050\nControlPort 127.0.0.1:19051\n", encoding="utf-8")
    with pytest.raises(control.TorControlError, match="TestingTorNetwork"):
        control.launch_tor(torrc)


def _onionscope(args, env_overrides):
    env = {key: value for key, value in os.environ.items() if not key.startswith("ONIONSCOPE_")}
    env.update(env_overrides)
    return subprocess.run(
        [sys.executable, "-m", "onionscope.cli", *args], cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=120
    )


def test_tor_status_command_on_the_testnet(testnet, manifest):
    directory = Path(manifest["directory"])
    done = _onionscope(["tor", "status"], {"ONIONSCOPE_TESTNET_DIR": str(directory)})
    assert done.returncode == 0, done.stderr
    client = manifest["clients"][0]
    assert "bootstrap: 100% (Done)" in done.stdout
    assert "circuits: established" in done.stdout
    assert f"127.0.0.1:{client['socks_port']}" in done.stdout
    assert "tor 0.4." in done.stdout
    as_json = json.loads(_onionscope(["tor", "status", "--json"], {"ONIONSCOPE_TESTNET_DIR": str(directory)}).stdout)
    assert as_json["healthy"] and as_json["socks_configured"] == [f"127.0.0.1:{client['socks_port']}"]


def test_tor_status_command_attached_by_environment(manifest):
    client = manifest["clients"][0]
    done = _onionscope(
        ["tor", "status"],
        {
            "ONIONSCOPE_TOR_SOCKS": f"127.0.0.1:{client['socks_port']}",
            "ONIONSCOPE_TOR_CONTROL": f"127.0.0.1:{client['control_port']}",
            "ONIONSCOPE_TOR_COOKIE": client["cookie_path"],
            "ONIONSCOPE_TESTNET_DIR": "/nonexistent",
        },
    )
    assert done.returncode == 0, done.stderr
    assert "ONIONSCOPE_TOR_* settings" in done.stdout


def test_resolve_tor_endpoints_defaults_to_the_testnet_client(manifest):
    settings = load_settings(environ={"ONIONSCOPE_TESTNET_DIR": manifest["directory"]})
    endpoints = resolve_tor_endpoints(settings)
    client = manifest["clients"][0]
    assert endpoints.socks == (("127.0.0.1", client["socks_port"]),)
    assert endpoints.control == ("127.0.0.1", client["control_port"])
    assert endpoints.cookie_path == Path(client["cookie_path"])


def test_tor_wait_command_follows_a_starting_client(manifest, tmp_path):
    launched = launch_private_client(manifest, tmp_path / "client")
    try:
        cookie = tmp_path / "client" / "data" / "control_auth_cookie"
        done = _onionscope(
            ["tor", "wait", "--timeout", "90"],
            {"ONIONSCOPE_TOR_CONTROL": f"127.0.0.1:{launched.control[1]}", "ONIONSCOPE_TOR_COOKIE": str(cookie),
             "ONIONSCOPE_TESTNET_DIR": "/nonexistent"},
        )
    finally:
        launched.stop()
    assert done.returncode == 0, done.stderr
    assert "bootstrap 100%" in done.stdout and "tor is ready" in done.stdout
