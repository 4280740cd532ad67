"""stem control: the private-network torrc check and bootstrap-phase parsing (no tor needed)."""

from __future__ import annotations

import pytest

from crawler.tor.control import (
    TorControlError,
    check_private_network_torrc,
    launch_tor,
    parse_bootstrap_phase,
    parse_torrc,
)

PRIVATE = """
# a client of the private network
TestingTorNetwork 1
UseDefaultFallbackDirs 0
DirAuthority auth0 orport=15001 no-v2 v3ident=AAAA 127.0.0.1:15002 BBBB
DirAuthority auth1 orport=15011 no-v2 v3ident=CCCC 127.0.0.1:15012 DDDD
SocksPort 127.0.0.1:15104 ExtendedErrors
ControlPort 127.0.0.1:15103
"""


def test_parse_torrc_keeps_repeated_options_and_skips_comments():
    options = parse_torrc(PRIVATE)
    assert len(options["dirauthority"]) == 2
    assert options["socksport"] == ["127.0.0.1:15104 ExtendedErrors"]
    assert "#" not in "".join(options)


def test_private_network_torrc_is_accepted():
    assert check_private_network_torrc(PRIVATE)["testingtornetwork"] == ["1"]


@pytest.mark.parametrize(
    "change,problem",
    [
        (("TestingTorNetwork 1", "TestingTorNetwork 0"), "TestingTorNetwork"),
        (("UseDefaultFallbackDirs 0\n", ""), "UseDefaultFallbackDirs"),
        (("127.0.0.1:15012", "128.31.0.39:9131"), "not on 127.0.0.0/8"),
    ],
)
def test_public_network_torrcs_are_refused(change, problem):
    with pytest.raises(TorControlError, match=problem):
        check_private_network_torrc(PRIVATE.replace(*change))


def test_torrc_without_authorities_is_refused():
    text = "\n".join(line for line in PRIVATE.splitlines() if not line.startswith("DirAuthority"))
    with pytest.raises(TorControlError, match="DirAuthority"):
        check_private_network_torrc(text)


def test_bridges_are_refused():
    with pytest.raises(TorControlError, match="bridges"):
        check_private_network_torrc(PRIVATE + "UseBridges 1\nBridge 127.0.0.1:1\n")


def test_launch_refuses_before_starting_anything(tmp_path):
    torrc = tmp_path / "torrc"
    torrc.write_text("SocksPort 9050\n")
    with pytest.raises(TorControlError, match="refusing to launch"):
        launch_tor(torrc, tor_command="/nonexistent/tor")
    daemon = tmp_path / "daemon.torrc"
    daemon.write_text(PRIVATE + "RunAsDaemon 1\n")
    with pytest.raises(TorControlError, match="RunAsDaemon"):
        launch_tor(daemon, tor_command="/nonexistent/tor")


def test_parse_bootstrap_phase_done():
    status = parse_bootstrap_phase('NOTICE BOOTSTRAP PROGRESS=100 TAG=done SUMMARY="Done"')
    assert (status.percent, status.tag, status.summary, status.done, status.warning) == (100, "done", "Done", True, None)


def test_parse_bootstrap_phase_warning():
    status = parse_bootstrap_phase(
        'WARN BOOTSTRAP PROGRESS=10 TAG=conn_done SUMMARY="Connected to a relay" WARNING="Connection refused" '
        'REASON=CONNECTREFUSED COUNT=3 RECOMMENDATION=ignore'
    )
    assert status.percent == 10 and not status.done
    assert status.summary == "Connected to a relay" and status.warning == "Connection refused"
