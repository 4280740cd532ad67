"""Which tor onionscope uses: attach settings first, then the testnet manifest, else a UserError."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from crawler.tor.endpoints import TorEndpoints, resolve_tor_endpoints, split_host_port
from onionscope.errors import UserError
from onionscope.settings import load_settings


def settings_with(tmp_path, **environment):
    environ = {"ONIONSCOPE_TESTNET_DIR": str(tmp_path / "testnet"), **environment}
    return load_settings(config_file=None, environ=environ)


def write_manifest(tmp_path, state="ready", pid=None):
    directory = tmp_path / "testnet"
    directory.mkdir(exist_ok=True)
    manifest = {
        "directory": str(directory), "base_port": 15000, "state": state,
        "clients": [{"name": "client0", "socks_port": 15104, "control_port": 15103,
                     "cookie_path": str(directory / "cookie"), "pid": pid or os.getpid()}],
        "onion_services": [], "nodes": [],
    }
    (directory / "manifest.json").write_text(json.dumps(manifest))


def test_attach_settings_win(tmp_path):
    write_manifest(tmp_path)
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


def test_testnet_manifest_is_the_default(tmp_path):
    write_manifest(tmp_path)
    endpoints = resolve_tor_endpoints(settings_with(tmp_path))
    assert endpoints.socks == (("127.0.0.1", 15104),)
    assert endpoints.control == ("127.0.0.1", 15103)
    assert endpoints.cookie_path == tmp_path / "testnet" / "cookie"
    assert "manifest.json" in endpoints.source


def test_nothing_configured_says_what_to_do(tmp_path):
    with pytest.raises(UserError, match="onionscope testnet up.*ONIONSCOPE_TOR_SOCKS"):
        resolve_tor_endpoints(settings_with(tmp_path))


def test_starting_testnet_is_not_used(tmp_path):
    write_manifest(tmp_path, state="starting")
    with pytest.raises(UserError, match="still starting"):
        resolve_tor_endpoints(settings_with(tmp_path))


def test_dead_testnet_client_is_reported(tmp_path):
    write_manifest(tmp_path, pid=2**22 + 12345)  # above the default pid_max: never a live process
    with pytest.raises(UserError, match="not running"):
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
