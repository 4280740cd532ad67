"""TestNetwork decisions that need no tor: busy ports, service merging, duplicate names."""

from __future__ import annotations

import socket

import pytest

from config.errors import UserError
from harness.testnet.layout import OnionServiceSpec
from harness.testnet.network import TestNetwork, _merge_services, _unique_services, free_base_port


def test_up_refuses_a_busy_port_block_before_starting_anything(tmp_path):
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        busy = squatter.getsockname()[1]
        network = TestNetwork(tmp_path / "net", base_port=busy - 1, relays=2, clients=1)  # auth0's ORPort
        # Another process may hold a neighbouring port too; the squatter's must be named.
        with pytest.raises(UserError, match=rf"port\(s\) (\d+, )*{busy}(, \d+)* on 127\.0\.0\.1 are in use"):
            network.up(timeout=5, progress=None)
    assert not (tmp_path / "net" / "manifest.json").exists()
    assert not (tmp_path / "net" / "nodes" / "auth0" / "keys").exists()


def test_free_base_port_skips_a_block_with_a_busy_port():
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        busy = squatter.getsockname()[1]
        start = busy - 5
        assert free_base_port(start, relays=2, clients=1, step=500) != start


def test_services_are_added_and_retargeted_by_name():
    current = [OnionServiceSpec("a", "127.0.0.1:1000"), OnionServiceSpec("b", "127.0.0.1:2000")]
    merged = _merge_services(current, [OnionServiceSpec("b", "127.0.0.1:2001"), OnionServiceSpec("c", "127.0.0.1:3000")])
    assert [(spec.name, spec.target) for spec in merged] == [
        ("a", "127.0.0.1:1000"), ("b", "127.0.0.1:2001"), ("c", "127.0.0.1:3000"),
    ]


def test_duplicate_service_names_are_refused():
    with pytest.raises(UserError, match="repeated: a"):
        _unique_services([OnionServiceSpec("a", "127.0.0.1:1"), OnionServiceSpec("a", "127.0.0.1:2")])


def test_the_class_is_not_collected_as_a_test():
    assert TestNetwork.__test__ is False


def test_a_port_block_reserved_by_another_process_is_skipped(tmp_path) -> None:
    import subprocess
    import sys

    from harness.testnet import network

    # Another process holds the reservation of the first block; this one must take the next.
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import fcntl, sys, time; from pathlib import Path; "
         f"h = open(Path({str(tmp_path)!r}) / '41000.lock', 'a'); fcntl.flock(h, fcntl.LOCK_EX); "
         "print('held', flush=True); sys.stdin.read()"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        assert not network.reserve_port_block(41000, lock_dir=tmp_path)
        assert network.reserve_port_block(41500, lock_dir=tmp_path)
        assert network.reserve_port_block(41500, lock_dir=tmp_path)  # already ours
    finally:
        holder.stdin.close()
        holder.wait(timeout=10)
        network._RESERVED_BLOCKS.pop(41500, None)


def _probe_world(tmp_path, names):
    """A network folder whose onion services have hostname files, and a manifest naming them (no tor)."""
    from harness.testnet.layout import ROLE_ONION_HOST
    from harness.testnet.torrc import onion_service_dir

    network = TestNetwork(tmp_path / "net", base_port=20000, relays=2, clients=1)
    host_node = next(node for node in network.nodes if node.role == ROLE_ONION_HOST)
    services = []
    for name in names:
        folder = onion_service_dir(network.directory, host_node, name)
        folder.mkdir(parents=True)
        (folder / "hostname").write_text(f"{name * 56}.onion\n"[-63:])
        services.append({"name": name, "onion_host": None, "virtual_port": 80, "target": "127.0.0.1:1"})
    manifest = {
        "nodes": [{"name": "onionhost0", "role": ROLE_ONION_HOST, "pid": None, "log": "onionhost0.log"}],
        "clients": [{"name": "client0", "socks_port": 1}],
        "onion_services": services,
    }
    return network, manifest


def test_the_onion_services_are_probed_side_by_side(tmp_path, monkeypatch):
    import threading
    import time

    from harness.testnet import network as network_module

    names = ["a", "b", "c", "d", "e", "f"]
    network, manifest = _probe_world(tmp_path, names)
    # Every probe answers only once all of them are in flight at the same time.
    all_in_flight = threading.Barrier(len(names), timeout=5)
    probed = []

    def probe(socks_port, host, port, timeout, isolation):
        all_in_flight.wait()
        probed.append(host)
        return 200

    monkeypatch.setattr(network_module, "http_status_via_socks", probe)
    monkeypatch.setattr(network_module, "POLL_SECONDS", 0.01)
    network._wait_onion_services_answer(manifest, set(names), lambda message: None, time.monotonic() + 15)
    assert sorted(probed) == sorted(service["onion_host"] for service in manifest["onion_services"])


def test_a_service_that_never_answers_is_named_and_the_other_probes_stop(tmp_path, monkeypatch):
    import threading
    import time

    from harness.testnet import network as network_module

    network, manifest = _probe_world(tmp_path, ["good", "dead", "slow"])
    attempts = {"slow": 0}
    lock = threading.Lock()

    def probe(socks_port, host, port, timeout, isolation):
        if host.startswith("dead"):
            raise ConnectionRefusedError("tor's SOCKS reply: host unreachable")
        if host.startswith("slow"):
            with lock:
                attempts["slow"] += 1
            raise TimeoutError("descriptor not found yet")
        return 200

    monkeypatch.setattr(network_module, "http_status_via_socks", probe)
    monkeypatch.setattr(network_module, "POLL_SECONDS", 0.01)
    with pytest.raises(network_module.NetworkNotReady, match="onion service (dead|slow)") as raised:
        network._wait_onion_services_answer(manifest, {"good", "dead", "slow"}, lambda message: None,
                                            time.monotonic() + 0.5)
    assert "did not answer through client0" in str(raised.value)
    # Once one probe gave up, the others stopped too: none is still at work after the call.
    after = attempts["slow"]
    time.sleep(0.2)
    assert attempts["slow"] == after
