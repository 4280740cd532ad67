"""Node plan and port layout of the private network, and onion service spec validation."""

from __future__ import annotations

import pytest

from harness.testnet.layout import OnionServiceSpec, plan_nodes, port_block_size, split_host_port


def test_plan_orders_nodes_for_start_up_and_gives_each_its_own_ports():
    nodes = plan_nodes(15000, relays=3, clients=2)
    assert [n.name for n in nodes] == ["auth0", "auth1", "auth2", "relay0", "relay1", "relay2",
                                       "onionhost0", "client0", "client1"]
    ports = [p for n in nodes for p in (n.or_port, n.dir_port, n.control_port, n.socks_port) if p]
    assert len(ports) == len(set(ports))
    assert all(15000 < p < 15000 + port_block_size(3, 2) for p in ports)
    auth0 = nodes[0]
    assert (auth0.or_port, auth0.dir_port, auth0.control_port, auth0.socks_port) == (15001, 15002, 15003, None)
    client1 = nodes[-1]
    assert (client1.or_port, client1.dir_port, client1.socks_port) == (None, None, 15084)


def test_networks_on_different_base_ports_do_not_overlap():
    first = {p for n in plan_nodes(15000, 3, 1) for p in (n.or_port, n.dir_port, n.control_port, n.socks_port) if p}
    second_base = 15000 + port_block_size(3, 1)
    second = {p for n in plan_nodes(second_base, 3, 1) for p in (n.or_port, n.dir_port, n.control_port, n.socks_port) if p}
    assert not first & second


@pytest.mark.parametrize("relays, clients, base, message", [
    (1, 1, 15000, "at least 2 relays"),
    (2, 0, 15000, "at least 1 client"),
    (2, 1, 65500, "within 1024..65535"),
    (2, 1, 80, "within 1024..65535"),
])
def test_plan_refuses_impossible_networks(relays, clients, base, message):
    with pytest.raises(ValueError, match=message):
        plan_nodes(base, relays, clients)


@pytest.mark.parametrize("target", ["127.0.0.1:8080", "127.3.4.5:1", "unix:/run/site.sock"])
def test_loopback_and_unix_targets_are_accepted(target):
    assert OnionServiceSpec("market-a", target).target == target


@pytest.mark.parametrize("name, target, port, message", [
    ("Market", "127.0.0.1:80", 80, "lower-case"),
    ("a b", "127.0.0.1:80", 80, "lower-case"),
    ("site", "10.0.0.1:80", 80, "127.0.0.0/8"),
    ("site", "example.com:80", 80, "IPv4"),
    ("site", "127.0.0.1:0", 80, "outside"),
    ("site", "127.0.0.1:80", 0, "virtual port"),
    ("site", "unix:relative.sock", 80, "absolute"),
    ("site", "unix:/tmp/a b.sock", 80, "spaces"),
])
def test_bad_specs_are_refused_with_a_reason(name, target, port, message):
    with pytest.raises(ValueError, match=message):
        OnionServiceSpec(name, target, port)


def test_split_host_port():
    assert split_host_port("127.0.0.1:41234") == ("127.0.0.1", 41234)
    with pytest.raises(ValueError):
        split_host_port("127.0.0.1")
