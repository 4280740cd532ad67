"""torrc rendering: every required line per role, exits only to 127.0.0.0/8, bad values refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.testnet.layout import OnionServiceSpec, plan_nodes
from harness.testnet.torrc import (
    NetworkParameters,
    dir_authority_line,
    render_torrc,
    torrc_lines,
    voting_start_offset,
)

AUTHORITY_LINES = [
    dir_authority_line(f"auth{i}", 20001 + 10 * i, 20002 + 10 * i, f"{i}" * 40, f"{'ABCDEF'[i]}" * 40)
    for i in range(3)
]


def _parameters(tmp_path: Path, **overrides) -> NetworkParameters:
    values = dict(
        network_dir=tmp_path,
        dir_authority_lines=AUTHORITY_LINES,
        empty_file=tmp_path / "empty",
        resolv_file=tmp_path / "resolv.conf",
    )
    values.update(overrides)
    return NetworkParameters(**values)


def _rendered(tmp_path: Path, services=()) -> dict[str, list[tuple[str, str]]]:
    parameters = _parameters(tmp_path, onion_services=tuple(services))
    return {node.name: torrc_lines(render_torrc(node, parameters)) for node in plan_nodes(20000, 2, 2)}


COMMON = [
    ("TestingTorNetwork", "1"),
    ("UseDefaultFallbackDirs", "0"),
    ("AssumeReachable", "1"),
    ("TestingDirAuthVoteExit", "*"),
    ("TestingDirAuthVoteHSDir", "*"),
    ("TestingDirAuthVoteGuard", "*"),
    ("TestingMinExitFlagThreshold", "0"),
    ("NumCPUs", "1"),
    ("Address", "127.0.0.1"),
    ("CookieAuthentication", "1"),
]


def test_every_torrc_has_the_private_network_lines(tmp_path):
    for name, options in _rendered(tmp_path).items():
        for line in COMMON:
            assert line in options, (name, line)
        assert [value for option, value in options if option == "DirAuthority"] == [
            line.partition(" ")[2] for line in AUTHORITY_LINES
        ]
        assert ("DataDirectory", str(tmp_path / "nodes" / name)) in options
        assert ("Log", f"notice file {tmp_path / 'nodes' / name / 'notice.log'}") in options
        assert ("Nickname", name) in options
        assert ("GeoIPFile", str(tmp_path / "empty")) in options
        assert ("GeoIPv6File", str(tmp_path / "empty")) in options
        assert any(option == "ContactInfo" for option, _ in options)


def test_every_listener_is_on_loopback(tmp_path):
    for name, options in _rendered(tmp_path).items():
        for option, value in options:
            if option in ("ORPort", "DirPort", "ControlPort") or (option == "SocksPort" and value != "0"):
                assert value.startswith("127.0.0.1:"), (name, option, value)


def test_authorities_vote_quickly_and_never_exit(tmp_path):
    options = _rendered(tmp_path)["auth1"]
    for line in [("AuthoritativeDirectory", "1"), ("V3AuthoritativeDirectory", "1"),
                 ("AuthDirTestReachability", "0"), ("ExitPolicy", "reject *:*"), ("SocksPort", "0")]:
        assert line in options
    values = dict(options)
    assert int(values["V3AuthVoteDelay"]) >= 2 and int(values["V3AuthDistDelay"]) >= 2
    assert "TestingV3AuthVotingStartOffset" in values and "TestingV3AuthInitialVotingInterval" in values
    assert values["ORPort"] == "127.0.0.1:20011" and values["DirPort"] == "127.0.0.1:20012"


def test_relays_exit_only_to_loopback(tmp_path):
    for name in ("relay0", "relay1"):
        options = _rendered(tmp_path)[name]
        policy = [value for option, value in options if option == "ExitPolicy"]
        assert policy == ["accept 127.0.0.0/8:*", "reject *:*"]
        assert ("ExitRelay", "1") in options
        assert ("ExitPolicyRejectPrivate", "0") in options  # else tor rejects 127.0.0.0/8 before our policy
        assert ("ServerDNSResolvConfFile", str(tmp_path / "resolv.conf")) in options
        assert ("OutboundBindAddressExit", "127.0.0.2") in options


def test_clients_have_socks_control_and_full_descriptors(tmp_path):
    options = _rendered(tmp_path)["client1"]
    values = dict(options)
    assert values["SocksPort"] == "127.0.0.1:20074"  # slot 7 with 2 relays
    assert values["ControlPort"] == "127.0.0.1:20073"
    assert values["UseMicrodescriptors"] == "0"
    assert "ORPort" not in values and "ExitPolicy" not in values


def test_onion_host_lists_each_service(tmp_path):
    services = [OnionServiceSpec("market-a", "127.0.0.1:41234"), OnionServiceSpec("forum", "unix:/tmp/forum.sock", 8080)]
    options = _rendered(tmp_path, services)["onionhost0"]
    host_dir = tmp_path / "nodes" / "onionhost0" / "onion_services"
    assert [(o, v) for o, v in options if o.startswith("HiddenService")] == [
        ("HiddenServiceDir", str(host_dir / "market-a")),
        ("HiddenServicePort", "80 127.0.0.1:41234"),
        ("HiddenServiceDir", str(host_dir / "forum")),
        ("HiddenServicePort", "8080 unix:/tmp/forum.sock"),
    ]
    assert ("SocksPort", "0") in options
    # Only the onion host carries services.
    assert not any(o.startswith("HiddenService") for o, _ in _rendered(tmp_path, services)["client0"])


def test_values_with_newlines_are_refused(tmp_path):
    node = plan_nodes(20000, 2, 1)[0]
    with pytest.raises(ValueError, match="newline"):
        render_torrc(node, _parameters(tmp_path, resolv_file=Path("/tmp/x\nExitPolicy accept *:*")))


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"vote_delay": 1}, "at least 2"),
        ({"voting_interval": 4}, "shorter than the voting interval"),
        ({"voting_interval": 7}, "divide 30 minutes"),
        ({"voting_start_offset": 10}, "within one voting interval"),
    ],
)
def test_voting_schedule_is_validated(tmp_path, overrides, message):
    with pytest.raises(ValueError, match=message):
        _parameters(tmp_path, **overrides)


def test_dir_authority_line_rejects_malformed_digests():
    with pytest.raises(ValueError, match="v3ident"):
        dir_authority_line("auth0", 1, 2, "abc", "A" * 40)
    assert dir_authority_line("auth0", 15001, 15002, "1" * 40, "A" * 40) == (
        f"DirAuthority auth0 orport=15001 no-v2 v3ident={'1' * 40} 127.0.0.1:15002 {'A' * 40}"
    )


@pytest.mark.parametrize("now", [0, 86399, 1_700_000_000, 1_700_000_007.5])
@pytest.mark.parametrize("interval", [10, 20])
def test_first_vote_starts_the_requested_seconds_later(now, interval):
    offset = voting_start_offset(now, interval, first_vote_after=3, vote_delay=2, dist_delay=2)
    assert 0 <= offset < interval
    # tor: intervals start at midnight + offset + k*interval; the vote starts delays earlier.
    seconds_into_day = int(now) % 86400
    next_start = next(t for t in range(offset, 86400 + 3 * interval, interval) if t > seconds_into_day)
    vote_at = next_start - 4
    assert 3 <= vote_at - seconds_into_day < 3 + interval


def test_every_rendered_torrc_passes_the_private_network_check(tmp_path):
    """The stricter launch check (crawler.tor.control) still accepts every torrc the testnet writes."""
    from crawler.tor.control import check_private_network_torrc

    parameters = _parameters(tmp_path, onion_services=(OnionServiceSpec("market", "127.0.0.1:8081"),))
    for node in plan_nodes(20000, 2, 2):
        check_private_network_torrc(render_torrc(node, parameters))
