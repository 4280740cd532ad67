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


PUBLIC_FALLBACK = "128.31.0.39:9131 orport=9101 id=9695DFC35FFEB861329B9F1AB04C46397020CE31"


@pytest.mark.parametrize(
    "added,problem",
    [
        # A directory mirror of the public network, whatever the case of the name.
        (f"FallbackDir {PUBLIC_FALLBACK}\n", "FallbackDir"),
        (f"fallbackdir {PUBLIC_FALLBACK}\n", "FallbackDir"),
        (f"FALLBACKDIR {PUBLIC_FALLBACK}\n", "FallbackDir"),
        # Another file's options would never be checked.
        ("%include /etc/tor/torrc.d/\n", "directive"),
        ("%INCLUDE /etc/tor/torrc\n", "directive"),
        # `/Option` clears what came before (the loopback authorities), `+Option` appends.
        ("/DirAuthority\n", "prefixes 'DirAuthority' with '/'"),
        ("/dirauthority\n", "prefixes 'dirauthority' with '/'"),
        ("/UseDefaultFallbackDirs\n", "prefixes 'UseDefaultFallbackDirs' with '/'"),
        ("+DirAuthority moria1 orport=9101 v3ident=D586D18309DED4CD6D57C18FDB97EFA96D330566 "
         "128.31.0.39:9131 9695DFC35FFEB861329B9F1AB04C46397020CE31\n", "prefixes 'DirAuthority' with '\\+'"),
        (f"+FallbackDir {PUBLIC_FALLBACK}\n", "prefixes 'FallbackDir' with '\\+'"),
        # tor separates a name from its value by a tab as well as a space.
        ("UseBridges\t1\nBridge\t192.0.2.1:443\n", "uses bridges"),
        # tor accepts abbreviations and tor's old name for DirAuthority.
        ("UseDefaultFallback 1\n", "abbreviates a network option"),
        ("usebridge 1\n", "abbreviates a network option"),
        ("DirServer moria1 v3ident=D586D18309DED4CD6D57C18FDB97EFA96D330566 128.31.0.39:9131 "
         "9695DFC35FFEB861329B9F1AB04C46397020CE31\n", "DirServer"),
        ("AlternateDirAuthority moria1 128.31.0.39:9131 9695DFC35FFEB861329B9F1AB04C46397020CE31\n",
         "AlternateDirAuthority"),
        # Characters tor reads as spaces where a line-based reader sees a new line.
        ("UseBridges\x0b1\n", "control characters"),
    ],
)
def test_options_that_reach_other_directories_or_escape_the_check_are_refused(added, problem):
    with pytest.raises(TorControlError, match=problem):
        check_private_network_torrc(PRIVATE + added)


def test_a_line_continuation_that_would_swallow_a_required_line_is_refused():
    # tor reads "ContactInfo me UseDefaultFallbackDirs 0": the public fallbacks stay on.
    text = PRIVATE.replace("UseDefaultFallbackDirs 0", "ContactInfo me \\\nUseDefaultFallbackDirs 0")
    assert "UseDefaultFallbackDirs 0" in text.splitlines()
    with pytest.raises(TorControlError, match="line 4 continues on the next line"):
        check_private_network_torrc(text)


def test_option_names_are_case_insensitive_as_in_tor():
    text = PRIVATE.replace("TestingTorNetwork 1", "testingtornetwork 1").replace("DirAuthority", "DIRAUTHORITY")
    assert len(check_private_network_torrc(text)["dirauthority"]) == 2
    with pytest.raises(TorControlError, match="not on 127.0.0.0/8"):
        check_private_network_torrc(text.replace("127.0.0.1:15012", "128.31.0.39:9131"))


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
