"""Which tor onionscope uses: attach settings first, then the tor a ready testnet handed over, else a UserError."""

from __future__ import annotations

import ipaddress
import json
import os
from pathlib import Path

import pytest

from crawler.tor.download_handler import parse_socks_endpoints
from crawler.tor.endpoints import TorEndpoints, resolve_tor_endpoints, resolve_with_system, split_host_port
from config.errors import UserError
from config.settings import load_settings, write_testnet_tor_settings


def settings_with(tmp_path, **environment):
    environ = {"ONIONSCOPE_TESTNET_DIR": str(tmp_path / "testnet"), **environment}
    return load_settings(config_file=None, environ=environ)


def write_manifest(tmp_path, state="ready"):
    """What the harness leaves in a network folder while it starts (the crawler never reads it)."""
    directory = tmp_path / "testnet"
    directory.mkdir(exist_ok=True)
    manifest = {
        "directory": str(directory), "base_port": 15000, "state": state,
        "clients": [{"name": "client0", "socks_port": 15104, "control_port": 15103,
                     "cookie_path": str(directory / "cookie"), "pid": os.getpid()}],
        "onion_services": [], "nodes": [],
    }
    (directory / "manifest.json").write_text(json.dumps(manifest))


def hand_over_testnet_tor(tmp_path, pid=None):
    """What `onionscope testnet up` writes once its network is ready."""
    directory = tmp_path / "testnet"
    directory.mkdir(exist_ok=True)
    write_manifest(tmp_path)
    return write_testnet_tor_settings(directory, socks_port=15104, control_port=15103, cookie_path=directory / "cookie",
                                      client_name="client0", client_pid=pid or os.getpid())


def test_attach_settings_win(tmp_path):
    hand_over_testnet_tor(tmp_path)
    endpoints = resolve_tor_endpoints(settings_with(
        tmp_path, ONIONSCOPE_TOR_SOCKS="127.0.0.1:9050", ONIONSCOPE_TOR_CONTROL="127.0.0.1:9051",
        ONIONSCOPE_TOR_PASSWORD="pw", ONIONSCOPE_TOR_EXTRA_SOCKS="127.0.0.1:9060,127.0.0.1:9050"))
    assert endpoints.socks == (("127.0.0.1", 9050), ("127.0.0.1", 9060))
    assert endpoints.control == ("127.0.0.1", 9051)
    assert endpoints.password == "pw" and endpoints.cookie_path is None
    assert endpoints.socks_strings() == ["127.0.0.1:9050", "127.0.0.1:9060"]


def test_control_only_attach_needs_socks_for_crawling(tmp_path):
    endpoints = resolve_tor_endpoints(settings_with(tmp_path, ONIONSCOPE_TOR_CONTROL="127.0.0.1:9051"))
    assert endpoints.require_control() == ("127.0.0.1", 9051)
    with pytest.raises(UserError, match="ONIONSCOPE_TOR_SOCKS"):
        endpoints.require_socks()


def test_testnet_client_is_the_default(tmp_path):
    settings_file = hand_over_testnet_tor(tmp_path)
    endpoints = resolve_tor_endpoints(settings_with(tmp_path))
    assert endpoints.socks == (("127.0.0.1", 15104),)
    assert endpoints.control == ("127.0.0.1", 15103)
    assert endpoints.cookie_path == tmp_path / "testnet" / "cookie"
    assert endpoints.source == f"testnet settings {settings_file}"


def test_a_control_port_alone_in_the_environment_replaces_the_testnet_client_as_a_whole(tmp_path):
    hand_over_testnet_tor(tmp_path)
    endpoints = resolve_tor_endpoints(settings_with(tmp_path, ONIONSCOPE_TOR_CONTROL="127.0.0.1:9051"))
    assert endpoints.control == ("127.0.0.1", 9051)
    assert endpoints.socks == () and endpoints.cookie_path is None
    assert endpoints.source == "ONIONSCOPE_TOR_* settings"


def test_the_crawler_never_reads_the_manifest(tmp_path):
    write_manifest(tmp_path)  # a ready network's manifest, but no hand-over: not a tor to use
    with pytest.raises(UserError, match="no tor is configured"):
        resolve_tor_endpoints(settings_with(tmp_path))


