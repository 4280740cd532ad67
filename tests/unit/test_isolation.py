"""Per-host SOCKS credentials and sticky host -> tor client assignment."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crawler.tor.isolation import ISOLATION_USERNAME, HostIsolation
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


@settings(max_examples=50)
@given(st.lists(st.text(alphabet="abcdefghijklmnopqrstuvwxyz234567", min_size=1, max_size=20), min_size=1, max_size=60))
def test_hosts_stick_and_load_stays_balanced(hosts):
    isolation = HostIsolation(CLIENTS)
    first = {host: isolation.client_for(host) for host in hosts}
    assert all(isolation.client_for(host) == client for host, client in first.items())
    counts = list(isolation.hosts_per_client().values())
    assert sum(counts) == len(set(hosts))
    assert max(counts) - min(counts) <= 1


def test_new_hosts_fill_clients_in_order():
    isolation = HostIsolation(CLIENTS)
    assert [isolation.client_for(f"h{index}") for index in range(4)] == [*CLIENTS, CLIENTS[0]]


def test_needs_a_client():
    with pytest.raises(ValueError):
        HostIsolation([])
