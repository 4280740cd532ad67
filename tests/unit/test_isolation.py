"""Per-host SOCKS credentials and the rendezvous-hashed host -> tor client pinning."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crawler.tor.isolation import ISOLATION_USERNAME, HostIsolation, rendezvous_client
from crawler.tor.socks5 import SocksAddress

CLIENTS = [SocksAddress("127.0.0.1", 9050), SocksAddress("127.0.0.1", 9052), SocksAddress("127.0.0.1", 9054)]


def test_same_host_same_credentials_case_insensitive():
    isolation = HostIsolation(CLIENTS[:1], secret=b"k")
    assert isolation.credentials_for("Abc.onion") == isolation.credentials_for("abc.onion")
    assert isolation.credentials_for("abc.onion").username == ISOLATION_USERNAME


def test_different_hosts_get_different_passwords():
    isolation = HostIsolation(CLIENTS[:1])
    passwords = {isolation.credentials_for(f"host{index}.onion").password for index in range(500)}
    assert len(passwords) == 500


def test_password_depends_on_the_secret_and_does_not_contain_the_host():
    first, second = HostIsolation(CLIENTS[:1], secret=b"a"), HostIsolation(CLIENTS[:1], secret=b"b")
    assert first.credentials_for("abc.onion") != second.credentials_for("abc.onion")
    assert "abc" not in first.credentials_for("abc.onion").password


HOST_NAMES = st.text(alphabet="abcdefghijklmnopqrstuvwxyz234567", min_size=1, max_size=20)


def oracle_client(host: str, clients: list[SocksAddress]) -> SocksAddress:
    """The documented weight, written out independently: sha256("ip:port\nhost"), first 8 bytes big-endian."""
    def weight(client: SocksAddress) -> int:
        digest = hashlib.sha256(f"{client.host}:{client.port}\n{host.lower()}".encode()).digest()
        return int.from_bytes(digest[:8], "big")  # 64-bit weights: no ties among a handful of clients
    return max(clients, key=weight)


@settings(max_examples=50)
@given(st.lists(HOST_NAMES, min_size=1, max_size=60))
def test_hosts_stick_and_every_worker_agrees(hosts):
    # Two workers: other secrets, other configured order; the pinning is the same.
    worker, other_worker = HostIsolation(CLIENTS, secret=b"a"), HostIsolation(CLIENTS[::-1], secret=b"b")
    first = {host: worker.client_for(host) for host in hosts}
    assert all(worker.client_for(host) == client for host, client in first.items())
    assert all(other_worker.client_for(host) == client for host, client in first.items())
    assert all(oracle_client(host, CLIENTS) == client for host, client in first.items())
    counts = worker.hosts_per_client()
    assert sum(counts.values()) == len({host.lower() for host in hosts})


def test_the_pinning_is_case_insensitive():
    isolation = HostIsolation(CLIENTS)
    assert {isolation.client_for(f"{case}.onion") for case in ("abc", "ABC", "aBc")} == {isolation.client_for("abc.onion")}


@settings(max_examples=30)
@given(st.lists(HOST_NAMES, min_size=1, max_size=200, unique=True), st.sampled_from(CLIENTS))
def test_a_client_leaving_moves_only_its_own_hosts_and_they_come_back(hosts, leaving):
    isolation = HostIsolation(CLIENTS)
    before = {host: isolation.client_for(host) for host in hosts}
    isolation.set_healthy([client for client in CLIENTS if client != leaving])
    during = {host: isolation.client_for(host) for host in hosts}
    moved = {host for host in hosts if during[host] != before[host]}
    assert moved == {host for host in hosts if before[host] == leaving}
    assert leaving not in during.values()
    # Each moved host goes where the oracle puts it among the remaining clients.
    assert all(during[host] == oracle_client(host, [c for c in CLIENTS if c != leaving]) for host in moved)
    isolation.set_healthy(CLIENTS)
    assert {host: isolation.client_for(host) for host in hosts} == before


def test_a_client_joining_takes_hosts_only_from_others_and_about_its_share():
    hosts = [f"host{index}.onion" for index in range(3000)]
    isolation = HostIsolation(CLIENTS)
    isolation.set_healthy(CLIENTS[:2])
    before = {host: isolation.client_for(host) for host in hosts}
    isolation.set_healthy(CLIENTS)
    after = {host: isolation.client_for(host) for host in hosts}
    moved = [host for host in hosts if after[host] != before[host]]
    assert all(after[host] == CLIENTS[2] for host in moved)
    # Rendezvous hashing spreads hosts evenly: about a third each (3000 hosts; loose bound).
    assert 800 < len(moved) < 1200
    assert all(800 < count < 1200 for count in isolation.hosts_per_client().values())


def test_with_no_healthy_client_hosts_keep_the_pinning_over_all_clients():
    isolation = HostIsolation(CLIENTS)
    before = {f"h{index}": isolation.client_for(f"h{index}") for index in range(50)}
    isolation.set_healthy([])
    assert {host: isolation.client_for(host) for host in before} == before


def test_rendezvous_client_is_a_pure_function_of_the_set():
    for host in ("a.onion", "b.onion", "c.onion"):
        assert rendezvous_client(host, CLIENTS) == rendezvous_client(host, reversed(CLIENTS))
        assert rendezvous_client(host, CLIENTS) == rendezvous_client(host, CLIENTS + CLIENTS)
    with pytest.raises(ValueError):
        rendezvous_client("a.onion", [])


def test_needs_a_client():
    with pytest.raises(ValueError):
        HostIsolation([])
