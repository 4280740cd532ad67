"""The private network hands its tor to the commands as settings; the crawler reads settings only.

``write_testnet_tor_settings`` (called by the harness once its network is ready)
and ``load_settings`` (layer 4) agree on one small file; ``TestNetwork.down``
withdraws it; a file whose client has exited, or whose PID now names another
process, is not used and the reason reaches the error a command shows.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml

from config.errors import UserError
from config.paths import testnet_tor_settings_file as tor_settings_file
from config.processes import process_start_ticks
from config.settings import ConfigError, load_settings, remove_testnet_tor_settings, write_testnet_tor_settings
from crawler.tor.endpoints import resolve_tor_endpoints


def _hand_over(directory: Path, pid: int | None = None) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    return write_testnet_tor_settings(directory, socks_port=15104, control_port=15103,
                                      cookie_path=directory / "client0" / "control_auth_cookie",
                                      client_name="client0", client_pid=pid or os.getpid())


def _settings(directory: Path, **environment: str):
    return load_settings(None, environ={"ONIONSCOPE_TESTNET_DIR": str(directory), **environment})


def test_the_handed_over_client_is_a_settings_layer(tmp_path: Path) -> None:
    written = _hand_over(tmp_path / "net")
    assert written == tor_settings_file(tmp_path / "net")
    settings = _settings(tmp_path / "net")
    assert (settings.tor_socks, settings.tor_control) == ("127.0.0.1:15104", "127.0.0.1:15103")
    assert settings.tor_cookie == tmp_path / "net" / "client0" / "control_auth_cookie"
    assert settings.source("tor_socks") == str(written) and settings.notes == ()


def test_a_tor_in_the_environment_or_the_file_wins_and_nothing_is_mixed(tmp_path: Path) -> None:
    _hand_over(tmp_path / "net")
    from_env = _settings(tmp_path / "net", ONIONSCOPE_TOR_SOCKS="127.0.0.1:9050")
    assert from_env.tor_socks == "127.0.0.1:9050"
    assert from_env.tor_control is None and from_env.tor_cookie is None  # not the testnet's
    config = tmp_path / "onionscope.yml"
    config.write_text("tor_control: 127.0.0.1:9051\n")
    from_file = load_settings(config, environ={"ONIONSCOPE_TESTNET_DIR": str(tmp_path / "net")})
    assert (from_file.tor_socks, from_file.tor_control) == (None, "127.0.0.1:9051")


def test_down_withdraws_the_settings(tmp_path: Path) -> None:
    from harness.testnet.network import TestNetwork

    _hand_over(tmp_path / "net")
    assert TestNetwork(tmp_path / "net", 15000).down() == []  # nothing of ours runs there
    assert not tor_settings_file(tmp_path / "net").exists()
    assert _settings(tmp_path / "net").tor_socks is None
    assert remove_testnet_tor_settings(tmp_path / "net") is False


def test_a_recycled_pid_does_not_revive_the_settings(tmp_path: Path) -> None:
    written = _hand_over(tmp_path / "net")
    document = yaml.safe_load(written.read_text())
    assert document["client"]["start_ticks"] == process_start_ticks(os.getpid())
    document["client"]["start_ticks"] -= 1  # same PID, another process: it started at another moment
    written.write_text(yaml.safe_dump(document))
    settings = _settings(tmp_path / "net")
    assert settings.tor_socks is None
    [note] = settings.notes
    assert "not running" in note and f"PID {os.getpid()}" in note
    with pytest.raises(UserError, match=r"no tor is configured.*not running.*onionscope testnet up.*ONIONSCOPE_TOR_SOCKS"):
        resolve_tor_endpoints(settings)


def test_a_client_that_is_already_gone_is_not_handed_over(tmp_path: Path) -> None:
    with pytest.raises(ProcessLookupError, match="client0"):
        _hand_over(tmp_path / "net", pid=2**22 + 12345)
    assert not tor_settings_file(tmp_path / "net").exists()


@pytest.mark.parametrize(("text", "fragment"), [
    ("- a list\n", "expected a mapping"),
    ("settings: {tor_socks: '127.0.0.1:1'}\n", "expected 'client' and 'settings'"),
    ("client: {pid: 1}\nsettings: {es_url: 'http://10.0.0.1:9200'}\n", "'es_url' is not one of"),
    ("client: {pid: 1}\nsettings: {tor_socks: nowhere}\n", "host:port"),
])
def test_a_malformed_file_names_itself(tmp_path: Path, text: str, fragment: str) -> None:
    (tmp_path / "net").mkdir()
    tor_settings_file(tmp_path / "net").write_text(text)
    with pytest.raises(ConfigError) as raised:
        _settings(tmp_path / "net")
    assert str(tor_settings_file(tmp_path / "net")) in str(raised.value) and fragment in str(raised.value)
