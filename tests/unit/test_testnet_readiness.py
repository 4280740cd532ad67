"""Parsing of consensus documents and bootstrap phases."""

from __future__ import annotations

from datetime import datetime, timezone

from harness.testnet.readiness import parse_bootstrap_phase, parse_consensus, parse_valid_after, read_consensus

CONSENSUS = """network-status-version 3
vote-status consensus
valid-after 2026-11-28 23:33:23
fresh-until 2026-11-28 23:33:33
dir-source auth0 09810A905AE0C88E63E96172B725EB015D8EA187 127.0.0.1 127.0.0.1 26002 26001
r auth0 CYEKkFrgyI5j6WFytyXrAV2OoYc tICooPyzqG5cdhI1+lmS/FUzQPE 2026-11-28 23:33:17 127.0.0.1 26001 26002
s Authority Exit Fast Guard HSDir Running Stable V2Dir Valid
v Tor 0.4.9.11
r relay0 C9rLBPB5Zkv3V7dSKkIvuEeiXx8 4GGouq16uuJbz8zSeWd/BhOsczo 2026-11-28 23:33:17 127.0.0.1 26031 0
s Exit Fast Running Valid
directory-footer
"""


def test_consensus_routers_and_flags():
    routers = parse_consensus(CONSENSUS)
    assert set(routers) == {"auth0", "relay0"}
    assert {"Authority", "HSDir", "Exit"} <= routers["auth0"]
    assert routers["relay0"] == {"Exit", "Fast", "Running", "Valid"}


def test_valid_after_is_utc():
    expected = datetime(2026, 11, 28, 23, 33, 23, tzinfo=timezone.utc).timestamp()
    assert parse_valid_after(CONSENSUS) == expected
    assert parse_valid_after("no consensus here") is None


def test_a_consensus_older_than_the_launch_counts_as_none(tmp_path):
    assert read_consensus(tmp_path) == {}
    (tmp_path / "cached-consensus").write_text(CONSENSUS)
    valid_after = parse_valid_after(CONSENSUS)
    assert set(read_consensus(tmp_path, not_before=valid_after)) == {"auth0", "relay0"}
    assert read_consensus(tmp_path, not_before=valid_after + 1) == {}


def test_bootstrap_phase():
    assert parse_bootstrap_phase('NOTICE BOOTSTRAP PROGRESS=100 TAG=done SUMMARY="Done"') == (100, "Done")
    assert parse_bootstrap_phase(
        'NOTICE BOOTSTRAP PROGRESS=50 TAG=loading_descriptors SUMMARY="Loading relay descriptors"'
    ) == (50, "Loading relay descriptors")
    assert parse_bootstrap_phase("garbage") == (0, "")