def test_nothing_configured_says_what_to_do(tmp_path):
    with pytest.raises(UserError, match="onionscope testnet up.*ONIONSCOPE_TOR_SOCKS"):
        resolve_tor_endpoints(settings_with(tmp_path))


def test_starting_testnet_is_not_used(tmp_path):
    write_manifest(tmp_path, state="starting")
    with pytest.raises(UserError, match="still starting"):
        resolve_tor_endpoints(settings_with(tmp_path))


def test_dead_testnet_client_is_reported(tmp_path):
    settings_file = hand_over_testnet_tor(tmp_path)
    # The client exits without `testnet down`: its PID is now free (above the default pid_max: never live).
    settings_file.write_text(settings_file.read_text().replace(f"pid: {os.getpid()}", f"pid: {2**22 + 12345}"))
    with pytest.raises(UserError, match="not running.*client0 with PID 4206649 is gone"):
        resolve_tor_endpoints(settings_with(tmp_path))


@pytest.mark.parametrize("text,expected", [("127.0.0.1:9050", ("127.0.0.1", 9050)), ("[::1]:9050", ("::1", 9050))])
def test_split_host_port(text, expected):
    assert split_host_port(text) == expected


@pytest.mark.parametrize("text", ["127.0.0.1", ":9050", "h:0", "h:x"])
def test_split_host_port_rejects(text):
    with pytest.raises(UserError):
        split_host_port(text)


def test_require_control_without_one():
    with pytest.raises(UserError, match="ONIONSCOPE_TOR_CONTROL"):
        TorEndpoints(socks=(("127.0.0.1", 9050),), control=None).require_control()


class FakeResolver:
    """A resolver that knows only the names it is given, and remembers what it was asked."""

    def __init__(self, names: dict[str, str]):
        self.names = names
        self.asked: list[tuple[str, int]] = []

    def __call__(self, host: str, port: int) -> str:
        self.asked.append((host, port))
        if host not in self.names:
            raise OSError(f"[Errno -2] Name or service not known: {host!r}")
        return self.names[host]


def test_configured_host_names_are_resolved_once_at_start_up(tmp_path):
    resolver = FakeResolver({"tor": "172.18.0.3", "tor-b": "172.18.0.4"})
    endpoints = resolve_tor_endpoints(settings_with(
        tmp_path, ONIONSCOPE_TOR_SOCKS="tor:9050", ONIONSCOPE_TOR_CONTROL="tor:9051",
        ONIONSCOPE_TOR_EXTRA_SOCKS="tor-b:9050"), resolve_host=resolver)
    assert endpoints.socks == (("172.18.0.3", 9050), ("172.18.0.4", 9050))
    assert endpoints.control == ("172.18.0.3", 9051)
    assert sorted(resolver.asked) == [("tor", 9050), ("tor", 9051), ("tor-b", 9050)]
    # What the crawl's transport reads afterwards is an address it can use without a lookup.
    assert [str(address) for address in parse_socks_endpoints(endpoints.socks_strings())] == [
        "172.18.0.3:9050", "172.18.0.4:9050"]


def test_addresses_and_localhost_are_never_looked_up(tmp_path):
    resolver = FakeResolver({})
    endpoints = resolve_tor_endpoints(settings_with(
        tmp_path, ONIONSCOPE_TOR_SOCKS="localhost:9050", ONIONSCOPE_TOR_CONTROL="[::1]:9051",
        ONIONSCOPE_TOR_EXTRA_SOCKS="10.0.0.7:9050"), resolve_host=resolver)
    assert endpoints.socks == (("127.0.0.1", 9050), ("10.0.0.7", 9050))
    assert endpoints.control == ("::1", 9051)
    assert resolver.asked == []


def test_a_name_that_does_not_resolve_says_which_setting_and_what_to_do(tmp_path):
    with pytest.raises(UserError, match=r"setting tor_socks: cannot resolve 'tor'.*IP address"):
        resolve_tor_endpoints(settings_with(tmp_path, ONIONSCOPE_TOR_SOCKS="tor:9050"),
                              resolve_host=FakeResolver({}))


@pytest.mark.parametrize("endpoint", ["abcdefghijklmnopqrstuvwxyz234567abcdefghijklmnopqrstuvwx.onion:9050",
                                      "exit.EXIT:9050"])
def test_a_tor_address_is_never_handed_to_the_system_resolver(tmp_path, endpoint):
    resolver = FakeResolver({})
    with pytest.raises(UserError, match="is a Tor address"):
        resolve_tor_endpoints(settings_with(tmp_path, ONIONSCOPE_TOR_SOCKS=endpoint), resolve_host=resolver)
    assert resolver.asked == []


def test_without_a_resolver_names_stay_names(tmp_path):
    endpoints = resolve_tor_endpoints(settings_with(tmp_path, ONIONSCOPE_TOR_SOCKS="tor:9050"), resolve_host=None)
    assert endpoints.socks == (("tor", 9050),)


def test_the_system_resolver_reads_localhost_names_from_the_hosts_file():
    # /etc/hosts only: no query leaves the machine.
    assert ipaddress.ip_address(resolve_with_system("localhost", 9050)).is_loopback


# --- the tor client pool (tor_pool)


def test_a_pool_alone_is_a_tor_configuration_and_its_socks_ports_are_used(tmp_path):
    endpoints = resolve_tor_endpoints(settings_with(
        tmp_path, ONIONSCOPE_TOR_POOL="127.0.0.1:9050=127.0.0.1:9051, localhost:9060=127.0.0.1:9061"))
    assert endpoints.pool == ((("127.0.0.1", 9050), ("127.0.0.1", 9051)), (("127.0.0.1", 9060), ("127.0.0.1", 9061)))
    assert endpoints.socks == (("127.0.0.1", 9050), ("127.0.0.1", 9060))
    assert endpoints.control is None
    assert endpoints.pool_strings() == [("127.0.0.1:9050", "127.0.0.1:9051"), ("127.0.0.1:9060", "127.0.0.1:9061")]


def test_pool_socks_ports_come_after_tor_socks_and_extra_socks_without_repeats(tmp_path):
    endpoints = resolve_tor_endpoints(settings_with(
        tmp_path, ONIONSCOPE_TOR_SOCKS="127.0.0.1:9050", ONIONSCOPE_TOR_EXTRA_SOCKS="127.0.0.1:9070",
        ONIONSCOPE_TOR_POOL="127.0.0.1:9050=127.0.0.1:9051,127.0.0.1:9060=127.0.0.1:9061"))
    assert endpoints.socks == (("127.0.0.1", 9050), ("127.0.0.1", 9070), ("127.0.0.1", 9060))


def test_a_pool_names_each_client_by_address_once_at_start(tmp_path):
    looked_up = []

    def resolver(host, port):
        looked_up.append((host, port))
        return "10.0.0.7"

    endpoints = resolve_tor_endpoints(settings_with(tmp_path, ONIONSCOPE_TOR_POOL="tor1:9050=tor1:9051"),
                                      resolve_host=resolver)
    assert endpoints.pool == ((("10.0.0.7", 9050), ("10.0.0.7", 9051)),)
    assert looked_up == [("tor1", 9050), ("tor1", 9051)]


@pytest.mark.parametrize("entry", ["127.0.0.1:9050", "127.0.0.1:9050=", "=127.0.0.1:9051", "127.0.0.1:9050=nope",
                                   "abc.onion:9050=127.0.0.1:9051"])
def test_a_bad_pool_entry_is_a_readable_error(tmp_path, entry):
    with pytest.raises(UserError, match="tor_pool|host:port"):
        resolve_tor_endpoints(settings_with(tmp_path, ONIONSCOPE_TOR_POOL=entry))


def test_a_pool_keeps_the_testnet_handover_out(tmp_path):
    hand_over_testnet_tor(tmp_path)
    settings = settings_with(tmp_path, ONIONSCOPE_TOR_POOL="127.0.0.1:9050=127.0.0.1:9051")
    endpoints = resolve_tor_endpoints(settings)
    assert endpoints.socks == (("127.0.0.1", 9050),) and endpoints.control is None
    assert endpoints.source == "ONIONSCOPE_TOR_* settings"
